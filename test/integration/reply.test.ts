// `post --reply-to` takes the short id that `feed` prints (issue 9): any unique prefix of 8 or
// more hex digits, or the whole id; a prefix that names no post is one line, and nothing is sent.
import { describe, it, expect, afterAll } from 'vitest'
import { cleanUp, cli, neighborhood, startRelay } from '../helpers/network.ts'

afterAll(cleanUp)

describe('post --reply-to', () => {
  it('replies to the post a short id names', async () => {
    const relay = await startRelay()
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    const [ana, ben] = hood.members as [string, string]
    const asked = (await cli(ana, ['--json', 'post', '--kind', 'pet', '--text', 'Has anyone seen a grey cat?'])).json.id as string
    const feed = await cli(ben, ['feed'])
    const short = asked.slice(0, 10)
    expect(feed.out).toContain(asked.slice(0, 8))
    const reply = await cli(ben, ['--json', 'post', '--kind', 'reply', '--text', 'Yes, on Elm this morning', '--reply-to', short])
    expect(reply.json.relay).not.toBeNull() // stored by the relay
    const posts = (await cli(ana, ['--json', 'feed'])).json.posts as Array<{ id: string, replyTo?: string }>
    expect(posts.find(p => p.id === reply.json.id)?.replyTo).toBe(asked)

    const none = await cli(ben, ['post', '--kind', 'info', '--text', 'to nothing', '--reply-to', 'deadbeefdeadbeef'], 1)
    expect(none.err.trim().split('\n')).toHaveLength(1)
    expect(none.err).toContain('no post deadbeefdeadbeef')
    const tooShort = await cli(ben, ['post', '--kind', 'info', '--text', 'to nothing', '--reply-to', 'abc'], 1)
    expect(tooShort.err).toContain('hex characters')
  })
})
