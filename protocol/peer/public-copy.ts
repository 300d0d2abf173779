/**
 * Public copies, sent so that nobody can match them to their private copy (issue 10).
 *
 * A post shared publicly exists twice: sealed for the neighborhood, and signed with the
 * author's area pseudonym for the area's public channel. If both reached a relay from the
 * resident's one libp2p peer id, within the same millisecond-dated second, the relay (or an
 * agency comparing times with a relay's logs) would link the pseudonym to the member. So the
 * public copy:
 *  - is signed only when it is sent, with its own created time (the private copy's exact time
 *    stays inside its ciphertext, and its envelope shows only the minute);
 *  - waits a random delay first, 0..MAX_PUBLIC_DELAY_MS (the caller may inject another: tests);
 *  - goes out from a fresh, short-lived libp2p node (a new Ed25519 peer id each time, no
 *    listener, stopped once a relay answered; the runtime makes it), never from the
 *    resident's persistent node;
 *  - counts as sent only once a relay acknowledged it (stored and published); otherwise the
 *    result says why it was not sent.
 * What this does not hide: the IP address both copies come from (see PRIVACY-DRAFT.md).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { randomBytes } from '../crypto.ts'
import { errorMessage, toResult, type Result } from '../wire.ts'
import type { PorchlightNode } from './gossip.ts'
import { PushSession } from './push.ts'

/** The longest random delay before a public copy goes out. */
export const MAX_PUBLIC_DELAY_MS = 30_000
/** How long the short-lived node waits for one relay's answer. */
export const PUBLIC_PUSH_TIMEOUT_MS = 20_000

/** A uniformly random delay in 0..MAX_PUBLIC_DELAY_MS ms (from the CSPRNG: nobody should predict it). */
export function randomPublicDelayMs (): number {
  const b = randomBytes(4)
  const v = ((b[0]! << 24) >>> 0) + (b[1]! << 16) + (b[2]! << 8) + b[3]!
  return Math.floor((v / 0x1_0000_0000) * (MAX_PUBLIC_DELAY_MS + 1))
}

/** A delay from the environment (PORCHLIGHT_PUBLIC_DELAY_MS, for tests), capped at MAX_PUBLIC_DELAY_MS; undefined when unset or invalid. */
export function publicDelayFromEnv (value: string | undefined): (() => number) | undefined {
  if (value === undefined || value === '') return undefined
  const ms = Number(value)
  if (!Number.isSafeInteger(ms) || ms < 0) return undefined
  const capped = Math.min(ms, MAX_PUBLIC_DELAY_MS)
  return () => capped
}

export interface PublicCopyInit {
  /** Relay multiaddrs to try in order. */
  relays: readonly string[]
  /** Wait this long first. @default randomPublicDelayMs() */
  delayMs?: number
  /** Makes the node to send from: a fresh node each time (new peer id, no listener), stopped after. */
  createNode: () => Promise<PorchlightNode>
  /** For tests: hears the peer id the copy was sent from. */
  onSender?: (peerId: string) => void
}

export interface PublicCopyOutcome {
  /** One result per message, in order: ok only if a relay acknowledged it. */
  results: Array<{ result: Result, relay?: string }>
}

/**
 * Waits the delay, then makes the messages (`make` signs them now, so their created time is
 * the sending time) and pushes them to the first relay that answers, from a short-lived node.
 */
export async function sendPublicCopies (
  make: () => Promise<Array<{ topic: string, bytes: Uint8Array }>>, init: PublicCopyInit
): Promise<PublicCopyOutcome> {
  const delay = init.delayMs ?? randomPublicDelayMs()
  if (delay > 0) await new Promise(resolve => setTimeout(resolve, delay))
  const messages = await make()
  const results: PublicCopyOutcome['results'] = messages.map(() => ({ result: { ok: false, code: 'UNAVAILABLE', message: 'no relay known' } }))
  if (messages.length === 0 || init.relays.length === 0) return { results }
  const node = await init.createNode()
  const log = node.logger.forComponent('porchlight:public-copy')
  try {
    init.onSender?.(node.peerId.toString())
    let todo = messages.map((m, i) => ({ ...m, i }))
    for (const relay of init.relays) {
      if (todo.length === 0) break
      let session: PushSession
      try {
        session = await PushSession.open(node, multiaddr(relay), PUBLIC_PUSH_TIMEOUT_MS)
      } catch (err) {
        log('relay %s unreachable - %e', relay, err)
        for (const m of todo) results[m.i] = { result: toResult(err, { code: 'UNAVAILABLE', message: `relay unreachable: ${errorMessage(err)}` }) }
        continue
      }
      const answers = await Promise.all(todo.map(async m => session.push(m.topic, m.bytes)))
      // The answers are in: a half-close that fails (the stream already broke) loses nothing.
      await session.close().catch(() => {})
      const retry: typeof todo = []
      for (const [j, m] of todo.entries()) {
        const result = answers[j]!
        results[m.i] = result.ok ? { result, relay } : { result }
        // Another relay may serve the area when this one does not.
        if (!result.ok) retry.push(m)
      }
      todo = retry
    }
  } finally {
    await node.stop()
  }
  return { results }
}
