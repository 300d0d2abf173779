/**
 * `/porchlight/pin/1`, the member's side: ask a relay to keep an encrypted clip until its post
 * expires (the relay's side is node/relay/pin-service.ts), and the exchange's frames.
 *
 *   member -> relay   'pl/pin' request, tagged with the epoch's membership tag key (wire.ts)
 *   relay  -> member  'pl/pin-progress' { n } any number of times while it fetches the clip
 *   relay  -> member  'pl/result' { ok, code?, msg?, n? }  n = bytes pinned; then both close
 *
 * The relay fetches the clip's blocks from the requester (who is connected and holds them)
 * as one block stream (blocks.ts), over bitswap if that fails, so the request stays open
 * until the clip is pinned: each frame has its own deadline (frameTimeoutMs), not the whole.
 */
import type { AbortOptions, Libp2p, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peekDomain } from '../encoding.ts'
import {
  PROTOCOLS, checkPinTag, decodePinProgress, decodePinRequest, decodeResult, encodePinProgress, encodePinRequest, encodeResult,
  errorMessage, toResult, type PinFields, type PinRequest, type Result
} from '../wire.ts'
import { Frames } from './frames.ts'

export const PIN_PROTOCOL = PROTOCOLS.pin

/** Longest wait of a pin client for the next frame (progress or answer): 60 s. */
export const PIN_CLIENT_FRAME_TIMEOUT_MS = 60_000
/** Fewest ms between two progress frames a relay sends: 250 ms. */
export const PIN_PROGRESS_INTERVAL_MS = 250

/** The exchange's frames (wire.ts has the structures). */
export { checkPinTag, decodePinRequest, encodePinProgress, encodePinRequest, encodeResult, type PinFields, type PinRequest }

/** A relay's frame during a pin: progress (ciphertext bytes it has so far) or the answer. */
export type PinReply = { progress: number } | { result: Result }

/** Decodes a frame the relay sent; 'MALFORMED' and the like for anything else. */
export function decodePinReply (bytes: Uint8Array): PinReply {
  if (peekDomain(bytes) === 'pl/pin-progress') return { progress: decodePinProgress(bytes) }
  return { result: decodeResult(bytes) }
}

export interface RequestPinOptions extends AbortOptions {
  /** Ciphertext bytes the relay has fetched so far, as it reports them. */
  onProgress?: (bytes: number) => void
  /** Longest wait for the next frame. @default PIN_CLIENT_FRAME_TIMEOUT_MS (60 s) */
  frameTimeoutMs?: number
}

/**
 * Asks a relay to pin a clip this node holds, and waits while the relay fetches it (it
 * reports progress). Never throws: a refusal or a failure is a Result ('TIMEOUT' when
 * `signal` aborts).
 */
export async function requestPin (
  node: Libp2p,
  relay: PeerId | Multiaddr | Multiaddr[],
  fields: PinFields,
  tagKey: Uint8Array,
  opts: RequestPinOptions = {}
): Promise<Result> {
  const log = node.logger.forComponent('porchlight:pin')
  let frames: Frames | undefined
  const timeout = opts.frameTimeoutMs ?? PIN_CLIENT_FRAME_TIMEOUT_MS
  const onAbort = (): void => { frames?.abort('pin aborted') }
  try {
    opts.signal?.throwIfAborted()
    const dialSignal = opts.signal === undefined ? AbortSignal.timeout(timeout) : AbortSignal.any([opts.signal, AbortSignal.timeout(timeout)])
    const stream = await node.dialProtocol(relay, PIN_PROTOCOL, { signal: dialSignal })
    frames = new Frames(stream, timeout)
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    await frames.write(encodePinRequest(fields, tagKey))
    for (;;) {
      const reply = decodePinReply(await frames.read())
      if ('progress' in reply) {
        opts.onProgress?.(reply.progress)
        continue
      }
      await frames.close()
      return reply.result
    }
  } catch (err) {
    frames?.abort('pin failed')
    log('pin request failed - %e', err)
    if (opts.signal?.aborted === true) return { ok: false, code: 'TIMEOUT', message: 'pin request aborted' }
    return toResult(err, { code: 'UNAVAILABLE', message: `relay unreachable: ${errorMessage(err)}` })
  } finally {
    opts.signal?.removeEventListener('abort', onAbort)
  }
}
