/**
 * `/porchlight/transparency/1` (shapes in protocol/transparency.ts): anyone asks a relay for
 * every request for assistance it keeps on the record for an area, and hears them in pages,
 * each RFA in its own signed bytes with the count of public replies the relay holds. No
 * identity: the asker needs none and the relay asks for none.
 *
 * The relay answers from `report` (it verified each RFA and counted the replies); the asker
 * verifies each RFA again (openRfaRecord) and keeps only those that do.
 */
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { peekDomain } from '../encoding.ts'
import { fail } from '../errors.ts'
import {
  decodeTransparencyAsk, decodeTransparencyPage, encodeTransparencyAsk, encodeTransparencyPage, MAX_ASK_BYTES, MAX_RFAS_PER_PAGE,
  MAX_TRANSPARENCY_PAGES, TRANSPARENCY_PROTOCOL
} from '../transparency.ts'
import { decodeResult, encodeResult, MAX_FRAME_BYTES, toResult, type Result } from '../wire.ts'
import { Frames, FRAME_TIMEOUT_MS } from './frames.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'

/** Transparency streams one connection may have open. */
export const MAX_TRANSPARENCY_STREAMS_PER_CONNECTION = 2

/** One RFA of a relay's answer: its bytes and the public replies the relay holds. */
export interface RecordedRfa { bytes: Uint8Array, replies: number }

/**
 * What the relay answers for an area: its RFAs, newest first, or a refusal (NOT_FOUND when it
 * serves no overlapping area).
 */
export type TransparencyReportFn = (area: string) => Promise<RecordedRfa[] | Result & { ok: false }>

export interface TransparencyServerInit {
  report: TransparencyReportFn
  /** Admits each stream (a relay's caps, stream-budget.ts). @default UNMETERED */
  budget?: InboundBudget
}

export type TransparencyServerComponents = Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>

/** The relay's side: start() registers the handler, stop() removes it. */
export class TransparencyServer implements Startable {
  private readonly log: Logger

  constructor (private readonly components: TransparencyServerComponents, private readonly init: TransparencyServerInit) {
    this.log = components.logger.forComponent('porchlight:transparency')
  }

  async start (): Promise<void> {
    await this.components.handle(TRANSPARENCY_PROTOCOL, async (stream, connection) => { await this.serve(stream, connection) },
      { maxInboundStreams: MAX_TRANSPARENCY_STREAMS_PER_CONNECTION })
  }

  async stop (): Promise<void> {
    await this.components.unhandle(TRANSPARENCY_PROTOCOL)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const lease = (this.init.budget ?? UNMETERED).admit(stream, connection, 'transparency')
    if (lease === undefined) return
    const frames = new Frames(stream, FRAME_TIMEOUT_MS, MAX_ASK_BYTES + 16, lease)
    try {
      let area: string
      try {
        area = decodeTransparencyAsk(await frames.read()).area
      } catch (err) {
        await frames.write(encodeResult(toResult(err, { code: 'MALFORMED', message: 'bad transparency request' })))
        await frames.close()
        return
      }
      const report = await this.init.report(area)
      if (!Array.isArray(report)) {
        await frames.write(encodeResult(report))
      } else {
        for (let i = 0; i === 0 || i < report.length; i += MAX_RFAS_PER_PAGE) {
          const rfas = report.slice(i, i + MAX_RFAS_PER_PAGE)
          await frames.write(encodeTransparencyPage({ area, rfas, more: i + MAX_RFAS_PER_PAGE < report.length }))
        }
      }
      await frames.close()
    } catch (err) {
      this.log('transparency answer failed - %e', err)
      frames.abort('transparency answer failed')
    }
  }
}

export type TransparencyClientComponents = Pick<Libp2p, 'dialProtocol'>

/** @default 20 s per frame and for the dial. */
export const TRANSPARENCY_TIMEOUT_MS = 20_000

/**
 * Asks one relay for the RFAs it keeps on the record for `area` (unverified: the caller
 * verifies each). A refusal throws its code (NOT_FOUND: the relay serves no such area);
 * TOO_LARGE past MAX_TRANSPARENCY_PAGES pages.
 */
export async function askTransparency (
  node: TransparencyClientComponents, relay: PeerId | Multiaddr | Multiaddr[], area: string, options: AbortOptions & { timeoutMs?: number } = {}
): Promise<RecordedRfa[]> {
  const timeoutMs = options.timeoutMs ?? TRANSPARENCY_TIMEOUT_MS
  const ask = encodeTransparencyAsk({ area })
  const signal = options.signal === undefined ? AbortSignal.timeout(timeoutMs) : AbortSignal.any([options.signal, AbortSignal.timeout(timeoutMs)])
  const stream = await node.dialProtocol(relay, TRANSPARENCY_PROTOCOL, { signal })
  const frames = new Frames(stream, timeoutMs, MAX_FRAME_BYTES)
  try {
    await frames.write(ask)
    const out: RecordedRfa[] = []
    for (let pages = 0; ; pages++) {
      if (pages >= MAX_TRANSPARENCY_PAGES) fail('TOO_LARGE', `more than ${MAX_TRANSPARENCY_PAGES} pages`)
      const frame = await frames.read()
      if (peekDomain(frame, MAX_FRAME_BYTES) === 'pl/result') {
        const r = decodeResult(frame)
        fail(r.code ?? 'REFUSED', r.message ?? 'refused')
      }
      const page = decodeTransparencyPage(frame)
      if (page.area !== area) fail('WRONG_TOPIC', 'answer is for another area')
      out.push(...page.rfas)
      if (!page.more) break
    }
    await frames.close()
    return out
  } catch (err) {
    frames.abort('transparency request failed')
    throw err
  }
}
