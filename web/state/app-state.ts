/**
 * The app's state, outside the components: identity, neighborhoods, the feed and the relay
 * connection, over the engine (protocol/peer/resident.ts) in the browser runtime. Components
 * read `snapshot` and call the actions; every change fires 'change'.
 */
import { fingerprint, createIdentity, type Identity } from '../../protocol/identity.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { isAdmin } from '../../protocol/neighborhood.ts'
import type { BackupContents } from '../../protocol/backup.ts'
import type { FeedPost, ReplyAudience, ReplyMode, ResidentPeer } from '../../protocol/peer/resident.ts'
import type { PostKind } from '../../protocol/post.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'
import { foundHood, newInvite, readInvite, relayToken, saveJoin } from '../../protocol/peer/hood-actions.ts'
import { encodeInvite } from '../../protocol/invite.ts'
import { inviteLink } from './invite-link.ts'
import { withOutbox, type ShownPost, type StoreView, type StoreWatch } from '../engine/outbox-view.ts'
import type { TabAsk, TabStatus } from '../engine/leader.ts'
import { attachToHood, openClipUrl, type ClipProgress, type ClipView } from '../engine/clips.ts'
import type { CleanClip } from '../../protocol/clip/clean.ts'
import { parseWeekKey, weekContext, type WeekContext, type WeekCounts } from '../../protocol/week-counts.ts'
import { hoodSettings, type HoodSettings } from '../../protocol/hood-state.ts'
import type { AttestationInfo } from '../../protocol/peer/admin-actions.ts'
import type { AdminEngine, AdminView, AttestInput } from './admin.ts'
import { replyFailure } from './reply.ts'
import { watchRelayConnections } from './relay-connections.ts'
import { createAgencyIdentity, type AgencyHome } from './agency-identity.ts'

/** A post's clip (cleaned in the page already) and location, and the clip's progress. */
export interface PostExtras { clip?: CleanClip, location?: { geohash: string, precision: number }, onProgress?: ClipProgress, ttlMs?: number }

/** Where a reply goes (the neighborhood unless chosen), and a clip (cleaned in the page already) with its progress. */
export interface ReplyExtras { mode?: ReplyMode, clip?: CleanClip, onProgress?: ClipProgress }

export type Connection = 'offline' | 'connecting' | 'connected'

export interface Snapshot {
  /** 'agency': this browser's identity is an agency's (agency mode, web/state/agency.ts). */
  phase: 'loading' | 'welcome' | 'no-hood' | 'feed' | 'agency'
  me?: { name: string, fingerprint: string }
  /** Every neighborhood this browser keeps; `left` once the resident left it (or was removed). */
  hoods: Array<{
    id: string, name: string, area: string, admin: boolean, left: boolean, relays: string[], joined: number
    /** A new post's default lifetime and location precision here (the neighborhood settings, hood-state.ts hoodSettings). */
    postTtlMs: number, precision: number
    /** Whether agencies' requests show to a member who never chose (the neighborhood settings). */
    rfasForNewMembers: boolean
  }>
  /** The neighborhood the feed and new posts are for (its id), when the resident is in several. */
  selectedHood?: string
  /** Newest first; this resident's own posts carry their outbox state. */
  feed: ShownPost[]
  connection: Connection
  /** Relays connected now. */
  relaysConnected: number
  /** An invite read from the link that opened the page, waiting for the person to join. */
  pendingInvite?: string
  /** After creating a neighborhood: its invite link and the relay token. */
  created?: { name: string, link: string, relayToken: string }
  /** The last thing that went wrong, said plainly. */
  error?: string
  busy: boolean
  /** The admin screen's neighborhood (state/admin.ts), while it is open. */
  admin?: AdminView
  /** What the last admin action did, said plainly. */
  adminNotice?: string
  /** The attestation just issued, to hand to the agency. */
  attested?: AttestationInfo
  /**
   * The resident's switch for agency requests (the engine's PeerSettings.rfa, the CLI's
   * `settings rfa`): false hides them from the feed and notifications; undefined or true shows them.
   */
  showRequests?: boolean
}

/** What the state uses of the engine (the browser's ResidentPeer). */
export type Engine = Pick<ResidentPeer, 'start' | 'stop' | 'feed' | 'onPost' | 'onRetract' | 'post' | 'announceJoin' | 'node' | 'stayConnected' | 'relays' | 'retract' | 'leave' | 'sync' | 'home' | 'clips' |
'replyTarget' | 'reply' | 'settings' | 'updateSettings' | 'showsRequests'> & AdminEngine

