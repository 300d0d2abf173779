// Two relays for one neighborhood: R1 and R2 serve it and peer with each other; the hood lists
// both. Residents post through R1; R1 dies; their pushes fall over to R2; R1 comes back on its
// data folder (new ports) and catches up with R2 through relay-to-relay reconciliation, also
// across a member removal it slept through (it learns the new epoch from R2's copy of the rekey).
import { describe, it, expect, afterAll } from 'vitest'
import { fromHex, peekDomain } from '../../protocol/encoding.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { Home, epochKeys } from '../../node/storage/home-dir.ts'
import { decodeRekey } from '../../protocol/rekey.ts'
import { decodeEnvelope } from '../../protocol/envelope.ts'
import type { Relay } from '../../node/relay/relay.ts'
import type { ResidentPeer } from '../../node/resident.ts'
import { cleanUp, cli, nextPost, peer, startRelay, tcpAddr, tempDir, until } from '../helpers/network.ts'

afterAll(cleanUp)

/** Generous: a loaded 2-core machine runs these beside the other integration tests. */
const TEST_TIMEOUT_MS = 180_000

const WAIT_MS = 30_000
/** Relays re-reconcile this often besides on every identify (the default is a minute). */
const RESYNC_MS = 300
const POSTS_PER_PHASE = 5
/** How far behind Ana's clock Ben's runs (only the future is bounded): over a minute, as clear times are whole minutes. */
const SLOW_CLOCK_MS = 120_000

function relayDir (relay: Relay): string {
  return (relay as unknown as { init: { dataDir: string } }).init.dataDir
}

function storesAll (relay: Relay, ids: string[]): boolean {
  return ids.every(id => relay.store.has(fromHex(id)))
}

