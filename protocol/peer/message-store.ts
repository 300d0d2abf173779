/**
 * Durable message store on a runtime's ordered byte store (MessageBackend: LevelDB in Node,
 * node/storage/level-messages.ts; IndexedDB in the browser): every message a peer keeps
 * (private envelopes, rekeys, public posts) by topic and time, plus an expiry index so expired
 * messages are deleted everywhere. An in-memory index (id → topic, ts, exp, size) and one sync
 * item set per topic (and per kind) are rebuilt from the backend at open; 100,000 messages
 * cost about 15 MB of memory.
 *
 * Writes are group-committed: concurrent `put`s are gathered into one backend batch, which
 * is durable when it resolves (LevelDB: `sync: true`), so a caller's promise resolves only
 * when its message is on disk (fsync) and many pushes share one fsync. A batch of puts that
 * all said `durable: false` (messages a peer received, which its relays hold) is written
 * without the fsync: on a disk shared by many peers, fsyncs are what queue.
 */
import { fail, PorchlightError } from '../errors.ts'
import { toHex } from '../encoding.ts'
import { SyncItemSet } from '../reconcile/sync.ts'
import { MAX_TOMBSTONES_PER_TOPIC, retractedBy } from '../retract.ts'
import type { BackendOp, MessageBackend, Messages, PutOptions, StoredMessage } from './storage.ts'
import { soon } from './soon.ts'

export type { StoredMessage }

/** `retracts`: for a tombstone (a retraction, retract.ts), the hex id of the post it names. */
interface IndexEntry { topic: string, ts: number, exp: number, size: number, kind?: string, retracts?: string }

interface TopicState { items: SyncItemSet, bytes: number, kinds: Map<string, SyncItemSet>, tombstones: number }

export interface StoreInit {
  /** Bytes one topic may hold; a put over it is refused with OVER_QUOTA. @default 256 MiB */
  quotaBytesPerTopic?: number
  /**
   * Names a kind of message (for example 'rekey') that gets its own sync item set per topic,
   * so a session limited to that kind reconciles it without reading the rest.
   */
  kindOf?: (bytes: Uint8Array) => string | undefined
  /** Tombstones (retractions) one topic may hold; a put over it is refused with OVER_QUOTA. @default MAX_TOMBSTONES_PER_TOPIC */
  maxTombstonesPerTopic?: number
}

export const DEFAULT_QUOTA_BYTES_PER_TOPIC = 256 * 1024 * 1024

const MSG = 'm!'
const EXP = 'x!'
/** The store's format (store-format.ts), written once its messages are in it. */
const FORMAT_KEY = 'f!format'

/** Fixed-width hex time (14 digits covers 2^53 ms), so keys sort by time. */
function hexTime (n: number): string { return n.toString(16).padStart(14, '0') }
function msgKey (topic: string, ts: number, idHex: string): string { return `${MSG}${topic}!${hexTime(ts)}!${idHex}` }
function expKey (exp: number, idHex: string): string { return `${EXP}${hexTime(exp)}!${idHex}` }

interface Pending { msg: StoredMessage, idHex: string, durable: boolean, resolve: (added: boolean) => void, reject: (err: unknown) => void }

/** The expiry index's value (its key says it all): one, shared by every put. */
const NO_VALUE = new Uint8Array(0)


export class MessageStore implements Messages {
  private readonly index = new Map<string, IndexEntry>()
  private readonly topics = new Map<string, TopicState>()
  /** Tombstones by the post they name: post id hex → tombstone id hex. */
  private readonly tombstoneIndex = new Map<string, string>()
  private readonly quota: number
  private readonly maxTombstones: number
  private readonly kindOf: (bytes: Uint8Array) => string | undefined
  private pending: Pending[] = []
  /**
   * Bytes per topic of puts not yet in the index: queued, or in a batch being written. The quota
   * counts them, so puts arriving while a batch is written cannot push a topic past it.
   */
  private readonly reserved = new Map<string, number>()
  private flushing: Promise<void> | undefined
  private closed = false

