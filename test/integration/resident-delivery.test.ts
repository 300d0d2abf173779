// What a resident does with each post on its way, with a real relay and real LevelDB: a post
// received by gossip is stored without an fsync (its relay holds it; sync brings back one lost
// in a crash), while the resident's own post is written durably; and a post whose message
// another flush of the outbox sent first is still reported acknowledged; and a received post
// costs few reads of the home (its hood files once, its own secrets not each time); and what no
// relay could give back (its outbox, its retraction secrets) is written with an fsync.
import { describe, it, expect, afterAll, vi } from 'vitest'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import type { BackendOp } from '../../protocol/peer/storage.ts'
import { LevelMessageBackend } from '../../node/storage/level-messages.ts'
import { LevelLocalStore } from '../../node/storage/level-local.ts'
import { Level } from 'level'
import { Home } from '../../node/storage/home-dir.ts'
import { cleanUp, neighborhood, nextPost, peer, startRelay, tcpAddr, until } from '../helpers/network.ts'

afterAll(async () => {
  vi.restoreAllMocks()
  await cleanUp()
})

describe('a resident on the delivery path', () => {
  it('keeps its own post with an fsync and a received one without', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [ana, ben] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    // Every message-store batch, by which LevelDB it went to and whether it was synced.
    const batches: Array<{ db: unknown, ops: readonly BackendOp[], sync: boolean }> = []
    const real = LevelMessageBackend.prototype.batch
    vi.spyOn(LevelMessageBackend.prototype, 'batch').mockImplementation(async function (this: LevelMessageBackend, ops, options) {
      batches.push({ db: this, ops, sync: options?.sync !== false })
      return await real.call(this, ops, options)
    })
    const marker = `marker-${toHex(randomBytes(8))}`
    const got = nextPost(ben, p => p.text.includes(marker))
    const sent = await ana.post({ kind: 'suspicious', text: `Van by the gate ${marker}` })
    expect(sent.result.ok).toBe(true)
    const shown = await got
    expect(ben.messages.has(fromHex(shown.id))).toBe(true)
    const writes = batches.filter(b => b.ops.some(op => op.type === 'put' && op.key.endsWith(sent.id)))
    // Ana's own copy (before the push), the relay's (before its ack), then Ben's from gossip.
    expect(new Set(writes.map(w => w.db)).size).toBe(3)
    expect(writes.map(w => w.sync)).toEqual([true, true, false])
    vi.restoreAllMocks()
  })

  it('reports a post acknowledged when another flush sent it first', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Cleo'])
    const cleo = await peer(hood.members[0]!)
    // Cleo's own copy of the post is slow to write (a busy disk), so a flush begun meanwhile
    // (another post's, or a relay coming back) takes the post from the outbox and sends it.
    const real = LevelMessageBackend.prototype.batch
    let slowed = false
    vi.spyOn(LevelMessageBackend.prototype, 'batch').mockImplementation(async function (this: LevelMessageBackend, ops, options) {
      if (!slowed && options?.sync !== false && ops.some(op => op.type === 'put' && op.key.startsWith('m!'))) {
        slowed = true
        await new Promise(resolve => setTimeout(resolve, 1000))
      }
      return await real.call(this, ops, options)
    })
    const posting = cleo.post({ kind: 'info', text: 'Street fair on Saturday' })
    await until(async () => await cleo.outboxSize() === 1, 5000, 'the post in the outbox')
    const other = await cleo.flushOutbox()
    expect([...other.values()].map(r => r.result.ok)).toEqual([true])
    const sent = await posting
    expect(sent.result).toEqual({ ok: true })
    expect(sent.ackedBy).toBe(tcpAddr(relay))
    expect(await cleo.outboxSize()).toBe(0)
    vi.restoreAllMocks()
  })

  it('reads the home\'s hoods once per post received, and its secrets once', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Dan', 'Eve'])
    // Scans of the retraction secrets (ownPublicCopies), and reads of Eve's hoods.
    let scans = 0
    const section = LevelLocalStore.prototype.section
    vi.spyOn(LevelLocalStore.prototype, 'section').mockImplementation(function (this: LevelLocalStore, name: string) {
      const kv = section.call(this, name)
      return name === 'retract-secrets' ? { ...kv, entries: (opts?: { reverse?: boolean }) => { scans++; return kv.entries(opts) } } : kv
    } as typeof section)
    const [dan, eve] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    const eveRoot = (await Home.open(hood.members[1]!)).root
    let hoodReads = 0
    const hoods = Home.prototype.hoods
    vi.spyOn(Home.prototype, 'hoods').mockImplementation(async function (this: Home) {
      if (this.root === eveRoot) hoodReads++
      return await hoods.call(this)
    })
    scans = 0
    const POSTS = 3
    for (let i = 0; i < POSTS; i++) {
      const marker = `marker-${toHex(randomBytes(8))}`
      const got = nextPost(eve, p => p.text.includes(marker))
      expect((await dan.post({ kind: 'info', text: `Bins out tonight ${marker}` })).result.ok).toBe(true)
      await got
    }
    // decorate's read of the hoods per post (showsRequests reads them only for a request).
    expect(hoodReads).toBe(POSTS)
    // Eve's secrets never changed: one scan (Dan's posts changed only Dan's).
    expect(scans).toBeLessThanOrEqual(1)
    vi.restoreAllMocks()
  })

  it('writes its outbox and retraction secrets with an fsync, its feed entries without', { timeout: 90_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Dee', 'Eli'])
    const [dee, eli] = [await peer(hood.members[0]!), await peer(hood.members[1]!)]
    // Every put to any LevelDB, by key (a section's keys start "!section!") and whether it was synced.
    const puts: Array<{ key: string, sync: boolean }> = []
    // The native store's put (Level is classic-level's class in Node), which gets the write options.
    const proto = Level.prototype as unknown as { _put: (key: unknown, value: unknown, options: { sync?: boolean }) => Promise<void> }
    const real = proto._put
    vi.spyOn(proto, '_put').mockImplementation(async function (this: unknown, key, value, options) {
      puts.push({ key: String(key), sync: options?.sync === true })
      return await real.call(this, key, value, options)
    })
    const got = nextPost(eli, p => p.text === 'Water main break on Elm')
    const sent = await dee.post({ kind: 'safety', text: 'Water main break on Elm' })
    expect(sent.result.ok).toBe(true)
    await got
    const section = (name: string): boolean[] => puts.filter(p => p.key.startsWith(`!${name}!`)).map(p => p.sync)
    // Dee's outbox entry and retraction secret survive a power cut; feed entries (Dee's and Eli's) come back by sync.
    expect(section('outbox')).toEqual([true])
    expect(section('retract-secrets').length).toBeGreaterThan(0)
    expect(section('retract-secrets').every(Boolean)).toBe(true)
    expect(section('posts').length).toBeGreaterThanOrEqual(2)
    expect(section('posts').some(Boolean)).toBe(false)
    vi.restoreAllMocks()
  })
})
