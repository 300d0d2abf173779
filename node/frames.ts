/**
 * Length-prefixed frames on a libp2p stream, each a bounded CBOR structure
 * (protocol/wire.ts). Every read has a deadline so a silent peer cannot hold a stream.
 */
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import type { Stream } from '@libp2p/interface'
import { MAX_FRAME_BYTES } from '../protocol/wire.ts'
import { fail, PorchlightError } from '../protocol/errors.ts'

export const FRAME_TIMEOUT_MS = 20_000

export class Frames {
  private readonly lp: LengthPrefixedStream<Stream>

  /** `maxFrameBytes`: the largest frame read; a longer one fails TOO_LARGE before it is buffered. */
  constructor (readonly stream: Stream, private readonly timeoutMs = FRAME_TIMEOUT_MS, maxFrameBytes = MAX_FRAME_BYTES) {
    this.lp = lpStream(stream, { maxDataLength: maxFrameBytes })
  }

  async read (): Promise<Uint8Array> {
    try {
      const list = await this.lp.read({ signal: AbortSignal.timeout(this.timeoutMs) })
      return list.subarray()
    } catch (err) {
      if (err instanceof PorchlightError) throw err
      const e = err as Error
      if (e.name === 'TimeoutError' || e.name === 'AbortError') fail('TIMEOUT', 'peer did not answer in time', err)
      if (/length/i.test(e.name) || /length/i.test(e.message)) fail('TOO_LARGE', 'frame too large', err)
      fail('UNAVAILABLE', `stream ended: ${e.message}`, err)
    }
  }

  /** Like read, but null when the peer closed its side cleanly between frames. */
  async readOrEnd (): Promise<Uint8Array | null> {
    try {
      return await this.read()
    } catch (err) {
      const cause = (err as { cause?: Error }).cause
      // A clean end between frames: nothing of a next frame's length prefix was read.
      if (cause?.name === 'UnexpectedEOFError' && / 0\/1 bytes/.test(cause.message)) return null
      throw err
    }
  }

  async write (frame: Uint8Array): Promise<void> {
    try {
      await this.lp.write(frame, { signal: AbortSignal.timeout(this.timeoutMs) })
    } catch (err) {
      fail('UNAVAILABLE', `write failed: ${(err as Error).message}`, err)
    }
  }

  async close (): Promise<void> {
    try { await this.stream.close() } catch { this.stream.abort(new Error('close failed')) }
  }

  abort (reason: string): void {
    this.stream.abort(new Error(reason))
  }
}
