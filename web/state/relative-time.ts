/** Post times as people say them ("5 min ago"); the exact time goes in a title and `<time datetime>`. */

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR

/**
 * How long ago `then` was at `now` (ms): "just now" under a minute, then minutes, hours,
 * "yesterday", days up to a week, and the date after that. A time slightly ahead (a neighbor's
 * clock runs fast) reads "just now"; one well ahead reads "in the future".
 */
export function relativeTime (then: number, now: number, locale?: string): string {
  const ago = now - then
  if (ago < -5 * MINUTE) return 'in the future'
  if (ago < MINUTE) return 'just now'
  if (ago < HOUR) return `${Math.floor(ago / MINUTE)} min ago`
  if (ago < DAY) {
    const h = Math.floor(ago / HOUR)
    return `${h} hour${h === 1 ? '' : 's'} ago`
  }
  if (ago < 2 * DAY) return 'yesterday'
  if (ago < 7 * DAY) return `${Math.floor(ago / DAY)} days ago`
  return formatter(locale, 'date').format(then)
}

/** The exact time, for a title attribute. */
export function exactTime (then: number, locale?: string): string {
  return formatter(locale, 'exact').format(then)
}

// toLocaleString builds an Intl.DateTimeFormat on every call (about a millisecond in Chromium):
// a feed of a thousand posts spent most of its first render there. One formatter per locale.
const formatters = new Map<string, Intl.DateTimeFormat>()
const STYLES = {
  date: { day: 'numeric', month: 'short', year: 'numeric' },
  exact: { dateStyle: 'medium', timeStyle: 'short' }
} as const satisfies Record<string, Intl.DateTimeFormatOptions>

function formatter (locale: string | undefined, style: keyof typeof STYLES): Intl.DateTimeFormat {
  const key = `${style} ${locale ?? ''}`
  let f = formatters.get(key)
  if (f === undefined) {
    f = new Intl.DateTimeFormat(locale, STYLES[style])
    formatters.set(key, f)
  }
  return f
}

/** How soon a relative time shown now may change (so a view knows when to redraw). */
export function nextChangeIn (then: number, now: number): number {
  const ago = Math.max(0, now - then)
  if (ago < HOUR) return MINUTE - (ago % MINUTE)
  if (ago < DAY) return HOUR - (ago % HOUR)
  return DAY - (ago % DAY)
}
