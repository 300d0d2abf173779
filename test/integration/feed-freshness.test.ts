// A script can tell a fresh feed from a stale one (issue 9): `feed --json` says whether a relay
// answered, and `agency feed` with no relay to ask is an error, not yesterday's list with exit 0.
// An agency keeps the relays it follows areas through, for its feed and its requests.
import { describe, it, expect, afterAll } from 'vitest'
import { cleanUp, cli, neighborhood, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'

afterAll(cleanUp)

describe('feed freshness', () => {
  it('says whether a relay answered, and an agency with no relay is told so', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana'])
    await cli(hood.admin, ['post', '--kind', 'pet', '--text', 'Found a grey cat', '--public'])
    expect((await cli(hood.admin, ['--json', 'feed'])).json.relayAnswered).toBe(true)

    const pd = await tempDir('pl-agency-')
    await cli(pd, ['agency', 'create', '--name', 'City PD'])
    await cli(pd, ['agency', 'follow', hood.area])
    const none = await cli(pd, ['agency', 'feed'], 1)
    expect(none.err.trim().split('\n')).toHaveLength(1)
    expect(none.err).toContain('no relay to ask')
    expect((await cli(pd, ['--json', 'agency', 'feed', '--no-sync'])).json.posts).toEqual([])
    // `agency follow --relay` remembers the relay: later feeds ask it without being told.
    expect((await cli(pd, ['--json', 'agency', 'follow', hood.area, '--relay', tcpAddr(relay)])).json.relays).toEqual([tcpAddr(relay)])
    const fresh = (await cli(pd, ['--json', 'agency', 'feed'])).json.posts as Array<{ text: string }>
    expect(fresh.map(p => p.text)).toContain('Found a grey cat')
    // …and so does a request for assistance.
    await cli(pd, ['agency', 'rfa', '--area', hood.area, '--text', 'Witnesses on Elm, please'])
    const rfas = (await cli(hood.admin, ['--json', 'feed'])).json.posts as Array<{ text: string, channel: string }>
    expect(rfas.filter(p => p.channel === 'rfa').map(p => p.text)).toEqual(['Witnesses on Elm, please'])

    await relay.stop()
    expect((await cli(hood.admin, ['--json', 'feed'])).json.relayAnswered).toBe(false)
    const down = await cli(pd, ['agency', 'feed'], 1)
    expect(down.err).toContain('no relay answered')
  })
})
