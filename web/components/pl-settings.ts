/**
 * Settings: the display name (a rename keeps the keys and tells the neighborhoods), the
 * relays in use, notifications (permission asked only from a click here), whether agency
 * requests are shown (the engine's setting, as `porchlight settings rfa`), key backups, and
 * per neighborhood a fresh invite and its admin screen (admins), and leaving.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { live } from 'lit/directives/live.js'
import type { AppState, Snapshot } from '../state/app-state.ts'
import type { SettingsStore } from '../state/settings.ts'
import { requestPermission } from '../state/notifications.ts'
import { shared } from './shared-styles.ts'
import './pl-backup.ts'
import './pl-join.ts'
import './pl-create-hood.ts'

/** The admin screen of a neighborhood, asked for from its entry here (pl-app opens it). */
export interface OpenAdminDetail { id: string }

@customElement('pl-settings')
export class PlSettings extends LitElement {
  static override styles = [shared, css`
    section { border-top: 1px solid #ccc; margin-top: 1rem; }
    code { overflow-wrap: anywhere; font-size: 0.85rem; }
    button.secondary { background: #fff; color: #234; }
    .confirm { background: #fff1d6; padding: 0.6rem; border-radius: 6px; }
  `]

  @property({ attribute: false }) app: AppState | undefined
  @property({ attribute: false }) snapshot: Snapshot | undefined
  @property({ attribute: false }) settings: SettingsStore | undefined
  @state() private leaving: string | undefined
  @state() private permission = (globalThis as { Notification?: typeof Notification }).Notification?.permission ?? 'unsupported'
  @query('#display-name') private nameInput!: HTMLInputElement

  private readonly onSettings = (): void => { this.requestUpdate() }

  override connectedCallback (): void {
    super.connectedCallback()
    this.settings?.addEventListener('change', this.onSettings)
  }

  override disconnectedCallback (): void {
    this.settings?.removeEventListener('change', this.onSettings)
    super.disconnectedCallback()
  }

  override render () {
    const s = this.snapshot
    if (s === undefined) return nothing
    const active = s.hoods.filter(h => !h.left)
    return html`
      <h2>Settings</h2>
      <section aria-labelledby="name-title">
        <h3 id="name-title">Your name</h3>
        <form @submit=${this.rename}>
          <label for="display-name">Display name</label>
          <input id="display-name" type="text" required maxlength="64" .value=${s.me?.name ?? ''}>
          <p class="note">Your fingerprint stays ${s.me?.fingerprint ?? ''}; neighbors see your former name beside the new one for 30 days.</p>
          <button type="submit" ?disabled=${s.busy}>Rename</button>
        </form>
      </section>
      <section aria-labelledby="notify-title">
        <h3 id="notify-title">Notifications</h3>
        ${this.notifications()}
      </section>
      <section aria-labelledby="requests-title">
        <h3 id="requests-title">Agency requests</h3>
        <div class="row">
          <input id="show-requests" type="checkbox" role="switch" .checked=${live(s.showRequests !== false)} ?disabled=${s.busy}
            @change=${(e: Event) => { void this.app?.showRequests((e.target as HTMLInputElement).checked) }}>
          <label for="show-requests">Show requests from agencies</label>
        </div>
        <p class="note">Agencies (police, fire, the city) can ask residents of an area for help. Turned off, their requests are never shown in your
          feed and never notified, from now on until you turn this back on. Nothing is sent when you change it: agencies do not learn it.</p>
      </section>
      <section aria-labelledby="hoods-title">
        <h3 id="hoods-title">Neighborhoods</h3>
        ${active.map(h => html`
          <h4>${h.name}${h.admin ? ' (admin)' : ''}</h4>
          <p>Relays in use:</p>
          <ul>${h.relays.map(r => html`<li><code>${r}</code></li>`)}</ul>
          ${h.admin ? html`<button type="button" @click=${() => { void this.app?.invite(h.id) }} ?disabled=${s.busy}>New invite to ${h.name}</button>
            <button type="button" class="secondary" @click=${() => { this.openAdmin(h.id) }}>Manage ${h.name}</button>` : nothing}
          ${this.leaving === h.id
            ? html`<div class="confirm" role="group" aria-label="Confirm leaving">
                <p>Leave ${h.name}? You stop posting there at once; an admin then changes the key without you.</p>
                <button type="button" @click=${() => { this.leaving = undefined; void this.app?.leave(h.id) }}>Yes, leave ${h.name}</button>
                <button type="button" class="secondary" @click=${() => { this.leaving = undefined }}>Cancel</button></div>`
            : html`<button type="button" class="secondary" @click=${() => { this.leaving = h.id }}>Leave ${h.name}</button>`}`)}
        ${s.hoods.some(h => h.left) ? html`<p class="note">Left: ${s.hoods.filter(h => h.left).map(h => h.name).join(', ')}</p>` : nothing}
      </section>
      <section aria-labelledby="more-title">
        <h3 id="more-title">Another neighborhood</h3>
        <pl-join ?busy=${s.busy}></pl-join>
        <pl-create-hood ?busy=${s.busy}></pl-create-hood>
      </section>
      <section aria-labelledby="backup-title">
        <h3 id="backup-title">Key backup</h3>
        <pl-backup .app=${this.app}></pl-backup>
      </section>`
  }

  private notifications () {
    const prefs = this.settings?.prefs ?? { enabled: false, previews: false }
    if (this.permission === 'unsupported') return html`<p class="note">This browser does not show notifications.</p>`
    if (this.permission === 'denied') return html`<p class="note">Notifications are blocked for this site in the browser's settings.</p>`
    return html`
      <p class="note">A notification says "New post in" and the neighborhood's name when a post arrives while Porchlight is in the background.</p>
      ${prefs.enabled && this.permission === 'granted'
        ? html`<button type="button" class="secondary" @click=${() => { this.settings?.update({ enabled: false }) }}>Turn off notifications</button>`
        : html`<button type="button" @click=${this.enable}>Turn on notifications</button>`}
      <div class="row">
        <input id="previews" type="checkbox" .checked=${prefs.previews} @change=${(e: Event) => { this.settings?.update({ previews: (e.target as HTMLInputElement).checked }) }}>
        <label for="previews">Show the post's text in notifications</label>
      </div>
      <p class="note">Off by default: the text would show on your lock screen.</p>`
  }

  private openAdmin (id: string): void {
    this.dispatchEvent(new CustomEvent<OpenAdminDetail>('open-admin', { detail: { id }, bubbles: true, composed: true }))
  }

  private async enable (): Promise<void> {
    this.permission = await requestPermission()
    if (this.permission === 'granted') this.settings?.update({ enabled: true })
  }

  private rename (e: Event): void {
    e.preventDefault()
    const name = this.nameInput.value.trim()
    if (name === '' || name === this.snapshot?.me?.name) return
    void this.app?.rename(name)
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-settings': PlSettings }
  interface HTMLElementEventMap { 'open-admin': CustomEvent<OpenAdminDetail> }
}
