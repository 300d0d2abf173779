/**
 * What became of this resident's own posts, as every tab shows it: queued (in the engine's
 * outbox, no relay has it yet), sent (a relay acknowledged it: it left the outbox) or refused
 * (a relay said no, for a reason that retrying will not change). The outbox and the refusals
 * live in IndexedDB (the engine's 'outbox' section, and 'outbox-refused' kept here), and
 * Dexie's liveQuery brings every change to every tab of the origin.
 */
import { Dexie, liveQuery } from 'dexie'
import type { FeedPost, PeerSettings, ResidentPeer } from '../../protocol/peer/resident.ts'
import type { Result } from '../../protocol/wire.ts'
import type { KeyValue } from '../../protocol/peer/storage.ts'
import type { PorchlightDb } from './db.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { concatBytes, toHex } from '../../protocol/encoding.ts'
import { WEEK_COUNTS_SECTION, type WeekCounts } from '../../protocol/week-counts.ts'

export const REFUSED_SECTION = 'outbox-refused'
/** The engine's section of the resident's switches (resident.ts settingsStore, one key 'home'). */
export const SETTINGS_SECTION = 'settings'

export type OutboxState =
  | { state: 'queued' }
  | { state: 'sent' }
  | { state: 'refused', reason: string }

/** A feed post as the app shows it: one of this resident's own carries its outbox state. */
export type ShownPost = FeedPost & { outbox?: OutboxState }

export interface Refusal { code: string, message: string }

/** The store as the tabs see it: the feed, the outbox's ids and the refusals. */
export interface StoreView {
  /** The feed, when watched (StoreWatch.posts): a tab running the engine has it from the engine. */
  posts?: FeedPost[]
  queued: ReadonlySet<string>
  refused: ReadonlyMap<string, Refusal>
  /**
   * Whether there is an identity, and how many neighborhoods: another tab may create or join.
   * `hoodsDigest` changes with any neighborhood's state (settings an admin announced, say).
   */
  home: { identity: boolean, hoods: number, hoodsDigest?: string }
  /** The engine's weekly counts (protocol/week-counts.ts), by their keys. */
  weeks: ReadonlyMap<string, WeekCounts>
  /** The resident's switches (the engine's 'settings' section), so a tab without the engine honours them too. */
  settings?: PeerSettings
}

/** A refusal in words (the relay's codes, protocol/errors.ts). */
export function refusalText (r: Refusal): string {
  const why: Record<string, string> = {
    STALE_EPOCH: 'the neighborhood\'s key changed and this post was sealed under the old one',
    UNKNOWN_EPOCH: 'the relay does not know this neighborhood\'s current key yet',
    EXPIRED: 'it expired before a relay took it',
    FUTURE_DATED: 'this device\'s clock is ahead of the relay\'s',
    NOT_MEMBER: 'the relay does not count you as a member',
    OVER_QUOTA: 'the relay is full for this neighborhood',
    RATE_LIMITED: 'too many posts in a short time',
    TOO_LARGE: 'it is too large',
    RETRACTED: 'it was taken back',
    WRONG_TOPIC: 'the relay does not serve this neighborhood',
    // intake.ts: a topic the relay was given no token for.
    NOT_FOUND: 'the relay does not carry this neighborhood yet (its operator needs the relay token)'
  }
  return why[r.code] ?? (r.message !== '' ? r.message : r.code)
}

/** Whether a push's result is final (a refusal) rather than "try again later". */
export function isRefusal (r: Result): boolean {
  return !r.ok && r.code !== 'UNAVAILABLE' && r.code !== 'TIMEOUT'
}

/** The outbox state of one post (undefined for others' posts). */
export function outboxState (post: FeedPost, view: Pick<StoreView, 'queued' | 'refused'>): OutboxState | undefined {
  if (!post.mine) return undefined
  const refused = view.refused.get(post.id)
  if (refused !== undefined && view.queued.has(post.id)) return { state: 'refused', reason: refusalText(refused) }
  if (view.queued.has(post.id)) return { state: 'queued' }
  return { state: 'sent' }
}

