/**
 * Agency mode's state, outside the components: an agency identity (made here, kept in
 * IndexedDB as the Node home keeps it: the identity, and the 'pl/home-agency' state whose
 * presence makes it an agency's), the areas it follows and the relays it asks, the
 * attestations admins gave it, and over the engine (protocol/peer/resident.ts, as for a
 * resident) the public feed of those areas, its requests for assistance and the replies sealed
 * to it. Components read `snapshot` and call the actions; every change fires 'change'.
 *
 * What an agency reads is what the area channels carry: public posts and requests. It holds no
 * neighborhood key, so residents' private posts never reach it, and the sealed replies it shows
 * are those its own box key opens (the engine tries it on each one).
 */
import { isPorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { fingerprint } from '../../protocol/identity.ts'
import { attestationIssued, verifyAttestation } from '../../protocol/agency.ts'
import { checkRelayAddrs } from '../../protocol/invite.ts'
import { withAgencyAttestation, withAgencyRelays, withFollowedAreas, withoutFollowedAreas, type AgencyState } from '../../protocol/hood-state.ts'
import type { AgencyReplyEntry, FeedPost, ResidentPeer } from '../../protocol/peer/resident.ts'
import type { ClipView } from '../engine/clips.ts'
import { watchRelayConnections } from './relay-connections.ts'
import { formatAttestationShort, readArea, rfaText, type RfaDraft } from './agency-view.ts'
import { formatPublicIdentity, parseAttestationString } from '../../protocol/public-strings.ts'
import { newestFirst, type Connection } from './app-state.ts'
import type { AgencyHome } from './agency-identity.ts'


/** What agency mode uses of the engine (the browser's ResidentPeer). */
export type AgencyEngine = Pick<ResidentPeer, 'start' | 'stop' | 'feed' | 'onPost' | 'node' | 'stayConnected' | 'relays' | 'sync' | 'agencyReplies' | 'rfa' | 'clips'>

export interface AgencyDeps {
  home: AgencyHome
  openEngine: () => Promise<AgencyEngine>
  /** The relay that served the page: the default relay to follow areas through. */
  pageRelay?: Promise<string | undefined>
  now?: () => number
  /** How often the feed and the inbox are read again (sealed replies come without an event). @default AGENCY_REFRESH_MS */
  refreshMs?: number
  /** Fetches a clip of a reply for the page (web/engine/clips.ts openClipUrl); loaded lazily by default. */
  openClip?: (engine: AgencyEngine, post: FeedPost, index: number) => Promise<ClipView>
}

export const AGENCY_REFRESH_MS = 3000

export interface AttestationView {
  /** The attestation as an admin handed it ('plattest:…', shortened). */
  short: string
  name: string
  area: string
  adminFingerprint: string
  expires: number
  /** Expired (kept until the next one is added, but no request carries it). */
  expired: boolean
}

export interface AgencySnapshot {
  phase: 'loading' | 'ready'
  me?: { name: string, fingerprint: string, publicId: string }
  areas: string[]
  relays: string[]
  /** The relay that served the page (the default for following), if known. */
  pageRelay?: string
  attestations: AttestationView[]
  /** Public posts and requests of the followed areas, newest first. */
  feed: FeedPost[]
  /** Replies sealed to this agency, newest first. */
  replies: AgencyReplyEntry[]
  connection: Connection
  relaysConnected: number
  /** What became of the last request published from this page. */
  sent?: { id: string, area: string, ok: boolean, message: string }
  /** A short note after an action that worked ("Following u4pru"). */
  notice?: string
  error?: string
  busy: boolean
}

export class AgencyApp extends EventTarget {
  snapshot: AgencySnapshot = { phase: 'loading', areas: [], relays: [], attestations: [], feed: [], replies: [], connection: 'offline', relaysConnected: 0, busy: false }
  private engine: AgencyEngine | undefined
  private readonly subs: Array<() => void> = []
  private readonly now: () => number
  private stopped = false

  constructor (private readonly deps: AgencyDeps) {
    super()
    this.now = deps.now ?? Date.now
  }

  private set (patch: Partial<AgencySnapshot>): void {
    this.snapshot = { ...this.snapshot, ...patch }
    this.dispatchEvent(new Event('change'))
  }

  /** Reads the home, then starts the engine if there are areas to follow. */
  async init (): Promise<void> {
    const pageRelay = await this.deps.pageRelay
    this.set({ ...(pageRelay !== undefined ? { pageRelay } : {}) })
    await this.refresh()
    this.set({ phase: 'ready' })
    if (this.snapshot.areas.length > 0) await this.act(async () => { await this.restartEngine() }, false)
  }

  private async state (): Promise<AgencyState> {
    return (await this.deps.home.agency()) ?? { areas: [] }
  }

  private async refresh (): Promise<void> {
    const me = await this.deps.home.identity()
    const state = await this.state()
    const now = this.now()
    const attestations: AttestationView[] = []
    for (const bytes of state.attestations ?? []) {
      // Kept ones were verified when added; one expired since is shown as of when it was issued.
      const current = await verifyAttestation(bytes, now).catch(() => undefined)
      const att = current ?? await verifyAttestation(bytes, attestationIssued(bytes)).catch(() => undefined)
      if (att === undefined) continue
      attestations.push({
        short: formatAttestationShort(bytes), name: att.name, area: att.area, adminFingerprint: fingerprint(att.hoodAdmin),
        expires: att.expires, expired: current === undefined
      })
    }
    this.set({
      ...(me !== undefined ? { me: { name: me.public.name, fingerprint: fingerprint(me.public.signKey), publicId: formatPublicIdentity(me.public) } } : {}),
      areas: [...state.areas],
      relays: [...(state.relays ?? [])],
      attestations
    })
  }

  /** Runs an action, showing it as busy and any failure as `error`. */
  private async act (what: () => Promise<void>, busy = true): Promise<boolean> {
    if (busy) this.set({ busy: true, error: undefined, notice: undefined })
    try {
      await what()
      return true
    } catch (err) {
      this.set({ error: isPorchlightError(err) ? err.message : (err as Error)?.message ?? String(err) })
      return false
    } finally {
      if (busy) this.set({ busy: false })
    }
  }

  /**
   * Follows an area's public channel through `relay` (default: the relay that served the
   * page), as `porchlight agency follow AREA --relay R`; the engine restarts on the new topics
   * and catches up on what the relays kept.
   */
  async follow (areaText: string, relayText = ''): Promise<boolean> {
    return await this.act(async () => {
      const area = readArea(areaText)
      const relay = relayText.trim() !== '' ? relayText.trim() : this.snapshot.pageRelay
      if (relay === undefined) throw new Error('no relay known: give a relay address, or open the app from a relay\'s address')
      checkRelayAddrs([relay])
      await this.deps.home.saveAgency(withAgencyRelays(withFollowedAreas(await this.state(), [area]), [relay]))
      await this.refresh()
      this.set({ notice: `Following area ${area}.` })
      await this.restartEngine()
    })
  }

  /** Stops following an area (its posts already here stay until they expire). */
  async unfollow (area: string): Promise<boolean> {
    return await this.act(async () => {
      await this.deps.home.saveAgency(withoutFollowedAreas(await this.state(), [area]))
      await this.refresh()
      this.set({ notice: `No longer following area ${area}.` })
      await this.restartEngine()
    })
  }

  /**
   * Keeps an attestation an admin gave this agency ('plattest:…'), as `porchlight agency
   * add-attestation`: verified now, for this agency's key; expired ones are dropped.
   */
  async addAttestation (text: string): Promise<boolean> {
    return await this.act(async () => {
      const me = await this.deps.home.identity()
      if (me === undefined) throw new Error('create the agency identity first')
      const bytes = parseAttestationString(text)
      const now = this.now()
      const att = await verifyAttestation(bytes, now)
      if (toHex(att.agency.signKey) !== toHex(me.public.signKey)) throw new Error('this attestation vouches for another key, not this agency\'s')
      const state = await this.state()
      const kept: Uint8Array[] = []
      for (const b of state.attestations ?? []) if (await verifyAttestation(b, now).then(() => true, () => false)) kept.push(b)
      await this.deps.home.saveAgency(withAgencyAttestation({ ...state, attestations: kept }, bytes))
      await this.refresh()
      this.set({ notice: `Kept: ${att.name}, area ${att.area}, vouched for by ${fingerprint(att.hoodAdmin)}.` })
    })
  }

  /** Publishes a request for assistance to `area` (text from rfaText: the time window and case reference on fixed lines). */
  async postRfa (area: string, draft: RfaDraft): Promise<boolean> {
    return await this.act(async () => {
      const a = readArea(area)
      const text = rfaText(draft)
      if (this.engine === undefined) throw new Error('not connected yet: follow an area first')
      const r = await this.engine.rfa({ area: a, text, now: this.now() })
      const message = r.result.ok
        ? `Request ${r.id.slice(0, 16)} published to area ${a}.`
        : r.result.code === 'UNAVAILABLE' || r.result.code === 'TIMEOUT'
          ? 'No relay reachable: the request waits and goes out when a relay is back.'
          : `The relay refused the request (${r.result.code ?? ''}): ${r.result.message ?? ''}`
      this.set({ sent: { id: r.id, area: a, ok: r.result.ok, message } })
      await this.load()
    })
  }

  /** Clears the last error and note (the person moved on to another screen). */
  dismiss (): void {
    if (this.snapshot.error !== undefined || this.snapshot.notice !== undefined) this.set({ error: undefined, notice: undefined })
  }

  /** Fetches, decrypts and checks clip `index` of a public post or a sealed reply (replyAsPost), for the page to show. */
  async openClip (post: FeedPost, index: number): Promise<ClipView> {
    if (this.engine === undefined) throw new Error('not connected yet')
    const open = this.deps.openClip ?? (async (e, p, i) => await (await import('../engine/clips.ts')).openClipUrl(e, p, i))
    return await open(this.engine, post, index)
  }

  /** Reads the feed and the inbox again, changing the snapshot only when something came or went. */
  private async load (): Promise<void> {
    const engine = this.engine
    if (engine === undefined) return
    const [feed, replies] = await Promise.all([engine.feed(), engine.agencyReplies()])
    if (this.engine !== engine) return
    const ids = (xs: ReadonlyArray<{ id: string }>): string => xs.map(x => x.id).join()
    const patch: Partial<AgencySnapshot> = {}
    const sorted = newestFirst(feed)
    if (ids(sorted) !== ids(this.snapshot.feed)) patch.feed = sorted
    if (ids(replies) !== ids(this.snapshot.replies)) patch.replies = replies
    if (Object.keys(patch).length > 0) this.set(patch)
  }

  /** (Re)opens the engine on the followed areas (it subscribes to topics when it starts), then catches up. */
  private async restartEngine (): Promise<void> {
    for (const u of this.subs.splice(0)) u()
    const old = this.engine
    this.engine = undefined
    if (old !== undefined) await old.stop().catch(() => undefined)
    if (this.stopped || this.snapshot.areas.length === 0) {
      this.set({ connection: 'offline', relaysConnected: 0 })
      return
    }
    this.set({ connection: 'connecting', relaysConnected: 0 })
    const engine = await this.deps.openEngine()
    this.engine = engine
    // As the timer's: a load can outlive its engine (stopped under it when the areas change).
    this.subs.push(engine.onPost(() => { if (this.engine === engine) void this.load().catch(() => undefined) }))
    const timer = setInterval(() => { if (this.engine === engine) void this.load().catch(() => undefined) }, this.deps.refreshMs ?? AGENCY_REFRESH_MS)
    this.subs.push(() => { clearInterval(timer) })
    await this.load()
    await engine.start()
    this.subs.push(watchRelayConnections(engine, c => { if (this.engine === engine) this.set(c) }))
    this.subs.push(engine.stayConnected())
    // start() connects; what the relays kept for the areas comes by sync.
    await engine.sync()
    await this.load()
  }

  async stop (): Promise<void> {
    this.stopped = true
    for (const u of this.subs.splice(0)) u()
    await this.engine?.stop()
    this.engine = undefined
  }
}

/** A sealed reply as the clip flows take a post (its id, expiry and clips); shown by pl-clip. */
export function replyAsPost (r: AgencyReplyEntry): FeedPost {
  return {
    id: r.id, channel: 'rfa', topic: '', kind: 'reply', text: r.text, created: r.created, expires: r.expires, media: r.clips,
    replyTo: r.rfa, author: '', authorFingerprint: r.author?.fingerprint ?? '', mine: false
  }
}
