/** First run: make an identity (a display name; the keys stay in this browser). */
import { LitElement, html } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'

export interface CreateIdentityDetail { name: string }

@customElement('pl-welcome')
export class PlWelcome extends LitElement {
  static override styles = shared

  @property({ type: Boolean }) busy = false
  @query('#name') private nameInput!: HTMLInputElement

  override render () {
    return html`
      <h1>Welcome to Porchlight</h1>
      <p>Alerts for your neighborhood, encrypted end to end: only your neighbors can read them.</p>
      <form @submit=${this.submit}>
        <label for="name">Display name</label>
        <input id="name" type="text" autocomplete="nickname" required maxlength="64">
        <p class="note">Neighbors see this name beside your posts. Your keys are made and kept in this browser.</p>
        <button type="submit" ?disabled=${this.busy}>Create identity</button>
      </form>`
  }

  private submit (e: Event): void {
    e.preventDefault()
    const name = this.nameInput.value.trim()
    if (name === '') return
    this.dispatchEvent(new CustomEvent<CreateIdentityDetail>('create-identity', { detail: { name }, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-welcome': PlWelcome }
  interface HTMLElementEventMap { 'create-identity': CustomEvent<CreateIdentityDetail> }
}
