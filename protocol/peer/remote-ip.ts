/**
 * Who a connection comes from, for per-IP caps: an IPv4 address, or an IPv6 /64 (one
 * household's network: a provider hands each customer at least a /64, so an attacker holds
 * billions of addresses within one and a cap per address would count nothing).
 */
import type { Multiaddr } from '@multiformats/multiaddr'

/** A key naming the sender's address (`ip4:…`, `ip6:…/64`), or `other:…` for a non-IP transport. */
export function remoteIpKey (addr: Multiaddr): string {
  for (const c of addr.getComponents()) {
    if (c.name === 'ip4' && c.value !== undefined) return `ip4:${c.value}`
    if (c.name === 'ip6' && c.value !== undefined) {
      const g = ipv6Groups(c.value)
      // An IPv4 client on a dual-stack socket (::ffff:a.b.c.d) is that IPv4 address.
      if (g.slice(0, 5).every(x => x === 0) && g[5] === 0xffff) return `ip4:${g[6]! >> 8}.${g[6]! & 0xff}.${g[7]! >> 8}.${g[7]! & 0xff}`
      return `ip6:${g.slice(0, 4).map(x => x.toString(16)).join(':')}/64`
    }
  }
  // A circuit-relayed or in-memory connection: one key for the whole kind, so it is still capped.
  return `other:${addr.getComponents()[0]?.name ?? 'unknown'}`
}

/** The eight 16-bit groups of an IPv6 address (`::` expanded, a dotted IPv4 tail converted). */
function ipv6Groups (ip: string): number[] {
  let bare = ip.split('%')[0]!.toLowerCase()
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(bare)
  if (v4 !== null) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number]
    bare = `${bare.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`
  }
  const [head = '', tail] = bare.split('::', 2) as [string, string | undefined]
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const missing = tail === undefined ? 0 : Math.max(0, 8 - left.length - right.length)
  return [...left, ...Array<string>(missing).fill('0'), ...right].map(x => parseInt(x, 16) || 0)
}
