// The message store's group commit (protocol/peer/message-store.ts flush) with the same message
// put twice in one batch: the second put answers "already stored" only once the first is written,
// and fails with it (a relay acknowledges a push on that answer: two pushes of one message from a
// resident's overlapping flushes must not be acknowledged before the fsync); and a durable put
// paired with a non-durable one of the same message is written with the fsync.
import { describe, expect, it } from 'vitest'
import { sha256 } from '../../protocol/crypto.ts'
import { MessageStore } from '../../protocol/peer/message-store.ts'
import { GatedBackend } from '../helpers/memory-runtime.ts'

const TOPIC = '/porchlight/1/hood/test'
const NOW = 1_764_000_000_000
const bytes = new Uint8Array(100).fill(7)
const m = { topic: TOPIC, id: sha256(bytes), ts: NOW, exp: NOW + 1000, bytes }

describe('a duplicate put in the same batch', () => {
  it('does not resolve before the batch is written', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, {})
    backend.hold()
    const first = store.put(m)
    let secondDone = false
    const second = store.put(m).then(r => { secondDone = true; return r })
    await new Promise(resolve => { setTimeout(resolve, 20) })
    const early = secondDone
    backend.release()
    await Promise.all([first, second])
    expect(early).toBe(false)
  })

  it('does not resolve "already stored" when the batch failed', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, {})
    backend.failNext = true
    const [a, b] = await Promise.allSettled([store.put(m), store.put(m)])
    expect(a.status).toBe('rejected')
    expect(store.has(m.id)).toBe(false)
    expect(b.status).toBe('rejected') // not false: a relay would acknowledge it
  })

  it('a durable put is synced even if a non-durable put of the same message came first', async () => {
    const backend = new GatedBackend()
    const store = await MessageStore.open(backend, {})
    await Promise.all([store.put(m, { durable: false }), store.put(m)])
    expect(backend.syncs).toEqual([true])
  })
})
