/**
 * The transparency page: every request for assistance made in an area, by agency, with the
 * attestations each agency's requests carried (which admin keys vouched, as they say), the
 * requests per month (a chart, with a table as its text alternative) and the public replies
 * each received. Needs no identity. Logic in web/state/transparency.ts.
 */
import { LitElement, html, css, nothing } from 'lit'
import { customElement, property } from 'lit/decorators.js'
import type { AgencyGroup } from '../../protocol/transparency.ts'
import { isArea, monthLabel, reportView, type Loaded, type ReportView } from '../state/transparency.ts'
import { shared } from './shared-styles.ts'

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium' })

function plural (n: number, one: string, many: string): string { return `${n} ${n === 1 ? one : many}` }

@customElement('pl-transparency')
export class PlTransparency extends LitElement {
  static override styles = [shared, css`
    :host { max-width: 48rem; margin: 0 auto; padding: 0 0.8rem 2rem; }
    h1 { font-size: 1.4rem; margin: 1rem 0 0.4rem; }
    h2 { font-size: 1.15rem; margin: 0; }
    h3 { font-size: 1rem; margin: 1rem 0 0.3rem; }
    section.agency { border: 1px solid #ccc; border-radius: 8px; padding: 0.8rem; margin: 1rem 0; background: #fff; }
    .fp { font-family: ui-monospace, monospace; font-size: 0.9rem; color: #333; overflow-wrap: anywhere; }
    .unverified { color: #8a1c1c; font-weight: 600; }
    ul { padding-left: 1.2rem; margin: 0.3rem 0; }
    ol.requests { list-style: none; padding: 0; }
    ol.requests li { border-top: 1px solid #e3e3e3; padding: 0.5rem 0; }
    .meta { font-size: 0.9rem; color: #444; }
    .chart { display: flex; align-items: flex-end; gap: 4px; height: 8rem; border-bottom: 1px solid #555; padding-top: 0.5rem; }
    .bar { flex: 1; background: #234; min-height: 1px; border-radius: 3px 3px 0 0; }
    .labels { display: flex; gap: 4px; font-size: 0.75rem; color: #444; }
    .labels span { flex: 1; text-align: center; overflow: hidden; }
    table { border-collapse: collapse; margin-top: 0.6rem; }
    th, td { text-align: left; padding: 0.2rem 0.8rem 0.2rem 0; }
    td.n { text-align: right; }
    form { display: flex; gap: 0.5rem; align-items: flex-end; flex-wrap: wrap; }
    form div { flex: 1; min-width: 10rem; }
    .error { background: #fde8e8; color: #8a1c1c; padding: 0.5rem 0.8rem; border-radius: 6px; }
  `]

  /** The area shown (a geohash), or '' before one is chosen. */
  @property() area = ''
  /** What the relay answered; undefined while loading. */
  @property({ attribute: false }) loaded: Loaded | undefined

  override render () {
    return html`
      <h1>${this.area === '' ? 'Agency requests: the public record' : `Agency requests for area ${this.area}`}</h1>
      <p class="note">Every request for assistance an agency makes is public. Relays keep each one for a year. No account is needed to read them.</p>
      ${this.areaForm()}
      ${this.body()}`
  }

  private areaForm () {
    return html`<form @submit=${this.onSubmit} aria-label="Choose an area">
      <div><label for="area">Area (geohash, 1 to 6 characters)</label>
      <input id="area" name="area" type="text" autocomplete="off" spellcheck="false" .value=${this.area}></div>
      <button type="submit">Show</button></form>`
  }

  private readonly onSubmit = (e: SubmitEvent): void => {
    e.preventDefault()
    const value = (new FormData(e.target as HTMLFormElement).get('area') ?? '').toString().trim().toLowerCase()
    if (!isArea(value)) {
      this.loaded = { ok: false, message: `"${value.slice(0, 20)}" is not an area: 1 to 6 geohash characters, like u4pru.` }
      return
    }
    this.dispatchEvent(new CustomEvent('pick-area', { detail: { area: value }, bubbles: true, composed: true }))
  }

  private body () {
    if (this.area === '' && this.loaded?.ok !== false) return nothing
    if (this.loaded === undefined) return html`<p role="status">Loading…</p>`
    if (!this.loaded.ok) return html`<p class="error" role="alert">${this.loaded.message}</p>`
    const v = reportView(this.loaded.report)
    if (v.total === 0) return html`<p role="status">No agency has made a request for assistance here in the past year.</p>`
    return html`
      <p role="status">${plural(v.total, 'request', 'requests')} from ${plural(v.agencies.length, 'agency', 'agencies')}; ${plural(v.replies, 'public reply', 'public replies')}.</p>
      ${this.months(v)}
      ${v.agencies.map(g => this.agency(g))}`
  }

  private months (v: ReportView) {
    return html`<section aria-labelledby="per-month"><h2 id="per-month">Requests per month</h2>
      <div class="chart" aria-hidden="true">${v.months.map(m => html`<div class="bar" style="height: ${Math.round(100 * m.count / v.peak)}%" title="${m.count}"></div>`)}</div>
      <div class="labels" aria-hidden="true">${v.months.map(m => html`<span>${m.month.slice(2)}</span>`)}</div>
      <table><caption class="note">Requests per month (the chart above, as a table)</caption>
        <thead><tr><th scope="col">Month</th><th scope="col">Requests</th></tr></thead>
        <tbody>${v.months.map(m => html`<tr><th scope="row">${monthLabel(m.month)}</th><td class="n">${m.count}</td></tr>`)}</tbody></table>
    </section>`
  }

  private agency (g: AgencyGroup) {
    return html`<section class="agency" aria-label=${g.agency}>
      <h2>${g.agency}</h2>
      <p class="meta">Agency key <span class="fp">${g.fingerprint}</span> · ${plural(g.rfas.length, 'request', 'requests')} · ${plural(g.publicReplies, 'public reply', 'public replies')}</p>
      <h3>Attestations it carried</h3>
      <p class="note">Signed by these admin keys, as the attestations say. This page cannot tell a real neighborhood admin's key from one made up for the purpose; residents' apps check them against their own admins.</p>
      ${g.vouchedBy.length === 0
        ? html`<p class="unverified">Nobody: no neighborhood admin's attestation came with these requests (unverified).</p>`
        : html`<ul>${g.vouchedBy.map(v => html`<li>Admin key <span class="fp">${v.admin}</span>, as “${v.name}”, for area ${v.area}, until ${dateFormat.format(v.expires)}</li>`)}</ul>`}
      <h3>Requests</h3>
      <ol class="requests">${g.rfas.map(r => html`<li>
        <div>${r.text}</div>
        <div class="meta"><time datetime=${new Date(r.created).toISOString()}>${dateFormat.format(r.created)}</time> · ${plural(r.publicReplies, 'public reply', 'public replies')}</div>
      </li>`)}</ol>
    </section>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-transparency': PlTransparency }
  interface HTMLElementEventMap { 'pick-area': CustomEvent<{ area: string }> }
}
