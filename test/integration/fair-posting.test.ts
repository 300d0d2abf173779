// `porchlight post` and the fair-posting check (protocol/fair-posting.ts): every post of the
// corpus that must be held is refused (exit 1, code HELD, the explanation and what is missing
// named) before the peer opens, so nothing is stored or sent; a few near misses go out
// through a real relay. One refusal runs as a real process, for the exit code and stderr.
import { afterAll, describe, expect, it } from 'vitest'
import { cleanUp, cli, neighborhood, startRelay } from '../helpers/network.ts'
import { killAll, run } from '../helpers/processes.ts'
import { HELD, PASSED } from '../helpers/fair-corpus.ts'
import type { Relay } from '../../node/relay/relay.ts'

afterAll(async () => { await killAll(); await cleanUp() })

async function storedCount (relay: Relay): Promise<number> {
  let n = 0
  for (const topic of relay.store.topicNames()) for await (const _m of relay.store.list(topic)) n++
  return n
}

describe('porchlight post and fair posting', () => {
  it('refuses every held post of the corpus, naming what is missing, and sends the near misses', async () => {
    const relay = await startRelay()
    const { admin: ana } = await neighborhood(relay, ['Ana'])
    const before = await storedCount(relay)

    for (const p of HELD) {
      const r = await cli(ana, ['--json', 'post', '--kind', p.kind, '--text', p.text], 1)
      const err = JSON.parse(r.err) as { error: { code: string, message: string } }
      expect(err.error.code, p.text).toBe('HELD')
      expect(r.out).toBe('')
      if (p.missing!.includes('action')) expect(err.error.message, p.text).toMatch(/Say what the person did.*Missing: what the person did/)
      if (p.missing!.includes('descriptors')) {
        expect(err.error.message, p.text).toMatch(/Race alone puts every neighbor who looks alike under suspicion/)
        expect(err.error.message, p.text).toMatch(/Missing: .*[12] more details? \(clothing, hair, height, build, vehicle\)\.$/)
      }
    }

    // A real process: exit 1, one line on stderr, nothing on stdout.
    const held = HELD.find(p => p.missing!.length === 2)!
    const proc = await run(ana, ['post', '--kind', held.kind, '--text', held.text])
    expect(proc.code).toBe(1)
    expect(proc.out).toBe('')
    expect(proc.err.trim().split('\n')).toHaveLength(1)
    expect(proc.err).toMatch(/^porchlight: not sent: Say what the person did.* Missing: what the person did; 2 more details \(clothing, hair, height, build, vehicle\)\.\n$/)

    // Nothing held reached the relay, the feed or the outbox.
    expect(await storedCount(relay)).toBe(before)
    const feed = (await cli(ana, ['--json', 'feed'])).json as { posts: Array<{ text: string }>, outbox: number }
    expect(feed.posts).toEqual([])
    expect(feed.outbox).toBe(0)

    // The near misses the brief names, and one with its action and details given.
    const sent = [
      PASSED.find(p => p.text.includes('walking a dog'))!,
      PASSED.find(p => p.text.startsWith('White van'))!,
      PASSED.find(p => p.text.includes('black hoodie from my porch'))!,
      PASSED.find(p => p.text.startsWith('Black man in a grey hoodie'))!
    ]
    for (const p of sent) expect((await cli(ana, ['--json', 'post', '--kind', p.kind, '--text', p.text])).json.relay).toBeTypeOf('string')
    const texts = ((await cli(ana, ['--json', 'feed'])).json.posts as Array<{ text: string }>).map(p => p.text)
    expect(texts.sort()).toEqual(sent.map(p => p.text).sort())
  })

  it('says what it checks, and its limits, in `porchlight help post`', async () => {
    const r = await cli('/nonexistent-home', ['help', 'post'])
    expect(r.out).toMatch(/Fair posting: .*word list.*cannot judge intent/s)
  })
})
