/**
 * Length-prefixed frames on a libp2p stream, each a bounded CBOR structure
 * (protocol/wire.ts). Every read has a deadline so a silent peer cannot hold a stream.
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MAX_FRAME_BYTES } from '../wire.ts'
import { fail, PorchlightError } from '../errors.ts'
import type { StreamLease } from './stream-budget.ts'

export const FRAME_TIMEOUT_MS = 20_000

export class Frames {
  private readonly lp: LengthPrefixedStream<Stream>
  private readonly readDeadline: Deadline
  private readonly writeDeadline: Deadline

  /**
   * `maxFrameBytes`: the largest frame read; a longer one fails TOO_LARGE before it is buffered.
   * `lease`: an inbound stream's share of the relay's budget (stream-budget.ts), told what is read.
   */
  constructor (readonly stream: Stream, private readonly timeoutMs = FRAME_TIMEOUT_MS, maxFrameBytes = MAX_FRAME_BYTES, private readonly lease?: StreamLease) {
    this.lp = lpStream(stream, { maxDataLength: maxFrameBytes })
    this.readDeadline = new Deadline(timeoutMs)
    this.writeDeadline = new Deadline(timeoutMs)
  }

  async read (): Promise<Uint8Array> {
    let read = 0
    this.lease?.startRead()
    const signal = this.readDeadline.start()
    try {
      const frame = (await this.lp.read({ signal })).subarray()
      read = lengthPrefixBytes(frame.length) + frame.length
      return frame
    } catch (err) {
      throw readError(err)
    } finally {
      this.readDeadline.end()
      this.lease?.endRead(read)
    }
  }

  /** Like read, but null when the peer closed its side cleanly between frames. */
  async readOrEnd (): Promise<Uint8Array | null> {
    try {
      return await this.read()
    } catch (err) {
      const cause = (err as { cause?: Error }).cause
      // A clean end between frames: nothing of a next frame's length prefix was read. The only
      // match on message text left: @libp2p/utils 7 gives UnexpectedEOFError no count of the
      // bytes it read, and an end inside a frame has the same name.
      if (cause?.name === 'UnexpectedEOFError' && / 0\/1 bytes/.test(cause.message)) return null
      throw err
    }
  }

  async write (frame: Uint8Array): Promise<void> {
    const signal = this.writeDeadline.start()
    try {
      await this.lp.write(frame, { signal })
    } catch (err) {
      fail('UNAVAILABLE', `write failed: ${(err as Error).message}`, err)
    } finally {
      this.writeDeadline.end()
    }
  }

  /** Writes several frames at once: one send on the stream (one muxer frame) for them all. */
  async writeMany (frames: readonly Uint8Array[]): Promise<void> {
    if (frames.length <= 1) { if (frames.length === 1) await this.write(frames[0]!); return }
    const signal = this.writeDeadline.start()
    try {
      await this.lp.writeV([...frames], { signal })
    } catch (err) {
      fail('UNAVAILABLE', `write failed: ${(err as Error).message}`, err)
    } finally {
      this.writeDeadline.end()
    }
  }

  /** Closes this side; an inbound stream's lease gives the peer the idle deadline to close its side. */
  async close (): Promise<void> {
    try { await this.stream.close() } catch { this.stream.abort(new Error('close failed')) }
    this.lease?.finish()
  }

  abort (reason: string): void {
    this.stream.abort(new Error(reason))
  }
}

/**
 * The deadline of the frames being read (or written) on one stream: one timer, started when
 * the first starts, restarted whenever one completes, cleared when none is left; so each
 * frame gets `ms` since the last progress. AbortSignal.timeout per frame left a timer behind
 * each (at a relay's push rate tens of thousands alive at once, every one firing later) and
 * cost more than the rest of a frame's handling.
 */
class Deadline {
  private controller = new AbortController()
  private timer: ReturnType<typeof setTimeout> | undefined
  private pending = 0

  constructor (private readonly ms: number) {}

  start (): AbortSignal {
    // A deadline that passed aborted the frames waiting then; later ones get a fresh signal.
    if (this.controller.signal.aborted) this.controller = new AbortController()
    if (this.pending++ === 0) this.arm()
    return this.controller.signal
  }

  end (): void {
    clearTimeout(this.timer)
    this.timer = undefined
    if (--this.pending > 0) this.arm()
  }

  private arm (): void {
    this.timer = setTimeout(this.expire, this.ms)
    // As AbortSignal.timeout's: a pending frame alone does not keep a Node process running.
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  private readonly expire = (): void => {
    this.timer = undefined
    this.controller.abort(new DOMException('frame deadline passed', 'TimeoutError'))
  }
}

/** What lpStream (@libp2p/utils) throws for a length prefix over maxDataLength, or one too long or invalid. */
const LENGTH_ERRORS = new Set(['InvalidDataLengthError', 'InvalidDataLengthLengthError', 'InvalidMessageLengthError'])

function readError (err: unknown): PorchlightError {
  if (err instanceof PorchlightError) return err
  const e = err as Error
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return new PorchlightError('TIMEOUT', 'peer did not answer in time', { cause: err })
  if (LENGTH_ERRORS.has(e.name)) return new PorchlightError('TOO_LARGE', 'frame too large', { cause: err })
  return new PorchlightError('UNAVAILABLE', `stream ended: ${e.message}`, { cause: err })
}

/** Bytes of the unsigned-varint length prefix of an `n`-byte frame. */
export function lengthPrefixBytes (n: number): number {
  let bytes = 1
  while (n >= 0x80) { n = Math.floor(n / 0x80); bytes++ }
  return bytes
}
