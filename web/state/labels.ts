/** What the app says: plain modules, so the wording is tested without a browser. */
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { PostKind } from '../../protocol/post.ts'
import type { Connection } from './app-state.ts'

/** The kinds a resident chooses from (agency requests and replies come from elsewhere). */
export const RESIDENT_KINDS: ReadonlyArray<{ kind: PostKind, label: string }> = [
  { kind: 'info', label: 'Information' },
  { kind: 'safety', label: 'Safety' },
  { kind: 'suspicious', label: 'Suspicious activity' },
  { kind: 'crime', label: 'Crime' },
  { kind: 'fire', label: 'Fire' },
  { kind: 'traffic', label: 'Traffic' },
  { kind: 'outage', label: 'Outage' },
  { kind: 'pet', label: 'Lost or found pet' }
]

/** Who sees a post, plainly. */
export function audience (pub: boolean, hood: string, area: string): string {
  const members = `Only members of ${hood === '' ? 'your neighborhood' : hood} can read it: it is encrypted, and relays cannot read it.`
  return pub
    ? `${members} A public copy also goes to anyone following area ${area}, and relays can read that copy; it is signed with a pseudonym for this area, not your name.`
    : members
}

export function statusText (c: Connection, relays: number): string {
  if (c === 'connected') return `Connected to ${relays} relay${relays === 1 ? '' : 's'}`
  if (c === 'connecting') return 'Connecting to the relay…'
  return 'Offline: not in a neighborhood yet'
}

/** The author as the feed shows it: the fingerprint beside a name that looks like another. */
export function authorLabel (p: FeedPost): string {
  if (p.mine) return 'you'
  const name = p.authorName ?? 'someone'
  return p.lookAlike === true ? `${name} (${p.authorFingerprint})` : name
}