  private constructor (private readonly db: MessageBackend, init: StoreInit) {
    this.quota = init.quotaBytesPerTopic ?? DEFAULT_QUOTA_BYTES_PER_TOPIC
    this.kindOf = init.kindOf ?? (() => undefined)
    this.maxTombstones = init.maxTombstonesPerTopic ?? MAX_TOMBSTONES_PER_TOPIC
  }

  /** Opens the store on `backend`, rebuilding the index from it (the caller opened the backend). */
  static async open (backend: MessageBackend, init: StoreInit = {}): Promise<MessageStore> {
    const store = new MessageStore(backend, init)
    try {
      await store.load()
    } catch (err) {
      // The load's error says what went wrong; a close that fails too adds nothing to it.
      await backend.close().catch(() => undefined)
      throw err
    }
    return store
  }

  private async load (): Promise<void> {
    const exps = new Map<string, number>()
    for await (const key of this.db.keys({ gte: EXP, lt: `${EXP}~` })) {
      const [exp, idHex] = key.slice(EXP.length).split('!')
      exps.set(idHex!, parseInt(exp!, 16))
    }
    for await (const [key, value] of this.db.entries({ gte: MSG, lt: `${MSG}~` })) {
      const rest = key.slice(MSG.length)
      const idHex = rest.slice(-64)
      const ts = parseInt(rest.slice(-64 - 15, -65), 16)
      const topic = rest.slice(0, -64 - 16)
      const exp = exps.get(idHex) ?? ts
      this.remember(topic, idHex, ts, exp, value)
    }
  }

  /** `id`: the id's bytes when the caller has them (a put), else read back from `idHex` (a load); the item sets keep copies. */
  private remember (topic: string, idHex: string, ts: number, exp: number, bytes: Uint8Array, id = hexToBytes(idHex)): void {
    const size = bytes.length
    const kind = this.kindOf(bytes)
    const target = retractedBy(bytes)
    const retracts = target !== undefined ? toHex(target) : undefined
    this.index.set(idHex, { topic, ts, exp, size, ...(kind !== undefined ? { kind } : {}), ...(retracts !== undefined ? { retracts } : {}) })
    const t = this.topic(topic)
    if (retracts !== undefined) {
      this.tombstoneIndex.set(retracts, idHex)
      t.tombstones++
    }
    const item = { ts, id }
    t.items.add(item)
    if (kind !== undefined) this.kindItems(t, kind).add(item)
    t.bytes += size
  }

  private forget (idHex: string, e: IndexEntry): void {
    this.index.delete(idHex)
    const t = this.topic(e.topic)
    const item = { ts: e.ts, id: hexToBytes(idHex) }
    t.items.remove(item)
    if (e.kind !== undefined) t.kinds.get(e.kind)?.remove(item)
    t.bytes -= e.size
    if (e.retracts !== undefined) {
      if (this.tombstoneIndex.get(e.retracts) === idHex) this.tombstoneIndex.delete(e.retracts)
      t.tombstones--
    }
  }

  /** Forgets `idHex` if the index still holds entry `e` for it (not when a concurrent delete or sweep did first). */
  private forgetIfSame (idHex: string, e: IndexEntry): boolean {
    if (this.index.get(idHex) !== e) return false
    this.forget(idHex, e)
    return true
  }

  private kindItems (t: { kinds: Map<string, SyncItemSet> }, kind: string): SyncItemSet {
    let set = t.kinds.get(kind)
    if (set === undefined) { set = new SyncItemSet(); t.kinds.set(kind, set) }
    return set
  }

  private topic (topic: string): TopicState {
    let t = this.topics.get(topic)
    if (t === undefined) {
      t = { items: new SyncItemSet(), bytes: 0, kinds: new Map(), tombstones: 0 }
      this.topics.set(topic, t)
    }
    return t
  }

  has (id: Uint8Array): boolean { return this.index.has(toHex(id)) }

  /** The stored tombstone (retraction) naming post `id`, if there is one: its message id. */
  tombstoneFor (id: Uint8Array): Uint8Array | undefined {
    const t = this.tombstoneIndex.get(toHex(id))
    return t !== undefined ? hexToBytes(t) : undefined
  }

  /** How many tombstones a topic holds. */
  tombstones (topic: string): number { return this.topics.get(topic)?.tombstones ?? 0 }

