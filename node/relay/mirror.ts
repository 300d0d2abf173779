/**
 * What a relay needs to mirror another relay's history (issue 10), kept apart from relay.ts:
 *
 *  - Which peers' sync brings history. An envelope of an epoch that a rekey closed is refused
 *    STALE_EPOCH once the grace has passed: that is how a removed member, who still holds the
 *    old tag key, is kept out whatever date their post claims. But a relay that starts late
 *    (or slept through a rekey) learns of the closure long after the epoch's genuine posts were
 *    made. Those reach it as history from a relay it mirrors, one its operator named with
 *    `--peer`, which judged each of them on arrival; the rule stays as it is for push, gossip,
 *    and sync from anyone else (a resident, a stranger's relay).
 *  - Who opens the sync when two relays meet (one session covers both directions).
 *  - Which messages it cannot verify yet. A relay with no tag key for an epoch refuses that
 *    epoch's messages UNKNOWN_EPOCH; sync offers them again every round. Their ids are kept
 *    (bounded), so the relay neither asks for them again nor counts or logs each one again,
 *    until it learns a tag key of that neighborhood (a rekey sealed to it, a new token).
 */
import { toHex } from '../../protocol/encoding.ts'
import { MAX_TTL_MS } from '../../protocol/post.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/time.ts'
import { multiaddr } from '@multiformats/multiaddr'

/** Ids of unverifiable messages a relay remembers, over all topics (~100 bytes each). */
export const MAX_UNVERIFIABLE_IDS = 100_000

/** Peer ids (strings) of the relays named as peers, whose sync sessions bring history. */
export function historyPeers (addrs: readonly string[]): Set<string> {
  const out = new Set<string>()
  for (const a of addrs) {
    let id: string | undefined
    try { id = multiaddr(a).getComponents().find(c => c.name === 'p2p')?.value } catch { id = undefined }
    if (id !== undefined) out.add(id)
  }
  return out
}

/**
 * When two relays meet, one session reconciles a topic both ways, so only one of them opens it
 * on meeting: the one that dialed (it named the other with --peer). When both did, the
 * difference crosses twice, the second copy as duplicates. The periodic resync still runs
 * from both sides.
 */
export function opensSyncOnMeeting (direction: 'inbound' | 'outbound'): boolean {
  return direction === 'outbound'
}

/** Messages, by topic, refused UNKNOWN_EPOCH in a sync: not asked for, counted or logged again. */
export class UnverifiableIds {
  private readonly byTopic = new Map<string, Map<string, number>>()
  private count = 0

  constructor (private readonly max = MAX_UNVERIFIABLE_IDS) {}

  get size (): number { return this.count }

  has (topic: string, id: Uint8Array): boolean {
    return this.byTopic.get(topic)?.has(toHex(id)) === true
  }

  add (topic: string, id: Uint8Array, now: number): void {
    let ids = this.byTopic.get(topic)
    if (ids === undefined) { ids = new Map(); this.byTopic.set(topic, ids) }
    const key = toHex(id)
    if (ids.has(key)) return
    if (this.count >= this.max) this.evictOne()
    ids.set(key, now)
    this.count++
  }

  /** A tag key of `topic` was learned: its messages may verify now. */
  forget (topic: string): void {
    this.count -= this.byTopic.get(topic)?.size ?? 0
    this.byTopic.delete(topic)
  }

  /** Drops ids seen so long ago that their messages have expired everywhere. */
  sweep (now: number): void {
    for (const [topic, ids] of this.byTopic) {
      for (const [key, at] of ids) {
        if (at + MAX_TTL_MS + MAX_CLOCK_SKEW_MS > now) break // insertion order is time order
        ids.delete(key)
        this.count--
      }
      if (ids.size === 0) this.byTopic.delete(topic)
    }
  }

  /** The oldest id of the largest topic goes first: one flooded topic cannot push out the others. */
  private evictOne (): void {
    let largest: [string, Map<string, number>] | undefined
    for (const entry of this.byTopic) if (largest === undefined || entry[1].size > largest[1].size) largest = entry
    if (largest === undefined) return
    const first = largest[1].keys().next()
    if (first.done !== true) { largest[1].delete(first.value); this.count-- }
    if (largest[1].size === 0) this.byTopic.delete(largest[0])
  }
}
