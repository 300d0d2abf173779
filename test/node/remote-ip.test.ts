import { describe, it, expect } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { remoteIpKey } from '../../protocol/peer/remote-ip.ts'

describe('remoteIpKey', () => {
  it('keys IPv4 by address and IPv6 by its /64', () => {
    expect(remoteIpKey(multiaddr('/ip4/127.0.0.2/tcp/1'))).toBe('ip4:127.0.0.2')
    expect(remoteIpKey(multiaddr('/ip6/2001:db8:1:2:3:4:5:6/tcp/1'))).toBe('ip6:2001:db8:1:2/64')
    expect(remoteIpKey(multiaddr('/ip6/2001:db8:1:2::9/tcp/1'))).toBe('ip6:2001:db8:1:2/64')
    expect(remoteIpKey(multiaddr('/ip6/2001:db8::1/tcp/1'))).toBe('ip6:2001:db8:0:0/64')
    expect(remoteIpKey(multiaddr('/ip6/::1/tcp/1'))).toBe('ip6:0:0:0:0/64')
  })

  it('keys an IPv4 client on a dual-stack socket by its IPv4 address', () => {
    expect(remoteIpKey(multiaddr('/ip6/::ffff:1.2.3.4/tcp/1'))).toBe('ip4:1.2.3.4')
  })

  it('gives other transports one shared key', () => {
    expect(remoteIpKey(multiaddr('/p2p-circuit'))).toBe('other:p2p-circuit')
  })
})
