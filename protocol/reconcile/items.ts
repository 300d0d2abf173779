/**
 * The sorted item set that history sync reconciles: one per topic, items (ts, id) ordered by
 * timestamp, then id bytes. Stored as a list of sorted chunks (at most CHUNK_MAX items each)
 * so a random insert or removal moves at most CHUNK_MAX references, and each chunk caches the
 * 256-bit sum of its ids: the fingerprint of any index range then costs the chunks it spans
 * plus at most two partial chunks, not one step per item.
 */
import { fail } from '../errors.ts'
import { addId, addSum, fingerprintOf, ID_BYTES, newSum } from './fingerprint.ts'

/** Timestamps are integer milliseconds since the epoch, 0..2^53 - 1. */
export const MAX_TIMESTAMP = Number.MAX_SAFE_INTEGER
/** A chunk is split in two when it grows past this many items. */
export const CHUNK_MAX = 512
/** Chunk size used when a set is built or rebuilt in bulk. */
export const CHUNK_FILL = 256
/** addMany rebuilds the whole set (sort + merge) rather than inserting one by one above this share. */
const BULK_REBUILD_SHARE = 1 / 8

export interface SyncItem {
  /** ms since the epoch, integer, 0..2^53 - 1 */
  readonly ts: number
  /** exactly 32 bytes */
  readonly id: Uint8Array
}

/**
 * A position between items: every item below it sorts before it. `id` is a prefix of 0..32
 * bytes, compared as if padded with zero bytes; `ts` is Infinity for the bound past all items.
 */
export interface SyncBound {
  readonly ts: number
  readonly id: Uint8Array
}

const EMPTY = new Uint8Array(0)
/** Lowest bound: no item sorts before it. */
export const MIN_BOUND: SyncBound = Object.freeze({ ts: 0, id: EMPTY })
/** Bound past every item. */
export const INFINITE_BOUND: SyncBound = Object.freeze({ ts: Infinity, id: EMPTY })

/** Compares byte strings as if the shorter were padded with zero bytes. */
function comparePadded (a: Uint8Array, b: Uint8Array): number {
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const x = a[i] ?? 0
    const y = b[i] ?? 0
    if (x !== y) return x - y
  }
  return 0
}

/** Orders items, and bounds, and items against bounds: by ts, then id bytes. */
export function compareItems (a: SyncBound, b: SyncBound): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1
  return comparePadded(a.id, b.id)
}

/** Shortest bound `b` with prev < b <= curr (prev < curr), as Negentropy's getMinimalBound. */
export function minimalBound (prev: SyncItem, curr: SyncItem): SyncBound {
  if (curr.ts !== prev.ts) return { ts: curr.ts, id: EMPTY }
  let i = 0
  while (i < ID_BYTES - 1 && curr.id[i] === prev.id[i]) i++
  return { ts: curr.ts, id: curr.id.slice(0, i + 1) }
}

/** BAD_ARGUMENT unless `item` is a valid item; returns a private copy. */
export function checkItem (item: SyncItem): SyncItem {
  if (typeof item !== 'object' || item === null) fail('BAD_ARGUMENT', 'sync item must be an object')
  const { ts, id } = item
  if (!Number.isSafeInteger(ts) || ts < 0) fail('BAD_ARGUMENT', 'sync item ts must be an integer in 0..2^53-1')
  if (!(id instanceof Uint8Array) || id.length !== ID_BYTES) fail('BAD_ARGUMENT', `sync item id must be ${ID_BYTES} bytes`)
  return Object.freeze({ ts, id: new Uint8Array(id) })
}

interface Chunk {
  items: SyncItem[]
  /** cached sum of the ids, null when stale */
  sum: Uint32Array | null
}

export class SyncItemSet {
  #chunks: Chunk[] = []
  /** index of each chunk's first item; null when stale */
  #starts: number[] | null = null
  #size = 0

  constructor (items?: Iterable<SyncItem>) {
    if (items !== undefined) this.addMany(items)
  }

  get size (): number {
    return this.#size
  }

  /** Adds a copy of `item`; false if an equal (ts, id) item is already present. */
  add (item: SyncItem): boolean {
    const it = checkItem(item)
    if (this.#chunks.length === 0) {
      this.#chunks.push({ items: [it], sum: null })
      this.#changed(1)
      return true
    }
    const c = this.#chunkFor(it)
    const chunk = this.#chunks[c]!
    const pos = lowerBoundIn(chunk.items, it)
    const at = chunk.items[pos]
    if (at !== undefined && compareItems(at, it) === 0) return false
    chunk.items.splice(pos, 0, it)
    chunk.sum = null
    if (chunk.items.length > CHUNK_MAX) {
      const tail = chunk.items.splice(chunk.items.length >> 1)
      this.#chunks.splice(c + 1, 0, { items: tail, sum: null })
    }
    this.#changed(1)
    return true
  }

