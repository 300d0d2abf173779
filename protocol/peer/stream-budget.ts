/**
 * What the framed protocol streams a relay serves (push, sync, pin, blocks, bitswap) may hold of its
 * memory, whoever opens them: a cap on the streams open at once and on the bytes that arrived
 * but are not yet read as whole frames, each both in total and per IP (remote-ip.ts), plus
 * deadlines for a stream that sends nothing and for a frame that stops half-way.
 *
 * Bytes are counted as they arrive (libp2p 3 streams hand data to their listeners whatever
 * the reader does: a half-sent frame, or data sent ahead of the reader, sits in memory), and
 * given back as frames are read or the stream ends. A stream that would go over a cap is
 * aborted, and only that stream: the same IP's other streams and every other peer keep being
 * served. The per-IP caps sit below the totals, so one address (one household, or one
 * attacker) can never fill the relay.
 */
import type { Connection, Stream } from '@libp2p/interface'
import { PorchlightError } from '../errors.ts'
import { remoteIpKey } from './remote-ip.ts'

/** Share of the total stream cap kept for addresses holding fewer than FEW_STREAMS. */
const RESERVED_SHARE = 0.125
/** A household's streams at once (a push, a sync, a pin or two). */
const FEW_STREAMS = 8

export const STREAM_BUDGET_DEFAULTS = {
  /** Open framed streams, all peers together: about one each for a full relay of 1,000 connections (they are short: a push, a sync). */
  maxInboundStreams: 1024,
  /** Open framed streams from one IP: 4 for each of the 32 connections it may hold (caps.ts). */
  maxInboundStreamsPerIp: 128,
  /** Unread inbound bytes, all peers together: 32 MiB (a relay's idle RSS is ~200 MiB). */
  maxBufferedBytes: 32 * 1024 * 1024,
  /** Unread inbound bytes from one IP: 8 MiB, two of the largest bitswap messages (4 MiB), 128 push frames. */
  maxBufferedBytesPerIp: 8 * 1024 * 1024,
  /** A stream waiting for a frame that has sent nothing for this long is closed. */
  idleTimeoutMs: 15_000,
  /** A frame must arrive whole this long after its first byte: 64 KiB at 64 kbit/s takes 8 s. */
  partialFrameTimeoutMs: 10_000
} as const

export interface StreamBudgetInit {
  /** @default 1024 */
  maxInboundStreams?: number
  /** @default 128 */
  maxInboundStreamsPerIp?: number
  /** @default 32 MiB */
  maxBufferedBytes?: number
  /** @default 8 MiB */
  maxBufferedBytesPerIp?: number
  /** @default 15 s (a frame's own read deadline, FRAME_TIMEOUT_MS, still applies) */
  idleTimeoutMs?: number
  /** @default 10 s */
  partialFrameTimeoutMs?: number
}

/** Why a stream was refused or closed (the `reason` label of porchlight_streams_refused_total). */
export type StreamRefusal = 'streams' | 'streams-per-ip' | 'buffered' | 'buffered-per-ip' | 'idle' | 'partial-frame'

/** The framed protocols, as metric labels (bitswap: Helia's, see metered-libp2p.ts). */
export type FramedProtocol = 'push' | 'sync' | 'pin' | 'blocks' | 'bitswap' | 'transparency'

export interface AdmitOptions {
  /**
   * The stream's reader is not ours (Helia's bitswap): the budget finds whole length-prefixed
   * frames in what arrives and gives their bytes back itself, and the deadlines always run.
   */
  countsFrames?: boolean
}

/** One admitted stream's share of the budget; the stream's reader reports what it reads. */
export interface StreamLease {
  /** The reader starts waiting for a frame (the idle and partial-frame deadlines run only then). */
  startRead: () => void
  /** The reader got a whole frame of `bytes` (length prefix included), or stopped waiting (0). */
  endRead: (bytes: number) => void
  /**
   * The handler is done and has closed its side. The stream keeps its share until the peer
   * closes its side too, for at most the idle deadline (a peer that never does would
   * otherwise hold a slot, and whatever it sends, for as long as its connection lives).
   */
  finish: () => void
}

/** What a protocol handler asks before serving a stream: a lease, or undefined when refused (the stream is then aborted). */
export interface InboundBudget {
  admit: (stream: Stream, connection: Connection, protocol: FramedProtocol, options?: AdmitOptions) => StreamLease | undefined
}

/** No caps (peers that are not relays, tests of a single protocol). */
export const UNMETERED: InboundBudget = {
  admit: () => ({ startRead: () => {}, endRead: () => {}, finish: () => {} })
}

