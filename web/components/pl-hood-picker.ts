/** The neighborhood shown, when the resident is in several. */
import { LitElement, html } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'

export interface PickHoodDetail { id: string }

@customElement('pl-hood-picker')
export class PlHoodPicker extends LitElement {
  static override styles = shared

  @property({ attribute: false }) hoods: ReadonlyArray<{ id: string, name: string }> = []
  @property() selected = ''

  override render () {
    return html`
      <label for="hood">Neighborhood</label>
      <select id="hood" @change=${this.pick}>
        ${this.hoods.map(h => html`<option value=${h.id} ?selected=${h.id === this.selected}>${h.name}</option>`)}
      </select>`
  }

  private pick (e: Event): void {
    const id = (e.target as HTMLSelectElement).value
    this.dispatchEvent(new CustomEvent<PickHoodDetail>('pick-hood', { detail: { id }, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-hood-picker': PlHoodPicker }
  interface HTMLElementEventMap { 'pick-hood': CustomEvent<PickHoodDetail> }
}
