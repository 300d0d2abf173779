/**
 * Agency mode's shell (pl-app shows it when this browser's identity is an agency's): the
 * connection, the agency's name, and its screens: the feed of the followed areas, their map,
 * a new request for assistance, the inbox of sealed replies, and the areas and public
 * identity. Loaded only in agency mode (pl-app imports it lazily); the state is web/state/agency.ts.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { AgencyApp, type AgencyDeps, type AgencySnapshot } from '../state/agency.ts'
import { agencyStatusText } from '../state/agency-view.ts'
import { shared } from './shared-styles.ts'
import './pl-agency-feed.ts'
import './pl-agency-rfa.ts'
import './pl-agency-inbox.ts'
import './pl-agency-areas.ts'
import './pl-map.ts'

const VIEWS = [
  { view: 'feed', label: 'Feed' },
  { view: 'map', label: 'Map' },
  { view: 'request', label: 'New request' },
  { view: 'inbox', label: 'Inbox' },
  { view: 'areas', label: 'Areas and identity' }
] as const

type View = typeof VIEWS[number]['view']

@customElement('pl-agency-app')
export class PlAgencyApp extends LitElement {
  static override styles = [shared, css`
    :host { max-width: 40rem; margin: 0 auto; }
    .status { font-size: 14px; padding: 0.3rem 0.8rem; background: #eee; }
    .connected { color: #185c18; } .connecting { color: #7a5200; } .offline { color: #8a1c1c; }
    header { padding: 0.5rem 0.8rem; }
    h1 { font-size: 1.2rem; margin: 0; }
    .badge { display: inline-block; font-size: 0.8rem; padding: 0 0.4rem; border-radius: 4px; background: #e6ecf5; color: #1d3557; margin-left: 0.4rem; vertical-align: middle; }
    nav { display: flex; flex-wrap: wrap; gap: 0.4rem; }
    nav button { margin-top: 0.4rem; background: #fff; color: #234; }
    nav button[aria-current=page] { background: #234; color: #fff; }
    main { padding: 0 0.8rem 2rem; }
    .error { background: #fde8e8; color: #8a1c1c; padding: 0.5rem 0.8rem; border-radius: 6px; }
    .notice { background: #e3f3e3; color: #185c18; padding: 0.5rem 0.8rem; border-radius: 6px; }
  `]

  @property({ attribute: false }) deps: AgencyDeps | undefined
  @state() private s: AgencySnapshot | undefined
  @state() private view: View | undefined
  @state() private mapArea = ''
  private app: AgencyApp | undefined

  private readonly onChange = (): void => { this.s = this.app?.snapshot }

  override connectedCallback (): void {
    super.connectedCallback()
    this.ensureApp()
  }

  // Set before this lazily loaded element was defined, `deps` arrives with the first update, after connectedCallback.
  override willUpdate (): void {
    this.ensureApp()
    // The first screen, once the home is read: the areas until one is followed, else the feed.
    if (this.view === undefined && this.s?.phase === 'ready') this.view = this.s.areas.length === 0 ? 'areas' : 'feed'
  }

  private ensureApp (): void {
    if (this.app !== undefined || this.deps === undefined || !this.isConnected) return
    this.app = new AgencyApp(this.deps)
    this.app.addEventListener('change', this.onChange)
    this.onChange()
    void this.app.init()
  }

  override disconnectedCallback (): void {
    this.app?.removeEventListener('change', this.onChange)
    void this.app?.stop()
    this.app = undefined
    super.disconnectedCallback()
  }

  override render () {
    const s = this.s
    if (s === undefined || this.app === undefined || s.phase === 'loading') return html`<p>Loading…</p>`
    const app = this.app
    const view: View = this.view ?? 'areas'
    return html`
      <div class="status ${s.connection}" role="status">${agencyStatusText(s.connection, s.relaysConnected, s.areas.length)}</div>
      <header>
        <h1>${s.me?.name ?? 'Agency'}<span class="badge">Agency</span></h1>
        <nav aria-label="Agency views">${VIEWS.map(v => html`<button type="button" aria-current=${v.view === view ? 'page' : 'false'}
          @click=${() => { this.view = v.view; app.dismiss() }}>${v.label}${v.view === 'inbox' && s.replies.length > 0 ? ` (${s.replies.length})` : ''}</button>`)}</nav>
      </header>
      <main
        @follow-area=${(e: HTMLElementEventMap['follow-area']) => { void app.follow(e.detail.area, e.detail.relay) }}
        @unfollow-area=${(e: HTMLElementEventMap['unfollow-area']) => { void app.unfollow(e.detail.area) }}
        @add-attestation=${(e: HTMLElementEventMap['add-attestation']) => { void app.addAttestation(e.detail.text) }}
        @send-rfa=${(e: HTMLElementEventMap['send-rfa']) => { void app.postRfa(e.detail.area, e.detail.draft) }}
        @open-clip=${(e: HTMLElementEventMap['open-clip']) => { e.stopPropagation(); e.detail.reply(app.openClip(e.detail.post, e.detail.index)) }}>
        ${s.error !== undefined ? html`<p class="error" role="alert">${s.error}</p>` : nothing}
        ${s.notice !== undefined ? html`<p class="notice">${s.notice}</p>` : nothing}
        ${this.page(view, s)}
      </main>`
  }

  private page (view: View, s: AgencySnapshot) {
    if (view === 'areas') {
      return html`<pl-agency-areas .areas=${s.areas} .relays=${s.relays} .pageRelay=${s.pageRelay ?? ''} .me=${s.me}
        .attestations=${s.attestations} ?busy=${s.busy}></pl-agency-areas>`
    }
    if (view === 'request') return html`<pl-agency-rfa .areas=${s.areas} .sent=${s.sent} ?busy=${s.busy}></pl-agency-rfa>`
    if (view === 'inbox') return html`<pl-agency-inbox .replies=${s.replies} .requests=${s.feed.filter(p => p.channel === 'rfa')}></pl-agency-inbox>`
    if (view === 'map') {
      const area = s.areas.includes(this.mapArea) ? this.mapArea : s.areas[0]
      if (area === undefined) return html`<p>Follow an area to see its map.</p>`
      return html`
        ${s.areas.length > 1 ? html`<label for="map-area">Area shown</label>
          <select id="map-area" @change=${(e: Event) => { this.mapArea = (e.target as HTMLSelectElement).value }}>
            ${s.areas.map(a => html`<option value=${a} ?selected=${a === area}>${a}</option>`)}</select>` : nothing}
        <pl-map .posts=${s.feed.filter(p => p.area !== undefined && (p.area.startsWith(area) || area.startsWith(p.area)))} .area=${area} .hood=${`area ${area}`}></pl-map>`
    }
    return html`<pl-agency-feed .posts=${s.feed} .areas=${s.areas}></pl-agency-feed>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-app': PlAgencyApp }
}
