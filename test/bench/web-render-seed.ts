/**
 * Test-only page code for the `web-render` bench (bundled by web-bench.ts, served beside the
 * built app from the same origin): fills this origin's IndexedDB through the app's own modules
 * (web/engine/db.ts's Dexie schema, BrowserHome, DexieLocalStore's 'posts' section, the app's
 * foundHood) with an identity, a neighborhood on the page's relay and `n` posts from a few
 * neighbors, as the engine stores feed posts. Returns the posts, for the static-HTML baseline.
 */
import { PorchlightDb } from '../../web/engine/db.ts'
import { BrowserHome } from '../../web/engine/home.ts'
import { DexieLocalStore } from '../../web/engine/dexie-storage.ts'
import { foundHood } from '../../protocol/peer/hood-actions.ts'
import { fetchPageRelay } from '../../web/state/relay-info.ts'
import { createIdentity, fingerprint } from '../../protocol/identity.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { toHex } from '../../protocol/encoding.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'

const KINDS = ['info', 'safety', 'suspicious', 'crime', 'fire', 'traffic', 'outage', 'pet']
const WORDS = 'van idling by the school since noon street fair on saturday power out east side water main fixed lost cat near the park gate open'.split(' ')

export async function seed (n: number): Promise<FeedPost[]> {
  const relay = await fetchPageRelay(fetch, location.hostname)
  if (relay === undefined) throw new Error('no /relay.json: serve this page from a relay')
  const db = new PorchlightDb()
  const home = new BrowserHome(db)
  const me = await createIdentity('Ann')
  await home.saveIdentity(me)
  const now = Date.now()
  const { state } = await foundHood(home, me, { name: 'Maple Street', area: 'u4pru', relays: [relay], now })
  const neighbors = await Promise.all(['Ben', 'Cleo', 'Dev', 'Eve'].map(async name => await createIdentity(name)))
  const topic = privateTopic(state.hood.id)
  const posts: FeedPost[] = []
  for (let i = 0; i < n; i++) {
    const author = i % 5 === 0 ? me : neighbors[i % neighbors.length]!
    const id = toHex(crypto.getRandomValues(new Uint8Array(32)))
    const text = Array.from({ length: 8 + (i % 17) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(' ')
    posts.push({
      id,
      channel: 'private',
      topic,
      hood: state.hood.name,
      kind: KINDS[i % KINDS.length]!,
      text,
      created: now - (n - i) * 60_000,
      expires: now + 7 * 86_400_000,
      media: [],
      author: toHex(author.public.signKey),
      authorName: author.public.name,
      authorFingerprint: fingerprint(author.public.signKey),
      mine: author === me
    })
  }
  const section = new DexieLocalStore(db).section<FeedPost>('posts')
  // The engine's key for a feed post (resident.ts): created, 14 hex digits, then the id.
  await db.transaction('rw', db.local, async () => {
    for (const p of posts) await section.put(`${p.created.toString(16).padStart(14, '0')}!${p.id}`, p)
  })
  db.close()
  return posts
}
