// The screens' logic that needs no browser (web/state/): relative times, the feed's filters and
// threads, trust labels, the notification's words and when one shows, the stored preferences,
// and the backup file the Settings screen writes (the CLI's format).
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { openBackup, BACKUP_PREFIX } from '../../protocol/backup.ts'
import { exactTime, nextChangeIn, relativeTime } from '../../web/state/relative-time.ts'
import { KIND_FILTERS, kindLabel, replyCounts, thread, trustLabel, visiblePosts, weekLines } from '../../web/state/feed-view.ts'
import { MAX_PREVIEW_CHARS, notificationText, notifyPost, shouldNotify, type NotificationText, type NotifyPrefs } from '../../web/state/notifications.ts'
import { readPrefs, SettingsStore, PREFS_KEY } from '../../web/state/settings.ts'
import { backupFileName, backupText, progressText, readBackupText } from '../../web/state/backup-file.ts'

const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const NOW = Date.UTC(2026, 10, 30, 12, 0, 0)

const post = (id: string, extra: Partial<FeedPost> = {}): FeedPost => ({
  id, created: NOW, channel: 'private', topic: 't', hood: 'Maple Street', kind: 'info', text: `text of ${id}`, expires: NOW + DAY, media: [], author: 'aa', authorFingerprint: 'FP', mine: false, ...extra
})

describe('relative times', () => {
  it('say how long ago in words people use', () => {
    expect(relativeTime(NOW - 10_000, NOW)).toBe('just now')
    expect(relativeTime(NOW + 60_000, NOW)).toBe('just now')
    expect(relativeTime(NOW + 10 * MIN, NOW)).toBe('in the future')
    expect(relativeTime(NOW - 5 * MIN - 30_000, NOW)).toBe('5 min ago')
    expect(relativeTime(NOW - HOUR, NOW)).toBe('1 hour ago')
    expect(relativeTime(NOW - 3 * HOUR, NOW)).toBe('3 hours ago')
    expect(relativeTime(NOW - 30 * HOUR, NOW)).toBe('yesterday')
    expect(relativeTime(NOW - 3 * DAY, NOW)).toBe('3 days ago')
    expect(relativeTime(NOW - 30 * DAY, NOW, 'en-GB')).toBe('31 Oct 2026')
  })

  it('never read older for a later post, and change exactly when nextChangeIn says', () => {
    const order = ['in the future', 'just now', 'min', 'hour', 'yesterday', 'days']
    const rank = (s: string): number => { const i = order.findIndex(o => s.includes(o)); return i < 0 ? order.length : i }
    fc.assert(fc.property(fc.integer({ min: 0, max: 30 * DAY }), fc.integer({ min: 0, max: 30 * DAY }), (a, b) => {
      const [older, newer] = a > b ? [NOW - a, NOW - b] : [NOW - b, NOW - a]
      expect(rank(relativeTime(newer, NOW))).toBeLessThanOrEqual(rank(relativeTime(older, NOW)))
      const wait = nextChangeIn(older, NOW)
      expect(wait).toBeGreaterThan(0)
      if (NOW - older < 2 * DAY && wait > 1) expect(relativeTime(older, NOW + wait - 1)).toBe(relativeTime(older, NOW))
    }), { numRuns: runs(200) })
  })

  it('give the exact time for the title', () => {
    expect(exactTime(NOW, 'en-GB')).toMatch(/30 Nov 2026/)
  })
})

