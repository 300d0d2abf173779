/** Writing a post: kind, text, and whether a public copy goes out too (off unless chosen). */
import { LitElement, html } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'
import type { PostKind } from '../../protocol/post.ts'
import { audience, RESIDENT_KINDS } from '../state/labels.ts'

export interface SendDetail { kind: PostKind, text: string, public: boolean }

@customElement('pl-compose')
export class PlCompose extends LitElement {
  static override styles = shared

  @property() hood = ''
  @property() area = ''
  @property({ type: Boolean }) busy = false
  @state() private open = false
  @state() private pub = false
  @query('#kind') private kindSelect!: HTMLSelectElement
  @query('#text') private textInput!: HTMLTextAreaElement

  override render () {
    if (!this.open) return html`<button type="button" @click=${() => { this.open = true }}>New post</button>`
    return html`
      <form @submit=${this.submit}>
        <label for="kind">Kind</label>
        <select id="kind">${RESIDENT_KINDS.map(k => html`<option value=${k.kind}>${k.label}</option>`)}</select>
        <label for="text">What happened</label>
        <textarea id="text" required maxlength="2000"></textarea>
        <div class="row">
          <input id="public" type="checkbox" .checked=${this.pub} @change=${(e: Event) => { this.pub = (e.target as HTMLInputElement).checked }}>
          <label for="public">Share publicly</label>
        </div>
        <p class="note" id="audience">${audience(this.pub, this.hood, this.area)}</p>
        <button type="submit" ?disabled=${this.busy}>Send</button>
      </form>`
  }

  private submit (e: Event): void {
    e.preventDefault()
    const text = this.textInput.value.trim()
    if (text === '') return
    this.dispatchEvent(new CustomEvent<SendDetail>('send', {
      detail: { kind: this.kindSelect.value as PostKind, text, public: this.pub }, bubbles: true, composed: true
    }))
    this.textInput.value = ''
    this.pub = false
    this.open = false
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-compose': PlCompose }
  interface HTMLElementEventMap { send: CustomEvent<SendDetail> }
}