export interface AppDeps {
  home: PeerHome & { saveIdentity: (id: Identity, opts?: { force?: boolean }) => Promise<void> } & Partial<Pick<AgencyHome, 'saveAgency' | 'clearAgency'>>
  openEngine: () => Promise<Engine>
  /** The relay serving this page, as its /relay.json says (asked while the page draws from IndexedDB). */
  pageRelay?: Promise<string | undefined>
  origin: string
  /** Resolves once what was set so far has been drawn: the engine loads after the first paint. */
  afterPaint?: () => Promise<void>
  now?: () => number
  /** How often the feed is read again from the store (for what changes without an event: a post expiring). @default FEED_REFRESH_MS */
  feedRefreshMs?: number
  /**
   * This origin's tabs (engine/leader.ts): only the leading tab opens the engine; the others
   * show IndexedDB and ask the leader to post. Without it this tab runs the engine itself.
   */
  tabs?: {
    readonly leading: boolean
    lead: (lead: () => Promise<void>) => void
    serve: (handler: (ask: TabAsk) => Promise<string | undefined>) => void
    ask: (ask: TabAsk) => Promise<string | undefined>
    announce: (status: TabStatus) => void
    onStatus: (listener: (s: TabStatus) => void) => () => void
    close: () => void
  }
  /** The feed and the outbox as IndexedDB has them, now and after each change from any tab (outbox-view.ts). */
  watchStore?: (onChange: (view: StoreView) => void, onError?: (err: unknown) => void) => StoreWatch
}

export const FEED_REFRESH_MS = 3000

const REPLY_IN_FIRST_TAB = 'Replies in public or to an agency are sent from the Porchlight tab that was opened first (this is another one): reply there.'

export class AppState extends EventTarget {
  snapshot: Snapshot = { phase: 'loading', hoods: [], feed: [], connection: 'offline', relaysConnected: 0, busy: false }
  private engine: Engine | undefined
  private readonly now: () => number

  constructor (private readonly deps: AppDeps) {
    super()
    this.now = deps.now ?? Date.now
  }

  private set (patch: Partial<Snapshot>): void {
    // Agency requests switched off are never shown, whichever way the feed came (engine, IndexedDB, another tab).
    if (patch.showRequests === false && patch.feed === undefined) patch = { ...patch, feed: this.snapshot.feed }
    if (patch.feed !== undefined && (patch.showRequests ?? this.snapshot.showRequests) === false) patch = { ...patch, feed: patch.feed.filter(p => p.channel !== 'rfa') }
    if (patch.feed !== undefined && this.store !== undefined) patch = { ...patch, feed: withOutbox(patch.feed, this.store) }
    // The engine reads back the feed the page drew from IndexedDB: the same posts are not drawn again.
    if (patch.feed !== undefined && sameFeed(patch.feed, this.snapshot.feed)) patch = { ...patch, feed: this.snapshot.feed }
    this.snapshot = { ...this.snapshot, ...patch }
    const tabs = this.deps.tabs
    if (tabs?.leading === true && (patch.connection !== undefined || patch.relaysConnected !== undefined)) {
      tabs.announce({ connection: this.snapshot.connection, relaysConnected: this.snapshot.relaysConnected })
    }
    this.dispatchEvent(new Event('change'))
  }

  /** The last view of IndexedDB (feed, outbox), when watched. */
  private store: StoreView | undefined
  /** That watch: it reads the feed only while this tab runs no engine (useEngine). */
  private storeWatch: StoreWatch | undefined
  /** The neighborhoods' digest in that view (StoreView home.hoodsDigest). */
  private hoodsDigest: string | undefined
  /** The engine opening and starting (restartEngine), for actions that need it. */
  private opening: Promise<void> | undefined

