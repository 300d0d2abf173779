// Neighborhood settings reach every member, through a real relay, real libp2p peers and the real
// CLI: an admin's change shapes a member's new posts and, for members who never chose, whether
// agencies' requests show; a plain member's forged settings and an admin's older message change
// nothing; a newcomer after a rekey receives them too.
import { describe, it, expect, afterAll } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { sha256 } from '../../protocol/crypto.ts'
import { createNeighborhood, privateTopic } from '../../protocol/neighborhood.ts'
import { sealEnvelope } from '../../protocol/envelope.ts'
import { createHoodSettings } from '../../protocol/hood-settings.ts'
import { Home, currentEpochKeys, type HoodState } from '../../node/storage/home-dir.ts'
import { pushMessage } from '../../protocol/peer/push.ts'
import { cleanUp, cli, neighborhood, peer, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'

afterAll(cleanUp)

/** Generous: a loaded 2-core machine runs these beside the other integration tests. */
const TEST_TIMEOUT_MS = 240_000
const DAY = 86_400_000

async function hoodOf (home: string): Promise<HoodState> {
  return (await (await Home.open(home)).hoods())[0]!
}

interface Shown { id: string, text: string, channel: string, created: number, expires: number, location?: string }

async function feedOf (home: string): Promise<Shown[]> {
  return (await cli(home, ['--json', 'feed'])).json.posts as Shown[]
}

describe('neighborhood settings', () => {
  it('reach members: post expiry and the requests default follow; forged or older settings change nothing', { timeout: TEST_TIMEOUT_MS }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ada', 'Ben', 'Cy'])
    const [ada, ben, cy] = hood.members as [string, string, string]
    const pd = await tempDir('pl-pd-')
    await cli(pd, ['agency', 'create', '--name', 'City PD'])
    await cli(pd, ['agency', 'follow', hood.area, '--relay', tcpAddr(relay)])
    const ask = 'Witnesses on Maple, please'
    await cli(pd, ['agency', 'rfa', '--area', hood.area, '--text', ask])

    // Before any setting: requests show to Ben, who never chose; Cy chooses to see them.
    expect((await feedOf(ben)).filter(p => p.channel === 'rfa').map(p => p.text)).toEqual([ask])
    await cli(cy, ['settings', 'rfa', 'on'])

    const before = Date.now()
    const set = (await cli(ada, ['--json', 'hood', 'settings', '--post-ttl', '2d', '--precision', '7', '--rfas-for-new-members', 'hidden'])).json
    expect(set).toMatchObject({ postTtlMs: 2 * DAY, precision: 7, rfasForNewMembers: false, sent: true })
    const adaFrom = (await hoodOf(ada)).settingsFrom!

    // Ben's home receives them with the feed: requests are hidden from him now, his posts last 2 days.
    expect((await feedOf(ben)).filter(p => p.channel === 'rfa')).toEqual([])
    expect((await cli(ben, ['--json', 'hood', 'settings'])).json).toMatchObject({ postTtlMs: 2 * DAY, rfasForNewMembers: false })
    expect((await cli(ben, ['--json', 'settings', 'rfa'])).json).toEqual({ rfa: 'off' })
    const posted = (await cli(ben, ['--json', 'post', '--kind', 'info', '--text', 'Street fair on Sunday', '--geohash', `${hood.area}zzzzzz`])).json.id as string
    const mine = (await cli(ben, ['--json', 'feed', '--no-sync'])).json.posts.find((p: Shown) => p.id === posted) as Shown
    expect(mine.expires - mine.created).toBe(2 * DAY)
    // ...and keep the location as precise as the admins set, unless he says otherwise.
    expect(mine.location).toBe(`${hood.area}z`)
    const exact = (await cli(ben, ['--json', 'post', '--kind', 'info', '--text', 'Lost cat, grey', '--geohash', `${hood.area}zzzzzz`, '--precision', '8'])).json.id as string
    expect((await cli(ben, ['--json', 'feed', '--no-sync'])).json.posts.find((p: Shown) => p.id === exact).location).toBe(`${hood.area}zz`)
    // Cy chose: she still sees the request.
    expect((await feedOf(cy)).filter(p => p.channel === 'rfa').map(p => p.text)).toEqual([ask])
    // Ben's own choice wins over the neighborhood's default.
    await cli(ben, ['settings', 'rfa', 'on'])
    expect((await feedOf(ben)).filter(p => p.channel === 'rfa').map(p => p.text)).toEqual([ask])

    // Ben forges settings (signed by him, a plain member; sealed with the epoch key he holds), and
    // replays an older message that Ada really signed: the relay stores both (it cannot read them).
    const state = await hoodOf(ben)
    const topic = privateTopic(state.hood.id)
    const benId = await (await Home.open(ben)).requireIdentity()
    const adaId = await (await Home.open(ada)).requireIdentity()
    const now = Date.now()
    const seal = (inner: Uint8Array): Uint8Array => sealEnvelope(currentEpochKeys(state), topic, inner, { ts: now, exp: now + DAY })
    // createHoodSettings refuses a non-admin: a modified client signs as though Ben were an admin.
    const benAsAdmin = createNeighborhood('Maple Street', hood.area, benId.public.signKey)
    const forged = seal(await createHoodSettings(benId, benAsAdmin, topic, { postTtlMs: 3_600_000, rfasForNewMembers: true }, now))
    const older = seal(await createHoodSettings(adaId, state.hood, topic, { postTtlMs: 5 * DAY, rfasForNewMembers: true }, before - 60_000))
    const benPeer = await peer(ben)
    for (const bytes of [forged, older]) {
      expect(await pushMessage(benPeer.node(), multiaddr(tcpAddr(relay)), topic, bytes)).toMatchObject({ ok: true })
      expect(relay.store.has(sha256(bytes))).toBe(true)
    }
    await benPeer.stop()

    // Cy syncs both: neither changes anything.
    await feedOf(cy)
    expect((await cli(cy, ['--json', 'hood', 'settings'])).json).toMatchObject({ postTtlMs: 2 * DAY, rfasForNewMembers: false })
    const cyFrom = (await hoodOf(cy)).settingsFrom!
    expect(cyFrom.at).toBe(adaFrom.at)
    expect(Buffer.from(cyFrom.id).toString('hex')).toBe(Buffer.from(adaFrom.id).toString('hex'))
    // A newer change from Ada still goes through.
    expect((await cli(ada, ['--json', 'hood', 'settings', '--post-ttl', '3d'])).json).toMatchObject({ postTtlMs: 3 * DAY, rfasForNewMembers: false, sent: true })
    await feedOf(cy)
    expect((await cli(cy, ['--json', 'hood', 'settings'])).json).toMatchObject({ postTtlMs: 3 * DAY, rfasForNewMembers: false })

    // After a removal (a new epoch), a newcomer cannot read the epoch the settings were announced
    // in: the admin sends them again with the roster, still dated when they were chosen.
    await feedOf(ada) // Ada learns who joined
    await cli(ada, ['hood', 'remove', 'Ben'])
    const dee = await tempDir('pl-Dee-')
    await cli(dee, ['id', 'create', '--name', 'Dee'])
    await cli(dee, ['hood', 'join', (await cli(ada, ['--json', 'hood', 'invite'])).json.invite as string])
    expect((await hoodOf(dee)).epochs.map(e => e.epoch)).toEqual([1])
    await feedOf(dee)
    expect((await cli(dee, ['--json', 'hood', 'settings'])).json).toMatchObject({ postTtlMs: 3 * DAY, rfasForNewMembers: false })
    expect((await hoodOf(dee)).settingsFrom!.at).toBe((await hoodOf(ada)).settingsFrom!.at)
  })
})
