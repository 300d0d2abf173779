/**
 * Invite links: `<origin>/#join=<invite>`, the invite exactly as the CLI prints it. The
 * fragment never reaches a server; the app removes it from the address bar and history once
 * read (the invite holds the neighborhood key).
 */
import { INVITE_PREFIX } from '../../protocol/invite.ts'

const JOIN = '#join='

/** The link that opens `invite` in the app served at `origin` (e.g. http://127.0.0.1:8080). */
export function inviteLink (origin: string, invite: string): string {
  return `${origin}/${JOIN}${invite}`
}

/** The invite in a URL fragment (`#join=…`), or undefined. */
export function inviteFromHash (hash: string): string | undefined {
  if (!hash.startsWith(JOIN)) return undefined
  let value = hash.slice(JOIN.length)
  try { value = decodeURIComponent(value) } catch { /* keep it as it is */ }
  return value.startsWith(INVITE_PREFIX) ? value : undefined
}

/** What a person pasted: an invite, or a link to one. */
export function inviteFromPaste (text: string): string {
  const t = text.trim()
  const at = t.indexOf(JOIN)
  return at >= 0 ? (inviteFromHash(t.slice(at)) ?? t) : t
}

/** Reads an invite from the page's address and removes the fragment from the bar and history. */
export function takeInviteFromLocation (loc: Location, history: History): string | undefined {
  const invite = inviteFromHash(loc.hash)
  if (loc.hash.startsWith(JOIN)) history.replaceState(null, '', loc.pathname + loc.search)
  return invite
}
