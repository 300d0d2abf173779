/**
 * One post as the feed and a thread show it: kind, author (with a trust label where the engine
 * gives one), a relative time (in a thread, the exact one beside it), where one of the resident's own
 * posts is (queued, sent, refused), its text and clips. A template, not a component: a feed of
 * a thousand posts as a thousand custom elements, each with its own shadow root and styles,
 * took seconds to render on a phone-class machine (`npm run bench -- --only web-render`).
 */
import { html, css, nothing } from 'lit'
import type { ShownPost } from '../engine/outbox-view.ts'
import { authorLabel } from '../state/labels.ts'
import { kindLabel, trustLabel } from '../state/feed-view.ts'
import { exactTime, relativeTime } from '../state/relative-time.ts'
import './pl-clip.ts'

/** Styles of postView, for the shadow root it renders in. */
export const postStyles = css`
  article { border-bottom: 1px solid #ccc; padding: 0.7rem 0; font: 16px/1.4 system-ui, sans-serif; }
  /* Posts below the screen are laid out when scrolled to (their size is estimated until then). */
  article { content-visibility: auto; contain-intrinsic-size: auto 7rem; }
  article .meta { font-size: 0.85rem; color: #555; }
  .kind { text-transform: uppercase; font-weight: 700; font-size: 0.75rem; letter-spacing: 0.05em; }
  .trust { display: inline-block; font-size: 0.8rem; padding: 0 0.3rem; border-radius: 4px; }
  .verified { background: #e3f3e3; color: #185c18; } .unverified, .caution { background: #fff1d6; color: #6b4700; }
  .outbox { font-size: 0.8rem; } .outbox.queued { color: #7a5200; } .outbox.sent { color: #185c18; } .outbox.refused { color: #8a1c1c; }
  article p { margin: 0.3rem 0; white-space: pre-wrap; overflow-wrap: anywhere; }
  article button { font: inherit; font-size: 0.9rem; min-height: 44px; padding: 0.3rem 0.9rem; margin: 0; border-radius: 6px; border: 1px solid #444; background: #fff; color: #234; }
`

export interface PostViewOptions {
  /** The time relative times are counted from (the feed ticks it). */
  now: number
  /**
   * In the feed: how many replies, and an "Open" button that leads to the post's thread.
   * Without it (a thread) the exact time is shown too: formatting it for every post of a long
   * feed was a tenth of the feed's first render.
   */
  open?: { replies: number, onOpen: (id: string) => void }
}

export function postView (p: ShownPost, opts: PostViewOptions) {
  const trust = trustLabel(p)
  return html`
    <article>
      <div class="meta"><span class="kind">${kindLabel(p.kind)}</span> · ${authorLabel(p)}${p.authorFormerName !== undefined ? ` (formerly ${p.authorFormerName})` : ''}
        · <time datetime=${new Date(p.created).toISOString()}>${relativeTime(p.created, opts.now)}${opts.open === undefined ? ` (${exactTime(p.created)})` : ''}</time>${p.channel === 'public' ? ' · public' : ''}
        ${trust !== undefined ? html`<span class="trust ${trust.tone}">${trust.text}</span>` : nothing}${outboxBadge(p)}</div>
      <p>${p.text}</p>
      ${p.media.map((_, i) => html`<pl-clip .post=${p} .index=${i}></pl-clip>`)}
      ${opts.open !== undefined ? openRow(p.id, opts.open) : nothing}
    </article>`
}

function openRow (id: string, open: NonNullable<PostViewOptions['open']>) {
  const { replies } = open
  return html`<div class="meta">${replies > 0 ? `${replies} repl${replies === 1 ? 'y' : 'ies'} · ` : ''}<button type="button" @click=${() => { open.onOpen(id) }}>Open</button></div>`
}

/** Where one of the resident's own posts is; nothing for others' posts. */
function outboxBadge (p: ShownPost) {
  const o = p.outbox
  if (o === undefined) return nothing
  const text = o.state === 'queued'
    ? 'queued: goes out when a relay answers'
    : o.state === 'sent' ? 'sent' : `refused: ${o.reason}`
  return html` · <span class="outbox ${o.state}">${text}</span>`
}