/** Open streams are checked against the deadlines every quarter of the shorter one, within these bounds. */
const MIN_SWEEP_INTERVAL_MS = 50
const MAX_SWEEP_INTERVAL_MS = 1000

class Lease implements StreamLease {
  buffered = 0
  reading = false
  /** When the reader started waiting, the last byte arrived, and the current frame's first byte arrived. */
  readSince = 0
  lastArrival = 0
  firstByteAt = 0
  /** When the handler finished with the stream (0: still serving it). */
  finishedAt = 0
  released = false
  /** Set when the budget finds the frames itself (AdmitOptions.countsFrames). */
  frames: WholeFrames | undefined

  constructor (readonly budget: StreamBudget, readonly stream: Stream, readonly ip: string, readonly protocol: FramedProtocol) {}

  startRead (): void {
    this.reading = true
    this.readSince = Date.now()
  }

  endRead (bytes: number): void {
    this.reading = false
    if (bytes > 0) this.budget.consumed(this, bytes)
  }

  finish (): void {
    this.reading = false
    this.finishedAt = Date.now()
  }
}

export class StreamBudget implements InboundBudget {
  private readonly leases = new Set<Lease>()
  private readonly streamsByIp = new Map<string, number>()
  private readonly bufferedByIp = new Map<string, number>()
  private buffered = 0
  private readonly timer: NodeJS.Timeout
  private readonly caps: Required<StreamBudgetInit>

  /** `onRefuse` hears of every stream refused or closed by a cap or deadline (for the metrics). */
  constructor (init: StreamBudgetInit = {}, private readonly onRefuse: (reason: StreamRefusal, protocol: FramedProtocol) => void = () => {}) {
    this.caps = { ...STREAM_BUDGET_DEFAULTS, ...withoutUndefined(init) }
    const sweepMs = Math.min(MAX_SWEEP_INTERVAL_MS, Math.max(MIN_SWEEP_INTERVAL_MS, Math.min(this.caps.idleTimeoutMs, this.caps.partialFrameTimeoutMs) / 4))
    this.timer = setInterval(() => { this.sweep(Date.now()) }, sweepMs)
    this.timer.unref()
  }

  admit (stream: Stream, connection: Connection, protocol: FramedProtocol, options: AdmitOptions = {}): StreamLease | undefined {
    const ip = remoteIpKey(connection.remoteAddr)
    const held = this.streamsByIp.get(ip) ?? 0
    // The last RESERVED_SHARE of the total is kept for addresses holding few streams: a few
    // addresses keeping their streams busy (a refused frame every few seconds is never idle)
    // cannot take every slot from the households that come after them.
    const reserved = this.leases.size >= this.caps.maxInboundStreams * (1 - RESERVED_SHARE) && held >= FEW_STREAMS
    const refusal = held >= this.caps.maxInboundStreamsPerIp
      ? 'streams-per-ip'
      : this.leases.size >= this.caps.maxInboundStreams || reserved ? 'streams' : undefined
    if (refusal !== undefined) {
      this.onRefuse(refusal, protocol)
      stream.abort(new PorchlightError('OVER_QUOTA', `too many open streams (${refusal})`))
      return undefined
    }
    const lease = new Lease(this, stream, ip, protocol)
    lease.lastArrival = Date.now()
    if (options.countsFrames === true) {
      lease.frames = new WholeFrames()
      lease.startRead()
    }
    this.leases.add(lease)
    this.streamsByIp.set(ip, (this.streamsByIp.get(ip) ?? 0) + 1)
    stream.addEventListener('message', (evt) => {
      // Frames completed by this chunk leave the budget with it (their reader has them now).
      const completed = lease.frames?.feed(evt.data instanceof Uint8Array ? [evt.data] : evt.data) ?? 0
      this.arrived(lease, evt.data.byteLength, completed)
    })
    stream.addEventListener('close', () => { this.release(lease) }, { once: true })
    // A stream that ended before its handler ran sends no 'close' any more.
    if (stream.status !== 'open') this.release(lease)
    return lease
  }

  /** Unread inbound bytes held by all admitted streams. */
  bufferedBytes (): number {
    return this.buffered
  }

  /** Open admitted streams of one protocol. */
  openStreams (protocol: FramedProtocol): number {
    let n = 0
    for (const l of this.leases) if (l.protocol === protocol) n++
    return n
  }

  stop (): void {
    clearInterval(this.timer)
  }

