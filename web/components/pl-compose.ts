/**
 * Writing a post: kind, text (held by the fair-posting check until a post that describes a
 * person says what they did, and gives two more details if it mentions race: the reason and
 * what is missing are shown beside the text, and kept up to date while it is edited), a photo or video (cleaned of metadata here in the page as soon
 * as it is picked: what was removed is shown), the location's precision (the neighborhood's
 * area unless the person picks a smaller one and lets the browser give the position), how long
 * it stays (both start at the neighborhood's settings, which an admin chooses), and
 * whether a public copy goes out too (off unless chosen). The logic is web/state/compose.ts.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'
import { DEFAULT_TTL_MS, type PostKind } from '../../protocol/post.ts'
import type { CleanClip } from '../../protocol/clip/clean.ts'
import { isPorchlightError } from '../../protocol/errors.ts'
import { audience, RESIDENT_KINDS } from '../state/labels.ts'
import {
  areaWords, clipAudience, EXIF_SCAN_BYTES, exifDetails, expiryChoices, FAIR_POSTING_LIMITS, fairHold, fairPostingApplies, overallProgress, PHASE_WORDS,
  postLocation, precisionChoices, removedWords, textProblem, type FairHold, type Position, type SendProgress
} from '../state/compose.ts'
import type { PostExtras } from '../state/app-state.ts'

export interface SendDetail extends PostExtras {
  kind: PostKind
  text: string
  public: boolean
  /** The shell hands back the send's outcome (true once it was sent or queued). */
  reply?: (sent: Promise<boolean>) => void
}

/** How long the browser may take to give the position. */
const POSITION_TIMEOUT_MS = 15_000

interface PickedClip { name: string, clip: CleanClip, removed: string[], kind: 'photo' | 'video' }

@customElement('pl-compose')
export class PlCompose extends LitElement {
  static override styles = [shared, css`
    progress { width: 100%; height: 1rem; }
    .removed { background: #eef6ee; padding: 0.4rem 0.6rem; border-radius: 6px; }
    .problem { color: #8a1c1c; }
    .fair summary { cursor: pointer; }
    input[type=file] { font: inherit; }
  `]

  @property() hood = ''
  @property() area = ''
  /** The neighborhood's default lifetime of a post (ms). */
  @property({ type: Number }) ttl = DEFAULT_TTL_MS
  /** The neighborhood's default location precision (geohash characters; 0: the area's). */
  @property({ type: Number }) defaultPrecision = 0
  @property({ type: Boolean }) busy = false
  @state() private expiry = DEFAULT_TTL_MS
  @state() private open = false
  @state() private pub = false
  @state() private picked: PickedClip | undefined
  @state() private cleaning = false
  @state() private problem: string | undefined
  @state() private precision = 0
  @state() private position: Position | undefined
  @state() private locationNote: string | undefined
  @state() private progress: SendProgress | undefined
  @state() private kind: PostKind = RESIDENT_KINDS[0]!.kind
  /** Set when Send was refused by the fair-posting check; re-checked as the text changes. */
  @state() private hold: FairHold | undefined
  @query('#kind') private kindSelect!: HTMLSelectElement
  @query('#text') private textInput!: HTMLTextAreaElement
  @query('#clip') private fileInput!: HTMLInputElement