describe('the feed view', () => {
  const posts = [
    post('a', { kind: 'crime' }),
    post('b', { kind: 'info' }),
    post('r1', { kind: 'reply', replyTo: 'a', created: NOW + 2 }),
    post('r2', { kind: 'reply', replyTo: 'a', created: NOW + 1 }),
    post('o', { kind: 'info', hood: 'Oak Lane' }),
    post('pub', { kind: 'info', channel: 'public', hood: undefined, area: 'u4pru' }),
    post('far', { kind: 'rfa', channel: 'rfa', hood: undefined, area: 'gcpvj' })
  ]

  it('filters by kind and neighborhood, and keeps replies for the thread', () => {
    expect(visiblePosts(posts, { kind: 'all' }).map(p => p.id)).toEqual(['a', 'b', 'o', 'pub', 'far'])
    expect(visiblePosts(posts, { kind: 'info' }).map(p => p.id)).toEqual(['b', 'o', 'pub'])
    expect(visiblePosts(posts, { kind: 'rfa' }).map(p => p.id)).toEqual(['far'])
    expect(visiblePosts(posts, { kind: 'all', hood: 'Maple Street' }, 'u4pru').map(p => p.id)).toEqual(['a', 'b', 'pub'])
    expect(visiblePosts(posts, { kind: 'info', hood: 'Oak Lane' }, 'u4prv').map(p => p.id)).toEqual(['o'])
  })

  it('a kind filter keeps exactly the posts of that kind (any filter the select offers)', () => {
    const kinds = KIND_FILTERS.map(k => k.value)
    fc.assert(fc.property(fc.array(fc.record({ kind: fc.constantFrom(...kinds.filter(k => k !== 'all'), 'reply'), reply: fc.boolean() }), { maxLength: 20 }), fc.constantFrom(...kinds), (spec, kind) => {
      const ps = spec.map((s, i) => post(`p${i}`, { kind: s.kind, ...(s.reply ? { replyTo: 'x' } : {}) }))
      const shown = visiblePosts(ps, { kind })
      expect(shown.every(p => p.replyTo === undefined && (kind === 'all' || p.kind === kind))).toBe(true)
      expect(shown.length).toBe(ps.filter(p => p.replyTo === undefined && (kind === 'all' || p.kind === kind)).length)
    }), { numRuns: runs(100) })
  })

  it('counts replies and reads a thread oldest reply first; a retracted post leaves its replies', () => {
    expect(replyCounts(posts).get('a')).toBe(2)
    expect(replyCounts(posts).get('b')).toBeUndefined()
    const t = thread(posts, 'a')
    expect(t.post?.id).toBe('a')
    expect(t.replies.map(p => p.id)).toEqual(['r2', 'r1'])
    const gone = thread(posts.filter(p => p.id !== 'a'), 'a')
    expect(gone.post).toBeUndefined()
    expect(gone.replies).toHaveLength(2)
  })

  it('labels agency requests verified or unverified, and look-alike names', () => {
    expect(trustLabel(post('x', { channel: 'rfa', kind: 'rfa', vouchedBy: ['F1', 'F2'] }))).toEqual({ text: 'Verified agency (vouched for by 2 admins of your neighborhoods: F1, F2)', tone: 'verified' })
    expect(trustLabel(post('x', { channel: 'rfa', kind: 'rfa', vouchedBy: [] }))?.tone).toBe('unverified')
    expect(trustLabel(post('x', { channel: 'rfa', kind: 'rfa' }))?.tone).toBe('unverified')
    expect(trustLabel(post('x', { lookAlike: true }))?.tone).toBe('caution')
    expect(trustLabel(post('x', { lookAlike: true, mine: true }))).toBeUndefined()
    expect(trustLabel(post('x'))).toBeUndefined()
    expect(kindLabel('suspicious')).toBe('Suspicious activity')
    expect(kindLabel('rfa')).toBe('Agency request')
  })
})

describe('the week on the feed', () => {
  it('a line per kind, the usual week only with enough history, the half of a median kept', () => {
    expect(weekLines({ enoughHistory: true, kinds: [{ kind: 'crime', thisWeek: 3, usual: 1 }, { kind: 'pet', thisWeek: 0, usual: 0.5 }] }))
      .toEqual({ lines: [`${kindLabel('crime')}: 3 this week, usually 1`, `${kindLabel('pet')}: 0 this week, usually 0.5`] })
    const young = weekLines({ enoughHistory: false, kinds: [{ kind: 'fire', thisWeek: 2 }] })
    expect(young.lines).toEqual([`${kindLabel('fire')}: 2 this week`])
    expect(young.note).toMatch(/^Not enough history yet/)
    expect(weekLines({ enoughHistory: true, kinds: [] }).lines).toEqual(['No posts this week.'])
  })
})