  /** Bytes one topic may hold. */
  get quotaBytesPerTopic (): number { return this.quota }

  /** Stores a message, durably unless `options.durable` is false. Resolves true if new, false if already stored. */
  async put (msg: StoredMessage, options: PutOptions = {}): Promise<boolean> {
    if (this.closed) fail('UNAVAILABLE', 'store is closed')
    const idHex = toHex(msg.id)
    if (this.index.has(idHex)) return false
    const used = (this.topics.get(msg.topic)?.bytes ?? 0) + (this.reserved.get(msg.topic) ?? 0)
    if (used + msg.bytes.length > this.quota) {
      fail('OVER_QUOTA', `topic storage quota of ${this.quota} bytes reached`)
    }
    // Tombstones are small but many could be made: a count bounds them too (queued ones included).
    if (retractedBy(msg.bytes) !== undefined) {
      const queued = this.pending.filter(p => p.msg.topic === msg.topic && retractedBy(p.msg.bytes) !== undefined).length
      if (this.tombstones(msg.topic) + queued >= this.maxTombstones) fail('OVER_QUOTA', `topic holds ${this.maxTombstones} tombstones`)
    }
    this.reserve(msg.topic, msg.bytes.length)
    return new Promise<boolean>((resolve, reject) => {
      this.pending.push({ msg, idHex, durable: options.durable !== false, resolve, reject })
      this.flushing ??= this.flush()
    })
  }

  private reserve (topic: string, bytes: number): void {
    const n = (this.reserved.get(topic) ?? 0) + bytes
    if (n === 0) this.reserved.delete(topic)
    else this.reserved.set(topic, n)
  }

  private async flush (): Promise<void> {
    // Yield once so that puts issued in the same tick share this batch.
    await new Promise<void>(resolve => { soon(resolve) })
    while (this.pending.length > 0) {
      const batch = this.pending
      this.pending = []
      const fresh: Pending[] = []
      const firstOf = new Map<string, Pending>()
      // A second put of a message in this batch answers "already stored" only once the first is
      // written (and fails with it): a relay acknowledges on that answer.
      const again: Pending[] = []
      const ops: BackendOp[] = []
      for (const p of batch) {
        const idHex = p.idHex
        if (this.index.has(idHex)) { this.reserve(p.msg.topic, -p.msg.bytes.length); p.resolve(false); continue }
        const first = firstOf.get(idHex)
        if (first !== undefined) {
          this.reserve(p.msg.topic, -p.msg.bytes.length)
          first.durable ||= p.durable
          again.push(p)
          continue
        }
        firstOf.set(idHex, p)
        fresh.push(p)
        ops.push({ type: 'put', key: msgKey(p.msg.topic, p.msg.ts, idHex), value: p.msg.bytes })
        ops.push({ type: 'put', key: expKey(p.msg.exp, idHex), value: NO_VALUE })
      }
      try {
        if (ops.length > 0) await this.db.batch(ops, { sync: fresh.some(p => p.durable) })
        for (const p of fresh) {
          this.reserve(p.msg.topic, -p.msg.bytes.length)
          this.remember(p.msg.topic, p.idHex, p.msg.ts, p.msg.exp, p.msg.bytes, p.msg.id)
          p.resolve(true)
        }
        for (const p of again) p.resolve(false)
      } catch (err) {
        const e = new PorchlightError('IO', `write failed: ${(err as Error).message}`, { cause: err })
        for (const p of fresh) { this.reserve(p.msg.topic, -p.msg.bytes.length); p.reject(e) }
        for (const p of again) p.reject(e)
      }
    }
    this.flushing = undefined
  }

  async get (id: Uint8Array): Promise<StoredMessage | undefined> {
    const idHex = toHex(id)
    const e = this.index.get(idHex)
    if (e === undefined) return undefined
    const bytes = await this.db.get(msgKey(e.topic, e.ts, idHex))
    if (bytes === undefined) return undefined
    return { topic: e.topic, id, ts: e.ts, exp: e.exp, bytes }
  }

