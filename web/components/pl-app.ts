/** The app shell: the connection status and the page for where this browser is (welcome, join or create, feed). */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { AppState, Snapshot } from '../state/app-state.ts'
import './pl-status.ts'
import './pl-welcome.ts'
import './pl-join.ts'
import './pl-create-hood.ts'
import './pl-compose.ts'
import './pl-feed.ts'
import './pl-hood-picker.ts'
import type { SettingsStore } from '../state/settings.ts'
import type { MapTiles } from '../../protocol/map-tiles.ts'
import type { AgencyDeps } from '../state/agency.ts'

/**
 * Screens that are not on the feed's first paint (settings, admin, backup, the invite card with
 * its QR code, the map): loaded when first shown, or in the background once the page is idle.
 */
let screens: Promise<unknown> | undefined
function loadScreens (): void {
  screens ??= import('./lazy-screens.ts').catch(() => { screens = undefined })
}

/** Agency mode's screens (pl-agency-app and its parts): loaded only for an agency identity. */
let agencyScreens: Promise<unknown> | undefined
function loadAgencyScreens (): void {
  agencyScreens ??= import('./pl-agency-app.ts').catch(() => { agencyScreens = undefined })
}

/** How long after the first screen the other screens start loading. */
const PRELOAD_AFTER_MS = 2000

const VIEWS = [
  { view: 'feed', label: 'Posts' },
  { view: 'map', label: 'Map' },
  { view: 'settings', label: 'Settings' },
  { view: 'admin', label: 'Admin' }
] as const

type View = typeof VIEWS[number]['view']

@customElement('pl-app')
export class PlApp extends LitElement {
  static override styles = css`
    :host { display: block; max-width: 40rem; margin: 0 auto; font: 16px/1.4 system-ui, sans-serif; }
    main { padding: 0 0.8rem 2rem; }
    header { display: flex; justify-content: space-between; align-items: baseline; flex-wrap: wrap; gap: 0.4rem; padding: 0.5rem 0.8rem; }
    nav { display: flex; gap: 0.4rem; }
    h1 { font-size: 1.2rem; margin: 0; }
    .error { background: #fde8e8; color: #8a1c1c; padding: 0.5rem 0.8rem; border-radius: 6px; }
  `

  @property({ attribute: false }) app: AppState | undefined
  @property({ attribute: false }) settings: SettingsStore | undefined
  /** Street map tiles the relay offers for the map (protocol/map-tiles.ts). */
  @property({ attribute: false }) mapTiles: MapTiles | undefined
  /** What agency mode runs on (main.ts): shown instead of the resident's screens for an agency identity. */
  @property({ attribute: false }) agency: AgencyDeps | undefined
  @state() private s: Snapshot | undefined
  /** The page shown once there is a feed: main.ts opens the map for a link ending in #map. */
  @property({ attribute: false }) view: View = 'feed'

  private readonly onChange = (): void => { this.s = this.app?.snapshot }

  override connectedCallback (): void {
    super.connectedCallback()
    this.app?.addEventListener('change', this.onChange)
    this.onChange()
  }

  private preloading = false

  override updated (): void {
    // Once the first screen is drawn (not while the feed is still loading: an idle page waiting
    // for IndexedDB would spend its first paint parsing them), the other screens load in the background.
    if (this.preloading || this.s === undefined || this.s.phase === 'loading') return
    this.preloading = true
    const idle = (globalThis as { requestIdleCallback?: (f: () => void, o?: { timeout: number }) => void }).requestIdleCallback
    setTimeout(() => { if (idle !== undefined) idle(loadScreens, { timeout: 5000 }); else loadScreens() }, PRELOAD_AFTER_MS)
  }

  override disconnectedCallback (): void {
    this.app?.removeEventListener('change', this.onChange)
    super.disconnectedCallback()
  }

