// The web app's logic that needs no browser: the connection gater, invite links, the relay a
// page uses, the feed order and what the app says; and the relay's /relay.json it reads.
import { afterEach, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { denyDial } from '../../web/engine/gater.ts'
import { inviteFromHash, inviteFromPaste, inviteLink, takeInviteFromLocation } from '../../web/state/invite-link.ts'
import { pickRelayAddr } from '../../web/state/relay-info.ts'
import { newestFirst } from '../../web/state/app-state.ts'
import { audience, authorLabel, statusText } from '../../web/state/labels.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { cleanUp, startRelay } from '../helpers/network.ts'

afterEach(cleanUp)

const ID = '12D3KooWNg1tdzZyNBeKq5TXJoEr4uWAHDgho1xL4ceVcacHUvd3'

describe('the page\'s connection gater', () => {
  const policy = (relays: string[], pageHost = 'porch.example.org') => ({ relays: () => relays, pageHost })
  const deny = (p: ReturnType<typeof policy>, a: string): boolean => denyDial(p, multiaddr(a))

  it('allows the relays its neighborhoods name, by host and port, even on a LAN over plain ws', () => {
    const p = policy([`/ip4/192.168.1.20/tcp/4002/ws/p2p/${ID}`])
    expect(deny(p, `/ip4/192.168.1.20/tcp/4002/ws/p2p/${ID}`)).toBe(false)
    expect(deny(p, '/ip4/192.168.1.20/tcp/4002/ws')).toBe(false)
    expect(deny(p, '/ip4/192.168.1.20/tcp/22/ws')).toBe(true)
    expect(deny(p, '/ip4/192.168.1.21/tcp/4002/ws')).toBe(true)
  })

  it('allows the page\'s own host (loopback included) and refuses other private and loopback addresses', () => {
    const p = policy([], '127.0.0.1')
    expect(deny(p, '/ip4/127.0.0.1/tcp/4002/ws')).toBe(false)
    expect(deny(p, '/ip4/10.0.0.1/tcp/4002/ws')).toBe(true)
    expect(deny(policy([]), '/ip4/127.0.0.1/tcp/4002/ws')).toBe(true)
    expect(deny(policy([], '[::1]'), '/ip6/::1/tcp/4002/ws')).toBe(false)
  })

  it('allows public secure WebSockets and refuses public plain ws and what it cannot place', () => {
    const p = policy([])
    expect(deny(p, '/dns4/relay.example.net/tcp/443/wss')).toBe(false)
    expect(deny(p, '/dns4/relay.example.net/tcp/443/tls/ws')).toBe(false)
    expect(deny(p, '/ip4/8.8.8.8/tcp/80/ws')).toBe(true)
    expect(deny(p, `/p2p/${ID}`)).toBe(true)
  })

  it('ignores a relay entry that is not a multiaddr', () => {
    expect(deny(policy(['not an address']), '/ip4/10.0.0.1/tcp/4002/ws')).toBe(true)
  })
})

describe('invite links', () => {
  const invite = 'porchlight:q2FlAGFopWFhZXU0cHJ1'

  it('round-trip through the fragment, encoded or not, and refuse anything else', () => {
    const link = inviteLink('http://127.0.0.1:8080', invite)
    expect(link).toBe(`http://127.0.0.1:8080/#join=${invite}`)
    expect(inviteFromHash(new URL(link).hash)).toBe(invite)
    expect(inviteFromHash(`#join=${encodeURIComponent(invite)}`)).toBe(invite)
    expect(inviteFromHash('#join=plrelay:abc')).toBeUndefined()
    expect(inviteFromHash('#feed')).toBeUndefined()
  })

  it('take a pasted link or a bare invite', () => {
    expect(inviteFromPaste(`  http://x.example/#join=${invite}\n`)).toBe(invite)
    expect(inviteFromPaste(` ${invite} `)).toBe(invite)
  })

  it('leave the address bar and the history once read', () => {
    const replaced: string[] = []
    const history = { replaceState: (_s: unknown, _t: string, url: string) => { replaced.push(url) } } as unknown as History
    const loc = { hash: `#join=${invite}`, pathname: '/', search: '' } as Location
    expect(takeInviteFromLocation(loc, history)).toBe(invite)
    expect(replaced).toEqual(['/'])
    expect(takeInviteFromLocation({ hash: '', pathname: '/', search: '' } as Location, history)).toBeUndefined()
    expect(replaced).toEqual(['/'])
  })
})

describe('the page\'s relay', () => {
  it('is the WebSocket address on the page\'s host, else the first', () => {
    const info = { peerId: ID, ws: [`/ip4/10.0.0.5/tcp/4002/ws/p2p/${ID}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${ID}`] }
    expect(pickRelayAddr(info, '127.0.0.1')).toBe(info.ws[1])
    expect(pickRelayAddr(info, 'porch.example.org')).toBe(info.ws[0])
    expect(pickRelayAddr({ peerId: ID, ws: [] }, '127.0.0.1')).toBeUndefined()
  })

  it('is what the relay serves at /relay.json: its peer id and WebSocket addresses with /p2p/', async () => {
    const relay = await startRelay()
    const info = await (await fetch(`${relay.httpUrl}/relay.json`)).json() as { peerId: string, ws: string[] }
    expect(info.peerId).toBe(relay.webInfo().peerId)
    expect(info.ws.length).toBeGreaterThan(0)
    for (const a of info.ws) expect(a).toMatch(new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/ws/p2p/${info.peerId}$`))
  })
})

describe('the feed and its words', () => {
  const post = (id: string, created: number, extra: Partial<FeedPost> = {}): FeedPost => ({
    id, created, channel: 'private', topic: 't', kind: 'info', text: id, expires: created + 1, media: [], author: 'aa', authorFingerprint: 'FP', mine: false, ...extra
  })

  it('lists posts newest first, ties by id', () => {
    expect(newestFirst([post('a', 1), post('c', 3), post('b', 3)]).map(p => p.id)).toEqual(['b', 'c', 'a'])
  })

  it('says who sees a post, with and without a public copy', () => {
    expect(audience(false, 'Maple Street', 'u4pru')).toBe('Only members of Maple Street can read it: it is encrypted, and relays cannot read it.')
    expect(audience(true, 'Maple Street', 'u4pru')).toMatch(/anyone following area u4pru.*pseudonym/)
  })

  it('names authors, with the fingerprint beside a look-alike name', () => {
    expect(authorLabel(post('a', 1, { authorName: 'Ann' }))).toBe('Ann')
    expect(authorLabel(post('a', 1, { authorName: 'Ann', lookAlike: true }))).toBe('Ann (FP)')
    expect(authorLabel(post('a', 1, { mine: true }))).toBe('you')
    expect(statusText('connected', 1)).toBe('Connected to 1 relay')
    expect(statusText('connected', 2)).toBe('Connected to 2 relays')
  })
})
