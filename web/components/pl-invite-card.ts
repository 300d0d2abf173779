/** A new neighborhood's invite link (for one neighbor) and relay token (for the relay operator). */
import { LitElement, html } from 'lit'
import { customElement, property, state } from 'lit/decorators.js'
import { shared } from './shared-styles.ts'
import { inviteQr } from '../state/qr.ts'

@customElement('pl-invite-card')
export class PlInviteCard extends LitElement {
  static override styles = shared

  @property() name = ''
  @property() link = ''
  @property() token = ''
  @state() private copied = false

  override render () {
    return html`
      <section aria-labelledby="invite-title">
        <h2 id="invite-title">Invite a neighbor to ${this.name}</h2>
        <p>Send this link to one neighbor (it admits one person and holds the neighborhood key):</p>
        <p><a href=${this.link}>Invite link</a>
          <button type="button" @click=${this.copy}>Copy invite link</button> <span aria-live="polite">${this.copied ? 'Copied' : ''}</span></p>
        ${this.link !== '' ? html`<p><img class="qr" src=${inviteQr(this.link).dataUrl} alt="QR code of the invite link"></p>
          <p class="note">Or let them scan it with their phone's camera, here, in person.</p>` : ''}
        <label for="token">Relay token</label>
        <textarea id="token" readonly .value=${this.token}></textarea>
        <p class="note">Give it to your relay's operator (porchlight relay --serve TOKEN). It lets the relay carry your
          neighborhood's posts; it cannot read them.</p>
      </section>`
  }

  private async copy (): Promise<void> {
    await navigator.clipboard.writeText(this.link)
    this.copied = true
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-invite-card': PlInviteCard }
}
