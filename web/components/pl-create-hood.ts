/** Create a neighborhood (you become its admin); afterwards, its invite link and relay token. */
import { LitElement, html } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'

export interface CreateHoodDetail { name: string, area: string }

@customElement('pl-create-hood')
export class PlCreateHood extends LitElement {
  static override styles = shared

  @property({ type: Boolean }) busy = false
  @query('#hood-name') private nameInput!: HTMLInputElement
  @query('#area') private areaInput!: HTMLInputElement

  override render () {
    return html`
      <h2>Create a neighborhood</h2>
      <form @submit=${this.submit}>
        <label for="hood-name">Neighborhood name</label>
        <input id="hood-name" type="text" required maxlength="64">
        <label for="area">Area (geohash)</label>
        <input id="area" type="text" required maxlength="6" pattern="[0-9b-hjkmnp-zB-HJKMNP-Z]{1,6}" autocapitalize="none" spellcheck="false">
        <p class="note">A coarse area, 1 to 6 geohash characters (5 is a few kilometres across).</p>
        <button type="submit" ?disabled=${this.busy}>Create neighborhood</button>
      </form>`
  }

  private submit (e: Event): void {
    e.preventDefault()
    this.dispatchEvent(new CustomEvent<CreateHoodDetail>('create-hood', {
      detail: { name: this.nameInput.value.trim(), area: this.areaInput.value.trim() }, bubbles: true, composed: true
    }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-create-hood': PlCreateHood }
  interface HTMLElementEventMap { 'create-hood': CustomEvent<CreateHoodDetail> }
}
