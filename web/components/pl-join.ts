/** Join a neighborhood from an invite (filled in when the page was opened from an invite link). */
import { LitElement, html } from 'lit'
import { customElement, property, query } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'

export interface JoinDetail { invite: string }

@customElement('pl-join')
export class PlJoin extends LitElement {
  static override styles = shared

  @property() invite = ''
  @property({ type: Boolean }) busy = false
  @query('#invite') private inviteInput!: HTMLTextAreaElement

  override render () {
    return html`
      <h2>Join a neighborhood</h2>
      <form @submit=${this.submit}>
        <label for="invite">Invite</label>
        <textarea id="invite" .value=${this.invite} placeholder="Paste the invite link or code you were given"></textarea>
        <p class="note">An invite holds the neighborhood's key: use only one given to you by a neighbor.</p>
        <button type="submit" ?disabled=${this.busy}>Join</button>
      </form>`
  }

  private submit (e: Event): void {
    e.preventDefault()
    const invite = this.inviteInput.value.trim()
    if (invite === '') return
    this.dispatchEvent(new CustomEvent<JoinDetail>('join', { detail: { invite }, bubbles: true, composed: true }))
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-join': PlJoin }
  interface HTMLElementEventMap { join: CustomEvent<JoinDetail> }
}