export function withOutbox (posts: readonly FeedPost[], view: Pick<StoreView, 'queued' | 'refused'>): ShownPost[] {
  return posts.map(p => {
    const o = outboxState(p, view)
    return o === undefined ? p : { ...p, outbox: o }
  })
}

/** The feed (not expired, newest first, undecorated; `withPosts` false: none) and the outbox, as IndexedDB has them now. */
export async function readStore (db: PorchlightDb, now: number, withPosts = true): Promise<StoreView> {
  const section = (name: string) => db.local.where('[section+key]').between([name, Dexie.minKey], [name, Dexie.maxKey])
  return await db.transaction('r', db.local, db.secrets, db.hoods, async () => {
    // Unread, the posts' range is not watched: an incoming post writes it several times.
    const posts = withPosts ? (await section('posts').reverse().toArray()).map(r => r.value as FeedPost).filter(p => p.expires > now) : undefined
    const queued = new Set((await section('outbox').toArray()).map(r => r.key))
    const refused = new Map((await section(REFUSED_SECTION).toArray()).map(r => [r.key, r.value as Refusal]))
    const hoodBytes = await db.hoods.toArray()
    const home = {
      identity: (await db.secrets.where(':id').equals('identity').count()) > 0,
      hoods: hoodBytes.length,
      hoodsDigest: toHex(sha256(concatBytes(...hoodBytes)))
    }
    const weeks = new Map((await section(WEEK_COUNTS_SECTION).toArray()).map(r => [r.key, r.value as WeekCounts]))
    const settings = (await section(SETTINGS_SECTION).toArray()).find(r => r.key === 'home')?.value as PeerSettings | undefined
    return { ...(posts !== undefined ? { posts } : {}), queued, refused, home, weeks, ...(settings !== undefined ? { settings } : {}) }
  })
}

/** A watch on the store (watchStore). */
export interface StoreWatch {
  /**
   * Whether the feed is read too (at first it is). Dexie's liveQuery watches exactly the ranges
   * a query reads, so without the posts a write to the feed reads nothing again; switched on,
   * the store is read at once, posts included.
   */
  posts: (on: boolean) => void
  stop: () => void
}

/** Calls `onChange` with the store now and after every change, from any tab. */
export function watchStore (db: PorchlightDb, onChange: (view: StoreView) => void, onError: (err: unknown) => void = () => undefined, now: () => number = Date.now): StoreWatch {
  let withPosts = true
  const watch = () => liveQuery(async () => await readStore(db, now(), withPosts)).subscribe({ next: onChange, error: onError })
  let sub: ReturnType<typeof watch> | undefined = watch()
  return {
    posts: on => {
      if (on === withPosts || sub === undefined) return
      withPosts = on
      sub.unsubscribe()
      sub = watch()
    },
    stop: () => { sub?.unsubscribe(); sub = undefined }
  }
}

/**
 * Makes the engine's flushOutbox one at a time (post(), stayConnected's redial and the
 * first-dial loop all flush: two flushes at once would both push the same messages) and
 * keeps each final refusal, by id, where every tab reads it.
 */
export function guardOutbox (peer: Pick<ResidentPeer, 'flushOutbox'>, refusals: KeyValue<Refusal>): void {
  const flush = peer.flushOutbox.bind(peer)
  let last: Promise<unknown> = Promise.resolve()
  peer.flushOutbox = async () => {
    const run = async (): Promise<Awaited<ReturnType<typeof flush>>> => {
      const out = await flush()
      for (const [id, r] of out) {
        if (isRefusal(r.result)) await refusals.put(r.resealedAs ?? id, { code: r.result.code ?? 'REFUSED', message: r.result.message ?? '' })
        else if (r.result.ok) await refusals.del(id)
      }
      return out
    }
    const next = last.then(run, run)
    last = next.catch(() => undefined)
    return await next
  }
}
