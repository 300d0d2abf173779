/**
 * A post with its replies as a thread, a reply form, and (for the author) retract with a confirm
 * step. The form offers where the reply goes (state/reply.ts): in the neighborhood (the
 * default), in public on the area, or, for an agency's request, sealed to that agency with an
 * optional photo or video (cleaned here in the page, as in the composer). Before anything is
 * sent it says who will read the reply, in the engine's words (the shell asks the engine:
 * 'reply-audience'); a public or sealed reply cannot be sent until that was said.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import type { CleanClip } from '../../protocol/clip/clean.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import type { Thread } from '../state/feed-view.ts'
import type { ReplyExtras } from '../state/app-state.ts'
import { audienceWords, replyChoices, sentWords, unverifiedAgency, type ReplyAudience, type ReplyMode } from '../state/reply.ts'
import { EXIF_SCAN_BYTES, exifDetails, overallProgress, PHASE_WORDS, removedWords, textProblem, type SendProgress } from '../state/compose.ts'
import { shared } from './shared-styles.ts'
import { postStyles, postView } from './post-view.ts'

export interface ReplyDetail extends ReplyExtras {
  to: FeedPost
  text: string
  /** The shell hands back the send's outcome (true once it was sent, or queued in the neighborhood). */
  sent?: (outcome: Promise<boolean>) => void
}
export interface RetractDetail { id: string }
/** Asks the shell who would read a reply sent as `mode` (the engine's statement); nothing is sent. */
export interface ReplyAudienceDetail { to: FeedPost, mode: ReplyMode, answer: (audience: Promise<ReplyAudience>) => void }

interface PickedClip { clip: CleanClip, removed: string[], kind: 'photo' | 'video' }

@customElement('pl-post-detail')
export class PlPostDetail extends LitElement {
  static override styles = [shared, postStyles, css`
    .replies { margin-left: 1.2rem; border-left: 3px solid #ddd; padding-left: 0.8rem; }
    .confirm { background: #fff1d6; padding: 0.6rem; border-radius: 6px; }
    button.secondary { background: #fff; color: #234; }
    fieldset { border: 1px solid #ccc; border-radius: 6px; margin: 0.5rem 0; padding: 0.3rem 0.6rem; }
    legend { font-weight: 600; }
    .who { background: #eef3f8; padding: 0.4rem 0.6rem; border-radius: 6px; }
    .who.unverified { background: #fff1d6; }
    .removed { background: #eef6ee; padding: 0.4rem 0.6rem; border-radius: 6px; }
    .problem { color: #8a1c1c; }
    progress { width: 100%; height: 1rem; }
    input[type=file] { font: inherit; }
  `]

  @property({ attribute: false }) thread: Thread = { replies: [] }
  @property({ type: Number }) now = Date.now()
  @property({ type: Boolean }) busy = false
  @state() private confirming = false
  @state() private mode: ReplyMode = 'private'
  /** The engine's statement for `mode`, once it answered (undefined while asked, or if it could not say). */
  @state() private audience: ReplyAudience | undefined
  @state() private audienceProblem: string | undefined
  @state() private picked: PickedClip | undefined
  @state() private cleaning = false
  @state() private problem: string | undefined
  @state() private progress: SendProgress | undefined
  @state() private sentNote: string | undefined
  @query('#reply') private replyInput!: HTMLTextAreaElement
  /** Only there for a sealed reply (null otherwise). */
  @query('#reply-clip') private fileInput!: HTMLInputElement | null
  /** The post and mode the shown audience is for. */
  private asked = ''

