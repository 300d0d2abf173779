// The durable message store (MessageStore, node/storage/) on real LevelDB in a temp folder,
// through its public API: group commit (concurrent puts share one synced batch), the per-topic
// quota (OVER_QUOTA, counting puts not yet written), the expiry sweep, and what a reopen finds.
import { describe, it, expect, afterAll, afterEach, vi } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Level } from 'level'
import { MessageStore, openMessageStore, type StoreInit, type StoredMessage } from '../../node/storage/level-messages.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { toHex } from '../../protocol/encoding.ts'
import { rejection } from '../helpers/protocol-fixtures.ts'

const T0 = 1_800_000_000_000
const HOUR = 3_600_000
const A = '/porchlight/1/area/u4pruy'
const B = '/porchlight/1/area/gcpvj'

const dirs: string[] = []
const open: MessageStore[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  for (const s of open.splice(0)) await s.close()
})
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'pl-store-'))
  dirs.push(dir)
  return dir
}

async function openStore (dir: string, init?: StoreInit): Promise<MessageStore> {
  const s = await openMessageStore(dir, init)
  open.push(s)
  return s
}

async function closeStore (s: MessageStore): Promise<void> {
  open.splice(open.indexOf(s), 1)
  await s.close()
}

/** A message of `size` bytes (its first bytes name it), created at T0 + ts, expiring at T0 + exp. */
function msg (name: string, opts: { topic?: string, ts?: number, exp?: number, size?: number, kind?: string } = {}): StoredMessage {
  const bytes = new Uint8Array(opts.size ?? 64)
  new TextEncoder().encodeInto(`${opts.kind ?? 'post'}:${name}:`, bytes)
  const ts = T0 + (opts.ts ?? 0)
  return { topic: opts.topic ?? A, id: sha256(bytes), ts, exp: opts.exp === undefined ? ts + HOUR : T0 + opts.exp, bytes }
}

const nameOf = (m: { bytes: Uint8Array }): string => new TextDecoder().decode(m.bytes).split(':')[1]!
const kindOf = (bytes: Uint8Array): string | undefined => new TextDecoder().decode(bytes.subarray(0, 5)) === 'rekey' ? 'rekey' : undefined

/** Counts the LevelDB batches written (and whether each was synced), whatever the store's class. */
function countBatches (): Array<{ ops: number, sync: boolean }> {
  let proto: object | null = Level.prototype
  while (proto !== null && !Object.prototype.hasOwnProperty.call(proto, 'batch')) proto = Object.getPrototypeOf(proto)
  const calls: Array<{ ops: number, sync: boolean }> = []
  const original = (proto as { batch: (...a: unknown[]) => unknown }).batch
  vi.spyOn(proto as { batch: (...a: unknown[]) => unknown }, 'batch').mockImplementation(function (this: unknown, ...args: unknown[]) {
    if (Array.isArray(args[0])) calls.push({ ops: args[0].length, sync: (args[1] as { sync?: boolean } | undefined)?.sync === true })
    return original.apply(this, args)
  })
  return calls
}

