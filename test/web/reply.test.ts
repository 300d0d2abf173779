// Replies and agency requests in the web app, without a browser: where a reply can go for each
// kind of post (the engine's rules), who will read it in words from the engine's audience
// statement, and the resident's switch for agency requests (feed and notifications).
import { describe, expect, it } from 'vitest'
import type { FeedPost, ReplyAudience } from '../../protocol/peer/resident.ts'
import { audienceWords, replyChoices, replyFailure, sentWords, unverifiedAgency } from '../../web/state/reply.ts'
import { notifyPost, shouldNotify, type NotificationText } from '../../web/state/notifications.ts'
import { AppState, type AppDeps } from '../../web/state/app-state.ts'
import type { StoreView } from '../../web/engine/outbox-view.ts'

const NOW = Date.UTC(2026, 10, 30, 12, 0, 0)
const post = (id: string, extra: Partial<FeedPost> = {}): FeedPost => ({
  id, created: NOW, channel: 'private', topic: 't', hood: 'Maple Street', kind: 'info', text: `text of ${id}`, expires: NOW + 3600_000, media: [], author: 'aa', authorFingerprint: 'FP', mine: false, ...extra
})
const request = (extra: Partial<FeedPost> = {}): FeedPost => post('r', {
  channel: 'rfa', kind: 'rfa', hood: undefined, area: 'u4pru', authorName: 'City PD', authorFingerprint: 'PD12-3456', vouchedBy: [], ...extra
})

describe('where a reply can go', () => {
  it('a neighborhood post: only in the neighborhood (a public reply would point at it)', () => {
    expect(replyChoices(post('p')).map(c => c.mode)).toEqual(['private'])
  })

  it('a public post: the neighborhood first, or in public on its area; never sealed', () => {
    const choices = replyChoices(post('p', { channel: 'public', hood: undefined, area: 'u4pru' }))
    expect(choices.map(c => c.mode)).toEqual(['private', 'public'])
    expect(choices[1]!.label).toBe('In public, on area u4pru')
  })

  it('an agency request: the neighborhood first, in public, or sealed to that agency by name', () => {
    const choices = replyChoices(request())
    expect(choices.map(c => c.mode)).toEqual(['private', 'public', 'sealed'])
    expect(choices[0]!.label).toBe('In the neighborhood (members only)')
    expect(choices[2]!.label).toBe('Sealed to City PD (only it can open it)')
  })

  it('an agency is unverified until an admin of the resident\'s neighborhoods vouched for it', () => {
    expect(unverifiedAgency(request())).toBe(true)
    expect(unverifiedAgency(request({ vouchedBy: ['AD12'] }))).toBe(false)
    expect(unverifiedAgency(post('p'))).toBe(false)
  })
})

describe('who will read it', () => {
  const sealed: ReplyAudience = { mode: 'sealed', area: 'u4pru', agency: { name: 'City PD', fingerprint: 'PD12-3456' } }

  it('in the neighborhood: its members, no agency, no relay', () => {
    const words = audienceWords({ mode: 'private', hood: 'Maple Street' })
    expect(words).toBe('Only members of Maple Street will read this reply: it is encrypted for the neighborhood; no agency and no relay can read it.')
  })

  it('in public: everyone on the area, agencies and relays included, under the area pseudonym', () => {
    const words = audienceWords({ mode: 'public', area: 'u4pru' })
    expect(words).toMatch(/^Everyone following area u4pru will read this reply, agencies and relays included\./)
    expect(words).toContain('pseudonym for this area, not your name')
  })

  it('sealed: only the agency by name and fingerprint, UNVERIFIED when no admin vouched; relays see a padded box', () => {
    const unverified = audienceWords(sealed, { unverified: true })
    expect(unverified).toMatch(/^Only the UNVERIFIED agency City PD \(fingerprint PD12-3456\) can open this reply/)
    expect(unverified).toContain('see only a sealed, padded box')
    expect(unverified).toContain('does not carry your name')
    const verified = audienceWords(sealed)
    expect(verified).toMatch(/^Only the agency City PD \(fingerprint PD12-3456\) can open this reply\./)
    expect(verified).not.toContain('UNVERIFIED')
    expect(audienceWords(sealed, { clip: 'photo' })).toContain('The photo is encrypted and kept by your neighborhood\'s relays until the reply expires; its key travels only inside the sealed reply, so only City PD can see it.')
  })

  it('after sending, and when it did not go out', () => {
    expect(sentWords(sealed)).toBe('Reply sent sealed to City PD. Only it can open it, so it is not shown here.')
    expect(sentWords({ mode: 'public', area: 'u4pru' })).toBe('Reply sent in public on area u4pru.')
    expect(replyFailure('sealed', { ok: false, code: 'UNAVAILABLE' })).toBe('Reply not sent: no relay reachable; nothing was kept: send it again.')
    expect(replyFailure('public', { ok: false, code: 'RATE_LIMITED', message: 'slow down' })).toBe('Reply not sent: the relay refused it (RATE_LIMITED: slow down); it is kept and tried again with your next public post.')
  })
})

describe('"Show requests from agencies" off', () => {
  it('never notifies a request; other posts as before', () => {
    const prefs = { enabled: true, previews: false }
    expect(shouldNotify(request(), { hidden: true, permission: 'granted', prefs })).toBe(true)
    expect(shouldNotify(request(), { hidden: true, permission: 'granted', prefs, requests: true })).toBe(true)
    expect(shouldNotify(request(), { hidden: true, permission: 'granted', prefs, requests: false })).toBe(false)
    expect(shouldNotify(post('p'), { hidden: true, permission: 'granted', prefs, requests: false })).toBe(true)
    const shown: NotificationText[] = []
    const env = { hidden: () => true, permission: () => 'granted', show: (n: NotificationText) => { shown.push(n) }, prefs: () => prefs, requests: () => false }
    expect(notifyPost(request(), undefined, env)).toBeUndefined()
    expect(notifyPost(post('p'), 'Maple Street', env)).toBeDefined()
    expect(shown).toHaveLength(1)
  })

  it('keeps requests out of the feed drawn from IndexedDB (as a tab without the engine draws it), at once when switched', async () => {
    let push: (view: StoreView) => void = () => undefined
    const view = (rfa: boolean | undefined): StoreView => ({
      posts: [request(), post('p')], queued: new Set(), refused: new Map(), home: { identity: false, hoods: 0 }, weeks: new Map(),
      ...(rfa !== undefined ? { settings: { rfa } } : {})
    })
    const deps: AppDeps = {
      home: { identity: async () => undefined, hoods: async () => [] } as unknown as AppDeps['home'],
      openEngine: async () => { throw new Error('no engine in this test') },
      origin: 'http://localhost',
      watchStore: (onChange) => { push = onChange; onChange(view(false)); return { posts: () => undefined, stop: () => undefined } }
    }
    const app = new AppState(deps)
    await app.init()
    expect(app.snapshot.showRequests).toBe(false)
    expect(app.snapshot.feed.map(p => p.id)).toEqual(['p'])
    push(view(undefined))
    expect(app.snapshot.showRequests).toBe(true)
    expect(app.snapshot.feed.map(p => p.id)).toEqual(['r', 'p'])
    push(view(false))
    expect(app.snapshot.feed.map(p => p.id)).toEqual(['p'])
    await app.stop()
  })
})
