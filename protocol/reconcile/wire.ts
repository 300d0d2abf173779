/**
 * Wire format of one history-sync message (the Negentropy v1 layout, under Porchlight's own
 * version byte):
 *
 *   message = version:u8 range*
 *   range   = bound mode:varint payload
 *   bound   = tsDelta:varint prefixLen:varint prefix:u8[prefixLen]
 *   payload = Skip: nothing | Fingerprint: u8[16] | IdList: count:varint id:u8[32]*count
 *
 * Ranges cover the item space from the lowest bound upward without gaps: each range ends at
 * its bound (exclusive) and starts where the previous one ended. tsDelta is 0 for the bound
 * past every item, else 1 + (ts - ts of the previous bound in this message, 0 at the start).
 * The id prefix is compared as if padded with zero bytes to 32 bytes.
 *
 * The decoder is strict and bounded: at most `maxBytes` bytes (TOO_LARGE), at most MAX_RANGES
 * ranges (TOO_LARGE), version SYNC_VERSION (BAD_VERSION), minimal varints, timestamps up to
 * 2^53 - 1 and prefixes up to 32 bytes (OUT_OF_RANGE), bounds strictly increasing, an empty
 * prefix on the infinite bound, the last range ending at infinity, no duplicate id in a list
 * and no trailing bytes (MALFORMED). A message of the version byte alone (no ranges) means
 * "nothing left to reconcile". It throws nothing but PorchlightError.
 */
import { fail } from '../errors.ts'
import { FINGERPRINT_BYTES, ID_BYTES } from './fingerprint.ts'
import { compareItems, INFINITE_BOUND, MAX_TIMESTAMP, MIN_BOUND, type SyncBound } from './items.ts'
import { readVarint, varintSize, writeVarint, type Cursor } from './varint.ts'

/** First byte of every sync message (Negentropy itself uses 0x61; these are not its messages). */
export const SYNC_VERSION = 0x01
/** Ranges in one message, whatever its byte size. */
export const MAX_RANGES = 8192
/** Longest encoded bound: 8-byte ts varint + 1-byte length + 32-byte prefix. */
export const MAX_BOUND_BYTES = 8 + 1 + ID_BYTES
/** Room a writer keeps free to close a cut-short message: one Skip + one Fingerprint to infinity. */
export const CLOSE_RESERVE_BYTES = (MAX_BOUND_BYTES + 1) + (2 + 1 + FINGERPRINT_BYTES)
const CLOSE_RESERVE_RANGES = 2

const MODE_SKIP = 0
const MODE_FINGERPRINT = 1
const MODE_ID_LIST = 2

export type SyncRange =
  | { readonly upper: SyncBound, readonly mode: 'skip' }
  | { readonly upper: SyncBound, readonly mode: 'fingerprint', readonly fingerprint: Uint8Array }
  | { readonly upper: SyncBound, readonly mode: 'idList', readonly ids: readonly Uint8Array[] }

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Map key of an id (hex). */
export function idKey (id: Uint8Array): string {
  let s = ''
  for (let i = 0; i < id.length; i++) s += HEX[id[i]!]
  return s
}

/** Decodes and fully validates one message before anything acts on it. */
export function decodeSyncMessage (bytes: Uint8Array, maxBytes: number): SyncRange[] {
  if (!(bytes instanceof Uint8Array)) fail('BAD_ARGUMENT', 'sync message must be a Uint8Array')
  if (bytes.length > maxBytes) fail('TOO_LARGE', `sync message of ${bytes.length} bytes exceeds ${maxBytes}`)
  if (bytes.length === 0) fail('MALFORMED', 'sync message is empty')
  if (bytes[0] !== SYNC_VERSION) fail('BAD_VERSION', `sync message version ${bytes[0]!} is not ${SYNC_VERSION}`)
  const cur: Cursor = { pos: 1 }
  const ranges: SyncRange[] = []
  let prev: SyncBound = MIN_BOUND
  let lastTs = 0
  while (cur.pos < bytes.length) {
    if (ranges.length >= MAX_RANGES) fail('TOO_LARGE', `sync message has more than ${MAX_RANGES} ranges`)
    const tsDelta = readVarint(bytes, cur)
    let ts = Infinity
    if (tsDelta !== 0) {
      ts = lastTs + (tsDelta - 1)
      if (ts > MAX_TIMESTAMP) fail('OUT_OF_RANGE', 'sync bound timestamp above 2^53 - 1')
      lastTs = ts
    }
    const prefixLen = readVarint(bytes, cur)
    if (prefixLen > ID_BYTES) fail('OUT_OF_RANGE', `sync bound prefix longer than ${ID_BYTES} bytes`)
    if (ts === Infinity && prefixLen !== 0) fail('MALFORMED', 'sync infinite bound carries an id prefix')
    const upper: SyncBound = { ts, id: take(bytes, cur, prefixLen) }
    if (compareItems(prev, upper) >= 0) fail('MALFORMED', 'sync bounds are not strictly increasing')
    const mode = readVarint(bytes, cur)
    if (mode === MODE_SKIP) {
      ranges.push({ upper, mode: 'skip' })
    } else if (mode === MODE_FINGERPRINT) {
      ranges.push({ upper, mode: 'fingerprint', fingerprint: take(bytes, cur, FINGERPRINT_BYTES) })
    } else if (mode === MODE_ID_LIST) {
      const count = readVarint(bytes, cur)
      if (count > (bytes.length - cur.pos) / ID_BYTES) fail('MALFORMED', 'sync id list longer than the message')
      const ids: Uint8Array[] = []
      const seen = new Set<string>()
      for (let i = 0; i < count; i++) {
        const id = take(bytes, cur, ID_BYTES)
        const key = idKey(id)
        if (seen.has(key)) fail('MALFORMED', 'sync id list repeats an id')
        seen.add(key)
        ids.push(id)
      }
      ranges.push({ upper, mode: 'idList', ids })
    } else {
      fail('OUT_OF_RANGE', `sync range mode ${mode} is unknown`)
    }
    prev = upper
    if (ts === Infinity) break
  }
  if (cur.pos !== bytes.length) fail('MALFORMED', 'sync message has bytes after its last range')
  if (ranges.length > 0 && prev.ts !== Infinity) fail('MALFORMED', 'sync message does not end at infinity')
  return ranges
}

