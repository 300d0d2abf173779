// The feed's weekly context through real parts: a relay, an author (CLI) and a neighbor's peer.
// The neighbor counts the neighborhood's posts by week and kind as they arrive, takes a
// retracted one back out, and keeps the numbers after the posts themselves expire.
import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, cli, neighborhood, startRelay } from '../helpers/network.ts'
import { openResidentPeer } from '../../node/resident.ts'
import { Home } from '../../node/storage/home-dir.ts'

afterAll(cleanUp)

describe('weekly counts', () => {
  it('counts arriving posts by kind, not replies, takes a retraction back, and outlives the posts', { timeout: 180_000 }, async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [ana, ben] = hood.members as [string, string]
    const ids: string[] = []
    for (const [kind, text] of [['crime', 'Bike stolen from the rack on Elm'], ['crime', 'Car window smashed on Oak'], ['info', 'Street sweeping on Tuesday']]) {
      ids.push((await cli(ana, ['--json', 'post', '--kind', kind!, '--text', text!, '--ttl', '1d'])).json.id as string)
    }
    await cli(ana, ['post', '--kind', 'reply', '--reply-to', ids[2]!.slice(0, 12), '--text', 'Thanks for the heads-up', '--ttl', '1d'])

    let now = Date.now()
    const peer = await openResidentPeer(await Home.open(ben), { relays: [], publicDelayMs: () => 0, now: () => now })
    try {
      await peer.start()
      await peer.sync()
      expect((await peer.feed()).length).toBe(4)
      const first = await peer.weekContext()
      // Ben joined moments ago: this week is counted, no usual week is claimed.
      expect(first).toEqual({ enoughHistory: false, kinds: [{ kind: 'crime', thisWeek: 2 }, { kind: 'info', thisWeek: 1 }] })

      await cli(ana, ['retract', ids[0]!.slice(0, 12)])
      await peer.sync()
      expect((await peer.weekContext()).kinds).toEqual([{ kind: 'crime', thisWeek: 1 }, { kind: 'info', thisWeek: 1 }])

      // Two days on the posts have expired and are swept; the counts of their week stay.
      const then = now
      now += 2 * 86_400_000
      await peer.sweep()
      expect(await peer.feed()).toEqual([])
      now = then
      expect((await peer.weekContext()).kinds).toEqual([{ kind: 'crime', thisWeek: 1 }, { kind: 'info', thisWeek: 1 }])
    } finally {
      await peer.stop()
    }
    // The CLI's feed says it too, and (with --json) gives the figures.
    const feed = await cli(ben, ['--json', 'feed', '--no-sync'])
    expect(feed.json.weeks).toEqual([{ hood: 'Maple Street', enoughHistory: false, kinds: [{ kind: 'crime', thisWeek: 1 }, { kind: 'info', thisWeek: 1 }] }])
    expect((await cli(ben, ['feed', '--no-sync'])).out).toMatch(/^This week in Maple Street: crime 1, info 1 \(not enough history yet for a usual week\)$/m)
    // Read again from the disk by a fresh peer.
    const again = await openResidentPeer(await Home.open(ben), { relays: [], now: () => Date.now() })
    try {
      expect((await again.weekContext()).kinds.map(k => [k.kind, k.thisWeek])).toEqual([['crime', 1], ['info', 1]])
    } finally {
      await again.stop()
    }
  })
})
