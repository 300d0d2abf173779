// A join envelope is kept only as long as an everyday post (7 days, so it does not stand out by
// its expiry), yet an admin away for longer must still learn who joined: the newcomer's client
// sends the same signed join again every few days for 30 days (issue 10).
import { describe, it, expect, afterAll } from 'vitest'
import { Home } from '../../node/storage/home-dir.ts'
import { REANNOUNCE_JOIN_MS } from '../../node/resident.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { cleanUp, cli, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'

afterAll(cleanUp)

const DAY_MS = 24 * 3_600_000

describe('a join while the admin is away', () => {
  it('reaches an admin who comes back after the first join envelope expired', async () => {
    let clock = Date.now()
    const now = (): number => clock
    const relay = await startRelay({ now })
    const ana = await tempDir('pl-Ana-')
    const ben = await tempDir('pl-Ben-')
    await cli(ana, ['id', 'create', '--name', 'Ana'], 0, now)
    await cli(ben, ['id', 'create', '--name', 'Ben'], 0, now)
    const created = await cli(ana, ['--json', 'hood', 'create', 'Maple Street', '--area', 'u4pruy', '--relay', tcpAddr(relay)], 0, now)
    await relay.serve((await cli(ana, ['--json', 'hood', 'relay-token'], 0, now)).json.token as string)
    await cli(ana, ['hood', 'announce'], 0, now)
    await cli(ben, ['hood', 'join', created.json.invite], 0, now)
    const topic = privateTopic((await (await Home.open(ana)).hoods())[0]!.hood.id)
    const joinedAt = relay.store.items(topic).size

    // Ana is away 8 days: the relay deletes Ben's join envelope at its expiry.
    clock += 8 * DAY_MS
    await relay.sweep()
    expect(relay.store.items(topic).size).toBeLessThan(joinedAt)
    expect(8 * DAY_MS).toBeGreaterThan(REANNOUNCE_JOIN_MS)
    // Ben opens his app meanwhile: his client sends the join again.
    await cli(ben, ['feed'], 0, now)
    // Ana comes back: Ben is a member, admitted by her invite.
    const members = (await cli(ana, ['--json', 'hood', 'members'], 0, now)).json
    await cli(ana, ['feed'], 0, now)
    const after = (await cli(ana, ['--json', 'hood', 'members'], 0, now)).json
    expect(members.members.some((m: { name: string }) => m.name === 'Ben')).toBe(false)
    expect(after.members.find((m: { name: string }) => m.name === 'Ben')).toMatchObject({ admitted: true })
  })
})
