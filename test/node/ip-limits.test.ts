// Per-address limits on area channels (node/relay/ip-limits.ts): how addresses are keyed, the rate,
// the share of an area's quota (reserved, kept, cancelled, released at expiry).
import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { addressKey, AreaLimits } from '../../node/relay/ip-limits.ts'

const T = '/porchlight/1/area/u4pruy'
const NOW = 1_800_000_000_000

describe('addressKey', () => {
  it('keys IPv4 whole, IPv6 by its /64, anything else as one', () => {
    expect(addressKey(multiaddr('/ip4/127.0.0.2/tcp/4001'))).toBe('ip4:127.0.0.2')
    expect(addressKey(multiaddr('/ip6/2001:db8:0:1:aaaa::1/tcp/4001'))).toBe('ip6:2001:db8:0:1::/64')
    expect(addressKey(multiaddr('/ip6/2001:db8:0:1:ffff:1:2:3/tcp/1/ws'))).toBe('ip6:2001:db8:0:1::/64')
    expect(addressKey(multiaddr('/ip6/2001:DB8::1/tcp/1'))).toBe('ip6:2001:db8:0:0::/64')
    expect(addressKey(multiaddr('/ip6/::1/tcp/1'))).toBe('ip6:0:0:0:0::/64')
    expect(addressKey(multiaddr('/ip6/::ffff:203.0.113.7/tcp/1'))).toBe('ip4:203.0.113.7')
    expect(addressKey(multiaddr('/ip6/::ffff:cb00:7107/tcp/1'))).toBe('ip4:203.0.113.7')
    expect(addressKey(multiaddr('/dns4/example.org/tcp/1'))).toBe('other')
    expect(addressKey(undefined)).toBe('other')
  })

  it('gives every address in one /64 the same key', () => {
    const group = fc.integer({ min: 0, max: 0xffff }).map(n => n.toString(16))
    fc.assert(fc.property(fc.array(group, { minLength: 4, maxLength: 4 }), (tail) => {
      expect(addressKey(multiaddr(`/ip6/2001:db8:a:b:${tail.join(':')}/tcp/1`))).toBe('ip6:2001:db8:a:b::/64')
    }), { numRuns: runs(25) })
  })
})

describe('AreaLimits', () => {
  it('refuses past the burst, per address', () => {
    const l = new AreaLimits({ ipRate: { perSecond: 0, burst: 3 }, shareOfQuota: 1 })
    for (let i = 0; i < 3; i++) expect(typeof l.reserve('ip4:1.1.1.1', T, 1, 100, NOW)).toBe('object')
    expect(l.reserve('ip4:1.1.1.1', T, 1, 100, NOW)).toBe('IP_RATE_LIMITED')
    expect(typeof l.reserve('ip4:1.1.1.2', T, 1, 100, NOW)).toBe('object')
  })

  it('holds each address to its share; cancelled and expired messages give it back', () => {
    const l = new AreaLimits({ ipRate: { perSecond: 0, burst: 1000 }, shareOfQuota: 1 / 4 })
    const a = 'ip4:10.0.0.1'
    const first = l.reserve(a, T, 200, 1000, NOW)
    if (typeof first === 'string') throw new Error(first)
    expect(l.reserve(a, T, 51, 1000, NOW)).toBe('IP_SHARE')
    // Reserved before it is validated: a second request in flight cannot overshoot.
    const second = l.reserve(a, T, 50, 1000, NOW)
    if (typeof second === 'string') throw new Error(second)
    expect(l.reserve(a, T, 1, 1000, NOW)).toBe('IP_SHARE')
    second.cancel()
    second.cancel()
    expect(l.heldBy(a, T)).toBe(200)
    first.keep('aa')
    first.cancel() // settled already: no effect
    expect(l.heldBy(a, T)).toBe(200)
    // Other topics and addresses have their own shares.
    expect(typeof l.reserve(a, '/porchlight/1/area/u4pr', 250, 1000, NOW)).toBe('object')
    expect(typeof l.reserve('ip4:10.0.0.2', T, 250, 1000, NOW)).toBe('object')
    l.release(['aa', 'unknown'])
    expect(l.heldBy(a, T)).toBe(0)
    expect(typeof l.reserve(a, T, 250, 1000, NOW)).toBe('object')
  })

  it('IPv6: each /64 has a share, and its /48 twice that in all', () => {
    const l = new AreaLimits({ ipRate: { perSecond: 0, burst: 1000 }, shareOfQuota: 1 / 10 })
    const in48 = (n: number): string => addressKey(multiaddr(`/ip6/2001:db8:1:${n.toString(16)}::1/tcp/1`))
    expect(typeof l.reserve(in48(1), T, 100, 1000, NOW)).toBe('object')
    expect(l.reserve(in48(1), T, 1, 1000, NOW)).toBe('IP_SHARE')
    const second = l.reserve(in48(2), T, 100, 1000, NOW)
    if (typeof second === 'string') throw new Error(second)
    // The /48 is full, so a third /64 in it is refused; another /48 is not.
    expect(l.reserve(in48(3), T, 1, 1000, NOW)).toBe('IP_SHARE')
    expect(typeof l.reserve(addressKey(multiaddr('/ip6/2001:db8:2::1/tcp/1')), T, 100, 1000, NOW)).toBe('object')
    second.cancel()
    expect(typeof l.reserve(in48(3), T, 100, 1000, NOW)).toBe('object')
    expect(l.heldBy('ip6:2001:db8:1::/48', T)).toBe(200)
  })

  it('never lets an address hold more than its share, whatever the order of requests', () => {
    fc.assert(fc.property(fc.array(fc.tuple(fc.integer({ min: 1, max: 400 }), fc.constantFrom('keep', 'cancel', 'expire')), { maxLength: 60 }), (ops) => {
      const l = new AreaLimits({ ipRate: { perSecond: 0, burst: 1000 }, shareOfQuota: 1 / 8 })
      let stored = 0
      const live = new Map<string, number>()
      ops.forEach(([size, what], i) => {
        const r = l.reserve('ip4:1.2.3.4', T, size, 8000, NOW)
        if (typeof r === 'string') return
        if (what === 'cancel') { r.cancel(); return }
        r.keep(String(i))
        stored += size
        live.set(String(i), size)
        if (what === 'expire') { l.release([String(i)]); stored -= size; live.delete(String(i)) }
        expect(stored).toBeLessThanOrEqual(1000)
        expect(l.heldBy('ip4:1.2.3.4', T)).toBe(stored)
      })
    }), { numRuns: runs(25) })
  })
})