  override render () {
    if (!this.open) return html`<button type="button" @click=${this.start}>New post</button>`
    const sending = this.progress !== undefined
    const choices = this.area === '' ? [] : precisionChoices(this.area)
    return html`
      <form @submit=${this.submit} novalidate>
        <label for="kind">Kind</label>
        <select id="kind" @change=${this.edited}>${RESIDENT_KINDS.map(k => html`<option value=${k.kind} ?selected=${k.kind === this.kind}>${k.label}</option>`)}</select>
        <label for="text">What happened</label>
        <textarea id="text" aria-describedby="problem fair-hold${fairPostingApplies(this.kind) ? ' fair-help' : ''}" @input=${this.edited}></textarea>
        <div id="fair-hold">${this.hold !== undefined ? html`
          <p class="problem" role="alert">${this.hold.explanation} <strong>${this.hold.missing}</strong></p>` : nothing}</div>
        ${fairPostingApplies(this.kind) ? html`
          <details class="fair note">
            <summary>Why Porchlight may ask for more detail</summary>
            <p id="fair-help">${FAIR_POSTING_LIMITS}</p>
          </details>` : nothing}

        <label for="clip">Photo or video</label>
        <input id="clip" type="file" accept="image/jpeg,image/png,image/webp,video/mp4,video/quicktime" ?disabled=${sending} @change=${this.pick}>
        ${this.cleaning ? html`<p class="note">Removing metadata…</p>` : nothing}
        ${this.picked !== undefined ? html`<p class="removed" id="removed">${this.picked.removed.length === 0
          ? `Nothing to remove from this ${this.picked.kind}: it carried no metadata.`
          : `Removed from the ${this.picked.kind} before anything is sent: ${this.picked.removed.join(', ')}.`}</p>` : nothing}

        ${choices.length > 0 ? html`
          <label for="precision">Location</label>
          <select id="precision" aria-describedby="area-size" ?disabled=${sending} @change=${this.choosePrecision}>
            ${choices.map(c => html`<option value=${c.precision} ?selected=${c.precision === this.precision}>${c.label}</option>`)}
          </select>
          <p class="note" id="area-size">Shared area: ${areaWords(this.area, this.shownPrecision())}.</p>
          ${this.locationNote !== undefined ? html`<p class="note">${this.locationNote}</p>` : nothing}` : nothing}

        <label for="expiry">Expires after</label>
        <select id="expiry" ?disabled=${sending} @change=${(e: Event) => { this.expiry = Number((e.target as HTMLSelectElement).value) }}>
          ${expiryChoices(this.ttl).map(c => html`<option value=${c.ms} ?selected=${c.ms === this.expiry}>${c.label}</option>`)}
        </select>

        <div class="row">
          <input id="public" type="checkbox" .checked=${this.pub} ?disabled=${sending} @change=${(e: Event) => { this.pub = (e.target as HTMLInputElement).checked }}>
          <label for="public">Share publicly</label>
        </div>
        <p class="note" id="audience">${audience(this.pub, this.hood, this.area)}${this.picked !== undefined ? ` ${clipAudience(this.pub, this.picked.kind)}` : ''}</p>

        ${this.progress !== undefined ? html`
          <progress aria-label=${PHASE_WORDS[this.progress.phase]} max="100" value=${Math.round(overallProgress(this.progress) * 100)}></progress>
          <p class="note">${PHASE_WORDS[this.progress.phase]}…</p>` : nothing}
        ${this.problem !== undefined ? html`<p class="problem" id="problem" role="alert">${this.problem}</p>` : nothing}
        <button type="submit" ?disabled=${this.busy || this.cleaning || sending}>Send</button>
      </form>`
  }

  /** Opens the form at the neighborhood's defaults (a finer location asks for the position only when chosen here). */
  private start (): void {
    this.open = true
    this.expiry = this.ttl
    this.precision = this.area.length
    if (this.defaultPrecision > this.area.length) void this.setPrecision(this.defaultPrecision)
  }

  /** The precision the post will carry (the area's when no position is known). */
  private shownPrecision (): number {
    return postLocation(this.area, this.precision, this.position).precision
  }

  /** The text or kind changed: a hold shown earlier is checked again (cleared once it passes). */
  private edited (): void {
    this.problem = undefined
    this.kind = this.kindSelect.value as PostKind
    if (this.hold !== undefined) this.hold = fairHold(this.kind, this.textInput.value.trim())
  }

