// The README path as a user walks it, every step a real `porchlight` process with its own
// home: run a relay, create identities and a neighborhood, give the relay its token, join
// from a second home, post and read the feed; a post while the relay is down fails with one
// line and waits in the outbox until the next feed; the relay's /health; an agency sees a
// --public post and none of the private ones.
import { describe, it, expect, afterAll } from 'vitest'
import { cleanUp, tempDir } from '../helpers/network.ts'
import { killAll, run, runOk, spawnRelay, stopProcess } from '../helpers/processes.ts'
import type { FeedPost } from '../../node/resident.ts'

const AREA = 'u4pruy'

afterAll(async () => {
  await killAll()
  await cleanUp()
})

function texts (posts: FeedPost[]): string[] { return posts.map(p => p.text) }

describe('the CLI, end to end, in separate processes', () => {
  it('runs a neighborhood through a relay, with an outbox for when the relay is down', { timeout: 240_000 }, async () => {
    const data = await tempDir('pl-e2e-relay-')
    const ana = await tempDir('pl-e2e-ana-')
    const ben = await tempDir('pl-e2e-ben-')
    const pd = await tempDir('pl-e2e-pd-')
    const tag = `${process.pid}-${Date.now()}`
    const down = `Gate left open at the park ${tag}`
    const seen = `Someone trying car doors on Maple ${tag}`

    // A relay with no neighborhood yet (to learn its address); identities meanwhile.
    const [first] = await Promise.all([
      spawnRelay(['--data', data, '--tcp', '0', '--ws', '0', '--http', '0']),
      runOk(ana, ['--json', 'id', 'create', '--name', 'Ana']),
      runOk(ben, ['--json', 'id', 'create', '--name', 'Ben']),
      runOk(pd, ['--json', 'agency', 'create', '--name', 'City PD'])
    ])
    const tcpPort = /\/tcp\/(\d+)\//.exec(first.tcp)![1]!

    const [created] = await Promise.all([
      runOk(ana, ['--json', 'hood', 'create', 'Maple Street', '--area', AREA, '--relay', first.tcp]),
      runOk(pd, ['--json', 'agency', 'follow', AREA])
    ])
    const invite = created.json.invite as string
    expect(invite).toMatch(/\S{20,}/)
    const token = (await runOk(ana, ['--json', 'hood', 'relay-token'])).json.token as string
    expect(token).toMatch(/^plrelay:/)

    // Stopping the relay: Ctrl-C / SIGTERM is a clean exit.
    const stopped = await stopProcess(first, 'SIGTERM')
    expect(stopped.code).toBe(0)

    // Posting while no relay answers: a non-zero exit, one line that says where the post is.
    const failed = await run(ana, ['post', '--kind', 'safety', '--text', down])
    expect(failed.code).not.toBe(0)
    const errLines = failed.err.trim().split('\n')
    expect(errLines).toHaveLength(1)
    expect(errLines[0]).toMatch(/^porchlight: /)
    expect(errLines[0]).toContain('outbox')

    // The relay again, same data folder (same key, so the same peer id) and port, now serving
    // the neighborhood and its area.
    const relay = await spawnRelay(['--data', data, '--tcp', tcpPort, '--ws', '0', '--http', '0', '--serve', token])
    expect(relay.peerId).toBe(first.peerId)
    expect(relay.tcp).toBe(first.tcp)

    // Ben joins (and announces himself through the relay); Ana's next feed sends her outbox.
    const [joined, anaFeed] = await Promise.all([
      runOk(ben, ['--json', 'hood', 'join', invite]),
      runOk(ana, ['--json', 'feed'])
    ])
    expect(joined.json.announced).toBe(true)
    expect(joined.json.hood.name).toBe('Maple Street')
    expect(anaFeed.json.outbox).toBe(0)
    expect(texts(anaFeed.json.posts)).toContain(down)

    // A post with a public copy for the area.
    const sent = await runOk(ana, ['--json', 'post', '--kind', 'suspicious', '--text', seen, '--public'])
    expect(sent.json.id).toMatch(/^[0-9a-f]{64}$/)
    expect(sent.json.publicId).toMatch(/^[0-9a-f]{64}$/)

    const [benFeed, agencyFeed] = await Promise.all([
      runOk(ben, ['--json', 'feed']),
      runOk(pd, ['--json', 'agency', 'feed', '--relay', relay.tcp])
    ])
    // Ben reads both private posts, including the one that waited in Ana's outbox.
    const benPosts = benFeed.json.posts as FeedPost[]
    const fromOutbox = benPosts.find(p => p.text === down)
    const suspicious = benPosts.find(p => p.text === seen && p.channel === 'private')
    expect(fromOutbox).toMatchObject({ channel: 'private', kind: 'safety', authorName: 'Ana', hood: 'Maple Street', mine: false })
    expect(suspicious).toMatchObject({ kind: 'suspicious', authorName: 'Ana', id: sent.json.id })
    // The agency reads the public copy, signed by Ana's area pseudonym, and nothing private.
    const agencyPosts = agencyFeed.json.posts as FeedPost[]
    expect(agencyPosts.map(p => [p.text, p.channel])).toEqual([[seen, 'public']])
    expect(agencyPosts[0]).toMatchObject({ id: sent.json.publicId, kind: 'suspicious', area: AREA })
    expect(agencyPosts[0]!.author).not.toBe(suspicious!.author)
    expect(agencyPosts[0]!.authorName).toBeUndefined()
    expect(agencyFeed.out).not.toContain(down)

    // /health: what an operator's monitoring reads.
    const res = await fetch(`${relay.http}/health`)
    expect(res.headers.get('content-type')).toContain('application/json')
    const health = await res.json() as Record<string, unknown>
    expect(health).toMatchObject({ status: 'ok', peerId: relay.peerId, topics: 2 })
    // Ben's join, the post from the outbox, the new post and its public copy.
    expect(health.storedMessages).toBe(4)
    expect(health.storedBytes).toBeGreaterThan(0)
    expect(typeof health.peers).toBe('number')
    expect(typeof health.connections).toBe('number')
    expect(health.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(health.addresses).toContain(relay.tcp)
    const metrics = await (await fetch(`${relay.http}/metrics`)).text()
    expect(metrics).toMatch(/^porchlight_stored_messages 4$/m)

    const end = await stopProcess(relay, 'SIGTERM')
    expect(end.code).toBe(0)
  })
})
