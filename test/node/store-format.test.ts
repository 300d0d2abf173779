// A store written by an earlier release (envelopes before padding, unmarked) is brought to the
// current format once: the messages no current peer reads are deleted, the rest kept, the store
// marked, and a second open deletes nothing (real LevelDB).
import { describe, expect, it, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openMessageStore } from '../../node/storage/level-messages.ts'
import { isRetiredFormat, STORE_FORMAT } from '../../protocol/peer/store-format.ts'
import { sealPost } from '../../protocol/envelope.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { createPost } from '../../protocol/post.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { decodeCbor, encodeCbor } from '../../protocol/encoding.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

const dirs: string[] = []
afterAll(async () => { for (const d of dirs) await rm(d, { recursive: true, force: true }) })

describe('store format', () => {
  it('deletes an earlier release\'s messages once, keeps the current ones, and marks the store', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'pl-store-format-'))
    dirs.push(dir)
    const ana = await createIdentity('Ana')
    const hood = testHood(ana)
    const topic = privateTopic(hood.id)
    const keys = freshEpochKeys(hood, 0)
    const now = Date.now()
    const current = (await sealPost(ana, topic, keys, createPost({ kind: 'info', text: 'current', now }))).bytes
    // The same envelope as the first release wrote it: version 1.
    const fields = Object.fromEntries(decodeCbor(current) as Map<string, unknown>)
    const old = encodeCbor({ ...fields, v: 1 } as never)
    expect(await isRetiredFormat(old, now)).toBe(true)
    expect(await isRetiredFormat(current, now)).toBe(false)
    expect(await isRetiredFormat(new Uint8Array([1, 2, 3]), now)).toBe(false) // not a version question: left to validation

    const store = await openMessageStore(dir)
    for (const bytes of [current, old]) await store.put({ topic, id: sha256(bytes), ts: now, exp: now + 3_600_000, bytes })
    expect(await store.migrate(STORE_FORMAT, async b => await isRetiredFormat(b, now))).toBe(1)
    expect(store.has(sha256(old))).toBe(false)
    expect(store.has(sha256(current))).toBe(true)
    expect(store.items(topic).size).toBe(1)
    await store.close()

    // Reopened: the deletion is on disk, and a marked store is not scanned again.
    const again = await openMessageStore(dir)
    expect(again.has(sha256(old))).toBe(false)
    expect(again.stats().messages).toBe(1)
    let scanned = 0
    expect(await again.migrate(STORE_FORMAT, async () => { scanned++; return true })).toBe(0)
    expect(scanned).toBe(0)
    expect(again.stats().messages).toBe(1)
    await again.close()
  })
})
