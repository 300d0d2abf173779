/** Where one of the resident's own posts is: queued (waiting for a relay), sent, or refused (with the reason). */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { ShownPost } from '../engine/outbox-view.ts'

@customElement('pl-outbox-badge')
export class PlOutboxBadge extends LitElement {
  static override styles = css`
    :host { display: inline; font-size: 0.8rem; }
    .queued { color: #7a5200; } .sent { color: #185c18; } .refused { color: #8a1c1c; }
  `

  @property({ attribute: false }) post: ShownPost | undefined

  override render () {
    const o = this.post?.outbox
    if (o === undefined) return nothing
    const text = o.state === 'queued'
      ? 'queued: goes out when a relay answers'
      : o.state === 'sent' ? 'sent' : `refused: ${o.reason}`
    return html` · <span class=${o.state}>${text}</span>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-outbox-badge': PlOutboxBadge }
}
