/**
 * `/porchlight/push/1`: a peer hands a relay messages and gets an acknowledgement for each
 * only after the relay has stored it durably (fsync) and published it to the mesh, as Waku's
 * light push does. A refusal comes back as a Result with a code the UI can show.
 *
 * One stream carries any number of requests, pipelined: the relay works on up to
 * MAX_PIPELINE of them at once (so its group commit can share one fsync among them) and
 * answers in request order. The client half-closes when it has nothing more to send.
 */
import type { Connection, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PROTOCOLS, MAX_MESSAGE_BYTES, encodePushRequest, decodePushRequest, encodeResult, decodeResult, errorMessage, toResult, type Result } from '../wire.ts'
import { Frames, FRAME_TIMEOUT_MS } from './frames.ts'
import type { PorchlightNode } from './gossip.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'

/** Push streams one connection may have open (libp2p resets the ones past it). */
export const MAX_PUSH_STREAMS_PER_CONNECTION = 64
/** Requests one stream may have in flight; a client sending more waits for answers. */
export const MAX_PIPELINE = 64
/**
 * A push request frame holds one message (at most MAX_MESSAGE_BYTES: a rekey for 1,000
 * members fits) and its topic: a half-sent frame holds at most this much of a relay's memory.
 */
export const MAX_PUSH_FRAME_BYTES = MAX_MESSAGE_BYTES + 1024

/** What the relay does with a pushed message: validate, store durably, publish. `connection` says where it came from (its address is rationed). */
export type AcceptMessage = (topic: string, message: Uint8Array, from: PeerId, connection?: Connection) => Promise<Result>

/**
 * `refuse` hears of requests that never reached `accept` (garbage, an oversize message, a
 * silent peer) so they are counted like any other refusal; it returns the reply to send.
 * `budget` admits each stream and counts what it buffers (a relay's caps, stream-budget.ts).
 */
export async function handlePush (node: PorchlightNode, accept: AcceptMessage, refuse: (result: Result) => Result = r => r, budget: InboundBudget = UNMETERED): Promise<void> {
  await node.handle(PROTOCOLS.push, async (stream: Stream, connection: Connection) => {
    const lease = budget.admit(stream, connection, 'push')
    if (lease === undefined) return
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_PUSH_FRAME_BYTES, lease)
    const queue: Array<Promise<Result>> = []
    let wake: (() => void) | undefined
    let reading = true
    // Answers go out in request order, each as soon as it and those before it are done.
    const writer = (async () => {
      for (;;) {
        const next = queue[0]
        if (next === undefined) {
          if (!reading) return
          await new Promise<void>(resolve => { wake = resolve })
          continue
        }
        const result = await next
        queue.shift()
        wake?.()
        await frames.write(encodeResult(result))
      }
    })().catch(() => {
      // The stream broke (peer gone, shutdown): stop reading too. Handled here, at once, so
      // the failure is never an unhandled rejection (which would end the process).
      frames.abort('push reply failed')
      queue.length = 0
      wake?.()
    })
    try {
      for (;;) {
        while (queue.length >= MAX_PIPELINE) await new Promise<void>(resolve => { wake = resolve })
        let frame: Uint8Array | null
        try {
          frame = await frames.readOrEnd()
        } catch (err) {
          queue.push(Promise.resolve(refuse(toResult(err))))
          break
        }
        if (frame === null) break
        queue.push((async () => {
          let req
          try {
            req = decodePushRequest(frame)
          } catch (err) {
            return refuse(toResult(err))
          }
          try {
            return await accept(req.topic, req.message, connection.remotePeer, connection)
          } catch (err) {
            return toResult(err)
          }
        })())
        wake?.()
      }
    } finally {
      reading = false
      wake?.()
    }
    try {
      await writer
      await frames.close()
    } catch {
      frames.abort('push reply failed')
    }
  }, { maxInboundStreams: MAX_PUSH_STREAMS_PER_CONNECTION })
}

/** What a broken push stream makes of every answer still awaited. */
const STREAM_FAILED = { code: 'UNAVAILABLE', message: 'push stream failed' } as const

/**
 * A client's push stream to one relay: `push` may be called many times, concurrently; each
 * resolves with that message's acknowledgement. Never throws: failures are Results.
 */
export class PushSession {
  private readonly waiting: Array<(r: Result) => void> = []
  private broken: Result | undefined
  private readonly reader: Promise<void>

  private constructor (private readonly frames: Frames) {
    this.reader = this.readAnswers()
  }

  static async open (node: PorchlightNode, relay: PeerId | Multiaddr | Multiaddr[], timeoutMs = 20_000): Promise<PushSession> {
    const stream = await node.dialProtocol(relay, PROTOCOLS.push, { signal: AbortSignal.timeout(timeoutMs) })
    return new PushSession(new Frames(stream, timeoutMs))
  }

  private async readAnswers (): Promise<void> {
    try {
      for (;;) {
        if (this.waiting.length === 0) {
          await new Promise<void>(resolve => { this.idle = resolve })
          if (this.waiting.length === 0) return
        }
        const result = decodeResult(await this.frames.read())
        this.waiting.shift()!(result)
      }
    } catch (err) {
      this.fail(toResult(err, STREAM_FAILED))
    }
  }

  private idle: (() => void) | undefined

  private fail (result: Result): void {
    this.broken ??= result
    for (const w of this.waiting.splice(0)) w(this.broken)
    this.frames.abort('push failed')
  }

  async push (topic: string, message: Uint8Array): Promise<Result> {
    if (this.broken !== undefined) return this.broken
    const answer = new Promise<Result>(resolve => { this.waiting.push(resolve) })
    this.idle?.()
    this.idle = undefined
    try {
      await this.frames.write(encodePushRequest({ topic, message }))
    } catch (err) {
      this.fail(toResult(err, STREAM_FAILED))
    }
    return answer
  }

  /** Half-closes once every answer is in. */
  async close (): Promise<void> {
    while (this.waiting.length > 0 && this.broken === undefined) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    this.idle?.()
    await this.frames.close()
    await this.reader
  }
}

/** Pushes one message to a relay and waits for its acknowledgement. Never throws. */
export async function pushMessage (node: PorchlightNode, relay: PeerId | Multiaddr | Multiaddr[], topic: string, message: Uint8Array, timeoutMs = 20_000): Promise<Result> {
  let session: PushSession
  try {
    session = await PushSession.open(node, relay, timeoutMs)
  } catch (err) {
    return toResult(err, { code: 'UNAVAILABLE', message: `relay unreachable: ${errorMessage(err)}` })
  }
  const result = await session.push(topic, message)
  await session.close().catch(() => {})
  return result
}

