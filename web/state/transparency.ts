/**
 * The transparency page's state, apart from its component: the area from the page's address,
 * the relay's report (`GET /transparency?area=…`, node/relay/relay.ts) read and checked, and
 * the views the page draws (by agency, per month) from protocol/transparency.ts. No identity,
 * no IndexedDB, no libp2p: anyone can read the public record.
 */
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import {
  countsByMonth, groupByAgency, MAX_RFA_RECORDS_PER_AREA, type AgencyGroup, type TransparencyReport, type TransparencyRfa, type Voucher
} from '../../protocol/transparency.ts'

/** The area the page was opened for (`?area=u4pru` or `#area=u4pru`), undefined when none or malformed. */
export function areaFromLocation (loc: Pick<Location, 'search' | 'hash'>): string | undefined {
  const raw = new URLSearchParams(loc.search).get('area') ?? new URLSearchParams(loc.hash.replace(/^#/, '')).get('area')
  return raw !== null && isArea(raw) ? raw : undefined
}

export function isArea (s: string): boolean {
  try {
    checkGeohash(s, MAX_AREA_PRECISION, 'area')
    return true
  } catch {
    return false
  }
}

export type Loaded = { ok: true, report: TransparencyReport } | { ok: false, message: string }

/** Several relays of an area could answer overlapping areas: room for a few areas' records. */
const MAX_RFAS = 4 * MAX_RFA_RECORDS_PER_AREA
const MAX_TEXT = 4000

function str (v: unknown, max: number, what: string): string {
  if (typeof v !== 'string' || v.length > max) throw new Error(`bad ${what}`)
  return v
}

function int (v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new Error(`bad ${what}`)
  return v
}

/** Reads the relay's JSON into a report, checking every field's type and bound (Error otherwise). */
export function parseReport (json: unknown, area: string): TransparencyReport {
  const o = json as { area?: unknown, rfas?: unknown }
  if (typeof o !== 'object' || o === null || o.area !== area || !Array.isArray(o.rfas) || o.rfas.length > MAX_RFAS) throw new Error('bad report')
  const rfas = o.rfas.map((x: unknown): TransparencyRfa => {
    const r = x as Record<string, unknown>
    if (typeof r !== 'object' || r === null || !Array.isArray(r.vouchedBy) || r.vouchedBy.length > 4) throw new Error('bad request')
    return {
      id: str(r.id, 64, 'id'),
      agency: str(r.agency, 64, 'agency'),
      fingerprint: str(r.fingerprint, 19, 'fingerprint'),
      vouchedBy: r.vouchedBy.map((y: unknown): Voucher => {
        const v = y as Record<string, unknown>
        return { admin: str(v.admin, 19, 'admin'), name: str(v.name, 64, 'name'), area: str(v.area, 6, 'area'), expires: int(v.expires, 'expires') }
      }),
      created: int(r.created, 'created'),
      text: str(r.text, MAX_TEXT, 'text'),
      publicReplies: int(r.publicReplies, 'replies')
    }
  })
  return { area, rfas }
}

/** Asks the relay that served the page for the area's report. */
export async function loadReport (fetchFn: typeof fetch, area: string): Promise<Loaded> {
  try {
    const res = await fetchFn(`/transparency?area=${encodeURIComponent(area)}`, { cache: 'no-store' })
    if (res.status === 404) return { ok: false, message: `This relay does not serve area ${area}.` }
    if (!res.ok) return { ok: false, message: `The relay could not answer (HTTP ${res.status}).` }
    return { ok: true, report: parseReport(await res.json(), area) }
  } catch (err) {
    return { ok: false, message: `The relay could not be reached or answered nonsense: ${(err as Error).message}` }
  }
}

export interface ReportView {
  total: number
  replies: number
  agencies: AgencyGroup[]
  months: Array<{ month: string, count: number }>
  /** The most requests in one month (the chart's scale), at least 1. */
  peak: number
}

export function reportView (report: TransparencyReport): ReportView {
  const months = countsByMonth(report.rfas)
  return {
    total: report.rfas.length,
    replies: report.rfas.reduce((n, r) => n + r.publicReplies, 0),
    agencies: groupByAgency(report.rfas),
    months,
    peak: Math.max(1, ...months.map(m => m.count))
  }
}

/** 'March 2025' for '2025-03', in the page's language. */
export function monthLabel (month: string, locale?: string): string {
  const [y, m] = month.split('-').map(Number) as [number, number]
  return new Intl.DateTimeFormat(locale, { month: 'long', year: 'numeric', timeZone: 'UTC' }).format(Date.UTC(y, m - 1, 1))
}
