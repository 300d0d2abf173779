/**
 * The agency's inbox: the replies residents sealed to it (only its key opens them), newest
 * first, each with the request it answers, whether its author chose to sign it, its text and
 * its clips (fetched and decrypted in the page when asked, as a post's are).
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { AgencyReplyEntry, FeedPost } from '../../protocol/peer/resident.ts'
import { replyAsPost } from '../state/agency.ts'
import { requestWords } from '../state/agency-view.ts'
import { exactTime } from '../state/relative-time.ts'
import { shared } from './shared-styles.ts'
import { postStyles } from './post-view.ts'
import './pl-clip.ts'

@customElement('pl-agency-inbox')
export class PlAgencyInbox extends LitElement {
  static override styles = [shared, postStyles, css`.empty { color: #555; }`]

  @property({ attribute: false }) replies: readonly AgencyReplyEntry[] = []
  /** The requests held here (to say which one a reply answers). */
  @property({ attribute: false }) requests: readonly FeedPost[] = []

  override render () {
    return html`
      <h2>Inbox</h2>
      <p class="note">Replies residents sealed to this agency: only this agency's key opens them; relays and other
        agencies see an opaque box. They carry no name unless the resident chose to sign.</p>
      <section aria-label="Sealed replies">
        ${this.replies.length === 0
          ? html`<p class="empty">No sealed replies yet.</p>`
          : repeat(this.replies, r => r.id, r => this.reply(r))}
      </section>`
  }

  private reply (r: AgencyReplyEntry) {
    const post = replyAsPost(r)
    return html`
      <article>
        <div class="meta"><span class="kind">Sealed reply</span> · to ${requestWords(r.rfa, this.requests)}
          · <time datetime=${new Date(r.created).toISOString()}>${exactTime(r.created)}</time>
          · ${r.author !== undefined ? `signed by ${r.author.name} (${r.author.fingerprint})` : 'anonymous'}</div>
        <p>${r.text}</p>
        ${r.clips.map((_, i) => html`<pl-clip .post=${post} .index=${i}></pl-clip>`)}
        ${r.clips.length === 0 ? nothing : html`<div class="meta">${r.clips.length} clip${r.clips.length === 1 ? '' : 's'}, end-to-end encrypted for this agency</div>`}
      </article>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-inbox': PlAgencyInbox }
}
