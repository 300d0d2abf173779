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
  return new Date(then).toLocaleDateString(locale, { day: 'numeric', month: 'short', year: 'numeric' })
}

/** The exact time, for a title attribute. */
export function exactTime (then: number, locale?: string): string {
  return new Date(then).toLocaleString(locale, { dateStyle: 'medium', timeStyle: 'short' })
}

/** How soon a relative time shown now may change (so a view knows when to redraw). */
export function nextChangeIn (then: number, now: number): number {
  const ago = Math.max(0, now - then)
  if (ago < HOUR) return MINUTE - (ago % MINUTE)
  if (ago < DAY) return HOUR - (ago % HOUR)
  return DAY - (ago % DAY)
}
