/**
 * A relay's caps on what strangers can make it hold (issue 10): connections in all (libp2p's
 * connection manager refuses the rest) and inbound per IP (connection-caps.ts), and the framed streams (push, sync, pin, blocks, and Helia's bitswap:
 * metered-libp2p.ts) with the bytes they buffer, in total and per IP (stream-budget.ts). Whatever one IP does, it holds at most
 * maxConnectionsPerIp connections, maxInboundStreamsPerIp streams and maxBufferedBytesPerIp
 * unread bytes; all peers together at most the totals.
 *
 * Why 32 connections per IP: households behind one NAT (a building's Wi-Fi, a carrier's CGNAT)
 * share an address, each with a phone or two and perhaps a computer; 32 serves a dozen such
 * households at once, a thirtieth of a relay's 1,000 connections, so one address cannot crowd
 * out the rest.
 *
 * Why 1,000 connections: a community relay serves a few neighborhoods, a few hundred households
 * with a phone or two each, plus browsers and sibling relays; each costs the relay some tens of
 * KiB and one file descriptor (test/bench/scale-relay-bench.ts measures both). A relay for a
 * whole district raises it (`--max-connections`), and its file-descriptor limit with it. A relay behind a reverse proxy sees every peer at the proxy's address: raise it
 * there (or cap at the proxy).
 */
import { ConnectionCap } from './connection-caps.ts'
import type { Metrics } from './metrics.ts'
import { STREAM_BUDGET_DEFAULTS, StreamBudget, type FramedProtocol, type StreamBudgetInit, type StreamRefusal } from '../../protocol/peer/stream-budget.ts'

export const CAPS_DEFAULTS = {
  /** Connections the relay holds at once, inbound and outbound; libp2p refuses inbound ones past it. */
  maxConnections: 1000,
  /** Inbound connections one IP (an IPv6 /64) may hold at once. */
  maxConnectionsPerIp: 32,
  ...STREAM_BUDGET_DEFAULTS
} as const

export interface CapsInit extends StreamBudgetInit {
  /** @default 1000 */
  maxConnections?: number
  /** @default 32 */
  maxConnectionsPerIp?: number
}

const FRAMED_PROTOCOLS: readonly FramedProtocol[] = ['push', 'sync', 'pin', 'blocks', 'bitswap', 'transparency']

const CONNECTIONS_REFUSED = 'porchlight_connections_refused_total'
const STREAMS_REFUSED = 'porchlight_streams_refused_total'

export class RelayCaps {
  /** For libp2p's connection manager (node/libp2p.ts): the gater below counts only per IP. */
  readonly maxConnections: number
  readonly connections: ConnectionCap
  readonly streams: StreamBudget
  private metrics: Metrics | undefined
  /** Refusals before `report` was called (the node listens before the relay has its metrics), by counter and reason. */
  private readonly early = new Map<string, number>()

  constructor (init: CapsInit = {}) {
    this.maxConnections = init.maxConnections ?? CAPS_DEFAULTS.maxConnections
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
