/**
 * `/porchlight/push/1`: a peer hands a relay messages and gets an acknowledgement for each
 * only after the relay has stored it durably (fsync) and published it to the mesh, as Waku's
 * light push does. A refusal comes back as a Result with a code the UI can show.
 *
 * One stream carries any number of requests, pipelined: the relay works on up to
 * MAX_PIPELINE of them at once (so its group commit can share one fsync among them) and
 * answers in request order. The client half-closes when it has nothing more to send.
 */
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { PROTOCOLS, MAX_MESSAGE_BYTES, encodePushRequest, decodePushRequest, encodeResult, decodeResult, errorMessage, toResult, type Result } from '../wire.ts'
import { Frames, FRAME_TIMEOUT_MS } from './frames.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'
import { soon } from './soon.ts'

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

export interface PushServerInit {
  /** Validates, stores and publishes each pushed message. */
  accept: AcceptMessage
  /**
   * Hears of requests that never reached `accept` (garbage, an oversize message, a silent
   * peer) so they are counted like any other refusal; returns the reply to send.
   * @default the refusal as it is
   */
  refuse?: (result: Result) => Result
  /** Admits each stream and counts what it buffers (a relay's caps, stream-budget.ts). @default UNMETERED */
  budget?: InboundBudget
  /** @default MAX_PUSH_STREAMS_PER_CONNECTION (64) */
  maxInboundStreams?: number
}

/** What the push server uses of the libp2p node (a test stubs just these). */
export type PushServerComponents = Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>

/** The relay's side of `/porchlight/push/1`: start() registers the handler, stop() removes it. */
export class PushServer implements Startable {
  private readonly log: Logger
  private readonly accept: AcceptMessage
  private readonly refuse: (result: Result) => Result
  private readonly budget: InboundBudget
  private readonly maxInboundStreams: number

  constructor (private readonly components: PushServerComponents, init: PushServerInit) {
    this.log = components.logger.forComponent('porchlight:push')
    this.accept = init.accept
    this.refuse = init.refuse ?? (r => r)
    this.budget = init.budget ?? UNMETERED
    this.maxInboundStreams = init.maxInboundStreams ?? MAX_PUSH_STREAMS_PER_CONNECTION
  }

  async start (): Promise<void> {
    await this.components.handle(PROTOCOLS.push, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: this.maxInboundStreams })
  }

  async stop (): Promise<void> {
    await this.components.unhandle(PROTOCOLS.push)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lease = this.budget.admit(stream, connection, 'push')
    if (lease === undefined) return
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_PUSH_FRAME_BYTES, lease)
    const queue: Answer[] = []
    let wake: (() => void) | undefined
    let reading = true
    // Answers go out in request order, each as soon as it and those before it are done; all
    // that are done by then go in one write (a group commit settles many at once: one muxer
    // frame, one encryption and one send for them all, not one each).
    const writer = (async () => {
      for (;;) {
        const next = queue[0]
        if (next === undefined) {
          if (!reading) return
          await new Promise<void>(resolve => { wake = resolve })
          continue
        }
        await next.settled
        const answers: Uint8Array[] = []
        while (queue[0]?.result !== undefined) answers.push(encodeResult(queue.shift()!.result!))
        wake?.()
        await frames.writeMany(answers)
      }
    })().catch((err: unknown) => {
      // The stream broke (peer gone, shutdown): stop reading too. Handled here, at once, so
      // the failure is never an unhandled rejection (which would end the process).
      this.log('push reply to %p failed - %e', connection.remotePeer, err)
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
          queue.push(answered(Promise.resolve(this.refuse(toResult(err)))))
          break
        }
        if (frame === null) break
        queue.push(answered((async () => {
          let req
          try {
            req = decodePushRequest(frame)
          } catch (err) {
            return this.refuse(toResult(err))
          }
          try {
            return await this.accept(req.topic, req.message, connection.remotePeer, connection)
          } catch (err) {
            return toResult(err)
          }
        })()))
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
  }
}

/** One request's answer: `result` is set once `settled` resolves. */
interface Answer { settled: Promise<void>, result?: Result }

