/**
 * System notifications for posts that arrive while the tab is hidden: "New post in <name>",
 * with the post's text only when the resident turned previews on. Permission is asked only
 * from a click in Settings (`requestPermission`), never on load. Agency requests never notify
 * while the resident has them switched off (Settings, "Show requests from agencies").
 */
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { kindLabel } from './feed-view.ts'

/** Longest preview body (a notification shows a line or two). */
export const MAX_PREVIEW_CHARS = 140

export interface NotifyPrefs {
  /** The resident turned notifications on (in Settings, which asked the browser). */
  enabled: boolean
  /** Show the post's text in the notification. @default false */
  previews: boolean
}

export interface NotificationText { title: string, body: string, tag: string }

/**
 * Whether a post that just arrived should raise a notification. `requests`: the resident's
 * switch for agency requests (false: they never notify). @default true
 */
export function shouldNotify (post: FeedPost, ctx: { hidden: boolean, permission: string, prefs: NotifyPrefs, requests?: boolean }): boolean {
  if (post.channel === 'rfa' && ctx.requests === false) return false
  return ctx.prefs.enabled && ctx.permission === 'granted' && ctx.hidden && !post.mine
}

/** The notification's words: the neighborhood always, the text only with previews on. */
export function notificationText (post: FeedPost, hoodName: string | undefined, previews: boolean): NotificationText {
  const where = hoodName ?? post.hood ?? (post.area !== undefined ? `area ${post.area}` : 'your neighborhood')
  const title = `New post in ${where}`
  let body = kindLabel(post.kind)
  if (previews) {
    const text = post.text.replace(/\s+/g, ' ').trim()
    body = `${body}: ${text.length > MAX_PREVIEW_CHARS ? `${text.slice(0, MAX_PREVIEW_CHARS - 1)}…` : text}`
  }
  return { title, body, tag: `porchlight-${post.id}` }
}

/** What the notifier uses of the page (injected, so it is tested in Node). */
export interface NotifyEnv {
  hidden: () => boolean
  permission: () => string
  show: (n: NotificationText) => void
  prefs: () => NotifyPrefs
  /** Whether agency requests are shown (AppState snapshot.showRequests). @default always */
  requests?: () => boolean
}

/** The page's environment: document visibility and the Notification API, when present. */
export function browserNotifyEnv (prefs: () => NotifyPrefs, requests?: () => boolean): NotifyEnv {
  const N = (globalThis as { Notification?: typeof Notification }).Notification
  return {
    hidden: () => document.visibilityState === 'hidden',
    permission: () => N?.permission ?? 'unsupported',
    show: n => { if (N !== undefined) new N(n.title, { body: n.body, tag: n.tag }) },
    prefs,
    ...(requests !== undefined ? { requests } : {})
  }
}

/** Notifies for one arrived post if it should; returns what it showed. */
export function notifyPost (post: FeedPost, hoodName: string | undefined, env: NotifyEnv): NotificationText | undefined {
  const prefs = env.prefs()
  if (!shouldNotify(post, { hidden: env.hidden(), permission: env.permission(), prefs, ...(env.requests !== undefined ? { requests: env.requests() } : {}) })) return undefined
  const n = notificationText(post, hoodName, prefs.previews)
  env.show(n)
  return n
}

/** Asks the browser for permission (call only from a click). */
export async function requestPermission (): Promise<string> {
  const N = (globalThis as { Notification?: typeof Notification }).Notification
  if (N === undefined) return 'unsupported'
  return await N.requestPermission()
}