  /** Messages of a topic in (ts, id) order, optionally from a time on. */
  async * list (topic: string, since = 0): AsyncGenerator<StoredMessage> {
    for await (const [key, bytes] of this.db.entries({ gte: `${MSG}${topic}!${hexTime(since)}`, lt: `${MSG}${topic}!~` })) {
      const idHex = key.slice(-64)
      const e = this.index.get(idHex)
      if (e === undefined) continue
      yield { topic, id: hexToBytes(idHex), ts: e.ts, exp: e.exp, bytes }
    }
  }

  /** The sync item set of a topic, or of one kind of its messages (live view; do not mutate). */
  items (topic: string, kind?: string): SyncItemSet {
    const t = this.topic(topic)
    return kind === undefined ? t.items : this.kindItems(t, kind)
  }

  /**
   * Brings a store to `format`: when it is marked older (or unmarked, from before marks),
   * deletes every message `retired` says no current peer reads, then marks it. Returns how
   * many were deleted (0 when already current).
   */
  async migrate (format: number, retired: (bytes: Uint8Array) => Promise<boolean>): Promise<number> {
    const mark = await this.db.get(FORMAT_KEY)
    if (mark !== undefined && Number(new TextDecoder().decode(mark)) >= format) return 0
    const gone: string[] = []
    for (const [idHex, e] of this.index) {
      const bytes = await this.db.get(msgKey(e.topic, e.ts, idHex))
      if (bytes !== undefined && await retired(bytes)) gone.push(idHex)
    }
    const ops: BackendOp[] = []
    for (const idHex of gone) {
      const e = this.index.get(idHex)!
      ops.push({ type: 'del', key: msgKey(e.topic, e.ts, idHex) }, { type: 'del', key: expKey(e.exp, idHex) })
    }
    ops.push({ type: 'put', key: FORMAT_KEY, value: new TextEncoder().encode(String(format)) })
    const entries = gone.map(idHex => [idHex, this.index.get(idHex)!] as const)
    await this.db.batch(ops)
    for (const [idHex, e] of entries) this.forgetIfSame(idHex, e)
    return gone.length
  }

  /** The topic a stored message belongs to, if it is stored. */
  topicOf (id: Uint8Array): string | undefined { return this.index.get(toHex(id))?.topic }

  topicNames (): string[] { return [...this.topics.keys()] }

  /** Deletes every message whose expiry is at or before `now`. Returns the ids deleted. */
  async sweep (now: number): Promise<Uint8Array[]> {
    const ops: BackendOp[] = []
    const gone: Array<[string, IndexEntry]> = []
    for await (const key of this.db.keys({ gte: EXP, lte: `${EXP}${hexTime(now)}!~` })) {
      const idHex = key.slice(-64)
      ops.push({ type: 'del', key })
      const e = this.index.get(idHex)
      if (e !== undefined) {
        ops.push({ type: 'del', key: msgKey(e.topic, e.ts, idHex) })
        gone.push([idHex, e])
      }
    }
    if (ops.length === 0) return []
    await this.db.batch(ops)
    // A delete or another sweep may have forgotten some meanwhile: each is forgotten (and reported) once.
    return gone.filter(([idHex, e]) => this.forgetIfSame(idHex, e)).map(([idHex]) => hexToBytes(idHex))
  }

  /** Deletes one message (a resident's own post it re-sealed under a newer epoch). False if absent. */
  async delete (id: Uint8Array): Promise<boolean> {
    const idHex = toHex(id)
    const e = this.index.get(idHex)
    if (e === undefined) return false
    await this.db.batch([{ type: 'del', key: msgKey(e.topic, e.ts, idHex) }, { type: 'del', key: expKey(e.exp, idHex) }])
    return this.forgetIfSame(idHex, e)
  }

  stats (): { messages: number, bytes: number, topics: Record<string, { messages: number, bytes: number }> } {
    const topics: Record<string, { messages: number, bytes: number }> = {}
    let bytes = 0
    for (const [name, t] of this.topics) {
      topics[name] = { messages: t.items.size, bytes: t.bytes }
      bytes += t.bytes
    }
    return { messages: this.index.size, bytes, topics }
  }

  async close (): Promise<void> {
    if (this.closed) return
    await this.flushing
    this.closed = true
    await this.db.close()
  }
}

function hexToBytes (hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16)
  return out
}
