/**
 * Test-only page code for the `web-map` bench (bundled by accountability-bench.ts, served beside
 * the built app): fills this origin's IndexedDB through the app's own modules with an identity,
 * a neighborhood on the page's relay, and `publicPosts` public posts and `rfas` agency requests
 * of its area as the engine stores feed posts, each public post at a location of its own
 * precision (6 to 8 characters) inside the area. Returns the posts, for the static baseline.
 */
import { PorchlightDb } from '../../web/engine/db.ts'
import { BrowserHome } from '../../web/engine/home.ts'
import { DexieLocalStore } from '../../web/engine/dexie-storage.ts'
import { foundHood } from '../../protocol/peer/hood-actions.ts'
import { fetchPageRelay } from '../../web/state/relay-info.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { GEOHASH_ALPHABET } from '../../protocol/geohash.ts'
import { toHex } from '../../protocol/encoding.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'

const KINDS = ['info', 'safety', 'suspicious', 'crime', 'fire', 'traffic', 'outage', 'pet']

export async function seed (area: string, publicPosts: number, rfas: number): Promise<FeedPost[]> {
  const relay = await fetchPageRelay(fetch, location.hostname)
  if (relay === undefined) throw new Error('no /relay.json: serve this page from a relay')
  const db = new PorchlightDb()
  const home = new BrowserHome(db)
  const me = await createIdentity('Ann')
  await home.saveIdentity(me)
  const now = Date.now()
  await foundHood(home, me, { name: 'Maple Street', area, relays: [relay], now })
  const topic = areaTopic(area)
  // A fixed sequence (not Math.random): every run draws the same map.
  let x = 12345
  const next = (n: number): number => { x = (x * 1103515245 + 12345) % 2147483648; return (x >>> 12) % n }
  const posts: FeedPost[] = []
  for (let i = 0; i < publicPosts + rfas; i++) {
    const rfa = i >= publicPosts
    const precision = 6 + next(3)
    const location = area + Array.from({ length: precision - area.length }, () => GEOHASH_ALPHABET[next(32)]).join('')
    posts.push({
      id: toHex(crypto.getRandomValues(new Uint8Array(32))),
      channel: rfa ? 'rfa' : 'public',
      topic,
      area,
      kind: rfa ? 'rfa' : KINDS[i % KINDS.length]!,
      text: rfa ? `Request ${i - publicPosts}: footage of Elm and 5th between 2 and 4 pm` : `Public post ${i}`,
      created: now - (publicPosts + rfas - i) * 1000,
      expires: now + 7 * 86_400_000,
      media: [],
      author: toHex(crypto.getRandomValues(new Uint8Array(32))),
      authorFingerprint: 'AAAA-BBBB-CCCC-DDDD',
      mine: false,
      ...(rfa ? {} : { location })
    })
  }
  const section = new DexieLocalStore(db).section<FeedPost>('posts')
  await db.transaction('rw', db.local, async () => {
    for (const p of posts) await section.put(`${p.created.toString(16).padStart(14, '0')}!${p.id}`, p)
  })
  db.close()
  return posts
}