  /** Adds many items (bulk path: sort and merge); returns how many were new. */
  addMany (items: Iterable<SyncItem>): number {
    const fresh: SyncItem[] = []
    for (const item of items) fresh.push(checkItem(item))
    if (fresh.length <= this.#size * BULK_REBUILD_SHARE) {
      let added = 0
      for (const it of fresh) if (this.add(it)) added++
      return added
    }
    fresh.sort(compareItems)
    const merged = mergeUnique(this.#allItems(), fresh)
    const added = merged.length - this.#size
    this.#chunks = []
    for (let i = 0; i < merged.length; i += CHUNK_FILL) {
      this.#chunks.push({ items: merged.slice(i, i + CHUNK_FILL), sum: null })
    }
    this.#changed(added)
    return added
  }

  /** Removes the item equal to (ts, id); false if absent. */
  remove (item: SyncItem): boolean {
    const it = checkItem(item)
    if (this.#chunks.length === 0) return false
    const c = this.#chunkFor(it)
    const chunk = this.#chunks[c]!
    const pos = lowerBoundIn(chunk.items, it)
    const at = chunk.items[pos]
    if (at === undefined || compareItems(at, it) !== 0) return false
    chunk.items.splice(pos, 1)
    chunk.sum = null
    if (chunk.items.length === 0) this.#chunks.splice(c, 1)
    this.#changed(-1)
    return true
  }

  has (item: SyncItem): boolean {
    const i = this.lowerBound(item)
    return i < this.#size && compareItems(this.at(i), item) === 0
  }

  /** Item at sorted position `index` (0 <= index < size). */
  at (index: number): SyncItem {
    if (!Number.isInteger(index) || index < 0 || index >= this.#size) fail('BAD_ARGUMENT', 'sync item index out of range')
    const c = this.#chunkOfIndex(index)
    return this.#chunks[c]!.items[index - this.#startsArr()[c]!]!
  }

  /** Index of the first item >= bound (size if none). */
  lowerBound (bound: SyncBound): number {
    const chunks = this.#chunks
    let lo = 0
    let hi = chunks.length
    while (lo < hi) { // first chunk whose last item >= bound
      const mid = (lo + hi) >> 1
      const items = chunks[mid]!.items
      if (compareItems(items[items.length - 1]!, bound) < 0) lo = mid + 1
      else hi = mid
    }
    if (lo === chunks.length) return this.#size
    return this.#startsArr()[lo]! + lowerBoundIn(chunks[lo]!.items, bound)
  }

  /** Items in [lower, upper), in order. */
  * range (lower: SyncBound = MIN_BOUND, upper: SyncBound = INFINITE_BOUND): Generator<SyncItem> {
    yield * this.slice(this.lowerBound(lower), this.lowerBound(upper))
  }

  /** Items with index in [from, to), in order. */
  * slice (from: number, to: number): Generator<SyncItem> {
    from = Math.max(0, from)
    to = Math.min(this.#size, to)
    if (from >= to) return
    const starts = this.#startsArr()
    for (let c = this.#chunkOfIndex(from), i = from; i < to; c++) {
      const items = this.#chunks[c]!.items
      for (let k = i - starts[c]!; k < items.length && i < to; k++, i++) yield items[k]!
    }
  }

  [Symbol.iterator] (): Generator<SyncItem> {
    return this.slice(0, this.#size)
  }

  /** 16-byte fingerprint of the items with index in [from, to). */
  fingerprint (from: number, to: number): Uint8Array {
    from = Math.max(0, from)
    to = Math.min(this.#size, to)
    const acc = newSum()
    if (from >= to) return fingerprintOf(acc, 0)
    const starts = this.#startsArr()
    for (let c = this.#chunkOfIndex(from), i = from; i < to; c++) {
      const chunk = this.#chunks[c]!
      const items = chunk.items
      const off = i - starts[c]!
      const take = Math.min(items.length - off, to - i)
      if (off === 0 && take === items.length) {
        addSum(acc, this.#chunkSum(chunk))
      } else {
        for (let k = off; k < off + take; k++) addId(acc, items[k]!.id)
      }
      i += take
    }
    return fingerprintOf(acc, to - from)
  }

  #changed (delta: number): void {
    this.#starts = null
    this.#size += delta
  }

  #startsArr (): number[] {
    if (this.#starts === null) {
      const starts = new Array<number>(this.#chunks.length)
      let n = 0
      for (let c = 0; c < this.#chunks.length; c++) {
        starts[c] = n
        n += this.#chunks[c]!.items.length
      }
      this.#starts = starts
    }
    return this.#starts
  }

  /** Chunk holding index (0 <= index < size): last chunk starting at or before it. */
  #chunkOfIndex (index: number): number {
    const starts = this.#startsArr()
    let lo = 0
    let hi = starts.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (starts[mid]! <= index) lo = mid
      else hi = mid - 1
    }
    return lo
  }

  /** Chunk where `item` belongs: first whose last item >= it, else the last chunk. */
  #chunkFor (item: SyncBound): number {
    const chunks = this.#chunks
    let lo = 0
    let hi = chunks.length - 1
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      const items = chunks[mid]!.items
      if (compareItems(items[items.length - 1]!, item) < 0) lo = mid + 1
      else hi = mid
    }
    return lo
  }

  #chunkSum (chunk: Chunk): Uint32Array {
    if (chunk.sum === null) {
      const acc = newSum()
      for (const it of chunk.items) addId(acc, it.id)
      chunk.sum = acc
    }
    return chunk.sum
  }

  #allItems (): SyncItem[] {
    const out: SyncItem[] = []
    for (const c of this.#chunks) for (const it of c.items) out.push(it)
    return out
  }
}

/** First position in sorted `items` whose item is >= bound. */
function lowerBoundIn (items: readonly SyncItem[], bound: SyncBound): number {
  let lo = 0
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (compareItems(items[mid]!, bound) < 0) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Merges two sorted lists, dropping equal items. */
function mergeUnique (a: readonly SyncItem[], b: readonly SyncItem[]): SyncItem[] {
  const out: SyncItem[] = []
  let i = 0
  let j = 0
  const push = (it: SyncItem): void => {
    const last = out[out.length - 1]
    if (last === undefined || compareItems(last, it) !== 0) out.push(it)
  }
  while (i < a.length || j < b.length) {
    const x = a[i]
    const y = b[j]
    if (y === undefined || (x !== undefined && compareItems(x, y) <= 0)) {
      push(x!)
      i++
    } else {
      push(y)
      j++
    }
  }
  return out
}
