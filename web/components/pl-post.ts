/** One post of the feed. */
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { authorLabel } from '../state/labels.ts'
import './pl-clip.ts'

@customElement('pl-post')
export class PlPost extends LitElement {
  static override styles = css`
    :host { display: block; }
    article { border-bottom: 1px solid #ccc; padding: 0.7rem 0; font: 16px/1.4 system-ui, sans-serif; }
    .meta { font-size: 0.85rem; color: #555; }
    .kind { text-transform: uppercase; font-weight: 700; font-size: 0.75rem; letter-spacing: 0.05em; }
    p { margin: 0.3rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  `

  @property({ attribute: false }) post: FeedPost | undefined

  override render () {
    const p = this.post
    if (p === undefined) return html``
    return html`
      <article>
        <div class="meta"><span class="kind">${p.kind}</span> · ${authorLabel(p)} · <time datetime=${new Date(p.created).toISOString()}>${new Date(p.created).toLocaleString()}</time>${p.channel === 'public' ? ' · public' : ''}</div>
        <p>${p.text}</p>
        ${p.media.map((_, i) => html`<pl-clip .post=${p} .index=${i}></pl-clip>`)}
      </article>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-post': PlPost }
}