  private async pick (): Promise<void> {
    const file = this.fileInput.files?.[0]
    this.picked = undefined
    this.problem = undefined
    if (file === undefined) return
    this.cleaning = true
    try {
      // The cleaner (and the rest of the clip code) loads only when a file is picked.
      const { cleanFile } = await import('../engine/file-source.ts')
      const [clip, head] = await Promise.all([cleanFile(file), file.slice(0, EXIF_SCAN_BYTES).arrayBuffer()])
      this.picked = {
        name: file.name,
        clip,
        removed: removedWords(clip.removed, exifDetails(new Uint8Array(head))),
        kind: clip.mime.startsWith('video/') ? 'video' : 'photo'
      }
    } catch (err) {
      this.fileInput.value = ''
      this.problem = isPorchlightError(err) && err.code === 'UNSUPPORTED'
        ? `${file.name} is not a photo or video Porchlight can clean (JPEG, PNG, WebP, MP4 or MOV).`
        : `Cannot use ${file.name}: ${(err as Error).message}`
    } finally {
      this.cleaning = false
    }
  }

  private async choosePrecision (e: Event): Promise<void> {
    await this.setPrecision(Number((e.target as HTMLSelectElement).value))
  }

  private async setPrecision (precision: number): Promise<void> {
    this.precision = precision
    this.locationNote = undefined
    if (this.precision > this.area.length && this.position === undefined) this.position = await currentPosition()
    this.locationNote = postLocation(this.area, this.precision, this.position).note
  }

  private submit (e: Event): void {
    e.preventDefault()
    const text = this.textInput.value.trim()
    this.problem = textProblem(text)
    if (this.problem !== undefined) return
    const kind = this.kindSelect.value as PostKind
    this.hold = fairHold(kind, text)
    if (this.hold !== undefined) {
      this.textInput.focus()
      return
    }
    const picked = this.picked
    const location = this.area === '' ? undefined : postLocation(this.area, this.precision, this.position)
    let replied = false
    this.progress = picked !== undefined ? { phase: 'clean', done: 1, total: 1 } : { phase: 'send', done: 0, total: 1 }
    this.dispatchEvent(new CustomEvent<SendDetail>('send', {
      detail: {
        kind,
        text,
        public: this.pub,
        ttlMs: this.expiry,
        ...(picked !== undefined ? { clip: picked.clip } : {}),
        ...(location !== undefined ? { location: { geohash: location.geohash, precision: location.precision } } : {}),
        // Once the relays hold the clip, what is left is sending the post itself.
        onProgress: (phase, done, total) => { this.progress = phase === 'upload' && done >= total ? { phase: 'send', done: 0, total: 1 } : { phase, done, total } },
        reply: (sent) => {
          replied = true
          void sent.then(ok => { this.progress = undefined; if (ok) this.reset() }, () => { this.progress = undefined })
        }
      },
      bubbles: true,
      composed: true
    }))
    if (!replied) this.reset()
  }

  private reset (): void {
    this.progress = undefined
    this.picked = undefined
    this.problem = undefined
    this.hold = undefined
    this.kind = RESIDENT_KINDS[0]!.kind
    this.pub = false
    this.position = undefined
    this.locationNote = undefined
    this.open = false
  }
}

/** This device's position, if the person allows it (undefined when refused or unavailable). */
async function currentPosition (): Promise<Position | undefined> {
  if (typeof navigator === 'undefined' || navigator.geolocation === undefined) return undefined
  return await new Promise(resolve => {
    navigator.geolocation.getCurrentPosition(
      p => { resolve({ lat: p.coords.latitude, lon: p.coords.longitude }) },
      () => { resolve(undefined) },
      { timeout: POSITION_TIMEOUT_MS, maximumAge: 60_000 }
    )
  })
}

declare global {
  interface HTMLElementTagNameMap { 'pl-compose': PlCompose }
  interface HTMLElementEventMap { send: CustomEvent<SendDetail> }
}