describe('notifications', () => {
  const on: NotifyPrefs = { enabled: true, previews: false }

  it('name the neighborhood, and carry the text only with previews on', () => {
    const p = post('n', { kind: 'fire', text: 'Smoke  behind\nthe bakery' })
    expect(notificationText(p, 'Maple Street', false)).toEqual({ title: 'New post in Maple Street', body: 'Fire', tag: 'porchlight-n' })
    expect(notificationText(p, 'Maple Street', true).body).toBe('Fire: Smoke behind the bakery')
    expect(notificationText(post('q', { hood: undefined, area: 'u4pru' }), undefined, false).title).toBe('New post in area u4pru')
    const long = notificationText(post('l', { text: 'x'.repeat(500) }), 'M', true).body
    expect(long.length).toBeLessThanOrEqual('Information: '.length + MAX_PREVIEW_CHARS)
  })

  it('never carry the text with previews off, whatever the post', () => {
    fc.assert(fc.property(fc.string({ minLength: 1, maxLength: 200 }), text => {
      const n = notificationText(post('z', { text: `§${text}` }), 'Maple Street', false)
      expect(`${n.title}${n.body}`).not.toContain('§')
    }), { numRuns: runs(100) })
  })

  it('show only when the tab is hidden, permission granted, turned on, and the post is not mine', () => {
    const p = post('n')
    expect(shouldNotify(p, { hidden: true, permission: 'granted', prefs: on })).toBe(true)
    expect(shouldNotify(p, { hidden: false, permission: 'granted', prefs: on })).toBe(false)
    expect(shouldNotify(p, { hidden: true, permission: 'default', prefs: on })).toBe(false)
    expect(shouldNotify(p, { hidden: true, permission: 'granted', prefs: { enabled: false, previews: true } })).toBe(false)
    expect(shouldNotify(post('m', { mine: true }), { hidden: true, permission: 'granted', prefs: on })).toBe(false)
    const shown: NotificationText[] = []
    const env = { hidden: () => true, permission: () => 'granted', show: (n: NotificationText) => { shown.push(n) }, prefs: () => ({ enabled: true, previews: true }) }
    expect(notifyPost(p, 'Maple Street', env)?.body).toBe('Information: text of n')
    expect(notifyPost(p, 'Maple Street', { ...env, hidden: () => false })).toBeUndefined()
    expect(shown).toHaveLength(1)
  })
})

describe('settings', () => {
  it('keep the preferences, off by default and after anything unreadable', () => {
    expect(readPrefs(null)).toEqual({ enabled: false, previews: false })
    expect(readPrefs('{not json')).toEqual({ enabled: false, previews: false })
    expect(readPrefs('{"enabled":"yes","previews":true}')).toEqual({ enabled: false, previews: true })
    const saved = new Map<string, string>()
    const storage = { getItem: (k: string) => saved.get(k) ?? null, setItem: (k: string, v: string) => { saved.set(k, v) } }
    const store = new SettingsStore(storage)
    let changes = 0
    store.addEventListener('change', () => { changes++ })
    store.update({ previews: true })
    expect(changes).toBe(1)
    expect(JSON.parse(saved.get(PREFS_KEY)!)).toEqual({ enabled: false, previews: true })
    expect(new SettingsStore(storage).prefs).toEqual({ enabled: false, previews: true })
  })

  it('write a backup as the CLI does (plbackup: text and a newline) that opens with its passphrase, with progress', async () => {
    const identity = await createIdentity('Ann')
    const kdf = { kdf: 'scrypt', logN: 10, r: 8, p: 1 } as const
    const steps: number[] = []
    const text = await backupText({ identity, hoods: [], created: NOW }, 'correct horse battery', { kdf, onProgress: f => { steps.push(f) } })
    expect(text.startsWith(BACKUP_PREFIX)).toBe(true)
    expect(text.endsWith('\n')).toBe(true)
    expect(steps.length).toBeGreaterThan(0)
    expect((await openBackup(text.trim(), 'correct horse battery')).identity.public.name).toBe('Ann')
    expect((await readBackupText(text, 'correct horse battery')).created).toBe(NOW)
    await expect(readBackupText(text, 'wrong horse battery')).rejects.toMatchObject({ code: 'DECRYPT_FAILED' })
    expect(backupFileName('Ann Müller/..', NOW)).toBe('porchlight-Ann-Muller-2026-11-30.plbackup')
    expect(backupFileName('∑', NOW)).toBe('porchlight-identity-2026-11-30.plbackup')
    expect(progressText('export', 0.456)).toBe('Encrypting the backup… 46%')
  })
})
