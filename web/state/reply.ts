/**
 * Replying to a post, outside the component (pl-post-detail.ts): where a reply can go for each
 * kind of post (the engine's rules, resident.ts replyTarget: in the neighborhood always; in
 * public on the area unless the post is a neighborhood's private post; sealed to the agency only
 * for an agency's request), and who will read it, in plain words from the engine's audience
 * statement (ReplyAudience). Nothing here sends: each reply is one click on "Reply".
 */
import type { FeedPost, ReplyAudience, ReplyMode } from '../../protocol/peer/resident.ts'
import type { Result } from '../../protocol/wire.ts'

export type { ReplyAudience, ReplyMode }

export interface ReplyChoice {
  mode: ReplyMode
  /** The radio button's label. */
  label: string
}

/** The places a reply to `post` can go, the neighborhood first (the default). */
export function replyChoices (post: FeedPost): ReplyChoice[] {
  const out: ReplyChoice[] = [{ mode: 'private', label: 'In the neighborhood (members only)' }]
  // A public reply naming a private post would point at it: the engine refuses it, so it is not offered.
  if (post.channel !== 'private') out.push({ mode: 'public', label: `In public, on area ${post.area ?? 'of the post'}` })
  if (post.channel === 'rfa') out.push({ mode: 'sealed', label: `Sealed to ${post.authorName ?? 'the agency'} (only it can open it)` })
  return out
}

/** Whether `post` is an agency's request no admin of the resident's neighborhoods vouched for. */
export function unverifiedAgency (post: FeedPost): boolean {
  return post.channel === 'rfa' && (post.vouchedBy ?? []).length === 0
}

/**
 * Who will read a reply, said before it is sent: the engine's audience statement in words.
 * `unverified`: the agency (sealed) has no admin's vouch. `clip`: a photo or video goes with it.
 */
export function audienceWords (a: ReplyAudience, opts: { unverified?: boolean, clip?: 'photo' | 'video' } = {}): string {
  if (a.mode === 'private') {
    return `Only members of ${a.hood ?? 'your neighborhood'} will read this reply: it is encrypted for the neighborhood; no agency and no relay can read it.`
  }
  if (a.mode === 'public') {
    return `Everyone following area ${a.area ?? '?'} will read this reply, agencies and relays included. It is signed with your pseudonym for ` +
      'this area, not your name, and goes out after a short random delay from a one-time address.'
  }
  const agency = `${a.agency?.name ?? '?'} (fingerprint ${a.agency?.fingerprint ?? '?'})`
  const who = opts.unverified === true
    ? `Only the UNVERIFIED agency ${agency} can open this reply: no admin of your neighborhoods vouched for it, and anyone can make an agency with any name.`
    : `Only the agency ${agency} can open this reply.`
  const clip = opts.clip === undefined
    ? ''
    : ` The ${opts.clip} is encrypted and kept by your neighborhood's relays until the reply expires; its key travels only inside the sealed reply, so only ${a.agency?.name ?? 'the agency'} can see it. ` +
      `But your relay sees this device keep the ${opts.clip} just before the box appears, and the agency fetch it later: it can tell that someone of your neighborhood using this device answered that agency (not what was said).`
  return `${who} Relays and everyone else on area ${a.area ?? '?'} see only a sealed, padded box. It does not carry your name.${clip}`
}

/** What the resident is told once the reply left. */
export function sentWords (a: ReplyAudience): string {
  if (a.mode === 'private') return 'Reply sent to the neighborhood.'
  if (a.mode === 'public') return `Reply sent in public on area ${a.area ?? '?'}.`
  return `Reply sent sealed to ${a.agency?.name ?? 'the agency'}. Only it can open it, so it is not shown here.`
}

/** Why a public or sealed reply did not go out, and what became of it. */
export function replyFailure (mode: ReplyMode, r: Result): string {
  const why = r.code === 'UNAVAILABLE' || r.code === 'TIMEOUT' ? 'no relay reachable' : `the relay refused it (${r.code ?? ''}${r.message !== undefined && r.message !== '' ? `: ${r.message}` : ''})`
  if (mode === 'private') return 'No relay reachable: your reply waits and goes out when a relay is back.'
  const kept = mode === 'public' ? 'it is kept and tried again with your next public post.' : 'nothing was kept: send it again.'
  return `Reply not sent: ${why}; ${kept}`
}
