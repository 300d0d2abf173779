/**
 * Which addresses the page may dial. libp2p's browser default refuses plain `ws://` and
 * private addresses, which shuts out a community relay on a LAN and every local test. Here:
 *  - the relays named in this browser's neighborhoods (their invites) are allowed, matched by
 *    host and port, and so is the page's own host (the relay that served it, loopback included);
 *  - any other private or loopback address is refused (a page must not probe the LAN);
 *  - any other plain `ws://` is refused (a secure page cannot open it anyway);
 *  - anything else (a public `wss://` relay) is allowed.
 * Pure: takes the allowed relays and the page's host, so it is tested without a browser.
 */
import type { Multiaddr } from '@multiformats/multiaddr'
import { multiaddr } from '@multiformats/multiaddr'
import { isPrivate } from '@libp2p/utils'

export interface GatePolicy {
  /** Relay multiaddrs (text) from the neighborhoods' invites and the page's own relay. */
  relays: () => readonly string[]
  /** location.hostname of the page. */
  pageHost: string
}

/** host:port of a multiaddr's first ip4/ip6/dns part and its tcp port, lower case. */
export function hostPort (ma: Multiaddr): string | undefined {
  let host: string | undefined
  let port: string | undefined
  for (const c of ma.getComponents()) {
    if (host === undefined && ['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(c.name)) host = c.value?.toLowerCase()
    if (port === undefined && c.name === 'tcp') port = c.value
  }
  return host !== undefined && port !== undefined ? `${host}:${port}` : undefined
}

function hostOf (ma: Multiaddr): string | undefined {
  return hostPort(ma)?.replace(/:\d+$/, '')
}

/** True when the page must not dial `ma`. */
export function denyDial (policy: GatePolicy, ma: Multiaddr): boolean {
  const hp = hostPort(ma)
  if (hp === undefined) return true
  const pageHost = policy.pageHost.replace(/^\[|\]$/g, '').toLowerCase()
  if (hostOf(ma) === pageHost) return false
  for (const r of policy.relays()) {
    try {
      if (hostPort(multiaddr(r)) === hp) return false
    } catch { /* not a multiaddr: allows nothing */ }
  }
  if (isPrivate(ma)) return true
  const secure = ma.getComponents().some(c => c.name === 'wss' || c.name === 'tls')
  return !secure
}
