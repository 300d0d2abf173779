// The message store's accounting under concurrency (protocol/peer/message-store.ts), as an
// attacker pushing many messages at once would meet it: the per-topic quota must hold while a
// group-committed batch is being written (its bytes are neither in the index yet nor pending any
// more), a failed batch must leave nothing counted, and concurrent deletes and sweeps of the same
// message must neither throw nor count it twice.
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../protocol/crypto.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import { GatedBackend } from '../helpers/memory-runtime.ts'

const TOPIC = '/porchlight/1/hood/test'
const NOW = 1_764_000_000_000

function msg (n: number, size = 100, topic = TOPIC, exp = NOW + 1000): { topic: string, id: Uint8Array, ts: number, exp: number, bytes: Uint8Array } {
  const bytes = new Uint8Array(size).fill(n & 0xff)
  bytes[0] = n >> 8
  bytes[1] = n & 0xff
  return { topic, id: sha256(bytes), ts: NOW + n, exp, bytes }
}

async function codeOf (p: Promise<unknown>): Promise<string> {
  try {
    await p
    return 'ok'
  } catch (err) {
    return isPorchlightError(err) ? err.code : `not a PorchlightError: ${(err as Error).message}`
  }
}

const tick = async (): Promise<void> => { await new Promise(resolve => { setImmediate(resolve) }) }

describe('message store accounting', () => {
  it('the quota holds while a batch is being written: puts arriving meanwhile count its bytes', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, { quotaBytesPerTopic: 1000 })
    backend.hold()
    // Ten 100-byte messages: exactly the quota, in one batch that is now being written.
    const first = Array.from({ length: 10 }, (_, i) => store.put(msg(i)))
    await tick()
    await tick()
    expect(backend.batches).toBe(1)
    // Ten more while it is in flight: over the quota, whatever the state of the batch.
    const second = Array.from({ length: 10 }, async (_, i) => await codeOf(store.put(msg(100 + i))))
    backend.release()
    expect(await Promise.all(first)).toEqual(Array(10).fill(true))
    expect(await Promise.all(second)).toEqual(Array(10).fill('OVER_QUOTA'))
    expect(store.stats().topics[TOPIC]).toEqual({ messages: 10, bytes: 1000 })
    await store.close()
  })

  it('a failed batch leaves nothing counted, and its bytes are free again', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, { quotaBytesPerTopic: 1000 })
    backend.failNext = true
    const failed = await Promise.all(Array.from({ length: 10 }, async (_, i) => await codeOf(store.put(msg(i)))))
    expect(failed).toEqual(Array(10).fill('IO'))
    expect(store.stats()).toEqual({ messages: 0, bytes: 0, topics: {} })
    for (let i = 0; i < 10; i++) expect(store.has(msg(i).id)).toBe(false)
    // The quota is whole again: the same ten go in.
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => store.put(msg(i))))).toEqual(Array(10).fill(true))
    expect(store.stats().topics[TOPIC]).toEqual({ messages: 10, bytes: 1000 })
    await store.close()
  })

  it('a duplicate put during a pending batch is stored once and counted once', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, { quotaBytesPerTopic: 1000 })
    const m = msg(1)
    const results = await Promise.all([store.put(m), store.put(m), store.put({ ...m, bytes: new Uint8Array(m.bytes) })])
    expect(results.filter(r => r)).toHaveLength(1)
    expect(store.stats().topics[TOPIC]).toEqual({ messages: 1, bytes: 100 })
    // The duplicates reserved nothing: nine more fit.
    expect(await Promise.all(Array.from({ length: 9 }, (_, i) => store.put(msg(10 + i))))).toEqual(Array(9).fill(true))
    expect(await codeOf(store.put(msg(50)))).toBe('OVER_QUOTA')
    await store.close()
  })

  it('deleting an unknown id changes nothing', async () => {
    const store = await MessageStore.open(new GatedBackend(), { quotaBytesPerTopic: 1000 })
    await store.put(msg(1))
    expect(await store.delete(sha256(new Uint8Array([9])))).toBe(false)
    expect(store.stats().topics[TOPIC]).toEqual({ messages: 1, bytes: 100 })
    await store.close()
  })

  it('concurrent sweeps and a delete of the same expired message: no throw, counted once', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, { quotaBytesPerTopic: 1000 })
    const m = msg(1, 100, TOPIC, NOW + 10)
    const keep = msg(2, 100, TOPIC, NOW + 1_000_000)
    await store.put(m)
    await store.put(keep)
    backend.hold()
    const a = codeOf(store.sweep(NOW + 20))
    const b = codeOf(store.sweep(NOW + 20))
    const c = codeOf(store.delete(m.id))
    await tick()
    backend.release()
    expect(await Promise.all([a, b, c])).toEqual(['ok', 'ok', 'ok'])
    expect(store.has(m.id)).toBe(false)
    expect(store.stats().topics[TOPIC]).toEqual({ messages: 1, bytes: 100 })
    await store.close()
  })
})
