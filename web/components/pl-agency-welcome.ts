/**
 * The welcome screen's second way in: an agency identity (police, fire, city services) instead
 * of a resident's. An agency follows the public channels of areas and posts requests for
 * assistance; it never joins a neighborhood. Shown folded under the resident's form.
 */
import { LitElement, html, css } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'

export interface CreateAgencyDetail { name: string }

@customElement('pl-agency-welcome')
export class PlAgencyWelcome extends LitElement {
  static override styles = [shared, css`
    details { margin-top: 1.5rem; border-top: 1px solid #ccc; padding-top: 0.8rem; }
    summary { cursor: pointer; font-weight: 600; min-height: 44px; display: flex; align-items: center; }
  `]

  @property({ type: Boolean }) busy = false
  @query('#agency-name') private nameInput!: HTMLInputElement

  override render () {
    return html`
      <details>
        <summary>Set up an agency instead (police, fire, city services)</summary>
        <p>An agency follows the public channels of the areas it serves and asks residents for help with requests that
          are public and on the record. It never joins a neighborhood and cannot read residents' private posts.</p>
        <form @submit=${this.submit}>
          <label for="agency-name">Agency name</label>
          <input id="agency-name" type="text" autocomplete="organization" required maxlength="64" aria-describedby="agency-note">
          <p class="note" id="agency-note">Residents see this name beside your requests, marked unverified until admins of
            their neighborhoods vouch for it. Its keys are made and kept in this browser.</p>
          <button type="submit" ?disabled=${this.busy}>Create agency identity</button>
        </form>
      </details>`
  }

  private submit (e: Event): void {
    e.preventDefault()
    const name = this.nameInput.value.trim()
    if (name === '') return
    this.dispatchEvent(new CustomEvent<CreateAgencyDetail>('create-agency', { detail: { name }, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-welcome': PlAgencyWelcome }
  interface HTMLElementEventMap { 'create-agency': CustomEvent<CreateAgencyDetail> }
}
