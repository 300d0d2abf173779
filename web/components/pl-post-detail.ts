/** A post with its replies as a thread, a reply form, and (for the author) retract with a confirm step. */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { Thread } from '../state/feed-view.ts'
import { shared } from './shared-styles.ts'
import { postStyles, postView } from './post-view.ts'

export interface ReplyDetail { to: FeedPost, text: string }
export interface RetractDetail { id: string }

@customElement('pl-post-detail')
export class PlPostDetail extends LitElement {
  static override styles = [shared, postStyles, css`
    .replies { margin-left: 1.2rem; border-left: 3px solid #ddd; padding-left: 0.8rem; }
    .confirm { background: #fff1d6; padding: 0.6rem; border-radius: 6px; }
    button.secondary { background: #fff; color: #234; }
  `]

  @property({ attribute: false }) thread: Thread = { replies: [] }
  @property({ type: Number }) now = Date.now()
  @property({ type: Boolean }) busy = false
  @state() private confirming = false
  @query('#reply') private replyInput!: HTMLTextAreaElement

  override render () {
    const { post, replies } = this.thread
    return html`
      <button type="button" class="secondary" @click=${this.back}>Back to feed</button>
      ${post === undefined
        ? html`<p class="note" role="note">This post is no longer here: its author retracted it, or it expired.</p>`
        : html`
          ${postView(post, { now: this.now })}
          ${post.mine ? this.retractControls() : nothing}
          <section class="replies" aria-label="Replies">
            ${replies.length === 0 ? html`<p class="note">No replies yet.</p>` : repeat(replies, r => r.id, r => postView(r, { now: this.now }))}
          </section>
          <form @submit=${this.reply}>
            <label for="reply">Your reply</label>
            <textarea id="reply" required maxlength="2000"></textarea>
            <p class="note">Only members of the neighborhood can read replies.</p>
            <button type="submit" ?disabled=${this.busy}>Reply</button>
          </form>`}`
  }

  private retractControls () {
    if (!this.confirming) return html`<button type="button" class="secondary" @click=${() => { this.confirming = true }}>Retract</button>`
    return html`
      <div class="confirm" role="group" aria-label="Confirm retraction">
        <p>Take this post back? It disappears here and, as the retraction reaches them, from your neighbors' feeds.
          Someone who already read it has read it.</p>
        <button type="button" @click=${this.retract} ?disabled=${this.busy}>Yes, take it back</button>
        <button type="button" class="secondary" @click=${() => { this.confirming = false }}>Cancel</button>
      </div>`
  }

  private back (): void {
    this.dispatchEvent(new CustomEvent('close-post', { bubbles: true, composed: true }))
  }

  private retract (): void {
    this.confirming = false
    this.dispatchEvent(new CustomEvent<RetractDetail>('retract', { detail: { id: this.thread.post!.id }, bubbles: true, composed: true }))
  }

  private reply (e: Event): void {
    e.preventDefault()
    const text = this.replyInput.value.trim()
    if (text === '' || this.thread.post === undefined) return
    this.dispatchEvent(new CustomEvent<ReplyDetail>('reply', { detail: { to: this.thread.post, text }, bubbles: true, composed: true }))
    this.replyInput.value = ''
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-post-detail': PlPostDetail }
  interface HTMLElementEventMap { reply: CustomEvent<ReplyDetail>, retract: CustomEvent<RetractDetail>, 'close-post': CustomEvent }
}