/** An Answer for `work`, which never rejects (failures are Results). */
function answered (work: Promise<Result>): Answer {
  const a: Answer = { settled: work.then(r => { a.result = r }) }
  return a
}

/** Longest a push client waits for the dial and for each answer: 20 s. */
export const PUSH_TIMEOUT_MS = 20_000

/** What a push client uses of the libp2p node. */
export type PushClientComponents = Pick<Libp2p, 'dialProtocol' | 'logger'>

/** What a broken push stream makes of every answer still awaited. */
const STREAM_FAILED = { code: 'UNAVAILABLE', message: 'push stream failed' } as const

/**
 * A client's push stream to one relay: `push` may be called many times, concurrently; each
 * resolves with that message's acknowledgement. Never throws: failures are Results.
 */
export class PushSession {
  private readonly waiting: Array<(r: Result) => void> = []
  /** Requests not written yet, and the write that will take them. */
  private outbox: Uint8Array[] = []
  private sending: Promise<void> | undefined
  private broken: Result | undefined
  private readonly reader: Promise<void>

  private constructor (private readonly frames: Frames, private readonly log: Logger, private readonly signal?: AbortSignal) {
    this.reader = this.readAnswers()
    if (signal?.aborted === true) this.onAbort()
    else signal?.addEventListener('abort', this.onAbort, { once: true })
  }

  /**
   * Opens a push stream to `relay`. `timeoutMs` bounds the dial and each frame; `signal`
   * ends the whole session (every answer still awaited becomes 'TIMEOUT').
   * @param timeoutMs @default PUSH_TIMEOUT_MS (20 s)
   */
  static async open (node: PushClientComponents, relay: PeerId | Multiaddr | Multiaddr[], timeoutMs = PUSH_TIMEOUT_MS, options: AbortOptions = {}): Promise<PushSession> {
    const signal = options.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
    const stream = await node.dialProtocol(relay, PROTOCOLS.push, { signal })
    return new PushSession(new Frames(stream, timeoutMs), node.logger.forComponent('porchlight:push'), options.signal)
  }

  private readonly onAbort = (): void => { this.fail({ ok: false, code: 'TIMEOUT', message: 'push aborted' }) }

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
      if (this.broken === undefined) this.log('push stream failed - %e', err)
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
      this.outbox.push(encodePushRequest({ topic, message }))
      await (this.sending ??= this.send())
    } catch (err) {
      this.fail(toResult(err, STREAM_FAILED))
    }
    return answer
  }

  /**
   * Writes the requests of this turn in one write (one muxer frame, one encryption, one
   * send, and as few reads for the relay): pushes made as a batch of answers arrives go
   * together.
   */
  private async send (): Promise<void> {
    await new Promise<void>(resolve => { soon(resolve) })
    const batch = this.outbox
    this.outbox = []
    this.sending = undefined
    await this.frames.writeMany(batch)
  }

  /** Half-closes once every answer is in. */
  async close (): Promise<void> {
    while (this.waiting.length > 0 && this.broken === undefined) {
      await new Promise(resolve => setTimeout(resolve, 5))
    }
    this.idle?.()
    this.signal?.removeEventListener('abort', this.onAbort)
    await this.frames.close()
    await this.reader
  }
}

/**
 * Pushes one message to a relay and waits for its acknowledgement. Never throws ('TIMEOUT'
 * when `options.signal` aborts).
 * @param timeoutMs @default PUSH_TIMEOUT_MS (20 s)
 */
export async function pushMessage (node: PushClientComponents, relay: PeerId | Multiaddr | Multiaddr[], topic: string, message: Uint8Array, timeoutMs = PUSH_TIMEOUT_MS, options: AbortOptions = {}): Promise<Result> {
  let session: PushSession
  try {
    session = await PushSession.open(node, relay, timeoutMs, options)
  } catch (err) {
    if (options.signal?.aborted === true) return { ok: false, code: 'TIMEOUT', message: 'push aborted' }
    return toResult(err, { code: 'UNAVAILABLE', message: `relay unreachable: ${errorMessage(err)}` })
  }
  const result = await session.push(topic, message)
  // The answer is in: a half-close that fails (the stream already broke) loses nothing.
  await session.close().catch(() => {})
  return result
}

