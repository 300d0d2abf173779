/**
 * Limits per network address on the public area channels (`/porchlight/1/area/<geohash>`).
 *
 * Anyone may write to an area: public posts are signed with unlinkable per-area pseudonyms and
 * RFAs with agency keys anyone can make, and a libp2p peer id costs nothing to mint. So the
 * relay rations what it can see and a flooder cannot multiply cheaply: the address a message
 * came from (the connection's remote address; for gossip, the forwarder's connection).
 *
 * - Rate: a token bucket per address over every message offered to any area (push, sync gives,
 *   gossip), charged before the message is verified, so junk costs tokens too.
 * - Share: the messages stored from one address may hold at most `shareOfQuota` of an area's
 *   quota, so a few addresses cannot fill it however slowly they go. The share is reserved
 *   before the message is validated (concurrent requests cannot overshoot it) and given back
 *   when the message expires or is refused. Attribution lives in memory only: after a restart
 *   what is stored counts for nobody.
 *
 * IPv4 addresses are keyed whole (households behind one NAT share one; IPv4-mapped IPv6 too);
 * IPv6 by their /64, which one host usually holds entirely, and each /48 may hold SITE_SHARES
 * shares in all (a home gets a /56 or a /48; so does anyone from a free tunnel broker).
 */
import { remoteIpKey } from '../../protocol/peer/remote-ip.ts'
import type { Multiaddr } from '@multiformats/multiaddr'
import { RateLimiter, type RateInit } from '../../protocol/peer/rate-limit.ts'

/** @default 1 message per 5 s sustained, 30 at once: public posts are rare, a household's burst is small. */
export const DEFAULT_IP_RATE: RateInit = { perSecond: 0.2, burst: 30 }
/** @default 1/16: sixteen addresses at their limit still leave nothing over; see DESIGN. */
export const DEFAULT_IP_SHARE_OF_QUOTA = 1 / 16

export interface AreaLimitsInit {
  /** Messages one address may offer to the area channels. @default DEFAULT_IP_RATE */
  ipRate?: RateInit
  /** Fraction of an area's quota the messages from one address may hold. @default DEFAULT_IP_SHARE_OF_QUOTA */
  shareOfQuota?: number
}

/** Why an address was refused: a metrics reason (`porchlight_messages_rejected_total{reason}`). */
export type AreaRefusal = 'IP_RATE_LIMITED' | 'IP_SHARE'

/** A reserved share: `keep` once the message is stored (under its id), `cancel` otherwise. */
export interface Reservation {
  keep: (idHex: string) => void
  cancel: () => void
}

/** The address a connection comes from, as the key it is limited under: 'ip4:a.b.c.d', 'ip6:<first 4 groups>::/64', or 'other'. */
export function addressKey (addr: Multiaddr | undefined): string {
  // One parser of who a connection comes from (remote-ip.ts, the caps' key), written as this file's keys.
  const key = addr === undefined ? 'other' : remoteIpKey(addr)
  if (key.startsWith('other')) return 'other'
  return key.startsWith('ip6:') ? key.replace(/\/64$/, '::/64') : key
}

/** Shares of one address that the /48 around an IPv6 /64 may hold in all. */
export const SITE_SHARES = 2

/** 'ip6:a:b:c:d::/64' → 'ip6:a:b:c::/48'; undefined for anything else. */
function ip6Site (address: string): string | undefined {
  const m = /^ip6:([0-9a-f]+:[0-9a-f]+:[0-9a-f]+):[0-9a-f]+::\/64$/.exec(address)
  return m === null ? undefined : `ip6:${m[1]!}::/48`
}

export class AreaLimits {
  private readonly rate: RateLimiter
  private readonly share: number
  /** Bytes held per `${address} ${topic}`, reserved or stored. */
  private readonly held = new Map<string, number>()
  /** Stored messages by id: whose share they count against. */
  private readonly owners = new Map<string, { keys: string[], size: number }>()

  constructor (init: AreaLimitsInit = {}) {
    this.rate = new RateLimiter(init.ipRate ?? DEFAULT_IP_RATE)
    this.share = init.shareOfQuota ?? DEFAULT_IP_SHARE_OF_QUOTA
  }

  /**
   * Takes a token for `address` and reserves `size` bytes of its share of `topic`, whose quota
   * is `quota` bytes. Returns the refusal, or the reservation to keep or cancel.
   */
  reserve (address: string, topic: string, size: number, quota: number, now: number): Reservation | AreaRefusal {
    if (!this.rate.take(address, now)) return 'IP_RATE_LIMITED'
    const share = Math.floor(quota * this.share)
    // An IPv6 /64 also counts against its /48, which may hold twice one address's share: /64s
    // are cheap to come by for anyone with a /56 or a /48 (a free tunnel gives one).
    const site = ip6Site(address)
    const keys = site === undefined ? [`${address} ${topic}`] : [`${address} ${topic}`, `${site} ${topic}`]
    const limits = [share, SITE_SHARES * share]
    for (const [i, key] of keys.entries()) {
      if ((this.held.get(key) ?? 0) + size > limits[i]!) return 'IP_SHARE'
    }
    for (const key of keys) this.held.set(key, (this.held.get(key) ?? 0) + size)
    let settled = false
    return {
      keep: (idHex) => {
        if (settled) return
        settled = true
        this.owners.set(idHex, { keys, size })
      },
      cancel: () => {
        if (settled) return
        settled = true
        for (const key of keys) this.give(key, size)
      }
    }
  }

  /** Gives back the share of messages deleted (expired). */
  release (idHexes: Iterable<string>): void {
    for (const idHex of idHexes) {
      const o = this.owners.get(idHex)
      if (o === undefined) continue
      this.owners.delete(idHex)
      for (const key of o.keys) this.give(key, o.size)
    }
  }

  /** Bytes held by one address in one topic (for tests and health). */
  heldBy (address: string, topic: string): number { return this.held.get(`${address} ${topic}`) ?? 0 }

  private give (key: string, size: number): void {
    const left = (this.held.get(key) ?? 0) - size
    if (left > 0) this.held.set(key, left)
    else this.held.delete(key)
  }
}
