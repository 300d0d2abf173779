/**
 * History sync, pure core: range-based set reconciliation over the (ts, id) items of one
 * topic, as Negentropy does (https://github.com/hoytech/negentropy, protocol v1). The client
 * (initiator) sends fingerprints of ranges of its items; the server answers each range whose
 * fingerprint differs from its own by splitting it into smaller fingerprinted ranges, or,
 * when it holds few items there, by listing their ids; the client answers in turn until no
 * range is left. Bytes exchanged grow with the difference between the sets, not their size.
 *
 * Differences from Negentropy's reference, all inside the same wire layout (sync-wire.ts):
 *  - The client never lists its own ids: where it holds no items it sends an empty IdList
 *    (the server then lists its ids), elsewhere fingerprints, so only the server's ids
 *    travel and each id the client lacks crosses once.
 *  - When the client splits a range into buckets the server will answer with lists, it uses
 *    about sqrt(1.5 n) buckets instead of `branching`, trading fingerprints (~22 bytes each)
 *    against listed ids (32 bytes each): 100,000 items one apart settle in 2 round trips.
 *  - A message that would exceed `maxMessageBytes` is cut at a range boundary and closed with
 *    the fingerprint of everything left (Negentropy's frame size limit), so it converges in
 *    further rounds. A range re-examined after such a cut is never reported twice.
 *  - Pacing (client): where the sets differ densely, the server's lists fill its replies, and
 *    buckets the client opened beyond one reply's worth would be cut off and walked down to
 *    again. The client learns from each reply how many ids the server lists per item of its
 *    own, opens about one reply's worth of listable buckets, and hands the other differing
 *    ranges back whole as fingerprints for later rounds.
 *
 * Nothing here does I/O: the network layer carries the bytes (one Reconciler per session on
 * the client; `respond` keeps no state, so one Reconciler serves every client of a topic).
 */
import { fail } from '../errors.ts'
import { ID_BYTES } from './fingerprint.ts'
import { compareItems, INFINITE_BOUND, MIN_BOUND, minimalBound, SyncItemSet, type SyncBound } from './items.ts'
import {
  CLOSE_RESERVE_BYTES, decodeSyncMessage, idKey, MAX_BOUND_BYTES, SyncWriter, type SyncRange
} from './wire.ts'
import { varintSize } from './varint.ts'

export { SyncItemSet, compareItems, minimalBound, MIN_BOUND, INFINITE_BOUND, MAX_TIMESTAMP } from './items.ts'
export type { SyncItem, SyncBound } from './items.ts'
export { ID_BYTES, FINGERPRINT_BYTES, fingerprintIds } from './fingerprint.ts'
export { SYNC_VERSION, MAX_RANGES, decodeSyncMessage } from './wire.ts'
export type { SyncRange } from './wire.ts'

/** Default largest message either side sends or accepts: 64 KiB (fits a /porchlight/sync/1 frame). */
export const DEFAULT_MAX_MESSAGE_BYTES = 64 * 1024
/** Smallest allowed limit: room for a few ranges besides the reserve that closes a message. */
export const MIN_MAX_MESSAGE_BYTES = 512
/** Largest allowed limit (1 MiB, the bound on any Porchlight structure). */
export const MAX_MAX_MESSAGE_BYTES = 1 << 20
/** Buckets a mismatched range is split into (Negentropy: 16). */
export const DEFAULT_BRANCHING = 16
/** Buckets of the client's first split of its whole set. */
export const DEFAULT_FIRST_BRANCHING = 16
/** The server lists its ids instead of splitting a range holding fewer items (Negentropy: 2 * 16). */
export const DEFAULT_ID_LIST_THRESHOLD = 32
const MAX_BRANCHING = 1024
const MAX_ID_LIST_THRESHOLD = 4096
/** Client split whose buckets the server will list: about sqrt(LEAF_SPLIT_FACTOR * n) buckets... */
const LEAF_SPLIT_FACTOR = 1.5
/** ...but at most LEAF_SPLIT_CAP times the usual branching. */
const LEAF_SPLIT_CAP = 2
/** Client pacing leaves this much of a reply (at most a quarter) for what is not a list. */
const PACE_REPLY_RESERVE_BYTES = 2048

