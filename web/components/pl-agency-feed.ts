/**
 * The agency's feed: the public posts and requests of the followed areas, newest first. Every
 * request is labelled as an agency's, with the admins who vouched for it or as unverified
 * (web/state/agency-view.ts agencyLabel); a public post shows its author's area pseudonym;
 * replies say which post or request they answer.
 */
import { LitElement, html, css, nothing } from 'lit'
import { NowController } from './now-controller.ts'
import { customElement, property, state } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { agencyLabel, readRfaText, requestWords } from '../state/agency-view.ts'
import { kindLabel } from '../state/feed-view.ts'
import { exactTime, relativeTime } from '../state/relative-time.ts'
import { shared } from './shared-styles.ts'
import { postStyles } from './post-view.ts'
import './pl-clip.ts'


@customElement('pl-agency-feed')
export class PlAgencyFeed extends LitElement {
  static override styles = [shared, postStyles, css`
    .empty { color: #555; } .filter { max-width: 16rem; }
    dl { margin: 0.3rem 0; font-size: 0.95rem; } dt { font-weight: 600; display: inline; } dd { display: inline; margin: 0 0.8rem 0 0.3rem; }
  `]

  @property({ attribute: false }) posts: readonly FeedPost[] = []
  @property({ attribute: false }) areas: readonly string[] = []
  @state() private area = 'all'
  private readonly clock = new NowController(this)
  private get now (): number { return this.clock.value }

  override render () {
    const shown = this.posts.filter(p => this.area === 'all' || p.area === undefined || p.area.startsWith(this.area) || this.area.startsWith(p.area))
    const requests = this.posts.filter(p => p.channel === 'rfa')
    return html`
      <h2>Public posts and requests</h2>
      ${this.areas.length > 1 ? html`<div class="filter">
        <label for="feed-area">Area</label>
        <select id="feed-area" @change=${(e: Event) => { this.area = (e.target as HTMLSelectElement).value }}>
          <option value="all" ?selected=${this.area === 'all'}>All followed areas</option>
          ${this.areas.map(a => html`<option value=${a} ?selected=${a === this.area}>${a}</option>`)}
        </select></div>` : nothing}
      <p class="note">What residents chose to share publicly in ${this.areas.length === 0 ? 'the areas you follow' : `area ${this.areas.join(', ')}`},
        and agencies' requests. Residents' neighborhood posts are encrypted for their neighbors and never reach you.</p>
      <section aria-label="Feed">
        ${shown.length === 0
          ? html`<p class="empty">${this.areas.length === 0 ? 'Follow an area (Areas and identity) to see its public posts.' : 'No public posts yet.'}</p>`
          : repeat(shown, p => p.id, p => this.post(p, requests))}
      </section>`
  }

  private post (p: FeedPost, requests: readonly FeedPost[]) {
    const label = agencyLabel(p, this.now)
    const rfa = p.channel === 'rfa' ? readRfaText(p.text) : undefined
    const to = p.replyTo === undefined
      ? undefined
      : requests.some(r => r.id === p.replyTo) ? `Reply to ${requestWords(p.replyTo, requests)}` : `Reply to post ${p.replyTo.slice(0, 16)}`
    return html`
      <article>
        <div class="meta"><span class="kind">${kindLabel(p.kind)}</span> · ${label.author}
          · <time datetime=${new Date(p.created).toISOString()} title=${exactTime(p.created)}>${relativeTime(p.created, this.now)}</time>
          ${p.area !== undefined ? ` · area ${p.area}` : ''}${p.location !== undefined ? ` · near ${p.location}` : ''}
          ${label.trust !== undefined ? html`<span class="trust ${label.trust.tone}">${label.trust.text}</span>` : nothing}</div>
        ${to !== undefined ? html`<div class="meta">${to}</div>` : nothing}
        ${rfa !== undefined
          ? html`<p>${rfa.ask}</p>${rfa.window !== undefined || rfa.caseRef !== undefined ? html`<dl>
              ${rfa.window !== undefined ? html`<dt>Time window</dt><dd>${rfa.window}</dd>` : nothing}
              ${rfa.caseRef !== undefined ? html`<dt>Case reference</dt><dd>${rfa.caseRef}</dd>` : nothing}</dl>` : nothing}
              <div class="meta">Request ${p.id.slice(0, 16)}</div>`
          : html`<p>${p.text}</p>`}
        ${p.media.map((_, i) => html`<pl-clip .post=${p} .index=${i}></pl-clip>`)}
      </article>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-agency-feed': PlAgencyFeed }
}