  /**
   * Loads what this browser keeps and shows the feed from IndexedDB; with a neighborhood, starts
   * the peer (with `tabs`, once this tab leads: at once if it is the only one).
   */
  async init (pendingInvite?: string): Promise<void> {
    if (pendingInvite !== undefined) this.set({ pendingInvite })
    // The first paint comes from IndexedDB, before libp2p is even loaded: the home and the
    // stored feed are read together, and the engine is opened only once they are drawn.
    let firstView: () => void = () => undefined
    const viewed = new Promise<void>(resolve => { firstView = resolve })
    if (this.deps.watchStore !== undefined) {
      const watch = this.storeWatch = this.deps.watchStore(view => {
        this.store = view
        this.set({ showRequests: view.settings?.rfa ?? this.requestsByDefault(), feed: this.engine === undefined && view.posts !== undefined ? view.posts : this.snapshot.feed })
        firstView()
        // Another tab created the identity or joined: show it here too.
        // A neighborhood's state changed (an admin's settings arrived, say): the composer's defaults follow.
        const changed = view.home.hoodsDigest !== undefined && view.home.hoodsDigest !== this.hoodsDigest
        this.hoodsDigest = view.home.hoodsDigest
        if (view.home.identity !== (this.snapshot.me !== undefined) || view.home.hoods !== this.snapshot.hoods.length) void this.refresh()
        else if (changed) void this.refreshSettings()
      }, firstView)
      this.unsubscribe.push(() => { watch.stop() })
    } else firstView()
    await Promise.all([this.refresh(), viewed])
    const painted = this.deps.afterPaint?.() ?? Promise.resolve()
    const tabs = this.deps.tabs
    if (tabs === undefined) {
      await painted
      if (this.snapshot.hoods.length > 0) await this.restartEngine()
      return
    }
    if (this.snapshot.hoods.length > 0) this.set({ connection: 'connecting' })
    tabs.serve(async ask => await this.serveAsk(ask))
    tabs.onStatus(status => { if (!tabs.leading) this.set(status) })
    tabs.lead(async () => {
      // Set at once: asks waiting for this tab to lead wait for the engine (serveAsk).
      const opening = (async () => {
        await painted
        await this.refresh()
        if (this.snapshot.hoods.length > 0) await this.startEngine()
      })()
      this.opening = opening.catch(() => undefined)
      await opening.catch((err: unknown) => { this.set({ error: `The app could not start its connection: ${(err as Error)?.message ?? String(err)}` }) })
    })
  }

  /** Another tab's action, carried out by this (leading) tab's engine; returns an error to show there. */
  private async serveAsk (ask: TabAsk): Promise<string | undefined> {
    if (ask.op === 'restart') {
      await this.refresh()
      await this.restartEngine()
      return undefined
    }
    await this.opening
    if (ask.op === 'post') {
      const a = ask.args as { kind: PostKind, text: string, public: boolean, hood?: string, location?: PostExtras['location'], ttlMs?: number }
      return await this.postHere(a.kind, a.text, a.public, a.hood, { ...(a.location !== undefined ? { location: a.location } : {}), ...(a.ttlMs !== undefined ? { ttlMs: a.ttlMs } : {}) })
    }
    if (ask.op === 'settings') {
      await this.showRequestsHere((ask.args as { rfa: boolean }).rfa)
      return undefined
    }
    if (ask.op === 'announce') {
      const a = ask.args as { hood: string, opts: Parameters<Engine['announceJoin']>[1] }
      if (this.engine === undefined) throw new Error('not connected yet')
      await this.engine.announceJoin(a.hood, a.opts)
      return undefined
    }
    return `unknown request ${ask.op}`
  }

  /** Whether another tab runs the engine (so this one asks it). */
  private get following (): boolean { return this.deps.tabs !== undefined && !this.deps.tabs.leading }

  private async announceJoin (hood: string, opts: Parameters<Engine['announceJoin']>[1]): Promise<void> {
    if (this.following) {
      const error = await this.deps.tabs!.ask({ op: 'announce', args: { hood, opts } })
      if (error !== undefined) throw new Error(error)
      return
    }
    await this.engine!.announceJoin(hood, opts)
  }

  private async refresh (): Promise<void> {
    const me = await this.deps.home.identity()
    const hoods = await this.deps.home.hoods()
    const agency = me !== undefined && (await this.deps.home.agency()) !== undefined
    this.set({
      ...(me !== undefined ? { me: { name: me.public.name, fingerprint: fingerprint(me.public.signKey) } } : {}),
      hoods: hoods.map(h => ({
        id: toHex(h.hood.id), name: h.hood.name, area: h.hood.area, admin: me !== undefined && isAdmin(h.hood, me.public.signKey), left: h.ended !== undefined, relays: [...h.relays], joined: h.joined,
        postTtlMs: hoodSettings(h).postTtlMs, precision: hoodSettings(h).precision, rfasForNewMembers: hoodSettings(h).rfasForNewMembers
      })),
      phase: me === undefined ? 'welcome' : agency ? 'agency' : hoods.every(h => h.ended !== undefined) ? 'no-hood' : 'feed'
    })
    const active = this.snapshot.hoods.filter(h => !h.left)
    if (!active.some(h => h.id === this.snapshot.selectedHood)) this.set({ selectedHood: active[0]?.id })
    this.followRequestsDefault()
  }

