/**
 * What the feed shows of the engine's posts: the chosen neighborhood, a kind filter, the
 * top-level posts (replies live in their post's thread), a post's thread, and the trust
 * labels the engine gives (agency requests' vouchedBy, look-alike names).
 */
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { WeekContext } from '../../protocol/week-counts.ts'
import { RESIDENT_KINDS } from './labels.ts'

/** 'all' or one post kind. */
export type KindFilter = string

/** The choices of the kind filter: every kind a resident posts, and agency requests. */
export const KIND_FILTERS: ReadonlyArray<{ value: KindFilter, label: string }> = [
  { value: 'all', label: 'All kinds' },
  ...RESIDENT_KINDS.map(k => ({ value: k.kind as string, label: k.label })),
  { value: 'rfa', label: 'Agency requests' }
]

export interface FeedFilter {
  kind: KindFilter
  /** The neighborhood's name (FeedPost.hood); undefined shows every neighborhood's. */
  hood?: string
}

/** A post belongs to a neighborhood's feed: its private posts, and area posts (public, agency) of its area. */
function inHood (p: FeedPost, hood: string | undefined, area: string | undefined): boolean {
  if (hood === undefined) return true
  if (p.channel === 'private') return p.hood === hood
  return area === undefined || p.area === undefined || p.area.startsWith(area) || area.startsWith(p.area)
}

/** The top-level posts the feed lists for `filter`, in the order given (the state sorts newest first). */
export function visiblePosts (posts: readonly FeedPost[], filter: FeedFilter, area?: string): FeedPost[] {
  return posts.filter(p => p.replyTo === undefined && inHood(p, filter.hood, area) && (filter.kind === 'all' || p.kind === filter.kind))
}

/** Replies per post id. */
export function replyCounts (posts: readonly FeedPost[]): Map<string, number> {
  const counts = new Map<string, number>()
  for (const p of posts) if (p.replyTo !== undefined) counts.set(p.replyTo, (counts.get(p.replyTo) ?? 0) + 1)
  return counts
}

export interface Thread {
  /** The post, or undefined once it is gone (retracted or expired). */
  post?: FeedPost
  /** Its replies, oldest first (a conversation reads down). */
  replies: FeedPost[]
}

/** A post and its replies. */
export function thread (posts: readonly FeedPost[], id: string): Thread {
  const post = posts.find(p => p.id === id)
  const replies = posts.filter(p => p.replyTo === id).sort((a, b) => a.created - b.created || (a.id < b.id ? -1 : 1))
  return { ...(post !== undefined ? { post } : {}), replies }
}

export interface TrustLabel { text: string, tone: 'verified' | 'unverified' | 'caution' }

/**
 * A label beside the author where trust is in question: agency requests are verified when an
 * admin of one of our neighborhoods vouched for the agency (vouchedBy: the label names the
 * admins' fingerprints), else unverified; a name
 * that looks like another identity's is a caution (the author label shows the fingerprint).
 */
export function trustLabel (p: FeedPost): TrustLabel | undefined {
  if (p.channel === 'rfa') {
    const n = p.vouchedBy?.length ?? 0
    return n > 0
      ? { text: `Verified agency (vouched for by ${n} admin${n === 1 ? '' : 's'} of your neighborhoods: ${p.vouchedBy!.join(', ')})`, tone: 'verified' }
      : { text: 'Unverified agency: no admin of your neighborhoods vouched for it', tone: 'unverified' }
  }
  if (p.lookAlike === true && !p.mine) return { text: 'Name looks like another neighbor\'s: check the fingerprint', tone: 'caution' }
  return undefined
}

/** The kind as a person reads it. */
export function kindLabel (kind: string): string {
  if (kind === 'rfa') return 'Agency request'
  if (kind === 'reply') return 'Reply'
  return RESIDENT_KINDS.find(k => k.kind === kind)?.label ?? kind
}

/**
 * The week in words, a line per kind: "Crime: 3 this week, usually 1". Without 8 weeks of
 * history the usual week is not guessed at.
 */
export function weekLines (ctx: WeekContext): { lines: string[], note?: string } {
  const lines = ctx.kinds.map(k => `${kindLabel(k.kind)}: ${k.thisWeek} this week${k.usual !== undefined ? `, usually ${formatUsual(k.usual)}` : ''}`)
  if (lines.length === 0) lines.push('No posts this week.')
  return ctx.enoughHistory ? { lines } : { lines, note: 'Not enough history yet to say what a usual week is here (8 weeks are needed).' }
}

function formatUsual (n: number): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(1)
}
