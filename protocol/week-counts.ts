/**
 * Context for the feed: this week's posts by kind beside the neighborhood's usual week (the
 * median of the 8 weeks before), so a busy week is not mistaken for a crime wave. Peers keep
 * counts only (numbers per week and kind), which outlive the posts they counted. A peer that
 * has not seen 8 whole weeks of a neighborhood says so instead of a figure.
 */

const DAY_MS = 86_400_000
export const WEEK_MS = 7 * DAY_MS
/** Weeks the usual count is the median of. */
export const HISTORY_WEEKS = 8
/** Weeks of counts a peer keeps (this one and the history, and a spare). */
export const KEPT_WEEKS = HISTORY_WEEKS + 2

/** The peer's local store section of counts (the web app reads it straight from IndexedDB). */
export const WEEK_COUNTS_SECTION = 'week-counts'

/** Posts per kind in one week. */
export type WeekCounts = Readonly<Record<string, number>>

/** Kinds that are not incidents: a reply belongs to its post, an RFA to an agency. */
const UNCOUNTED = new Set(['reply', 'rfa'])

export function counted (kind: string): boolean { return !UNCOUNTED.has(kind) }

/** Monday 00:00 UTC of the week holding `t` (1970-01-01 was a Thursday). */
export function weekStart (t: number): number {
  const day = Math.floor(t / DAY_MS)
  return (day - ((day + 3) % 7)) * DAY_MS
}

/** The key a week's counts are kept under, per neighborhood (sortable: hood, then week). */
export function weekKey (hood: string, week: number): string {
  return `${hood}!${week.toString(16).padStart(12, '0')}`
}

export function parseWeekKey (key: string): { hood: string, week: number } | undefined {
  const m = /^([0-9a-f]+)!([0-9a-f]{12})$/.exec(key)
  return m === null ? undefined : { hood: m[1]!, week: parseInt(m[2]!, 16) }
}

/** Counts with one more (or, for a retraction, one fewer) post of `kind`; never below zero. */
export function withCount (counts: WeekCounts | undefined, kind: string, delta: 1 | -1): WeekCounts {
  const next = Math.max(0, (counts?.[kind] ?? 0) + delta)
  return { ...counts, [kind]: next }
}

export interface KindContext {
  kind: string
  thisWeek: number
  /** The median of the HISTORY_WEEKS weeks before; undefined without that much history. */
  usual?: number
}

export interface WeekContext {
  /** Whether this peer saw the whole of the HISTORY_WEEKS weeks before this one. */
  enoughHistory: boolean
  /** Kinds posted this week or usually, most posted first. */
  kinds: KindContext[]
}

/**
 * This week beside the usual week, for one neighborhood: `weeks` maps week starts to counts,
 * `since` is when this peer started counting it (it joined or created it).
 */
export function weekContext (weeks: ReadonlyMap<number, WeekCounts>, since: number, now: number): WeekContext {
  const current = weekStart(now)
  const history = Array.from({ length: HISTORY_WEEKS }, (_, i) => current - (i + 1) * WEEK_MS)
  const enoughHistory = since <= history[HISTORY_WEEKS - 1]!
  const kinds = new Set<string>()
  for (const w of [current, ...history]) for (const [k, n] of Object.entries(weeks.get(w) ?? {})) if (n > 0) kinds.add(k)
  const out: KindContext[] = [...kinds].map(kind => {
    const thisWeek = weeks.get(current)?.[kind] ?? 0
    if (!enoughHistory) return { kind, thisWeek }
    return { kind, thisWeek, usual: median(history.map(w => weeks.get(w)?.[kind] ?? 0)) }
  })
  out.sort((a, b) => b.thisWeek - a.thisWeek || (b.usual ?? 0) - (a.usual ?? 0) || a.kind.localeCompare(b.kind))
  return { enoughHistory, kinds: out }
}

export function median (xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  if (s.length === 0) return 0
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2
}