export interface ReconcilerOptions {
  /** Largest message sent or accepted, bytes (512..1 MiB). Both peers must agree. @default 65536 */
  maxMessageBytes?: number
  /** Buckets per split of a mismatched range (2..1024). @default 16 */
  branching?: number
  /** Buckets of the client's first split (2..1024). @default 16 */
  firstBranching?: number
  /** Server lists ids of ranges holding fewer items than this (2..4096). @default 32 */
  idListThreshold?: number
}

export interface ReconcileResult {
  /** Next message for the server, or null when reconciliation is complete. */
  next: Uint8Array | null
  /** Ids the client has and the server lacks (the client may push them). */
  have: Uint8Array[]
  /** Ids the server has and the client lacks (the client may fetch them). */
  need: Uint8Array[]
}

export class Reconciler {
  readonly maxMessageBytes: number
  readonly branching: number
  readonly firstBranching: number
  readonly idListThreshold: number
  readonly #items: SyncItemSet
  /** ids already returned in have/need this session (a cut message can revisit a range) */
  #reported = new Set<string>()
  /** client pacing: ids the server listed per client item of the buckets it was asked to list */
  #idsPerItem = 0
  /** client pacing: span of the listable buckets the last message opened, null if none */
  #opened: { from: SyncBound, to: SyncBound } | null = null

