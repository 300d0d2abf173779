/** The relay connection, announced politely to screen readers (role status). */
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { Connection } from '../state/app-state.ts'
import { statusText } from '../state/labels.ts'

@customElement('pl-status')
export class PlStatus extends LitElement {
  static override styles = css`
    :host { display: block; font: 14px system-ui, sans-serif; padding: 0.3rem 0.8rem; background: #eee; }
    .connected { color: #185c18; } .connecting { color: #7a5200; } .offline { color: #8a1c1c; }
  `

  @property() connection: Connection = 'offline'
  @property({ type: Number }) relays = 0

  override render () {
    return html`<div role="status" class=${this.connection}>${statusText(this.connection, this.relays)}</div>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-status': PlStatus }
}
