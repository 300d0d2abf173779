/**
 * A cap on the inbound connections one IP (an IPv6 /64) may hold at once, as a libp2p
 * connection gater: a raw connection over the cap is closed before any handshake, so it costs
 * the relay no Noise, Yamux or gossipsub state. libp2p's own limits are a total
 * (maxConnections) and a rate per host (inboundConnectionThreshold), neither of which stops
 * one address from taking every slot.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import { remoteIpKey } from '../../protocol/peer/remote-ip.ts'

export class ConnectionCap {
  private readonly byIp = new Map<string, number>()

  /** `onRefuse` hears of every connection refused (for the metrics). */
  constructor (private readonly maxPerIp: number, private readonly onRefuse: () => void = () => {}) {}

  /** Set by the relay once its node runs: whether to refuse a peer's circuit relay reservation. */
  denyReservation: (peer: PeerId) => boolean = () => false

  /** The gater to give libp2p (`connectionGater`). */
  readonly gater: ConnectionGater = {
    denyInboundConnection: (maConn) => this.deny(maConn),
    denyInboundRelayReservation: (peer) => this.denyReservation(peer)
  }

  /** Inbound connections counted for `ipKey` (remote-ip.ts), for tests. */
  count (ipKey: string): number {
    return this.byIp.get(ipKey) ?? 0
  }

  private deny (maConn: MultiaddrConnection): boolean {
    const ip = remoteIpKey(maConn.remoteAddr)
    const held = this.byIp.get(ip) ?? 0
    if (held >= this.maxPerIp) {
      this.onRefuse()
      return true
    }
    this.byIp.set(ip, held + 1)
    let released = false
    const release = (): void => {
      if (released) return
      released = true
      const n = (this.byIp.get(ip) ?? 1) - 1
      if (n <= 0) this.byIp.delete(ip); else this.byIp.set(ip, n)
    }
    // Every end of a connection (close, abort, reset, a failed upgrade) is a 'close' event.
    maConn.addEventListener('close', release, { once: true })
    if (maConn.status !== 'open') release()
    return false
  }
}
