/** One post: kind, author (with a trust label where the engine gives one), a relative time with the exact one in its title. */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { authorLabel } from '../state/labels.ts'
import { kindLabel, trustLabel } from '../state/feed-view.ts'
import { exactTime, relativeTime } from '../state/relative-time.ts'

export interface OpenPostDetail { id: string }
import './pl-outbox-badge.ts'
import './pl-clip.ts'

@customElement('pl-post')
export class PlPost extends LitElement {
  static override styles = css`
    :host { display: block; }
    article { border-bottom: 1px solid #ccc; padding: 0.7rem 0; font: 16px/1.4 system-ui, sans-serif; }
    .meta { font-size: 0.85rem; color: #555; }
    .kind { text-transform: uppercase; font-weight: 700; font-size: 0.75rem; letter-spacing: 0.05em; }
    .trust { display: inline-block; font-size: 0.8rem; padding: 0 0.3rem; border-radius: 4px; }
    .verified { background: #e3f3e3; color: #185c18; } .unverified, .caution { background: #fff1d6; color: #6b4700; }
    p { margin: 0.3rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
    button { font: inherit; font-size: 0.9rem; min-height: 44px; padding: 0.3rem 0.9rem; border-radius: 6px; border: 1px solid #444; background: #fff; color: #234; }
    :focus-visible { outline: 3px solid #f90; outline-offset: 2px; }
  `

  @property({ attribute: false }) post: FeedPost | undefined
  /** The time relative times are counted from (the feed ticks it). */
  @property({ type: Number }) now = Date.now()
  @property({ type: Number }) replies = 0
  /** In the feed: an "Open" button leads to the post's thread. */
  @property({ type: Boolean }) openable = false

  override render () {
    const p = this.post
    if (p === undefined) return nothing
    const trust = trustLabel(p)
    return html`
      <article>
        <div class="meta"><span class="kind">${kindLabel(p.kind)}</span> · ${authorLabel(p)}${p.authorFormerName !== undefined ? ` (formerly ${p.authorFormerName})` : ''}
          · <time datetime=${new Date(p.created).toISOString()} title=${exactTime(p.created)}>${relativeTime(p.created, this.now)}</time>${p.channel === 'public' ? ' · public' : ''}
          ${trust !== undefined ? html`<span class="trust ${trust.tone}">${trust.text}</span>` : nothing}<pl-outbox-badge .post=${p}></pl-outbox-badge></div>
        <p>${p.text}</p>
        ${p.media.map((_, i) => html`<pl-clip .post=${p} .index=${i}></pl-clip>`)}
        ${this.openable
          ? html`<div class="meta">${this.replies > 0 ? `${this.replies} repl${this.replies === 1 ? 'y' : 'ies'} · ` : ''}<button type="button" @click=${this.open}>Open</button></div>`
          : nothing}
      </article>`
  }

  private open (): void {
    this.dispatchEvent(new CustomEvent<OpenPostDetail>('open-post', { detail: { id: this.post!.id }, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-post': PlPost }
  interface HTMLElementEventMap { 'open-post': CustomEvent<OpenPostDetail> }
}