  override willUpdate (): void {
    const id = this.thread.post?.id ?? ''
    if (!this.asked.startsWith(`${id}:`)) {
      // Another post: the neighborhood again, nothing picked.
      if (this.asked !== '') this.resetForm()
      this.askAudience()
    }
  }

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
          ${this.replyForm(post)}`}`
  }

  private replyForm (post: FeedPost) {
    const choices = replyChoices(post)
    const sending = this.progress !== undefined
    const unverified = this.mode === 'sealed' && unverifiedAgency(post)
    // Public and sealed replies wait until the person was told who reads them.
    const told = this.mode === 'private' || this.audience?.mode === this.mode
    return html`
      <form @submit=${this.reply} novalidate>
        <label for="reply">Your reply</label>
        <textarea id="reply" required maxlength="2000" aria-describedby="reply-audience"></textarea>
        ${choices.length > 1 ? html`
          <fieldset>
            <legend>Where your reply goes</legend>
            ${choices.map(c => html`<div class="row">
              <input type="radio" name="reply-mode" id=${`reply-mode-${c.mode}`} .value=${c.mode} .checked=${c.mode === this.mode} ?disabled=${sending}
                @change=${() => { this.choose(c.mode) }}>
              <label for=${`reply-mode-${c.mode}`}>${c.label}</label></div>`)}
          </fieldset>` : nothing}
        ${this.mode === 'sealed' ? html`
          <label for="reply-clip">Photo or video for the agency (optional)</label>
          <input id="reply-clip" type="file" accept="image/jpeg,image/png,image/webp,video/mp4,video/quicktime" ?disabled=${sending} @change=${this.pick}>
          ${this.cleaning ? html`<p class="note">Removing metadata…</p>` : nothing}
          ${this.picked !== undefined ? html`<p class="removed">${this.picked.removed.length === 0
            ? `Nothing to remove from this ${this.picked.kind}: it carried no metadata.`
            : `Removed from the ${this.picked.kind} before anything is sent: ${this.picked.removed.join(', ')}.`}</p>` : nothing}` : nothing}
        <p class="note who${unverified ? ' unverified' : ''}" id="reply-audience" aria-live="polite">${this.audienceText(unverified)}</p>
        ${this.progress !== undefined ? html`
          <progress aria-label=${PHASE_WORDS[this.progress.phase]} max="100" value=${Math.round(overallProgress(this.progress) * 100)}></progress>
          <p class="note">${PHASE_WORDS[this.progress.phase]}…${this.mode !== 'private' && this.progress.phase === 'send' ? ' It leaves after a short random delay: keep this page open.' : ''}</p>` : nothing}
        ${this.problem !== undefined ? html`<p class="problem" role="alert">${this.problem}</p>` : nothing}
        ${this.sentNote !== undefined ? html`<p class="note" aria-live="polite">${this.sentNote}</p>` : nothing}
        <button type="submit" ?disabled=${this.busy || this.cleaning || sending || !told}>Reply</button>
      </form>`
  }

  private audienceText (unverified: boolean): string {
    if (this.audience?.mode === this.mode) return audienceWords(this.audience, { unverified, ...(this.picked !== undefined && this.mode === 'sealed' ? { clip: this.picked.kind } : {}) })
    if (this.audienceProblem !== undefined && this.mode !== 'private') return this.audienceProblem
    // The engine had not answered yet: for the neighborhood, what is always true.
    return this.mode === 'private' ? 'Only members of the neighborhood can read replies.' : 'Checking who will read this reply…'
  }

  private choose (mode: ReplyMode): void {
    this.mode = mode
    this.problem = undefined
    this.sentNote = undefined
    if (mode !== 'sealed') this.dropClip()
    this.askAudience()
  }

  /** Asks the shell (the engine) who would read a reply sent as the chosen mode. */
  private askAudience (): void {
    const post = this.thread.post
    const mode = this.mode
    const key = `${post?.id ?? ''}:${mode}`
    this.asked = key
    this.audience = undefined
    this.audienceProblem = undefined
    if (post === undefined) return
    this.dispatchEvent(new CustomEvent<ReplyAudienceDetail>('reply-audience', {
      detail: {
        to: post,
        mode,
        answer: (audience) => {
          audience.then(a => { if (this.asked === key) this.audience = a }, (err: unknown) => {
            if (this.asked === key) this.audienceProblem = `Cannot reply this way now: ${(err as Error).message ?? String(err)}`
          })
        }
      },
      bubbles: true,
      composed: true
    }))
  }

  private async pick (): Promise<void> {
    const file = this.fileInput?.files?.[0]
    this.picked = undefined
    this.problem = undefined
    if (file === undefined) return
    this.cleaning = true
    try {
      // The cleaner loads only when a file is picked (as in the composer).
      const { cleanFile } = await import('../engine/file-source.ts')
      const [clip, head] = await Promise.all([cleanFile(file), file.slice(0, EXIF_SCAN_BYTES).arrayBuffer()])
      this.picked = { clip, removed: removedWords(clip.removed, exifDetails(new Uint8Array(head))), kind: clip.mime.startsWith('video/') ? 'video' : 'photo' }
    } catch (err) {
      if (this.fileInput !== null) this.fileInput.value = ''
      this.problem = isPorchlightError(err) && err.code === 'UNSUPPORTED'
        ? `${file.name} is not a photo or video Porchlight can clean (JPEG, PNG, WebP, MP4 or MOV).`
        : `Cannot use ${file.name}: ${(err as Error).message}`
    } finally {
      this.cleaning = false
    }
  }

  private dropClip (): void {
    this.picked = undefined
    if (this.fileInput !== null) this.fileInput.value = ''
  }

  private resetForm (): void {
    this.mode = 'private'
    this.picked = undefined
    this.problem = undefined
    this.progress = undefined
    this.sentNote = undefined
    this.confirming = false
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
    const post = this.thread.post
    const text = this.replyInput.value.trim()
    if (post === undefined || text === '') return
    this.problem = textProblem(text)?.replace('Write what happened', 'Write your reply')
    if (this.problem !== undefined) return
    const mode = this.mode
    const audience = this.audience
    const picked = mode === 'sealed' ? this.picked : undefined
    let answered = false
    this.sentNote = undefined
    this.progress = picked !== undefined ? { phase: 'clean', done: 1, total: 1 } : { phase: 'send', done: 0, total: 1 }
    this.dispatchEvent(new CustomEvent<ReplyDetail>('reply', {
      detail: {
        to: post,
        text,
        ...(mode !== 'private' ? { mode } : {}),
        ...(picked !== undefined ? { clip: picked.clip } : {}),
        // Once the relays hold the clip, what is left is sending the reply itself.
        onProgress: (phase, done, total) => { this.progress = phase === 'upload' && done >= total ? { phase: 'send', done: 0, total: 1 } : { phase, done, total } },
        sent: (outcome) => {
          answered = true
          void outcome.then(ok => {
            this.progress = undefined
            if (!ok) return
            const input = this.replyInput as HTMLTextAreaElement | null
            if (input !== null) input.value = ''
            this.dropClip()
            if (audience !== undefined && audience.mode === mode) this.sentNote = sentWords(audience)
          }, () => { this.progress = undefined })
        }
      },
      bubbles: true,
      composed: true
    }))
    // No shell answered (as before replies had modes): the text is handed over, the form is cleared.
    if (!answered) {
      this.progress = undefined
      this.replyInput.value = ''
    }
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-post-detail': PlPostDetail }
  interface HTMLElementEventMap {
    reply: CustomEvent<ReplyDetail>
    'reply-audience': CustomEvent<ReplyAudienceDetail>
    retract: CustomEvent<RetractDetail>
    'close-post': CustomEvent
  }
}