function take (bytes: Uint8Array, cur: Cursor, n: number): Uint8Array {
  if (cur.pos + n > bytes.length) fail('MALFORMED', 'sync message ends inside a field')
  const out = bytes.slice(cur.pos, cur.pos + n)
  cur.pos += n
  return out
}

export interface WriterMark { len: number, lastTs: number, covered: SyncBound, ranges: number, work: number }

/**
 * Builds one message within a byte limit. Ranges must be written in increasing bound order;
 * a Skip up to `lower` is inserted where work starts past what is already covered. Writes may
 * be tried and rolled back (mark/reset) so a message is cut at a range boundary, keeping
 * CLOSE_RESERVE_BYTES free to close it with a Fingerprint of everything left.
 */
export class SyncWriter {
  readonly limit: number
  #buf = new Uint8Array(256)
  #len = 1
  #lastTs = 0
  #covered: SyncBound = MIN_BOUND
  #ranges = 0
  #work = 0

  constructor (limit: number) {
    this.limit = limit
    this.#buf[0] = SYNC_VERSION
  }

  get size (): number { return this.#len }
  /** Whether any Fingerprint or IdList range was written. */
  get hasWork (): boolean { return this.#work > 0 }

  mark (): WriterMark {
    return { len: this.#len, lastTs: this.#lastTs, covered: this.#covered, ranges: this.#ranges, work: this.#work }
  }

  reset (m: WriterMark): void {
    this.#len = m.len
    this.#lastTs = m.lastTs
    this.#covered = m.covered
    this.#ranges = m.ranges
    this.#work = m.work
  }

  /** True while the message, plus what closing it may take, stays within the limits. */
  fits (): boolean {
    return this.#len + CLOSE_RESERVE_BYTES <= this.limit && this.#ranges + CLOSE_RESERVE_RANGES <= MAX_RANGES
  }

  /** Bytes a Skip range ending at `lower` would take now (0 if nothing to skip). */
  skipBytes (lower: SyncBound): number {
    return compareItems(this.#covered, lower) < 0 ? this.#boundBytes(lower) + 1 : 0
  }

  #boundBytes (b: SyncBound): number {
    const ts = b.ts === Infinity ? 0 : b.ts - this.#lastTs + 1
    return varintSize(ts) + varintSize(b.id.length) + b.id.length
  }

  /** Writes Fingerprint [lower, upper); false (nothing written) if it would not fit. */
  tryFingerprint (lower: SyncBound, upper: SyncBound, fp: Uint8Array): boolean {
    const m = this.mark()
    this.#skipTo(lower)
    this.#bound(upper)
    this.#varint(MODE_FINGERPRINT)
    this.#bytes(fp)
    this.#work++
    if (this.fits()) return true
    this.reset(m)
    return false
  }

  /** Writes IdList [lower, upper); false (nothing written) if it would not fit. */
  tryIdList (lower: SyncBound, upper: SyncBound, ids: readonly Uint8Array[]): boolean {
    const m = this.mark()
    this.#skipTo(lower)
    this.#bound(upper)
    this.#varint(MODE_ID_LIST)
    this.#varint(ids.length)
    for (const id of ids) this.#bytes(id)
    this.#work++
    if (this.fits()) return true
    this.reset(m)
    return false
  }

  /** Ends a cut-short message: Fingerprint from `lower` to infinity (always fits: reserved). */
  closeWithFingerprint (lower: SyncBound, fp: Uint8Array): void {
    this.#skipTo(lower)
    this.#bound(INFINITE_BOUND)
    this.#varint(MODE_FINGERPRINT)
    this.#bytes(fp)
    this.#work++
  }

  /** The message; the version byte alone when there is no work left. */
  finish (): Uint8Array {
    if (this.#work === 0) return Uint8Array.of(SYNC_VERSION)
    if (this.#covered.ts !== Infinity) {
      this.#bound(INFINITE_BOUND)
      this.#varint(MODE_SKIP)
    }
    return this.#buf.slice(0, this.#len)
  }

  #skipTo (lower: SyncBound): void {
    if (compareItems(this.#covered, lower) >= 0) return
    this.#bound(lower)
    this.#varint(MODE_SKIP)
  }

  #bound (b: SyncBound): void {
    if (compareItems(this.#covered, b) >= 0) fail('BAD_ARGUMENT', 'sync writer: bounds must increase')
    this.#ranges++
    this.#covered = b
    if (b.ts === Infinity) {
      this.#varint(0)
    } else {
      this.#varint(b.ts - this.#lastTs + 1)
      this.#lastTs = b.ts
    }
    this.#varint(b.id.length)
    this.#bytes(b.id)
  }

  #varint (n: number): void {
    this.#room(8)
    this.#len = writeVarint(this.#buf, this.#len, n)
  }

  #bytes (b: Uint8Array): void {
    this.#room(b.length)
    this.#buf.set(b, this.#len)
    this.#len += b.length
  }

  #room (n: number): void {
    if (this.#len + n <= this.#buf.length) return
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n))
    next.set(this.#buf.subarray(0, this.#len))
    this.#buf = next
  }
}
