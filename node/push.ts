/**
 * `/porchlight/push/1`: a peer hands a relay one message and gets an acknowledgement only
 * after the relay has stored it durably (fsync) and published it to the mesh, as Waku's
 * light push does. A refusal comes back as a Result with a code the UI can show.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PROTOCOLS, encodePushRequest, decodePushRequest, encodeResult, decodeResult, type Result } from '../protocol/wire.ts'
import { isPorchlightError } from '../protocol/errors.ts'
import { Frames } from './frames.ts'
import type { PorchlightNode } from './libp2p.ts'

/** What the relay does with a pushed message: validate, store durably, publish. */
export type AcceptMessage = (topic: string, message: Uint8Array, from: PeerId) => Promise<Result>

/**
 * `refuse` hears of requests that never reached `accept` (garbage, an oversize message, a
 * silent peer) so they are counted like any other refusal; it returns the reply to send.
 */
export async function handlePush (node: PorchlightNode, accept: AcceptMessage, refuse: (result: Result) => Result = r => r): Promise<void> {
  await node.handle(PROTOCOLS.push, async (stream: Stream, connection: Connection) => {
    const frames = new Frames(stream)
    let result: Result
    try {
      const req = decodePushRequest(await frames.read())
      result = await accept(req.topic, req.message, connection.remotePeer)
    } catch (err) {
      result = refuse(isPorchlightError(err)
        ? { ok: false, code: err.code, message: err.message }
        : { ok: false, code: 'IO', message: 'internal error' })
    }
    try {
      await frames.write(encodeResult(result))
      await frames.close()
    } catch {
      frames.abort('push reply failed')
    }
  }, { maxInboundStreams: 64 })
}

/** Pushes one message to a relay and waits for its acknowledgement. Never throws. */
export async function pushMessage (node: PorchlightNode, relay: PeerId | Multiaddr | Multiaddr[], topic: string, message: Uint8Array, timeoutMs = 20_000): Promise<Result> {
  let frames: Frames | undefined
  try {
    const stream = await node.dialProtocol(relay, PROTOCOLS.push, { signal: AbortSignal.timeout(timeoutMs) })
    frames = new Frames(stream, timeoutMs)
    await frames.write(encodePushRequest({ topic, message }))
    // Half-close now: the relay's end then closes as soon as it has answered, instead of
    // lingering (and counting against its per-connection push stream limit) until our close.
    await frames.close()
    return decodeResult(await frames.read())
  } catch (err) {
    frames?.abort('push failed')
    if (isPorchlightError(err)) return { ok: false, code: err.code, message: err.message }
    return { ok: false, code: 'UNAVAILABLE', message: `relay unreachable: ${(err as Error).message}` }
  }
}