  override render () {
    const s = this.s
    if (s === undefined || this.app === undefined) return html`<p>Loading…</p>`
    if (s.phase === 'agency') {
      loadAgencyScreens()
      return html`<pl-agency-app .deps=${this.agency}></pl-agency-app>`
    }
    const hood = s.hoods.find(h => h.id === s.selectedHood)
    const nav = s.phase === 'feed' || (s.phase === 'no-hood' && s.hoods.length > 0)
    return html`
      <pl-status .connection=${s.connection} .relays=${s.relaysConnected}></pl-status>
      <header><h1>${hood?.name ?? 'Porchlight'}</h1>${s.me !== undefined ? html`<span>${s.me.name}</span>` : nothing}
        ${nav ? html`<nav aria-label="Views">${VIEWS.filter(v => v.view !== this.view && (v.view !== 'admin' || adminHood(s) !== undefined))
          .map(v => html`<button type="button" @click=${() => { this.show(v.view) }}>${v.label}</button>`)}</nav>` : nothing}</header>
      <main
        @create-identity=${(e: CustomEvent<{ name: string }>) => { void this.app!.createIdentity(e.detail.name) }}
        @create-agency=${(e: HTMLElementEventMap['create-agency']) => { void this.app!.createAgency(e.detail.name) }}
        @join=${(e: CustomEvent<{ invite: string }>) => { void this.app!.join(e.detail.invite) }}
        @create-hood=${(e: CustomEvent<{ name: string, area: string }>) => { void this.app!.createHood(e.detail.name, e.detail.area) }}
        @send=${(e: HTMLElementEventMap['send']) => { const sent = this.app!.post(e.detail.kind, e.detail.text, e.detail.public, e.detail); e.detail.reply?.(sent) }}
        @open-clip=${(e: HTMLElementEventMap['open-clip']) => { e.detail.reply(this.app!.openClip(e.detail.post, e.detail.index)) }}
        @reply=${(e: HTMLElementEventMap['reply']) => { const sent = this.app!.reply(e.detail.to, e.detail.text, e.detail); e.detail.sent?.(sent) }}
        @reply-audience=${(e: HTMLElementEventMap['reply-audience']) => { e.detail.answer(this.app!.replyAudience(e.detail.to, e.detail.mode)) }}
        @retract=${(e: HTMLElementEventMap['retract']) => { void this.app!.retract(e.detail.id) }}
        @pick-hood=${(e: HTMLElementEventMap['pick-hood']) => { this.app!.selectHood(e.detail.id) }}
        @open-admin=${(e: HTMLElementEventMap['open-admin']) => { this.show('admin', e.detail.id) }}>
        ${s.error !== undefined ? html`<p class="error" role="alert">${s.error}</p>` : nothing}
        ${this.page(s)}
      </main>`
  }

  /** Switches the page; the admin page opens on `hoodId`, else the neighborhood shown (or the first one this identity administers). */
  private show (view: View, hoodId?: string): void {
    this.view = view
    if (view !== 'admin') { this.app!.closeAdmin(); return }
    const id = hoodId ?? adminHood(this.s!)?.id
    if (id !== undefined) void this.app!.openAdmin(id)
  }

  private page (s: Snapshot) {
    if (s.phase === 'loading') return html`<p>Loading…</p>`
    if (s.phase === 'welcome' || s.created !== undefined || this.view !== 'feed') loadScreens()
    if (s.phase === 'welcome') return html`<pl-welcome ?busy=${s.busy}></pl-welcome><pl-backup .app=${this.app} mode="import"></pl-backup><pl-agency-welcome ?busy=${s.busy}></pl-agency-welcome>`
    const invite = s.created !== undefined ? html`<pl-invite-card .name=${s.created.name} .link=${s.created.link} .token=${s.created.relayToken}></pl-invite-card>` : nothing
    if (this.view === 'admin') return s.admin !== undefined ? html`${invite}<pl-admin .app=${this.app} .snapshot=${s}></pl-admin>` : html`<p>Loading…</p>`
    if (this.view === 'settings') return html`${invite}<pl-settings .app=${this.app} .snapshot=${s} .settings=${this.settings}></pl-settings>`
    if (this.view === 'map' && s.phase === 'feed') {
      const shown = s.hoods.find(h => h.id === s.selectedHood && !h.left) ?? s.hoods.find(h => !h.left)!
      return html`<pl-map .posts=${s.feed.filter(p => p.hood === shown.name || (p.hood === undefined && p.area?.startsWith(shown.area) === true))} .area=${shown.area} .hood=${shown.name} .tiles=${this.mapTiles}></pl-map>`
    }
    const join = html`<pl-join .invite=${s.pendingInvite ?? ''} ?busy=${s.busy}></pl-join>`
    if (s.phase === 'no-hood') {
      return html`${join}${s.pendingInvite === undefined ? html`<pl-create-hood ?busy=${s.busy}></pl-create-hood>` : nothing}`
    }
    const active = s.hoods.filter(h => !h.left)
    const hood = active.find(h => h.id === s.selectedHood) ?? active[0]!
    const several = active.length > 1
    return html`
      ${s.pendingInvite !== undefined ? join : nothing}
      ${invite}
      ${several ? html`<pl-hood-picker .hoods=${active} .selected=${hood.id}></pl-hood-picker>` : nothing}
      <pl-compose .hood=${hood.name} .area=${hood.area} .ttl=${hood.postTtlMs} .defaultPrecision=${hood.precision} ?busy=${s.busy}></pl-compose>
      <pl-feed .posts=${s.feed} .week=${this.app!.weekContext(hood.id)} .hood=${several ? hood.name : ''} .area=${several ? hood.area : ''} ?busy=${s.busy}></pl-feed>`
  }
}

/** The neighborhood the admin page opens on: the one shown if this identity administers it, else the first it does. */
function adminHood (s: Snapshot): Snapshot['hoods'][number] | undefined {
  const mine = s.hoods.filter(h => h.admin && !h.left)
  return mine.find(h => h.id === s.selectedHood) ?? mine[0]
}

declare global {
  interface HTMLElementTagNameMap { 'pl-app': PlApp }
}