describe('two relays serving one neighborhood', () => {
  it('keeps residents posting through the survivor and brings the returning relay up to date', { timeout: TEST_TIMEOUT_MS }, async () => {
    const r1 = await startRelay({ resyncIntervalMs: RESYNC_MS })
    const r2 = await startRelay({ resyncIntervalMs: RESYNC_MS, peers: [tcpAddr(r1)] })
    const r1Addr = tcpAddr(r1)
    const r2Addr = tcpAddr(r2)

    // The hood lists both relays; both serve it.
    const anaHome = await tempDir('pl-Ana-')
    const benHome = await tempDir('pl-Ben-')
    await cli(anaHome, ['id', 'create', '--name', 'Ana'])
    await cli(benHome, ['id', 'create', '--name', 'Ben'])
    const created = await cli(anaHome, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', r1Addr, '--relay', r2Addr])
    const token = (await cli(anaHome, ['--json', 'hood', 'relay-token'])).json.token as string
    await r1.serve(token)
    await r2.serve(token)
    await cli(anaHome, ['hood', 'announce'])
    await cli(benHome, ['hood', 'join', created.json.invite])
    const state = (await (await Home.open(benHome)).hoods())[0]!
    expect(state.relays).toEqual([r1Addr, r2Addr])
    const topic = privateTopic(state.hood.id)

    await until(() => r2.node.getPeers().some(p => p.equals(r1.node.peerId)), WAIT_MS, 'R2 to connect to R1')
    const ana = await peer(anaHome)
    const ben = await peer(benHome)
    const residents: Array<[string, ResidentPeer]> = [['Ana', ana], ['Ben', ben]]
    const all: string[] = []

    // Phase 1: both relays up; pushes go to the first listed, R1, and reach R2 too.
    for (let i = 0; i < POSTS_PER_PHASE; i++) {
      for (const [name, p] of residents) {
        const out = await p.post({ kind: 'info', text: `${name} while both relays run ${i}` })
        expect(out.result.ok, out.result.message).toBe(true)
        expect(out.ackedBy).toBe(r1Addr)
        all.push(out.id)
      }
    }
    await until(() => storesAll(r2, all), WAIT_MS, 'R2 to hold every phase-1 post')

    // R1 dies (its data folder stays).
    const r1Dir = relayDir(r1)
    const r1Id = r1.node.peerId
    await r1.stop()

    // Phase 2: residents keep posting; R1 refuses connections, R2 acknowledges.
    const phase2: string[] = []
    const benHears = nextPost(ben, p => p.text === 'Ana after R1 died 0', WAIT_MS)
    for (let i = 0; i < POSTS_PER_PHASE; i++) {
      for (const [name, p] of residents) {
        const out = await p.post({ kind: 'info', text: `${name} after R1 died ${i}` })
        expect(out.result.ok, out.result.message).toBe(true)
        expect(out.ackedBy).toBe(r2Addr)
        phase2.push(out.id)
      }
    }
    all.push(...phase2)
    expect((await benHears).authorName).toBe('Ana') // live gossip through R2 still works
    expect(storesAll(r2, all)).toBe(true)

    // R1 returns on the same data folder and key, on new ports, peering with R2.
    const back = await startRelay({ dataDir: r1Dir, resyncIntervalMs: RESYNC_MS, peers: [r2Addr] })
    expect(back.node.peerId.equals(r1Id)).toBe(true)
    expect(storesAll(back, all.slice(0, all.length - phase2.length))).toBe(true) // nothing acknowledged was lost
    expect(phase2.some(id => back.store.has(fromHex(id)))).toBe(false)
    await until(() => storesAll(back, all), WAIT_MS, 'the returning R1 to hold every post')
    expect(back.store.items(topic).size).toBe(r2.store.items(topic).size)
    expect(back.metrics.get('porchlight_messages_accepted_total', { via: 'sync' })).toBeGreaterThanOrEqual(phase2.length)
  })

  it('brings a relay that was down through a removal up to the new epoch on reconnect', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Relays reconcile on identify; the periodic resync (a minute) is not what brings R1 back.
    const r1 = await startRelay()
    const r2 = await startRelay({ peers: [tcpAddr(r1)] })
    const r1Addr = tcpAddr(r1)
    const r2Addr = tcpAddr(r2)
    const homes: Record<'Ana' | 'Ben' | 'Cleo', string> = { Ana: await tempDir('pl-Ana-'), Ben: await tempDir('pl-Ben-'), Cleo: await tempDir('pl-Cleo-') }
    for (const [name, home] of Object.entries(homes)) await cli(home, ['id', 'create', '--name', name])
    const created = await cli(homes.Ana, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', r1Addr, '--relay', r2Addr])
    const token = (await cli(homes.Ana, ['--json', 'hood', 'relay-token'])).json.token as string
    await r1.serve(token)
    await r2.serve(token)
    await cli(homes.Ana, ['hood', 'announce'])
    await cli(homes.Ben, ['hood', 'join', created.json.invite])
    await cli(homes.Cleo, ['hood', 'join', created.json.invite])
    await cli(homes.Ana, ['feed']) // learns Ben's and Cleo's box keys
    const topic = privateTopic((await (await Home.open(homes.Ana)).hoods())[0]!.hood.id)
    await until(() => r2.node.getPeers().some(p => p.equals(r1.node.peerId)), WAIT_MS, 'R2 to connect to R1')
    const before = (await cli(homes.Ana, ['--json', 'post', '--kind', 'info', '--text', 'before the removal'])).json.id as string
    await until(() => storesAll(r2, [before]), WAIT_MS, 'R2 to hold the first post')

    const r1Dir = relayDir(r1)
    await r1.stop()

    // While R1 is down: Ana removes Cleo (the rekey goes to R2), Ben (whose clock is slow)
    // and Ana post in epoch 1.
    expect((await cli(homes.Ana, ['--json', 'hood', 'remove', 'Cleo'])).json).toEqual({ epoch: 1, remaining: 2, sent: true })
    await cli(homes.Ben, ['feed'])
    expect(epochKeys((await (await Home.open(homes.Ben)).hoods())[0]!, 1)).toBeDefined()
    const rekey = [] as Uint8Array[]
    for await (const m of r2.store.list(topic)) if (peekDomain(m.bytes) === 'pl/rekey') rekey.push(m.bytes)
    expect(rekey.length).toBe(1)
    const rekeyTs = decodeRekey(rekey[0]!).ts
    const slow = await cli(homes.Ben, ['--json', 'post', '--kind', 'info', '--text', 'Ben, slow clock'], 0, () => Date.now() - SLOW_CLOCK_MS)
    const ana = await cli(homes.Ana, ['--json', 'post', '--kind', 'info', '--text', 'Ana in epoch 1'])
    expect([slow.json.relay, ana.json.relay]).toEqual([r2Addr, r2Addr])
    const epoch1 = [slow.json.id as string, ana.json.id as string]
    const slowEnv = decodeEnvelope((await r2.store.get(fromHex(epoch1[0]!)))!.bytes)
    expect(slowEnv.epoch).toBe(1)
    expect(slowEnv.ts).toBeLessThan(rekeyTs) // sync order puts it before the rekey that opens its epoch

    // R1 returns and reconciles with R2 when they meet: it learns epoch 1 from the rekey and
    // stores both epoch-1 posts.
    const back = await startRelay({ dataDir: r1Dir, peers: [r2Addr] })
    await until(() => storesAll(back, [before, ...epoch1]), WAIT_MS, 'the returning R1 to hold the epoch-1 posts')
    expect(back.store.items(topic).size).toBe(r2.store.items(topic).size)

    // A third relay, not in the neighborhood's list, given only the epoch-0 token: the rekey
    // carries no tag key for it (and the old tag key no longer leads to the new one), so it
    // stores the genuine rekey and the epoch-0 post but nothing of epoch 1.
    await cli(homes.Ben, ['feed'])
    const r3 = await startRelay({ tokens: [token] })
    await cli(homes.Ben, ['feed', '--relay', tcpAddr(r3)])
    expect(storesAll(r3, [before])).toBe(true)
    expect(epoch1.some(id => r3.store.has(fromHex(id)))).toBe(false)
    await r3.stop()

    // Given the current token as well, it mirrors the whole history from a resident's sync.
    const current = (await cli(homes.Ben, ['--json', 'hood', 'relay-token'])).json as { epoch: number, token: string }
    expect(current.epoch).toBe(1)
    const r4 = await startRelay({ tokens: [token, current.token] })
    await cli(homes.Ben, ['feed', '--relay', tcpAddr(r4)])
    expect(storesAll(r4, [before, ...epoch1])).toBe(true)
    expect(r4.store.items(topic).size).toBe(r2.store.items(topic).size)
  })
})