  /**
   * Only the neighborhood settings of the hoods shown (a new post's defaults, the requests
   * default), as an admin's announcement changed them; the phase stays (a removed resident
   * keeps the feed they had until the page is opened again).
   */
  private async refreshSettings (): Promise<void> {
    const byId = new Map((await this.deps.home.hoods()).map(h => [toHex(h.hood.id), hoodSettings(h)]))
    this.set({
      hoods: this.snapshot.hoods.map(h => {
        const s = byId.get(h.id)
        return s === undefined ? h : { ...h, postTtlMs: s.postTtlMs, precision: s.precision, rfasForNewMembers: s.rfasForNewMembers }
      })
    })
    this.followRequestsDefault()
  }

  /** A resident who never chose follows the neighborhoods' default for agency requests, which may just have changed. */
  private followRequestsDefault (): void {
    const own = this.engine !== undefined ? this.engine.settings().rfa : this.store?.settings?.rfa
    if (own === undefined && this.snapshot.showRequests !== this.requestsByDefault()) this.set({ showRequests: this.requestsByDefault() })
  }

  /** Runs an action, showing it as busy and any failure as `error`. */
  private async act (what: () => Promise<void>): Promise<boolean> {
    this.set({ busy: true, error: undefined })
    try {
      await what()
      return true
    } catch (err) {
      this.set({ error: isPorchlightError(err) ? err.message : (err as Error).message ?? String(err) })
      return false
    } finally {
      this.set({ busy: false })
    }
  }

  async createIdentity (name: string): Promise<boolean> {
    return await this.act(async () => {
      await this.deps.home.saveIdentity(await createIdentity(name.trim()))
      await this.refresh()
    })
  }

  /** Makes an agency identity instead of a resident's (agency-identity.ts): the app switches to agency mode. */
  async createAgency (name: string): Promise<boolean> {
    return await this.act(async () => {
      const home = this.deps.home
      if (home.saveAgency === undefined || home.clearAgency === undefined) throw new Error('agencies are not available in this browser')
      await createAgencyIdentity(home as typeof home & Pick<AgencyHome, 'saveAgency' | 'clearAgency'>, name)
      await this.refresh()
    })
  }

