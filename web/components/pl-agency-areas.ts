/**
 * The agency's areas and identity: follow and unfollow areas (geohash) through a relay (the
 * page's own by default), the public identity to hand to neighborhood admins, and the
 * attestations they gave back (kept and attached to every request, as `agency add-attestation`).
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import type { AttestationView } from '../state/agency.ts'
import { exactTime } from '../state/relative-time.ts'
import { shared } from './shared-styles.ts'

export interface FollowAreaDetail { area: string, relay: string }

@customElement('pl-agency-areas')
export class PlAgencyAreas extends LitElement {
  static override styles = [shared, css`
    section { margin: 1rem 0 1.5rem; }
    h2 { font-size: 1.1rem; margin: 0.5rem 0; }
    ul { padding-left: 0; list-style: none; }
    li { display: flex; justify-content: space-between; align-items: center; gap: 0.5rem; border-bottom: 1px solid #ddd; padding: 0.2rem 0; flex-wrap: wrap; }
    li button { margin-top: 0; background: #fff; color: #234; }
    textarea.id { font-family: ui-monospace, monospace; font-size: 0.8rem; min-height: 6rem; overflow-wrap: anywhere; }
    code { overflow-wrap: anywhere; }
    .expired { color: #6b4700; }
  `]

  @property({ attribute: false }) areas: readonly string[] = []
  @property({ attribute: false }) relays: readonly string[] = []
  @property() pageRelay = ''
  @property({ attribute: false }) me: { name: string, fingerprint: string, publicId: string } | undefined
  @property({ attribute: false }) attestations: readonly AttestationView[] = []
  @property({ type: Boolean }) busy = false
  @query('#follow-area') private areaInput!: HTMLInputElement
  @query('#follow-relay') private relayInput!: HTMLInputElement
  @query('#attestation') private attestationInput!: HTMLTextAreaElement

  override render () {
    return html`
      <section aria-labelledby="areas-h">
        <h2 id="areas-h">Areas you follow</h2>
        ${this.areas.length === 0
          ? html`<p>None yet. Follow the areas you serve to see what residents share publicly there and to post requests.</p>`
          : html`<ul>${this.areas.map(a => html`<li><code>${a}</code>
              <button type="button" ?disabled=${this.busy} aria-label=${`Unfollow ${a}`} @click=${() => { this.emit('unfollow-area', { area: a }) }}>Unfollow</button></li>`)}</ul>`}
        ${this.relays.length > 0 ? html`<p class="note">Through ${this.relays.length === 1 ? 'relay' : 'relays'} ${this.relays.map(r => html`<code>${r}</code> `)}</p>` : nothing}
        <form @submit=${this.follow}>
          <label for="follow-area">Area (geohash)</label>
          <input id="follow-area" type="text" required maxlength="6" autocomplete="off" spellcheck="false" placeholder="u4pru" aria-describedby="follow-note">
          <label for="follow-relay">Relay address (optional)</label>
          <input id="follow-relay" type="text" autocomplete="off" spellcheck="false" aria-describedby="follow-note">
          <p class="note" id="follow-note">A geohash of 1 to 6 characters (5 is about 5 km across). The relay defaults to the one
            that served this page${this.pageRelay !== '' ? html`: <code>${this.pageRelay}</code>` : ''}.</p>
          <button type="submit" ?disabled=${this.busy}>Follow</button>
        </form>
      </section>
      <section aria-labelledby="id-h">
        <h2 id="id-h">Public identity</h2>
        ${this.me !== undefined ? html`
          <p>${this.me.name}, fingerprint <strong>${this.me.fingerprint}</strong></p>
          <label for="public-id">Your public identity</label>
          <textarea id="public-id" class="id" readonly aria-describedby="public-id-note" .value=${this.me.publicId}></textarea>
          <p class="note" id="public-id-note">Hand this to the admins of the neighborhoods you serve. They compare the fingerprint
            with you in person, then vouch for this agency (<code>porchlight hood attest-agency</code>) and give you an attestation.</p>
          <button type="button" @click=${this.copy}>Copy public identity</button>` : nothing}
      </section>
      <section aria-labelledby="att-h">
        <h2 id="att-h">Attestations</h2>
        ${this.attestations.length === 0
          ? html`<p>No admin has vouched for this agency here yet: residents see your requests as from an unverified agency.</p>`
          : html`<ul>${this.attestations.map(a => html`<li><span>${a.name}, area <code>${a.area}</code>, vouched for by admin ${a.adminFingerprint}
              <span class=${a.expired ? 'expired' : ''}>${a.expired ? `expired ${exactTime(a.expires)}` : `until ${exactTime(a.expires)}`}</span></span></li>`)}</ul>`}
        <form @submit=${this.addAttestation}>
          <label for="attestation">Attestation from an admin</label>
          <textarea id="attestation" class="id" required spellcheck="false" placeholder="plattest:…" aria-describedby="att-note"></textarea>
          <p class="note" id="att-note">Attached to every request for an area it covers, so residents of that admin's neighborhood see who vouched.</p>
          <button type="submit" ?disabled=${this.busy}>Add attestation</button>
        </form>
      </section>`
  }

  private emit<T> (name: string, detail: T): void {
    this.dispatchEvent(new CustomEvent<T>(name, { detail, bubbles: true, composed: true }))
  }

  private follow (e: Event): void {
    e.preventDefault()
    const area = this.areaInput.value.trim()
    if (area === '') return
    this.emit<FollowAreaDetail>('follow-area', { area, relay: this.relayInput.value.trim() })
    this.areaInput.value = ''
  }

  private addAttestation (e: Event): void {
    e.preventDefault()
    const text = this.attestationInput.value.trim()
    if (text === '') return
    this.emit<{ text: string }>('add-attestation', { text })
    this.attestationInput.value = ''
  }

  private copy (): void {
    if (this.me === undefined) return
    void navigator.clipboard?.writeText(this.me.publicId).catch(() => undefined)
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-areas': PlAgencyAreas }
  interface HTMLElementEventMap {
    'follow-area': CustomEvent<FollowAreaDetail>
    'unfollow-area': CustomEvent<{ area: string }>
    'add-attestation': CustomEvent<{ text: string }>
  }
}