describe('MessageStore', () => {
  it('stores, finds and lists messages by topic in (ts, id) order', async () => {
    const s = await openStore(await tempDir())
    const ms = [msg('c', { ts: 30 }), msg('a', { ts: 10 }), msg('b', { ts: 20 }), msg('x', { topic: B, ts: 5 })]
    for (const m of ms) expect(await s.put(m)).toBe(true)
    expect(await s.put(ms[0]!)).toBe(false)
    expect(s.has(ms[1]!.id)).toBe(true)
    expect(s.has(sha256(new Uint8Array([9])))).toBe(false)
    const got = await s.get(ms[1]!.id)
    expect(got).toMatchObject({ topic: A, ts: T0 + 10, exp: T0 + 10 + HOUR })
    expect(nameOf(got!)).toBe('a')
    expect(await s.get(sha256(new Uint8Array([9])))).toBeUndefined()
    const listed: string[] = []
    for await (const m of s.list(A)) listed.push(nameOf(m))
    expect(listed).toEqual(['a', 'b', 'c'])
    const since: string[] = []
    for await (const m of s.list(A, T0 + 20)) since.push(nameOf(m))
    expect(since).toEqual(['b', 'c'])
    expect(s.items(A).size).toBe(3)
    expect(s.items(B).size).toBe(1)
    expect(s.topicOf(ms[3]!.id)).toBe(B)
    expect(s.topicNames().sort()).toEqual([A, B].sort())
    expect(s.stats()).toEqual({ messages: 4, bytes: 256, topics: { [A]: { messages: 3, bytes: 192 }, [B]: { messages: 1, bytes: 64 } } })
  })

  it('group commit: puts issued together share one synced batch, and each resolves once on disk', async () => {
    const s = await openStore(await tempDir())
    const batches = countBatches()
    const ms = Array.from({ length: 100 }, (_, i) => msg(`m${i}`, { ts: i }))
    const results = await Promise.all(ms.map(async m => await s.put(m)))
    expect(results.every(r => r)).toBe(true)
    // One batch for the first tick's puts (a second at most, if the flush began between them).
    expect(batches.length).toBeGreaterThanOrEqual(1)
    expect(batches.length).toBeLessThanOrEqual(2)
    expect(batches.every(b => b.sync)).toBe(true)
    expect(batches.reduce((n, b) => n + b.ops, 0)).toBe(200) // the message and its expiry entry
    expect(s.stats().messages).toBe(100)
  })

  it('the same message put twice at once is stored once: one true, one false', async () => {
    const s = await openStore(await tempDir())
    const m = msg('twice')
    const results = await Promise.all([s.put(m), s.put({ ...m }), s.put(m)])
    expect(results.filter(r => r)).toHaveLength(1)
    expect(s.stats().messages).toBe(1)
  })

  it('puts waiting for the batch after the one being written are written too, in a later batch', async () => {
    const s = await openStore(await tempDir())
    const batches = countBatches()
    const first = Array.from({ length: 10 }, (_, i) => s.put(msg(`first${i}`)))
    await new Promise(resolve => setImmediate(resolve)) // the first batch is on its way
    const second = Array.from({ length: 10 }, (_, i) => s.put(msg(`second${i}`)))
    expect((await Promise.all([...first, ...second])).every(r => r)).toBe(true)
    expect(batches.length).toBeGreaterThanOrEqual(2)
    expect(s.stats().messages).toBe(20)
  })

  it('refuses a put over the topic quota with OVER_QUOTA, counting puts not yet written; other topics unaffected', async () => {
    const s = await openStore(await tempDir(), { quotaBytesPerTopic: 1000 })
    expect(s.quotaBytesPerTopic).toBe(1000)
    // Four of 200 bytes are pending in the same tick (800): a fifth (1000) fits, a sixth does not.
    const pending = Array.from({ length: 5 }, (_, i) => s.put(msg(`q${i}`, { size: 200 })))
    expect(await rejection(async () => await s.put(msg('q5', { size: 200 })))).toBe('OVER_QUOTA')
    expect((await Promise.all(pending)).every(r => r)).toBe(true)
    expect(await rejection(async () => await s.put(msg('one byte more', { size: 1 })))).toBe('OVER_QUOTA')
    expect(await s.put(msg('other topic', { topic: B, size: 1000 }))).toBe(true)
    // A duplicate is answered as such, not refused.
    expect(await s.put(msg('q0', { size: 200 }))).toBe(false)
    // Deleting makes room again.
    expect(await s.delete(msg('q0', { size: 200 }).id)).toBe(true)
    expect(await s.delete(msg('q0', { size: 200 }).id)).toBe(false)
    expect(await s.put(msg('q6', { size: 200 }))).toBe(true)
    expect(s.stats().topics[A]).toEqual({ messages: 5, bytes: 1000 })
  })

  it('the sweep deletes exactly what expired (at or before now), everywhere, and for good', async () => {
    const dir = await tempDir()
    const s = await openStore(dir, { kindOf })
    const ms = [
      msg('gone1', { ts: 0, exp: 100 }), msg('gone2', { ts: 1, exp: 200, topic: B }), msg('edge', { ts: 2, exp: 300 }),
      msg('kept1', { ts: 3, exp: 301 }), msg('kept2', { ts: 4, exp: 10_000 }), msg('rk', { ts: 5, exp: 250, kind: 'rekey' })
    ]
    for (const m of ms) await s.put(m)
    expect(s.items(A, 'rekey').size).toBe(1)
    const gone = await s.sweep(T0 + 300)
    expect(gone.map(toHex).sort()).toEqual(['gone1', 'gone2', 'edge', 'rk'].map(n => toHex(ms.find(m => nameOf(m) === n)!.id)).sort())
    for (const id of gone) {
      expect(s.has(id)).toBe(false)
      expect(await s.get(id)).toBeUndefined()
    }
    const left: string[] = []
    for await (const m of s.list(A)) left.push(nameOf(m))
    expect(left).toEqual(['kept1', 'kept2'])
    expect(s.items(A).size).toBe(2)
    expect(s.items(B).size).toBe(0)
    expect(s.items(A, 'rekey').size).toBe(0)
    expect(s.stats().messages).toBe(2)
    expect(await s.sweep(T0 + 300)).toEqual([])
    await closeStore(s)
    const again = await openStore(dir, { kindOf })
    expect(again.stats().messages).toBe(2)
    expect(await again.sweep(T0 + 300)).toEqual([])
    expect((await again.sweep(T0 + 10_000)).length).toBe(2)
  })

  it('a reopen rebuilds the index, the item sets (kinds too) and the sizes from disk', async () => {
    const dir = await tempDir()
    const s = await openStore(dir, { kindOf })
    const ms = [msg('p1', { ts: 1 }), msg('r1', { ts: 2, kind: 'rekey' }), msg('p2', { ts: 3, topic: B })]
    for (const m of ms) await s.put(m)
    const before = s.stats()
    await closeStore(s)
    const again = await openStore(dir, { kindOf })
    expect(again.stats()).toEqual(before)
    expect(again.items(A).size).toBe(2)
    expect(again.items(A, 'rekey').size).toBe(1)
    expect(toHex(again.items(A, 'rekey').at(0).id)).toBe(toHex(ms[1]!.id))
    expect((await again.get(ms[2]!.id))?.exp).toBe(ms[2]!.exp)
  })

  it('close waits for the batch in flight; a closed store refuses puts with UNAVAILABLE', async () => {
    const dir = await tempDir()
    const s = await openStore(dir)
    const put = s.put(msg('last'))
    await closeStore(s)
    expect(await put).toBe(true)
    expect(await rejection(async () => await s.put(msg('after')))).toBe('UNAVAILABLE')
    await s.close() // twice is fine
    const again = await openStore(dir)
    expect(again.has(msg('last').id)).toBe(true)
  })

  it('a folder another store holds open is REFUSED with a message that says why', async () => {
    const dir = await tempDir()
    await openStore(dir)
    let err: unknown
    try { await openMessageStore(dir) } catch (e) { err = e }
    expect((err as { code?: string }).code).toBe('REFUSED')
    expect(String((err as Error).message)).toMatch(/in use by another porchlight process/)
  })
})
