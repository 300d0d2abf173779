/** The feed: posts newest first (the state sorts them). */
import { LitElement, html, css } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import './pl-post.ts'

@customElement('pl-feed')
export class PlFeed extends LitElement {
  static override styles = css`:host { display: block; } .empty { color: #555; font: 16px system-ui, sans-serif; }`

  @property({ attribute: false }) posts: readonly FeedPost[] = []

  override render () {
    return html`
      <section aria-label="Feed">
        ${this.posts.length === 0
          ? html`<p class="empty">No posts yet.</p>`
          : repeat(this.posts, p => p.id, p => html`<pl-post .post=${p}></pl-post>`)}
      </section>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-feed': PlFeed }
}
