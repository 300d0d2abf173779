/**
 * One photo or video of a post, fetched and decrypted in the page only when the person asks
 * (a button), then shown as an image or a video element from an object URL. The fetch is
 * asked of the shell with an 'open-clip' event (its detail's `reply` takes the promise).
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { ClipView } from '../engine/clips.ts'

export interface OpenClipDetail { post: FeedPost, index: number, reply: (view: Promise<ClipView>) => void }

/** "340 KB", "12.5 MB". */
export function sizeWords (bytes: number): string {
  if (bytes < 1024 * 1024) return `${Math.max(1, Math.round(bytes / 1024))} KB`
  return `${Math.round(bytes / (1024 * 1024) * 10) / 10} MB`
}

@customElement('pl-clip')
export class PlClip extends LitElement {
  static override styles = css`
    :host { display: block; margin: 0.3rem 0; }
    img, video { max-width: 100%; max-height: 24rem; border-radius: 6px; display: block; }
    button { font: inherit; padding: 0.3rem 0.7rem; }
    .error { color: #8a1c1c; }
  `

  @property({ attribute: false }) post: FeedPost | undefined
  @property({ type: Number }) index = 0
  @state() private view: ClipView | undefined
  @state() private loading = false
  @state() private error: string | undefined

  override disconnectedCallback (): void {
    if (this.view !== undefined) URL.revokeObjectURL(this.view.url)
    this.view = undefined
    super.disconnectedCallback()
  }

  override render () {
    const m = this.post?.media[this.index]
    if (m === undefined) return nothing
    const kind = m.mime.startsWith('video/') ? 'video' : 'photo'
    if (this.view !== undefined) {
      return kind === 'video'
        ? html`<video controls src=${this.view.url} aria-label="Video attached to the post"></video>`
        : html`<img src=${this.view.url} alt="Photo attached to the post">`
    }
    return html`
      <button type="button" ?disabled=${this.loading} @click=${this.open}>${kind === 'video' ? 'Play video' : 'Show photo'} (${sizeWords(m.size)})</button>
      ${this.loading ? html`<span>Fetching and decrypting…</span>` : nothing}
      ${this.error !== undefined ? html`<p class="error" role="alert">${this.error}</p>` : nothing}`
  }

  private open (): void {
    if (this.post === undefined) return
    this.loading = true
    this.error = undefined
    let replied = false
    this.dispatchEvent(new CustomEvent<OpenClipDetail>('open-clip', {
      bubbles: true,
      composed: true,
      detail: {
        post: this.post,
        index: this.index,
        reply: (p) => {
          replied = true
          p.then(view => { this.view = view }, (err: unknown) => { this.error = `Cannot show it: ${(err as Error).message}` })
            .finally(() => { this.loading = false })
        }
      }
    }))
    if (!replied) {
      this.loading = false
      this.error = 'Cannot show it: clips are not available here.'
    }
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-clip': PlClip }
  interface HTMLElementEventMap { 'open-clip': CustomEvent<OpenClipDetail> }
}