  async createHood (name: string, area: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.requireMe()
      const pageRelay = await this.deps.pageRelay
      if (pageRelay === undefined) throw new Error('no relay known: open the app from a relay\'s address')
      const now = this.now()
      const c = await foundHood(this.deps.home, me, { name, area, relays: [pageRelay], now })
      this.set({ created: { name: c.state.hood.name, link: inviteLink(this.deps.origin, encodeInvite(c.invite)), relayToken: relayToken(c.state, now) }, selectedHood: toHex(c.state.hood.id) })
      await this.refresh()
      await this.restartEngine()
      await this.announceJoin(toHex(c.state.hood.id), {})
    })
  }

  async join (inviteText: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.requireMe()
      const inv = await readInvite(inviteText, this.now())
      const state = await saveJoin(this.deps.home, me, inv, this.now())
      this.set({ pendingInvite: undefined, selectedHood: toHex(state.hood.id) })
      await this.refresh()
      await this.restartEngine()
      // Tell the neighborhood who joined, with the admin's admission when an admin invited us;
      // without a relay it waits in the outbox.
      await this.announceJoin(toHex(state.hood.id), {
        via: inv.inviter.signKey, ...(inv.admission !== undefined ? { admission: inv.admission, inviteKey: inv.inviteKey! } : {})
      })
    })
  }

  async post (kind: PostKind, text: string, pub: boolean, extras: PostExtras = {}): Promise<boolean> {
    return await this.act(async () => {
      const hood = this.snapshot.selectedHood
      const error = !this.following
        ? await this.postHere(kind, text, pub, hood, extras)
        : extras.clip !== undefined
          ? 'Photos and videos are sent from the Porchlight tab that was opened first (this is another one): attach it there.'
          : await this.deps.tabs!.ask({ op: 'post', args: { kind, text, public: pub, hood, location: extras.location, ttlMs: extras.ttlMs } })
      if (error !== undefined) this.set({ error })
    })
  }

  /** Posts through this tab's engine; returns what to tell the person if it did not go out. */
  private async postHere (kind: PostKind, text: string, pub: boolean, hood?: string, extras: PostExtras = {}): Promise<string | undefined> {
    await this.opening
    if (this.engine === undefined) throw new Error('not connected yet')
    const now = this.now()
    // The clip is encrypted and pinned by the relays first; the post then carries its key.
    const media = extras.clip === undefined
      ? []
      : [(await attachToHood(this.engine, extras.clip, {
          now, ...(hood !== undefined ? { hood } : {}), ...(extras.ttlMs !== undefined ? { expires: now + extras.ttlMs } : {}), ...(extras.onProgress !== undefined ? { onProgress: extras.onProgress } : {})
        })).media]
    const r = await this.engine.post({
      kind, text, public: pub, now, media, ...extras.location, ...(extras.ttlMs !== undefined ? { ttlMs: extras.ttlMs } : {}), ...(hood !== undefined ? { hood } : {})
    })
    await this.loadFeed()
    if (r.result.ok) return undefined
    return r.result.code === 'UNAVAILABLE' || r.result.code === 'TIMEOUT'
      ? 'No relay reachable: your post waits and goes out when a relay is back.'
      : `The relay refused the post (${r.result.code ?? ''}): ${r.result.message ?? ''}`
  }

  /** Fetches, decrypts and checks clip `index` of a post, for the page to show (an object URL). */
  async openClip (post: FeedPost, index: number): Promise<ClipView> {
    if (this.engine === undefined) throw new Error('not connected yet')
    return await openClipUrl(this.engine, post, index)
  }

  /** An invite link opened while the app runs (the fragment changed). */
  offerInvite (invite: string): void { this.set({ pendingInvite: invite }) }

  dismissCreated (): void { this.set({ created: undefined }) }

  private async requireMe (): Promise<NonNullable<Awaited<ReturnType<PeerHome['identity']>>>> {
    const me = await this.deps.home.identity()
    if (me === undefined) throw new Error('create your identity first')
    return me
  }

  private async loadFeed (): Promise<void> {
    if (this.engine === undefined) return
    // The neighborhoods' default for requests may have arrived with the feed (ResidentPeer.showsRequests).
    this.set({ showRequests: await this.engine.showsRequests(), feed: newestFirst(await this.engine.feed()) })
  }

  /** Requests shown to a resident who never chose: unless a neighborhood they are in hides them (as the engine's showsRequests). */
  private requestsByDefault (): boolean {
    return this.snapshot.hoods.every(h => h.left || h.rfasForNewMembers)
  }

  private unsubscribe: Array<() => void> = []
  /** What the running engine's listeners need undone when it stops. */
  private readonly engineSubs: Array<() => void> = []

  /**
   * The engine this tab runs, or none. Its feed comes from the engine; without one, from
   * IndexedDB, read at once and after each change (each incoming post writes it several times:
   * reading the whole feed again each time is what a tab with the engine spares).
   */
  private useEngine (engine: Engine | undefined): void {
    this.engine = engine
    this.storeWatch?.posts(engine === undefined)
  }

  /** (Re)opens the engine on the current neighborhoods (it subscribes to topics when it starts). */
  private async restartEngine (): Promise<void> {
    if (this.following) {
      const error = await this.deps.tabs!.ask({ op: 'restart', args: null })
      if (error !== undefined) throw new Error(error)
      return
    }
    const opening = this.startEngine()
    this.opening = opening.catch(() => undefined)
    await opening
  }

  private async startEngine (): Promise<void> {
    for (const u of this.engineSubs.splice(0)) u()
    if (this.engine !== undefined) await this.engine.stop().catch(() => undefined)
    this.useEngine(undefined)
    this.set({ connection: 'connecting', relaysConnected: 0 })
    const engine = await this.deps.openEngine()
    this.useEngine(engine)
    this.set({ showRequests: await engine.showsRequests() })
    this.engineSubs.push(engine.onPost(post => {
      if (this.engine !== engine) return
      this.set({ feed: newestFirst([post, ...this.snapshot.feed.filter(p => p.id !== post.id)]) })
      this.dispatchEvent(new CustomEvent<FeedPost>('post', { detail: post }))
    }))
    // A retracted post leaves the feed as the retraction arrives (its author's, or this resident's own).
    this.engineSubs.push(engine.onRetract(id => {
      if (this.engine !== engine || !this.snapshot.feed.some(p => p.id === id)) return
      this.set({ feed: this.snapshot.feed.filter(p => p.id !== id) })
    }))
    // A read can outlive its engine: a rename or a restore stops it, closing its store under the
    // read (IndexedDB's DatabaseClosedError). Only the running engine's failures are shown.
    const failed = (err: unknown): void => {
      if (this.engine === engine) this.set({ error: `Could not read the feed: ${(err as Error)?.message ?? String(err)}` })
    }
    const refresh = setInterval(() => {
      if (this.engine !== engine) return
      this.reloadFeed().catch(failed)
      // Joins, approvals and revocations arrive as messages the engine applies to the home: the open admin screen follows.
      if (this.snapshot.admin !== undefined) this.reloadAdmin(this.snapshot.admin.hoodId).catch(failed)
    }, this.deps.feedRefreshMs ?? FEED_REFRESH_MS)
    this.engineSubs.push(() => { clearInterval(refresh) })
    await this.loadFeed()
    await engine.start()
    this.engineSubs.push(watchRelayConnections(engine, c => { if (this.engine === engine) this.set(c) }))
    this.engineSubs.push(engine.stayConnected())
    await this.loadFeed()
  }

  // Screens (issue 11): the neighborhood shown, replies, retractions, settings.

  /** Reads the feed again, changing the snapshot only when posts came or went. */
  private async reloadFeed (): Promise<void> {
    if (this.engine === undefined) return
    const feed = newestFirst(await this.engine.feed())
    const ids = (ps: readonly FeedPost[]): string => ps.map(p => p.id).join()
    if (ids(feed) !== ids(this.snapshot.feed)) this.set({ feed })
  }

  /** This week's posts by kind in a neighborhood beside its usual week, from the engine's counts in IndexedDB. */
  weekContext (hoodId: string): WeekContext | undefined {
    const hood = this.snapshot.hoods.find(h => h.id === hoodId)
    if (hood === undefined || this.store === undefined) return undefined
    const weeks = new Map<number, WeekCounts>()
    for (const [k, v] of this.store.weeks) {
      const w = parseWeekKey(k)
      if (w?.hood === hoodId) weeks.set(w.week, v)
    }
    return weekContext(weeks, hood.joined, this.now())
  }

  selectHood (id: string): void {
    if (this.snapshot.hoods.some(h => h.id === id && !h.left)) this.set({ selectedHood: id })
  }

  /**
   * Replies to a post: in the post's neighborhood (the default), or as `extras.mode` says in
   * public on the area or sealed to the requesting agency (with an optional clip, pinned by the
   * neighborhood's relays first). Public and sealed replies leave after the engine's random delay.
   */
  async reply (to: FeedPost, text: string, extras: ReplyExtras = {}): Promise<boolean> {
    const mode = extras.mode ?? 'private'
    if (mode !== 'private' || extras.clip !== undefined) return await this.act(async () => { await this.replyAs(to, text, mode, extras) })
    return await this.act(async () => {
      if (this.engine === undefined) throw new Error('not connected yet')
      const hood = (to.hood !== undefined ? this.snapshot.hoods.find(h => h.name === to.hood && !h.left)?.id : undefined) ?? this.snapshot.selectedHood
      const r = await this.engine.post({ kind: 'reply', text, replyTo: fromHex(to.id, 'post id'), ...(hood !== undefined ? { hood } : {}) })
      if (!r.result.ok) this.set({ error: 'No relay reachable: your reply waits and goes out when a relay is back.' })
      await this.loadFeed()
    })
  }

  /** A reply through the engine's reply(): it says again who reads it, and a failure is thrown (nothing kept for a sealed one). */
  private async replyAs (to: FeedPost, text: string, mode: ReplyMode, extras: ReplyExtras): Promise<void> {
    if (this.engine === undefined) throw new Error(this.following ? REPLY_IN_FIRST_TAB : 'not connected yet')
    const engine = this.engine
    const now = this.now()
    const { hood } = await engine.replyTarget(to.id, mode)
    const media = extras.clip === undefined
      ? []
      : [(await attachToHood(engine, extras.clip, { now, hood: toHex(hood.hood.id), ...(extras.onProgress !== undefined ? { onProgress: extras.onProgress } : {}) })).media]
    const out = await engine.reply({ to: to.id, text, mode, now, ...(media.length > 0 ? { media } : {}) })
    await this.loadFeed()
    if (!out.result.ok) throw new Error(replyFailure(mode, out.result))
  }

  /** Who would read a reply to `to` sent as `mode`, as the engine says it (nothing is sent). */
  async replyAudience (to: FeedPost, mode: ReplyMode): Promise<ReplyAudience> {
    await this.opening
    if (this.engine === undefined) throw new Error(this.following ? REPLY_IN_FIRST_TAB : 'not connected yet')
    return (await this.engine.replyTarget(to.id, mode)).audience
  }

  /** The resident's switch for agency requests (the engine's setting): off hides them at once, on shows them again. */
  async showRequests (on: boolean): Promise<boolean> {
    // Shown switched at once (the feed follows); put back if the engine could not keep it.
    const before = this.snapshot.showRequests
    this.set({ showRequests: on })
    const kept = await this.act(async () => {
      if (this.following) {
        const error = await this.deps.tabs!.ask({ op: 'settings', args: { rfa: on } })
        if (error !== undefined) throw new Error(error)
        return
      }
      await this.showRequestsHere(on)
    })
    if (!kept) this.set({ showRequests: before })
    return kept
  }

  private async showRequestsHere (on: boolean): Promise<void> {
    await this.opening
    if (this.engine === undefined) throw new Error('not connected yet')
    await this.engine.updateSettings({ rfa: on })
    this.set({ showRequests: on })
    await this.loadFeed()
  }

  /** Takes back one of the resident's own posts (it leaves this feed at once, and the others' as the retraction reaches them). */
  async retract (id: string): Promise<boolean> {
    return await this.act(async () => {
      if (this.engine === undefined) throw new Error('not connected yet')
      const r = await this.engine.retract(id)
      if (!r.result.ok) this.set({ error: 'No relay reachable: the retraction goes out when a relay is back.' })
      await this.loadFeed()
    })
  }

  /** Leaves a neighborhood (admins are asked to rekey without us). */
  async leave (hoodId: string): Promise<boolean> {
    return await this.act(async () => {
      if (this.engine === undefined) throw new Error('not connected yet')
      await this.engine.leave(hoodId)
      await this.refresh()
      await this.loadFeed()
    })
  }

  /** A fresh invite (and the relay token) for a neighborhood, shown like a new neighborhood's. */
  async invite (hoodId: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.requireMe()
      const state = await this.deps.home.hoodById(fromHex(hoodId, 'hood id'))
      if (state === undefined) throw new Error('no such neighborhood here')
      const now = this.now()
      this.set({ created: { name: state.hood.name, link: inviteLink(this.deps.origin, await newInvite(me, state, now)), relayToken: relayToken(state, now) } })
    })
  }

  /** Changes the display name (same keys), then tells each neighborhood, as `porchlight id rename` does. */
  async rename (name: string): Promise<boolean> {
    return await this.act(async () => {
      const old = await this.requireMe()
      const renamed = await createIdentity(name.trim(), { seed: old.seed, boxSecret: old.boxSecret })
      await this.deps.home.saveIdentity(renamed, { force: true })
      await this.refresh()
      if (this.snapshot.phase !== 'feed') return
      await this.restartEngine()
      for (const h of this.snapshot.hoods) if (!h.left) await this.engine!.announceJoin(h.id, {})
    })
  }

  /** The backup file's text (the CLI's format), made under `passphrase`. */
  async exportBackup (passphrase: string, onProgress?: (fraction: number) => void): Promise<string> {
    const identity = await this.requireMe()
    const hoods = await this.deps.home.hoods()
    const { backupText } = await import('./backup-file.ts')
    return await backupText({ identity, hoods, created: this.now() }, passphrase, onProgress !== undefined ? { onProgress } : {})
  }

  /** Restores an opened backup: its identity replaces this browser's, its neighborhoods replace those with the same id. */
  async restore (backup: BackupContents): Promise<boolean> {
    return await this.act(async () => {
      await this.deps.home.saveIdentity(backup.identity, { force: true })
      for (const h of backup.hoods) await this.deps.home.updateHood(h.hood.id, () => h)
      await this.refresh()
      if (this.snapshot.phase !== 'feed') return
      await this.restartEngine()
      // Catch up on what the relays kept for the restored neighborhoods (start() does not sync).
      await this.engine!.sync()
      await this.loadFeed()
    })
  }

  // The admin screen (issue: agencies, admins and accountability); its logic is state/admin.ts.

  /** Opens the admin screen on a neighborhood (or reads it again after a change). */
  async openAdmin (hoodId: string): Promise<boolean> {
    return await this.act(async () => {
      if (this.snapshot.admin?.hoodId !== hoodId) this.set({ adminNotice: undefined, attested: undefined })
      await this.loadAdmin(hoodId)
    })
  }

  closeAdmin (): void { this.set({ admin: undefined, adminNotice: undefined, attested: undefined }) }

  /** The admin screen's logic, loaded with the screen (as the backup's is): not in the feed's first script. */
  private async adminLogic (): Promise<typeof import('./admin.ts')> { return await import('./admin.ts') }

  private async loadAdmin (hoodId: string): Promise<void> {
    const { adminView, hoodState } = await this.adminLogic()
    this.set({ admin: await adminView(await hoodState(this.deps.home, hoodId), await this.deps.home.identity(), this.now()) })
  }

  /** Reads the open admin screen's neighborhood again, changing the snapshot only when something changed. */
  private async reloadAdmin (hoodId: string): Promise<void> {
    const state = await this.deps.home.hoodById(fromHex(hoodId, 'hood id'))
    if (state === undefined || this.snapshot.admin?.hoodId !== hoodId) return
    const view = await (await this.adminLogic()).adminView(state, await this.deps.home.identity(), this.now())
    if (this.snapshot.admin?.hoodId === hoodId && JSON.stringify(view) !== JSON.stringify(this.snapshot.admin)) this.set({ admin: view })
  }

  /** Runs an admin action on the open neighborhood, then shows it again (and the app's hoods: settings, a removal). */
  private async adminAct (what: (hoodId: string) => Promise<string | undefined>): Promise<boolean> {
    return await this.act(async () => {
      const hoodId = this.snapshot.admin?.hoodId
      if (hoodId === undefined) throw new Error('open the admin screen first')
      this.set({ adminNotice: undefined })
      try {
        const notice = await what(hoodId)
        if (notice !== undefined) this.set({ adminNotice: notice })
      } finally {
        await this.refresh()
        await this.loadAdmin(hoodId)
      }
    })
  }

  /** The engine, for admin steps that go over the network (in the tab that runs it). */
  private async adminEngine (): Promise<Engine> {
    if (this.following) throw new Error('Admin changes are made in the Porchlight tab that was opened first (this is another one): use that tab.')
    await this.opening
    if (this.engine === undefined) throw new Error('not connected yet')
    return this.engine
  }

  /** Admits a member who joined from a member's invite, so new epochs include them (`hood approve`). */
  async approveMember (signKey: string): Promise<boolean> {
    return await this.adminAct(async hoodId => {
      const r = await (await this.adminEngine()).approveMember(signKey, hoodId)
      return `Approved ${r.member.name}: the next key includes them.${r.result.ok ? '' : ' No relay has the approval yet; it goes out when a relay is back.'}`
    })
  }

  /** Removes a member: a new epoch sealed to everyone else (`hood remove`). */
  async removeMember (signKey: string): Promise<boolean> {
    return await this.adminAct(async hoodId => {
      const name = this.snapshot.admin?.members.find(m => m.signKey === signKey)?.name ?? 'the member'
      const r = await (await this.adminEngine()).removeMember(signKey, hoodId)
      await this.loadFeed()
      return `Removed ${name}. New posts use a new key (epoch ${r.epoch}) that ${r.remaining} member${r.remaining === 1 ? '' : 's'} hold.` +
        (r.result.ok ? '' : ' No relay has the new key yet: it goes out when a relay is back; until then posts wait here.')
    })
  }

  /** Vouches for an agency; the attestation to hand over is in `attested`. */
  async attestAgency (input: AttestInput): Promise<boolean> {
    return await this.adminAct(async hoodId => {
      const { attest, hoodState } = await this.adminLogic()
      const info = await attest(this.deps.home, await this.requireMe(), await hoodState(this.deps.home, hoodId), input, this.now())
      this.set({ attested: info })
      return `Vouched for ${info.name} in area ${info.area}. Give the agency the attestation below.`
    })
  }

  /** Withdraws an attestation this home issued (`hood revoke-agency`). */
  async revokeAttestation (id: string): Promise<boolean> {
    return await this.adminAct(async hoodId => {
      const { revoke, hoodState } = await this.adminLogic()
      const r = await revoke(await this.adminEngine(), await hoodState(this.deps.home, hoodId), id, this.now())
      return `Revoked.${r.ok ? ' Members stop counting it.' : ' No relay has the revocation yet; it goes out when a relay is back.'}`
    })
  }

  /** Changes the neighborhood settings (`hood settings`). */
  async saveHoodSettings (patch: HoodSettings): Promise<boolean> {
    return await this.adminAct(async hoodId => {
      const { saveSettings, hoodState } = await this.adminLogic()
      const r = await saveSettings(await this.adminEngine(), await hoodState(this.deps.home, hoodId), patch)
      return `Settings saved.${r.sent ? ' Members receive them.' : ' No relay has them yet; they go out to members when a relay is back.'}`
    })
  }

  async stop (): Promise<void> {
    for (const u of [...this.engineSubs.splice(0), ...this.unsubscribe.splice(0)]) u()
    this.deps.tabs?.close()
    await this.engine?.stop()
    this.useEngine(undefined)
  }
}

/** Whether two feeds hold the same posts, in the same order, with the same contents. */
export function sameFeed (a: readonly FeedPost[], b: readonly FeedPost[]): boolean {
  return a.length === b.length && a.every((p, i) => p === b[i] || (p.id === b[i]!.id && JSON.stringify(p) === JSON.stringify(b[i])))
}

export function newestFirst (posts: readonly FeedPost[]): FeedPost[] {
  return [...posts].sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : 1))
}
