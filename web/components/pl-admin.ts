/**
 * The admin screen of one neighborhood: members with their fingerprints (approve a pending
 * one; remove one, after a confirm step that says what they can and cannot still read), a
 * fresh invite and the relay token, vouching for agencies and revoking it, and the
 * neighborhood settings (a new post's default expiry and location, requests for assistance
 * for new members). Shown to admins only (pl-app); the logic is web/state/admin.ts.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import type { AppState, Snapshot } from '../state/app-state.ts'
import { expiryChoices, removalAccount, VALIDITY_CHOICES, type AdminView } from '../state/admin.ts'
import { precisionChoices } from '../state/compose.ts'
import { DEFAULT_ATTESTATION_TTL_MS } from '../../protocol/agency.ts'
import type { MemberInfo } from '../../protocol/peer/admin-actions.ts'
import { shared } from './shared-styles.ts'

@customElement('pl-admin')
export class PlAdmin extends LitElement {
  static override styles = [shared, css`
    section { border-top: 1px solid #ccc; margin-top: 1rem; }
    ul.members { list-style: none; padding: 0; }
    ul.members > li { border-bottom: 1px solid #e4e4e4; padding: 0.5rem 0; }
    code { overflow-wrap: anywhere; font-size: 0.9rem; }
    .status { font-size: 0.9rem; color: #3a3a3a; }
    button.secondary { background: #fff; color: #234; }
    button.danger { background: #8a1c1c; border-color: #8a1c1c; }
    .confirm { background: #fff1d6; padding: 0.6rem; border-radius: 6px; }
    .confirm h4 { margin: 0.4rem 0 0.2rem; }
    .notice { background: #eef6ee; padding: 0.5rem 0.8rem; border-radius: 6px; }
  `]

  @property({ attribute: false }) app: AppState | undefined
  @property({ attribute: false }) snapshot: Snapshot | undefined
  /** The member whose removal is being confirmed (hex sign key). */
  @state() private removing: string | undefined
  @state() private copied: 'token' | 'attestation' | undefined
  @query('#agency-key') private agencyKey!: HTMLTextAreaElement
  @query('#agency-name') private agencyName!: HTMLInputElement
  @query('#agency-area') private agencyArea!: HTMLInputElement
  @query('#validity') private validity!: HTMLSelectElement
  @query('#default-expiry') private expirySelect!: HTMLSelectElement
  @query('#default-precision') private precisionSelect!: HTMLSelectElement
  @query('#rfas-new') private rfasBox!: HTMLInputElement

  override render () {
    const s = this.snapshot
    const v = s?.admin
    if (s === undefined || v === undefined) return html`<p>Loading…</p>`
    return html`
      <h2>Admin: ${v.name}</h2>
      <div aria-live="polite">${s.adminNotice !== undefined ? html`<p class="notice">${s.adminNotice}</p>` : nothing}</div>
      ${this.members(v, s.busy)}
      <section aria-labelledby="invite-title">
        <h3 id="invite-title">Invites and relays</h3>
        <p class="note">An invite admits one person and holds the neighborhood key: make one per neighbor.</p>
        <button type="button" ?disabled=${s.busy} @click=${() => { void this.app?.invite(v.hoodId) }}>New invite</button>
        <label for="admin-token">Relay token for community relays</label>
        <textarea id="admin-token" readonly .value=${v.relayToken}></textarea>
        <button type="button" class="secondary" @click=${() => { void this.copy('token', v.relayToken) }}>Copy relay token</button>
        <span aria-live="polite">${this.copied === 'token' ? 'Copied' : ''}</span>
        <p class="note">A community relay's operator runs <code>porchlight relay --serve TOKEN</code>. It lets the relay carry the
          neighborhood's posts (and the area's public channel); it cannot read them. After a removal, give relays not named in
          the invite a fresh token.</p>
      </section>
      ${this.agencies(v, s)}
      ${this.settings(v, s.busy)}`
  }

  private members (v: AdminView, busy: boolean) {
    return html`
      <section aria-labelledby="members-title">
        <h3 id="members-title">Members</h3>
        <p class="note">Compare a fingerprint with the person before you approve or remove them: names can look alike.</p>
        <ul class="members">${v.members.map(m => html`
          <li>
            <strong>${m.name}</strong>${m.me ? ' (you)' : ''}
            <span class="status">${m.admin ? 'Admin' : m.admitted ? 'Admitted' : 'Awaiting approval'}</span><br>
            <span class="note">Fingerprint</span> <code>${m.fingerprint}</code>
            ${m.lookAlike ? html`<br><span class="status">This name looks like another member's: check the fingerprint.</span>` : nothing}
            ${m.formerName !== undefined ? html`<br><span class="status">Formerly ${m.formerName}</span>` : nothing}
            ${this.memberActions(v, m, busy)}
          </li>`)}
        </ul>
        ${v.removed.length > 0 ? html`
          <h4>Removed or left</h4>
          <ul>${v.removed.map(r => html`<li><code>${r.fingerprint}</code> ${new Date(r.at).toLocaleDateString()}, from epoch ${r.epoch}</li>`)}</ul>` : nothing}
      </section>`
  }

  private memberActions (v: AdminView, m: MemberInfo, busy: boolean) {
    if (!v.admin || m.me || m.admin) return nothing
    const approve = m.admitted ? nothing : html`<button type="button" ?disabled=${busy} @click=${() => { void this.app?.approveMember(m.signKey) }}>Approve ${m.name}</button> `
    if (this.removing !== m.signKey) {
      return html`<div>${approve}<button type="button" class="secondary" ?disabled=${busy} @click=${() => { this.removing = m.signKey }}>Remove ${m.name}</button></div>`
    }
    const account = removalAccount(v, m)
    return html`
      <div class="confirm" role="group" aria-label=${`Confirm removing ${m.name}`}>
        <p>Remove ${m.name} (<code>${m.fingerprint}</code>)? The neighborhood changes its key without them.</p>
        <h4>What ${m.name} can still read</h4>
        <ul>${account.canStill.map(t => html`<li>${t}</li>`)}</ul>
        <h4>What ${m.name} cannot read</h4>
        <ul>${account.cannot.map(t => html`<li>${t}</li>`)}</ul>
        ${account.alsoLeftOut !== undefined ? html`<p><strong>${account.alsoLeftOut}</strong></p>` : nothing}
        <button type="button" class="danger" ?disabled=${busy} @click=${() => { this.removing = undefined; void this.app?.removeMember(m.signKey) }}>Yes, remove ${m.name}</button>
        <button type="button" class="secondary" @click=${() => { this.removing = undefined }}>Cancel</button>
      </div>`
  }

  private agencies (v: AdminView, s: Snapshot) {
    return html`
      <section aria-labelledby="agencies-title">
        <h3 id="agencies-title">Agencies</h3>
        <p class="note">Vouching tells your members that requests for assistance signed with this key come from the agency you
          name. Compare its fingerprint with the agency in person first. The attestation is public: it names your key, the
          agency, its area and expiry, not your neighborhood.</p>
        <form @submit=${this.attest}>
          <label for="agency-key">Agency's public identity (plid:…)</label>
          <textarea id="agency-key" required aria-describedby="agency-key-help"></textarea>
          <p class="note" id="agency-key-help">The agency prints it with <code>porchlight id export-public</code>.</p>
          <label for="agency-name">Name you vouch for</label>
          <input id="agency-name" type="text" maxlength="64" placeholder="The agency's own name" aria-describedby="agency-name-help">
          <p class="note" id="agency-name-help">Leave empty to use the name the agency gave itself.</p>
          <label for="agency-area">Area it serves (geohash)</label>
          <input id="agency-area" type="text" maxlength="6" .placeholder=${v.area} aria-describedby="agency-area-help">
          <p class="note" id="agency-area-help">Leave empty for the neighborhood's area, ${v.area}.</p>
          <label for="validity">Valid for</label>
          <select id="validity">${VALIDITY_CHOICES.map(c => html`<option value=${c.ms} ?selected=${c.ms === DEFAULT_ATTESTATION_TTL_MS}>${c.label}</option>`)}</select>
          <button type="submit" ?disabled=${s.busy}>Vouch for this agency</button>
        </form>
        ${s.attested !== undefined ? html`
          <label for="attestation">Attestation for ${s.attested.name}</label>
          <textarea id="attestation" readonly .value=${s.attested.attestation} aria-describedby="attestation-help"></textarea>
          <p class="note" id="attestation-help">Give it to the agency: it runs <code>porchlight agency add-attestation</code> with it.</p>
          <button type="button" class="secondary" @click=${() => { void this.copy('attestation', s.attested!.attestation) }}>Copy attestation</button>
          <span aria-live="polite">${this.copied === 'attestation' ? 'Copied' : ''}</span>` : nothing}
        <h4>Attestations you issued</h4>
        ${v.attestations.length === 0
          ? html`<p class="note">None yet.</p>`
          : html`<ul class="members">${v.attestations.map(a => html`
            <li>
              <strong>${a.name}</strong> <span class="status">${a.revoked ? 'Revoked' : a.expired ? 'Expired' : 'Vouched'}</span><br>
              <span class="note">Agency fingerprint</span> <code>${a.agencyFingerprint}</code><br>
              <span class="note">Area ${a.area}, until ${new Date(a.expires).toLocaleDateString()}</span>
              ${a.revoked ? nothing : html`<div><button type="button" class="secondary" ?disabled=${s.busy} @click=${() => { void this.app?.revokeAttestation(a.id) }}>Revoke ${a.name}</button></div>`}
            </li>`)}</ul>`}
      </section>`
  }

  private settings (v: AdminView, busy: boolean) {
    const choices = precisionChoices(v.area)
    return html`
      <section aria-labelledby="settings-title">
        <h3 id="settings-title">Neighborhood settings</h3>
        <form @submit=${this.saveSettings}>
          <label for="default-expiry">New posts expire after</label>
          <select id="default-expiry">${expiryChoices(v.settings.postTtlMs).map(c => html`<option value=${c.ms} ?selected=${c.ms === v.settings.postTtlMs}>${c.label}</option>`)}</select>
          <label for="default-precision">New posts' location</label>
          <select id="default-precision">${choices.map(c => html`<option value=${c.precision} ?selected=${c.precision === v.settings.precision}>${c.label}</option>`)}</select>
          <div class="row">
            <input id="rfas-new" type="checkbox" .checked=${v.settings.rfasForNewMembers}>
            <label for="rfas-new">Show agencies' requests for assistance to new members</label>
          </div>
          <button type="submit" ?disabled=${busy}>Save settings</button>
        </form>
        <p class="note">These are the composer's defaults for every member; a post's author can still change them. Saving sends
          them to every member, signed by you (the newest change from any admin wins). Members who chose for themselves whether to
          see agencies' requests keep their choice.</p>
      </section>`
  }

  private attest (e: Event): void {
    e.preventDefault()
    void this.app?.attestAgency({
      agency: this.agencyKey.value, name: this.agencyName.value, area: this.agencyArea.value, validityMs: Number(this.validity.value)
    }).then(ok => { if (ok) { this.agencyKey.value = ''; this.agencyName.value = ''; this.agencyArea.value = '' } })
  }

  private saveSettings (e: Event): void {
    e.preventDefault()
    void this.app?.saveHoodSettings({
      postTtlMs: Number(this.expirySelect.value), precision: Number(this.precisionSelect.value), rfasForNewMembers: this.rfasBox.checked
    })
  }

  private async copy (what: 'token' | 'attestation', text: string): Promise<void> {
    await navigator.clipboard.writeText(text)
    this.copied = what
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-admin': PlAdmin }
}
