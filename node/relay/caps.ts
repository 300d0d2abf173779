/**
 * A relay's caps on what strangers can make it hold (issue 10): inbound connections per IP
 * (connection-caps.ts), and the framed streams (push, sync, pin, blocks, and Helia's bitswap:
 * metered-libp2p.ts) with the bytes they buffer, in total and per IP (stream-budget.ts). Whatever one IP does, it holds at most
 * maxConnectionsPerIp connections, maxInboundStreamsPerIp streams and maxBufferedBytesPerIp
 * unread bytes; all peers together at most the totals.
 *
 * Why 32 connections per IP: households behind one NAT (a building's Wi-Fi, a carrier's CGNAT)
 * share an address, each with a phone or two and perhaps a computer; 32 serves a dozen such
 * households at once, a tenth of a relay's 300 connections, so one address cannot crowd out
 * the rest. A relay behind a reverse proxy sees every peer at the proxy's address: raise it
 * there (or cap at the proxy).
 */
import { ConnectionCap } from './connection-caps.ts'
import type { Metrics } from './metrics.ts'
import { STREAM_BUDGET_DEFAULTS, StreamBudget, type FramedProtocol, type StreamBudgetInit, type StreamRefusal } from '../../protocol/peer/stream-budget.ts'

export const CAPS_DEFAULTS = {
  /** Inbound connections one IP (an IPv6 /64) may hold at once. */
  maxConnectionsPerIp: 32,
  ...STREAM_BUDGET_DEFAULTS
} as const

export interface CapsInit extends StreamBudgetInit {
  /** @default 32 */
  maxConnectionsPerIp?: number
}

const FRAMED_PROTOCOLS: readonly FramedProtocol[] = ['push', 'sync', 'pin', 'blocks', 'bitswap', 'transparency']

const CONNECTIONS_REFUSED = 'porchlight_connections_refused_total'
const STREAMS_REFUSED = 'porchlight_streams_refused_total'

export class RelayCaps {
  readonly connections: ConnectionCap
  readonly streams: StreamBudget
  private metrics: Metrics | undefined
  /** Refusals before `report` was called (the node listens before the relay has its metrics), by counter and reason. */
  private readonly early = new Map<string, number>()

  constructor (init: CapsInit = {}) {
    this.connections = new ConnectionCap(init.maxConnectionsPerIp ?? CAPS_DEFAULTS.maxConnectionsPerIp, () => {
      this.refused(CONNECTIONS_REFUSED, 'per-ip')
    })
    this.streams = new StreamBudget(init, (reason: StreamRefusal) => { this.refused(STREAMS_REFUSED, reason) })
  }

  /** Registers the caps' gauges and refusal counters in `metrics`. */
  report (metrics: Metrics): void {
    metrics.counter(CONNECTIONS_REFUSED, 'Inbound connections refused by a cap, by reason')
    metrics.counter(STREAMS_REFUSED, 'Inbound streams refused or closed by a cap or deadline, by reason')
    metrics.gauge('porchlight_inbound_buffered_bytes', 'Bytes inbound streams received that are not yet read as whole frames',
      () => this.streams.bufferedBytes())
    metrics.gauge('porchlight_inbound_streams', 'Open inbound framed streams, by protocol',
      () => FRAMED_PROTOCOLS.map(protocol => [{ protocol }, this.streams.openStreams(protocol)]))
    this.metrics = metrics
    for (const [key, n] of this.early) {
      const [counter, reason] = key.split(' ') as [string, string]
      metrics.inc(counter, { reason }, n)
    }
    this.early.clear()
  }

  stop (): void {
    this.streams.stop()
  }

  private refused (counter: string, reason: string): void {
    if (this.metrics === undefined) {
      const key = `${counter} ${reason}`
      this.early.set(key, (this.early.get(key) ?? 0) + 1)
      return
    }
    this.metrics.inc(counter, { reason })
  }
}
