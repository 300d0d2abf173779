/**
 * The app's state, outside the components: identity, neighborhoods, the feed and the relay
 * connection, over the engine (protocol/peer/resident.ts) in the browser runtime. Components
 * read `snapshot` and call the actions; every change fires 'change'.
 */
import { fingerprint, createIdentity } from '../../protocol/identity.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import type { FeedPost, ResidentPeer } from '../../protocol/peer/resident.ts'
import type { PostKind } from '../../protocol/post.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'
import { createHood, readInvite, saveJoin } from './hood-actions.ts'
import { inviteLink } from './invite-link.ts'
import { attachToHood, openClipUrl, type ClipProgress, type ClipView } from '../engine/clips.ts'
import type { CleanClip } from '../../protocol/clip/clean.ts'

/** A post's clip (cleaned in the page already) and location, and the clip's progress. */
export interface PostExtras { clip?: CleanClip, location?: { geohash: string, precision: number }, onProgress?: ClipProgress }

export type Connection = 'offline' | 'connecting' | 'connected'

export interface Snapshot {
  phase: 'loading' | 'welcome' | 'no-hood' | 'feed'
  me?: { name: string, fingerprint: string }
  hoods: Array<{ id: string, name: string, area: string }>
  feed: FeedPost[]
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
}

/** What the state uses of the engine (the browser's ResidentPeer). */
export type Engine = Pick<ResidentPeer, 'start' | 'stop' | 'feed' | 'onPost' | 'post' | 'announceJoin' | 'node' | 'stayConnected' | 'relays' | 'home' | 'clips'>

export interface AppDeps {
  home: PeerHome & { saveIdentity: (id: Awaited<ReturnType<typeof createIdentity>>) => Promise<void> }
  openEngine: () => Promise<Engine>
  pageRelay?: string
  origin: string
  now?: () => number
}

export class AppState extends EventTarget {
  snapshot: Snapshot = { phase: 'loading', hoods: [], feed: [], connection: 'offline', relaysConnected: 0, busy: false }
  private engine: Engine | undefined
  private readonly now: () => number

  constructor (private readonly deps: AppDeps) {
    super()
    this.now = deps.now ?? Date.now
  }

  private set (patch: Partial<Snapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch }
    this.dispatchEvent(new Event('change'))
  }

  /** Loads what this browser keeps and, with a neighborhood, starts the peer. */
  async init (pendingInvite?: string): Promise<void> {
    if (pendingInvite !== undefined) this.set({ pendingInvite })
    await this.refresh()
    if (this.snapshot.hoods.length > 0) await this.restartEngine()
  }

  private async refresh (): Promise<void> {
    const me = await this.deps.home.identity()
    const hoods = await this.deps.home.hoods()
    this.set({
      ...(me !== undefined ? { me: { name: me.public.name, fingerprint: fingerprint(me.public.signKey) } } : {}),
      hoods: hoods.map(h => ({ id: toHex(h.hood.id), name: h.hood.name, area: h.hood.area })),
      phase: me === undefined ? 'welcome' : hoods.length === 0 ? 'no-hood' : 'feed'
    })
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

  async createHood (name: string, area: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.requireMe()
      const relays = this.deps.pageRelay !== undefined ? [this.deps.pageRelay] : []
      const c = await createHood(this.deps.home, me, name, area, relays, this.now())
      this.set({ created: { name: c.state.hood.name, link: inviteLink(this.deps.origin, c.invite), relayToken: c.relayToken } })
      await this.refresh()
      await this.restartEngine()
      await this.engine!.announceJoin(toHex(c.state.hood.id), {})
    })
  }

  async join (inviteText: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.requireMe()
      const inv = await readInvite(inviteText, this.now())
      const state = await saveJoin(this.deps.home, me, inv, this.now())
      this.set({ pendingInvite: undefined })
      await this.refresh()
      await this.restartEngine()
      // Tell the neighborhood who joined, with the admin's admission when an admin invited us;
      // without a relay it waits in the outbox.
      await this.engine!.announceJoin(toHex(state.hood.id), {
        via: inv.inviter.signKey, ...(inv.admission !== undefined ? { admission: inv.admission, inviteKey: inv.inviteKey! } : {})
      })
    })
  }

  async post (kind: PostKind, text: string, pub: boolean, extras: PostExtras = {}): Promise<boolean> {
    return await this.act(async () => {
      if (this.engine === undefined) throw new Error('not connected yet')
      const now = this.now()
      // The clip is encrypted and pinned by the relays first; the post then carries its key.
      const media = extras.clip === undefined ? [] : [(await attachToHood(this.engine, extras.clip, { now, ...(extras.onProgress !== undefined ? { onProgress: extras.onProgress } : {}) })).media]
      const r = await this.engine.post({ kind, text, public: pub, now, media, ...extras.location })
      if (!r.result.ok) {
        this.set({ error: r.result.code === 'UNAVAILABLE' || r.result.code === 'TIMEOUT'
          ? 'No relay reachable: your post waits and goes out when a relay is back.'
          : `The relay refused the post (${r.result.code ?? ''}): ${r.result.message ?? ''}` })
      }
      await this.loadFeed()
    })
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
    this.set({ feed: newestFirst(await this.engine.feed()) })
  }

  private unsubscribe: Array<() => void> = []

  /** (Re)opens the engine on the current neighborhoods (it subscribes to topics when it starts). */
  private async restartEngine (): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u()
    if (this.engine !== undefined) await this.engine.stop().catch(() => undefined)
    this.engine = undefined
    this.set({ connection: 'connecting', relaysConnected: 0 })
    const engine = await this.deps.openEngine()
    this.engine = engine
    this.unsubscribe.push(engine.onPost(post => {
      if (this.engine !== engine) return
      this.set({ feed: newestFirst([post, ...this.snapshot.feed.filter(p => p.id !== post.id)]) })
    }))
    await this.loadFeed()
    await engine.start()
    const node = engine.node()
    const relayIds = new Set(engine.relays().map(r => r.split('/p2p/')[1]).filter((x): x is string => x !== undefined))
    const update = (): void => {
      if (this.engine !== engine) return
      const n = node.getConnections().filter(c => relayIds.has(c.remotePeer.toString())).length
      this.set({ relaysConnected: n, connection: n > 0 ? 'connected' : 'connecting' })
    }
    node.addEventListener('peer:connect', update)
    node.addEventListener('peer:disconnect', update)
    this.unsubscribe.push(engine.stayConnected())
    update()
    await this.loadFeed()
  }

  async stop (): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u()
    await this.engine?.stop()
    this.engine = undefined
  }
}

export function newestFirst (posts: readonly FeedPost[]): FeedPost[] {
  return [...posts].sort((a, b) => b.created - a.created || (a.id < b.id ? -1 : 1))
}
