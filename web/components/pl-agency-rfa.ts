/**
 * A new request for assistance: the area (one the agency follows), what is asked, an optional
 * time window and case reference (carried in the text on fixed lines: agency-view.ts rfaText),
 * shown as residents will read it before it is published. It is public and on the record.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { isPorchlightError } from '../../protocol/errors.ts'
import { MAX_CASE_REF_CHARS, rfaText, type RfaDraft } from '../state/agency-view.ts'
import { shared } from './shared-styles.ts'

export interface SendRfaDetail { area: string, draft: RfaDraft }

@customElement('pl-agency-rfa')
export class PlAgencyRfa extends LitElement {
  static override styles = [shared, css`
    fieldset { border: 1px solid #999; border-radius: 6px; margin: 0.8rem 0 0; padding: 0.2rem 0.8rem 0.6rem; }
    legend { font-weight: 600; }
    input[type=datetime-local] { box-sizing: border-box; width: 100%; font: inherit; padding: 0.5rem; border: 1px solid #777; border-radius: 6px; }
    .preview { white-space: pre-wrap; overflow-wrap: anywhere; background: #f4f4f0; border-radius: 6px; padding: 0.5rem 0.8rem; margin: 0.3rem 0; }
    .problem { color: #8a1c1c; }
    .sent { background: #e3f3e3; color: #185c18; padding: 0.5rem 0.8rem; border-radius: 6px; }
    .sent.failed { background: #fff1d6; color: #6b4700; }
  `]

  @property({ attribute: false }) areas: readonly string[] = []
  @property({ attribute: false }) sent: { id: string, area: string, ok: boolean, message: string } | undefined
  @property({ type: Boolean }) busy = false
  @state() private draft: RfaDraft & { area: string } = { area: '', ask: '' }
  @state() private problem: string | undefined
  @query('form') private form!: HTMLFormElement

  override render () {
    if (this.areas.length === 0) return html`<h2>New request</h2><p>Follow an area first (Areas and identity): a request goes to an area you follow.</p>`
    const area = this.areas.includes(this.draft.area) ? this.draft.area : this.areas[0]!
    const preview = this.preview()
    return html`
      <h2>New request</h2>
      ${this.sent !== undefined ? html`<p class="sent ${this.sent.ok ? '' : 'failed'}" role="status">${this.sent.message}</p>` : nothing}
      <form @submit=${this.submit} @input=${this.edited} @change=${this.edited} novalidate>
        <label for="rfa-area">Area</label>
        <select id="rfa-area" name="area">${this.areas.map(a => html`<option value=${a} ?selected=${a === area}>${a}</option>`)}</select>
        <label for="rfa-ask">What you are asking residents</label>
        <textarea id="rfa-ask" name="ask" required aria-describedby="rfa-problem"></textarea>
        <fieldset>
          <legend>Time window (optional)</legend>
          <label for="rfa-from">From</label>
          <input id="rfa-from" name="from" type="datetime-local">
          <label for="rfa-to">To</label>
          <input id="rfa-to" name="to" type="datetime-local">
        </fieldset>
        <label for="rfa-case">Case reference (optional)</label>
        <input id="rfa-case" name="case" type="text" maxlength=${MAX_CASE_REF_CHARS} autocomplete="off">
        <div id="rfa-problem">${this.problem !== undefined ? html`<p class="problem" role="alert">${this.problem}</p>` : nothing}</div>
        ${preview !== undefined ? html`<p class="note">Residents will read:</p><p class="preview" aria-label="Request as residents will read it">${preview}</p>` : nothing}
        <p class="note">Public and on the record: everyone following area ${area}, residents and relays, reads it under
          your agency's name and key, and relays keep it for a year. Residents who answer choose how: in public, or sealed so
          only this agency can read it.</p>
        <button type="submit" ?disabled=${this.busy}>Publish request</button>
      </form>`
  }

  private read (): RfaDraft & { area: string } {
    const v = (name: string): string => (this.form.elements.namedItem(name) as HTMLInputElement | null)?.value ?? ''
    const from = v('from')
    const to = v('to')
    return {
      area: v('area'),
      ask: v('ask'),
      ...(from !== '' ? { from: new Date(from).getTime() } : {}),
      ...(to !== '' ? { to: new Date(to).getTime() } : {}),
      caseRef: v('case')
    }
  }

  private preview (): string | undefined {
    if (this.draft.ask.trim() === '') return undefined
    try { return rfaText(this.draft) } catch { return undefined }
  }

  private edited (): void {
    const d = this.read()
    this.draft = d
    if (this.problem !== undefined) this.problem = this.check(d)
  }

  private check (d: RfaDraft): string | undefined {
    try {
      rfaText(d)
      return undefined
    } catch (err) {
      return isPorchlightError(err) ? err.message : String(err)
    }
  }

  private submit (e: Event): void {
    e.preventDefault()
    const d = this.read()
    this.problem = this.check(d)
    if (this.problem !== undefined) return
    const { area, ...draft } = d
    this.dispatchEvent(new CustomEvent<SendRfaDetail>('send-rfa', { detail: { area, draft }, bubbles: true, composed: true }))
    this.form.reset()
    this.draft = { area, ask: '' }
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-rfa': PlAgencyRfa }
  interface HTMLElementEventMap { 'send-rfa': CustomEvent<SendRfaDetail> }
}
