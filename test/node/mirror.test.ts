// node/relay/mirror.ts: which peers' sync brings history, and the bounded memory of messages a
// relay cannot verify yet (not asked for, counted or logged again until it learns a key).
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { historyPeers, UnverifiableIds } from '../../node/relay/mirror.ts'
import { MAX_TTL_MS } from '../../protocol/post.ts'
import { MAX_CLOCK_SKEW_MS } from '../../protocol/time.ts'

const id = (n: number): Uint8Array => { const b = new Uint8Array(32); new DataView(b.buffer).setUint32(0, n); return b }
const PEER = '12D3KooWGRUVh7qEmw1a3qAqS5P4CY1qP9BGmQGUmqBeQ8C5Zmct'

describe('historyPeers', () => {
  it('takes the peer id of every address that names one; skips the rest', () => {
    expect([...historyPeers([`/ip4/127.0.0.1/tcp/4001/p2p/${PEER}`, '/ip4/127.0.0.1/tcp/4002', 'not an address'])]).toEqual([PEER])
  })
})

describe('UnverifiableIds', () => {
  it('remembers ids by topic until a key of that topic is learned', () => {
    const u = new UnverifiableIds()
    u.add('a', id(1), 0)
    u.add('a', id(1), 5)
    u.add('b', id(2), 0)
    expect(u.size).toBe(2)
    expect(u.has('a', id(1)) && !u.has('b', id(1)) && u.has('b', id(2))).toBe(true)
    u.forget('a')
    expect(u.has('a', id(1))).toBe(false)
    expect(u.size).toBe(1)
  })

  it('drops ids once their messages have expired everywhere', () => {
    const u = new UnverifiableIds()
    u.add('a', id(1), 0)
    u.add('a', id(2), 1000)
    u.sweep(MAX_TTL_MS + MAX_CLOCK_SKEW_MS + 1)
    expect(u.has('a', id(1))).toBe(false)
    expect(u.has('a', id(2))).toBe(true)
    expect(u.size).toBe(1)
  })

  it('stays within its bound, taking from the largest topic first', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.constantFrom('a', 'b', 'c'), fc.nat(200)), { maxLength: 300 }), (adds) => {
      const u = new UnverifiableIds(20)
      for (const [topic, n] of adds) u.add(topic, id(n), 0)
      expect(u.size).toBeLessThanOrEqual(20)
      const distinct = new Set(adds.map(([t, n]) => `${t} ${n}`)).size
      expect(u.size).toBe(Math.min(distinct, 20))
    }), { numRuns: runs(25) })
    const u = new UnverifiableIds(4)
    for (let n = 0; n < 4; n++) u.add('flood', id(n), 0)
    u.add('quiet', id(100), 0)
    expect(u.has('flood', id(0))).toBe(false)
    expect(u.has('quiet', id(100))).toBe(true)
  })
})