  /** Bytes of a whole frame read: they leave the budget (the handler holds them now, bounded by its own pipeline). */
  consumed (lease: Lease, bytes: number): void {
    if (lease.released) return
    const n = Math.min(bytes, lease.buffered)
    this.add(lease, -n)
    // What is left is the start of the next frame: its clock starts now.
    if (lease.buffered > 0) lease.firstByteAt = Date.now()
  }

  /** `completed`: bytes (of this chunk and earlier ones) that now form whole frames the budget found itself. */
  private arrived (lease: Lease, bytes: number, completed = 0): void {
    if (lease.released) return
    const growth = bytes - completed
    const refusal = growth <= 0
      ? undefined
      : (this.bufferedByIp.get(lease.ip) ?? 0) + growth > this.caps.maxBufferedBytesPerIp
          ? 'buffered-per-ip'
          : this.buffered + growth > this.caps.maxBufferedBytes ? 'buffered' : undefined
    if (refusal !== undefined) {
      this.close(lease, refusal, new PorchlightError('OVER_QUOTA', `too many unread bytes (${refusal})`))
      return
    }
    const now = Date.now()
    if (lease.buffered === 0 || completed > 0) lease.firstByteAt = now
    lease.lastArrival = now
    this.add(lease, growth)
  }

  private sweep (now: number): void {
    for (const lease of this.leases) {
      if (lease.finishedAt > 0) {
        if (now - lease.finishedAt > this.caps.idleTimeoutMs) this.close(lease, 'idle', new PorchlightError('TIMEOUT', 'the peer did not close the stream'))
        continue
      }
      if (!lease.reading) continue
      if (lease.buffered === 0) {
        if (now - Math.max(lease.readSince, lease.lastArrival) > this.caps.idleTimeoutMs) {
          this.close(lease, 'idle', new PorchlightError('TIMEOUT', 'the stream sent nothing for too long'))
        }
      } else if (now - Math.max(lease.readSince, lease.firstByteAt) > this.caps.partialFrameTimeoutMs) {
        this.close(lease, 'partial-frame', new PorchlightError('TIMEOUT', 'a frame stopped half-way'))
      }
    }
  }

  private close (lease: Lease, reason: StreamRefusal, err: PorchlightError): void {
    this.onRefuse(reason, lease.protocol)
    this.release(lease)
    lease.stream.abort(err)
  }

  private release (lease: Lease): void {
    if (lease.released) return
    this.add(lease, -lease.buffered)
    lease.released = true
    this.leases.delete(lease)
    const n = (this.streamsByIp.get(lease.ip) ?? 1) - 1
    if (n <= 0) this.streamsByIp.delete(lease.ip); else this.streamsByIp.set(lease.ip, n)
  }

  private add (lease: Lease, bytes: number): void {
    lease.buffered += bytes
    this.buffered += bytes
    const n = (this.bufferedByIp.get(lease.ip) ?? 0) + bytes
    if (n <= 0) this.bufferedByIp.delete(lease.ip); else this.bufferedByIp.set(lease.ip, n)
  }
}

/**
 * Finds whole frames (an unsigned-varint length, then that many bytes) in a byte stream fed
 * chunk by chunk, for a reader that is not ours.
 */
export class WholeFrames {
  /** Body bytes still to come of the frame in progress; -1 while reading its length. */
  private bodyLeft = -1
  private length = 0
  private shift = 0
  /** Bytes of the frame in progress seen so far (its length prefix included). */
  private partial = 0

  /** Bytes, of these chunks and earlier ones, that now form whole frames. */
  feed (chunks: Iterable<Uint8Array>): number {
    let whole = 0
    for (const chunk of chunks) {
      let i = 0
      while (i < chunk.length) {
        if (this.bodyLeft < 0) {
          const byte = chunk[i++]!
          this.partial++
          // Past 7 bytes the length is beyond any frame a reader accepts: the reader fails the
          // stream; until then its bytes stay counted.
          if (this.shift <= 42) this.length += (byte & 0x7f) * 2 ** this.shift
          this.shift += 7
          if ((byte & 0x80) !== 0) continue
          this.bodyLeft = this.shift > 49 ? Number.MAX_SAFE_INTEGER : this.length
          this.length = 0
          this.shift = 0
        } else {
          const take = Math.min(this.bodyLeft, chunk.length - i)
          i += take
          this.partial += take
          this.bodyLeft -= take
        }
        if (this.bodyLeft === 0) {
          whole += this.partial
          this.partial = 0
          this.bodyLeft = -1
        }
      }
    }
    return whole
  }
}

function withoutUndefined<T extends object> (o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>
}
