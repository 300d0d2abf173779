/** The feed: a kind filter, the top-level posts newest first (the state sorts them), and a post's thread when opened. */
import { LitElement, html, css, nothing } from 'lit'
import { NowController } from './now-controller.ts'
import { customElement, property, state } from 'lit/decorators.js'
import { repeat } from 'lit/directives/repeat.js'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { KIND_FILTERS, replyCounts, thread, visiblePosts, weekLines } from '../state/feed-view.ts'
import type { WeekContext } from '../../protocol/week-counts.ts'
import { shared } from './shared-styles.ts'
import { postStyles, postView } from './post-view.ts'
import './pl-post-detail.ts'


@customElement('pl-feed')
export class PlFeed extends LitElement {
  static override styles = [shared, postStyles, css`.empty { color: #555; } .filter { max-width: 16rem; }
    .week { font-size: 0.9rem; background: #f4f4f0; border-radius: 6px; padding: 0.3rem 0.8rem; margin: 0.5rem 0; }
    .week h2 { font-size: 1rem; margin: 0.3rem 0; } .week ul { margin: 0.2rem 0; padding-left: 1.2rem; }`]

  @property({ attribute: false }) posts: readonly FeedPost[] = []
  /** The neighborhood shown (its name and area); empty shows every neighborhood's posts. */
  @property() hood = ''
  @property() area = ''
  @property({ type: Boolean }) busy = false
  /** This week beside the usual week, for the neighborhood shown. */
  @property({ attribute: false }) week: WeekContext | undefined
  @state() private kind = 'all'
  @state() private openId: string | undefined
  private readonly clock = new NowController(this)
  private get now (): number { return this.clock.value }

  private readonly openPost = (id: string): void => { this.openId = id }

  override render () {
    if (this.openId !== undefined) {
      return html`<pl-post-detail .thread=${thread(this.posts, this.openId)} .now=${this.now} ?busy=${this.busy}
        @close-post=${() => { this.openId = undefined }}></pl-post-detail>`
    }
    const shown = visiblePosts(this.posts, { kind: this.kind, ...(this.hood !== '' ? { hood: this.hood } : {}) }, this.area || undefined)
    const counts = replyCounts(this.posts)
    return html`
      ${this.week !== undefined ? this.weekSection(this.week) : nothing}
      <div class="filter">
        <label for="show">Show</label>
        <select id="show" @change=${(e: Event) => { this.kind = (e.target as HTMLSelectElement).value }}>
          ${KIND_FILTERS.map(k => html`<option value=${k.value} ?selected=${k.value === this.kind}>${k.label}</option>`)}
        </select>
      </div>
      <section aria-label="Feed">
        ${shown.length === 0
          ? html`<p class="empty">${this.kind === 'all' ? 'No posts yet.' : 'No posts of this kind.'}</p>`
          : repeat(shown, p => p.id, p => postView(p, { now: this.now, open: { replies: counts.get(p.id) ?? 0, onOpen: this.openPost } }))}
      </section>`
  }

  private weekSection (ctx: WeekContext) {
    const { lines, note } = weekLines(ctx)
    return html`<section class="week" aria-label="This week">
      <h2>This week</h2>
      <ul>${lines.map(l => html`<li>${l}</li>`)}</ul>
      ${note !== undefined ? html`<p class="note">${note}</p>` : nothing}
    </section>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-feed': PlFeed }
}
