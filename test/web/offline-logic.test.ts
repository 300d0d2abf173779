// Offline first without a browser: the outbox state each own post shows, the outbox flushing
// one at a time and keeping refusals, and the tabs' leader (Web Locks faked here; Node's own
// BroadcastChannel carries the messages between two Tabs as between two browser tabs).
import { afterEach, describe, expect, it } from 'vitest'
import { guardOutbox, outboxState, refusalText, withOutbox, type Refusal } from '../../web/engine/outbox-view.ts'
import { Tabs, type TabsEnv } from '../../web/engine/leader.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { KeyValue } from '../../protocol/peer/storage.ts'

const post = (id: string, mine: boolean): FeedPost => ({
  id, channel: 'private', topic: 't', kind: 'info', text: id, created: 1, expires: 2, media: [], author: 'a', authorFingerprint: 'f', mine
})

describe('the outbox state of a post', () => {
  const view = { queued: new Set(['q', 'r']), refused: new Map<string, Refusal>([['r', { code: 'EXPIRED', message: 'expired' }], ['gone', { code: 'EXPIRED', message: '' }]]) }

  it('is queued in the outbox, refused with the reason in words, sent once out of it; none for others\' posts', () => {
    expect(outboxState(post('q', true), view)).toEqual({ state: 'queued' })
    expect(outboxState(post('r', true), view)).toEqual({ state: 'refused', reason: 'it expired before a relay took it' })
    expect(outboxState(post('s', true), view)).toEqual({ state: 'sent' })
    // A refusal kept for a post no longer in the outbox (a relay took it later) is over.
    expect(outboxState(post('gone', true), view)).toEqual({ state: 'sent' })
    expect(outboxState(post('q', false), view)).toBeUndefined()
    expect(withOutbox([post('q', false), post('q', true)], view).map(p => p.outbox)).toEqual([undefined, { state: 'queued' }])
  })

  it('says a refusal it has no words for with the relay\'s message, else its code', () => {
    expect(refusalText({ code: 'BAD_TAG', message: 'tag does not verify' })).toBe('tag does not verify')
    expect(refusalText({ code: 'BAD_TAG', message: '' })).toBe('BAD_TAG')
  })
})

describe('the guarded outbox', () => {
  function memory (): KeyValue<Refusal> & { map: Map<string, Refusal> } {
    const map = new Map<string, Refusal>()
    return {
      map,
      get: async (k) => map.get(k),
      put: async (k, v) => { map.set(k, v) },
      del: async (k) => { map.delete(k) },
      delMany: async (ks) => { for (const k of ks) map.delete(k) },
      entries: async function * () { yield * map.entries() }
    }
  }

  it('flushes one at a time and keeps final refusals (not "try later"), clearing them once a relay takes the post', async () => {
    let running = 0
    let most = 0
    const answers = [
      new Map([['a', { result: { ok: false, code: 'EXPIRED' as const, message: 'too old' } }], ['b', { result: { ok: false, code: 'UNAVAILABLE' as const } }]]),
      new Map([['a', { result: { ok: true }, relay: 'r' }]])
    ]
    const peer = {
      flushOutbox: async () => {
        running++
        most = Math.max(most, running)
        await new Promise(resolve => setImmediate(resolve))
        running--
        return answers.shift()!
      }
    }
    const refusals = memory()
    guardOutbox(peer, refusals)
    const first = peer.flushOutbox()
    const second = peer.flushOutbox()
    await first
    expect([...refusals.map]).toEqual([['a', { code: 'EXPIRED', message: 'too old' }]])
    await second
    expect(most).toBe(1)
    expect(refusals.map.size).toBe(0)
  })
})

/** Web Locks, in memory: one holder per name, the others wait in order (or give up on abort). */
function fakeLocks (): TabsEnv['locks'] {
  const tails = new Map<string, Promise<unknown>>()
  return {
    request: (async (name: string, opts: { signal?: AbortSignal }, cb: (lock: Lock | null) => Promise<unknown>) => {
      const prev = tails.get(name) ?? Promise.resolve()
      const mine = prev.then(async () => {
        if (opts.signal?.aborted === true) throw new Error('aborted')
        return await cb({ name, mode: 'exclusive' })
      })
      tails.set(name, mine.catch(() => undefined))
      return await mine
    }) as TabsEnv['locks']['request']
  }
}

describe('the tabs of one origin', () => {
  const open: Tabs[] = []
  afterEach(() => { for (const t of open.splice(0)) t.close() })

  it('one leads; another hands it its asks and hears its status; when the leader closes the other leads and does its unanswered asks itself', async () => {
    const locks = fakeLocks()
    const env: TabsEnv = { locks, channel: name => new BroadcastChannel(name) }
    const one = new Tabs(env)
    const two = new Tabs(env)
    open.push(one, two)
    const done: string[] = []
    let blockOne = false
    one.serve(async ask => {
      if (blockOne) return await new Promise<never>(() => {})
      done.push(`one:${String(ask.args)}`)
      return ask.args === 'bad' ? 'refused' : undefined
    })
    two.serve(async ask => { done.push(`two:${String(ask.args)}`); return undefined })
    await new Promise<void>(resolve => { one.lead(async () => { resolve() }) })
    let twoLeads!: () => void
    const twoLed = new Promise<void>(resolve => { twoLeads = resolve })
    two.lead(async () => { twoLeads() })
    expect(one.leading).toBe(true)
    expect(two.leading).toBe(false)

    const heard = new Promise(resolve => { two.onStatus(resolve) })
    one.announce({ connection: 'connected', relaysConnected: 1 })
    expect(await heard).toEqual({ connection: 'connected', relaysConnected: 1 })

    expect(await two.ask({ op: 'post', args: 'hello' })).toBeUndefined()
    expect(await two.ask({ op: 'post', args: 'bad' })).toBe('refused')
    expect(done).toEqual(['one:hello', 'one:bad'])

    // The leader goes without answering: the ask waits, and the new leader (two) does it.
    blockOne = true
    const waiting = two.ask({ op: 'post', args: 'later' })
    await new Promise(resolve => setImmediate(resolve))
    one.close()
    await twoLed
    expect(two.leading).toBe(true)
    expect(await waiting).toBeUndefined()
    expect(done).toEqual(['one:hello', 'one:bad', 'two:later'])
  })
})