  /** client pacing: reply bytes the listable buckets of one message may cost */
  get #paceBudget (): number {
    return this.maxMessageBytes - Math.min(PACE_REPLY_RESERVE_BYTES, this.maxMessageBytes / 4)
  }

  constructor (items: SyncItemSet, opts: ReconcilerOptions = {}) {
    if (!(items instanceof SyncItemSet)) fail('BAD_ARGUMENT', 'Reconciler needs a SyncItemSet')
    this.#items = items
    this.maxMessageBytes = intOption(opts.maxMessageBytes, DEFAULT_MAX_MESSAGE_BYTES, MIN_MAX_MESSAGE_BYTES, MAX_MAX_MESSAGE_BYTES, 'maxMessageBytes')
    this.branching = intOption(opts.branching, DEFAULT_BRANCHING, 2, MAX_BRANCHING, 'branching')
    this.firstBranching = intOption(opts.firstBranching, DEFAULT_FIRST_BRANCHING, 2, MAX_BRANCHING, 'firstBranching')
    // >= 2 so a server range of one item is listed, never "split" into itself forever
    this.idListThreshold = intOption(opts.idListThreshold, DEFAULT_ID_LIST_THRESHOLD, 2, MAX_ID_LIST_THRESHOLD, 'idListThreshold')
  }

  /** Client: starts a session; returns the first message. */
  initiate (): Uint8Array {
    this.#reported.clear()
    this.#idsPerItem = 0
    const w = new SyncWriter(this.maxMessageBytes)
    const pace = this.#newPace()
    const size = this.#items.size
    if (this.#split(w, MIN_BOUND, 0, INFINITE_BOUND, size, pace, true) && pace.region !== null) {
      this.#flushRegion(w, pace, INFINITE_BOUND, size)
    }
    this.#opened = pace.opened
    return w.finish()
  }

  /** Client: processes a server message; returns the next message (null when done) and what it learnt. */
  reconcile (msg: Uint8Array): ReconcileResult {
    const ranges = decodeSyncMessage(msg, this.maxMessageBytes)
    this.#learnPace(ranges)
    const have: Uint8Array[] = []
    const need: Uint8Array[] = []
    const pace = this.#newPace()
    const w = this.#process(ranges, pace, have, need)
    this.#opened = pace.opened
    return { next: w.hasWork ? w.finish() : null, have, need }
  }

  /** Server: answers one client message. Keeps no state between calls. */
  respond (msg: Uint8Array): Uint8Array {
    const ranges = decodeSyncMessage(msg, this.maxMessageBytes)
    return this.#process(ranges, null, [], []).finish()
  }

  #newPace (): Pace {
    return { spent: 0, opened: null, deferring: false, region: null }
  }

  /**
   * Client pacing. A server message holds at most maxMessageBytes of listed ids; buckets the
   * client opens beyond that are cut off and must be walked down to again. So the client
   * learns, from each reply, how many ids the server listed per client item in the buckets
   * it opened (before any cut: a reply cut short ends with a Fingerprint to infinity), and
   * opens about one reply's worth. Sparse differences give ~0 and no pacing; only the
   * amount of work per round changes, never the result.
   */
  #learnPace (ranges: readonly SyncRange[]): void {
    const o = this.#opened
    if (o === null) return
    const last = ranges[ranges.length - 1]
    let end = o.to
    let listed = 0
    let lower = MIN_BOUND
    for (const r of ranges) {
      if (r === last && r.mode === 'fingerprint') {
        if (compareItems(lower, end) < 0) end = lower
        break
      }
      if (r.mode === 'idList' && compareItems(lower, o.from) >= 0 && compareItems(r.upper, o.to) <= 0) listed += r.ids.length
      lower = r.upper
    }
    const items = this.#items.lowerBound(end) - this.#items.lowerBound(o.from)
    if (items > 0) this.#idsPerItem = listed / items
  }

  /** Answers a message; `pace` is null on the server, the client's pacing state otherwise. */
  #process (ranges: readonly SyncRange[], pace: Pace | null, have: Uint8Array[], need: Uint8Array[]): SyncWriter {
    const items = this.#items
    const w = new SyncWriter(this.maxMessageBytes)
    let lower: SyncBound = MIN_BOUND
    let lowerIdx = 0
    for (const r of ranges) {
      const upperIdx = r.upper.ts === Infinity ? items.size : items.lowerBound(r.upper)
      let open = true
      const differs = r.mode === 'fingerprint' && !bytesEqual(items.fingerprint(lowerIdx, upperIdx), r.fingerprint)
      if (pace?.region != null && !differs) open = this.#flushRegion(w, pace, lower, lowerIdx)
      if (!open) break
      if (differs) {
        if (pace?.deferring === true) pace.region ??= { lower, lo: lowerIdx }
        else open = this.#split(w, lower, lowerIdx, r.upper, upperIdx, pace, false)
      } else if (r.mode === 'idList') {
        if (pace !== null) this.#resolve(r.ids, lowerIdx, upperIdx, have, need)
        else open = this.#list(w, lower, lowerIdx, r.upper, upperIdx)
      }
      if (!open) break // message cut short and closed
      lower = r.upper
      lowerIdx = upperIdx
    }
    if (pace?.region != null && lower.ts === Infinity) this.#flushRegion(w, pace, lower, lowerIdx)
    return w
  }

  /**
   * Answers the mismatched range [lower, upper) = items [lo, hi): a list (server, few items;
   * client, no items) or fingerprints of buckets. False if the message had to be cut.
   */
  #split (w: SyncWriter, lower: SyncBound, lo: number, upper: SyncBound, hi: number, pace: Pace | null, first: boolean): boolean {
    const n = hi - lo
    const initiator = pace !== null
    if (n === 0 || (!initiator && n < this.idListThreshold)) return this.#list(w, lower, lo, upper, hi)
    const k = this.#bucketCount(n, initiator, first)
    const per = Math.floor(n / k)
    const extra = n % k
    const items = this.#items
    let cur = lo
    let curLower = lower
    for (let i = 0; i < k; i++) {
      const next = cur + per + (i < extra ? 1 : 0)
      const bound = next === hi ? upper : minimalBound(items.at(next - 1), items.at(next))
      if (pace !== null && (next - cur) * Math.max(1, this.#idsPerItem) < this.idListThreshold) {
        // a bucket the server will list if it differs: count the reply it may cost
        const cost = (next - cur) * this.#idsPerItem * ID_BYTES
        if (pace.opened !== null && pace.spent + cost > this.#paceBudget) {
          pace.deferring = true
          pace.region = { lower: curLower, lo: cur } // the rest of this range waits
          return true
        }
        pace.spent += cost
        pace.opened = { from: pace.opened?.from ?? curLower, to: bound }
      }
      if (!w.tryFingerprint(curLower, bound, items.fingerprint(cur, next))) {
        w.closeWithFingerprint(curLower, items.fingerprint(cur, items.size))
        return false
      }
      cur = next
      curLower = bound
    }
    return true
  }

  /**
   * Buckets for a split of n items. The server splits `branching` ways (the first split of the
   * client `firstBranching` ways) while buckets stay too big to list. When every bucket can be
   * small enough for the server to list (at most LEAF_SPLIT_CAP x branching buckets under
   * idListThreshold items), the client instead takes about sqrt(1.5 n) buckets: each costs ~22
   * bytes of fingerprint, each item of the (usually one) mismatched bucket 32 bytes of id.
   */
  #bucketCount (n: number, initiator: boolean, first: boolean): number {
    const k = first ? this.firstBranching : this.branching
    if (!initiator) return Math.min(k, n)
    // the server holds about max(1, idsPerItem) items per item of ours where sets differ
    const listable = Math.ceil(n * Math.max(1, this.#idsPerItem) / (this.idListThreshold - 1))
    const cap = LEAF_SPLIT_CAP * k
    if (listable > cap) return Math.min(k, n)
    return Math.min(n, cap, Math.max(listable, 2, Math.ceil(Math.sqrt(LEAF_SPLIT_FACTOR * n))))
  }

  /**
   * Client, paced: hands the run of differing ranges [region.lower, upper) = items
   * [region.lo, hi) back as one fingerprint, for a later round. False if the message was cut.
   */
  #flushRegion (w: SyncWriter, pace: Pace, upper: SyncBound, hi: number): boolean {
    const region = pace.region!
    pace.region = null
    if (w.tryFingerprint(region.lower, upper, this.#items.fingerprint(region.lo, hi))) return true
    w.closeWithFingerprint(region.lower, this.#items.fingerprint(region.lo, this.#items.size))
    return false
  }

  /** Lists our ids of [lower, upper) = items [lo, hi), as many as fit; false if cut. */
  #list (w: SyncWriter, lower: SyncBound, lo: number, upper: SyncBound, hi: number): boolean {
    const items = this.#items
    const n = hi - lo
    // Never gather more ids than the message could hold (a range may hold the whole set).
    const fitAtMost = Math.floor((w.limit - w.size) / ID_BYTES)
    const ids = Array.from(items.slice(lo, lo + Math.min(n, fitAtMost + 1)), (it) => it.id)
    if (ids.length === n && w.tryIdList(lower, upper, ids)) return true
    // Cut: list a prefix that surely fits, then close with a fingerprint of the rest.
    const room = w.limit - CLOSE_RESERVE_BYTES - w.size - w.skipBytes(lower) - MAX_BOUND_BYTES - 1 - varintSize(n)
    let m = Math.min(n - 1, Math.floor(room / ID_BYTES))
    while (m > 0) {
      const bound = minimalBound(items.at(lo + m - 1), items.at(lo + m))
      if (w.tryIdList(lower, bound, ids.slice(0, m))) {
        w.closeWithFingerprint(bound, items.fingerprint(lo + m, items.size))
        return false
      }
      m--
    }
    w.closeWithFingerprint(lower, items.fingerprint(lo, items.size))
    return false
  }

  /** Client: the server listed all its ids of items [lo, hi); compare with ours. */
  #resolve (theirs: readonly Uint8Array[], lo: number, hi: number, have: Uint8Array[], need: Uint8Array[]): void {
    const pending = new Map<string, Uint8Array>()
    for (const id of theirs) pending.set(idKey(id), id)
    for (const it of this.#items.slice(lo, hi)) {
      const key = idKey(it.id)
      if (pending.delete(key)) continue
      if (!this.#reported.has(key)) {
        this.#reported.add(key)
        have.push(it.id.slice())
      }
    }
    for (const [key, id] of pending) {
      if (!this.#reported.has(key)) {
        this.#reported.add(key)
        need.push(id)
      }
    }
  }
}

/** Client state while building one message (see #learnPace). */
interface Pace {
  /** reply bytes the listable buckets opened so far may cost */
  spent: number
  /** span of those buckets */
  opened: { from: SyncBound, to: SyncBound } | null
  /** reply budget reached: differing ranges are handed back whole */
  deferring: boolean
  /** start of the run of differing ranges being handed back */
  region: { lower: SyncBound, lo: number } | null
}

function intOption (v: number | undefined, dflt: number, min: number, max: number, name: string): number {
  if (v === undefined) return dflt
  if (!Number.isInteger(v) || v < min || v > max) fail('BAD_ARGUMENT', `sync ${name} must be an integer in ${min}..${max}`)
  return v
}

function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
