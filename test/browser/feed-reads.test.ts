// How often a tab reads the whole feed from IndexedDB while posts arrive, in real Chromium
// (playwright-core). The tab running the engine has the feed from the engine: reading the posts
// section again after each of an incoming post's writes (web/engine/outbox-view.ts watchStore)
// cost it time growing with the feed. A second tab of the same resident, without the engine,
// reads the feed from IndexedDB and still shows each post live.
import { describe, expect, it } from 'vitest'
import { fileURLToPath } from 'node:url'
import type { Page } from 'playwright-core'
import { cli, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { article, connected, createIdentity, STEP_MS } from '../helpers/browser.ts'
import { useAppBrowser } from '../helpers/use-app-browser.ts'

const WEB_DIR = fileURLToPath(new URL('../../web/dist', import.meta.url))
/** Posts the CLI sends while both tabs are open. */
const POSTS = 4

const app = useAppBrowser()

/**
 * Counts, in `window.feedReads`, the reads of the posts section's whole range made by the store
 * view (readStore: the one read-only transaction over 'local' together with 'hoods').
 */
function countFeedReads (): void {
  const w = window as unknown as { feedReads: number }
  w.feedReads = 0
  const viewTransactions = new WeakSet<IDBTransaction>()
  const transaction = IDBDatabase.prototype.transaction
  IDBDatabase.prototype.transaction = function (this: IDBDatabase, names: string | string[], ...rest: unknown[]) {
    const t = (transaction as (...a: unknown[]) => IDBTransaction).call(this, names, ...rest)
    const scope = typeof names === 'string' ? [names] : [...names]
    if (scope.includes('local') && scope.includes('hoods')) viewTransactions.add(t)
    return t
  } as typeof transaction
  // A range, or (Dexie on a recent Chromium) getAll's options holding one.
  const postsRange = (q: unknown): boolean => {
    const range = q instanceof IDBKeyRange ? q : (q as { query?: unknown } | undefined)?.query
    return range instanceof IDBKeyRange && Array.isArray(range.lower) && range.lower[0] === 'posts'
  }
  for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype] as unknown as Array<Record<string, (...a: unknown[]) => unknown>>) {
    for (const method of ['get', 'getAll', 'getAllKeys', 'openCursor', 'openKeyCursor', 'count']) {
      const read = proto[method]!
      proto[method] = function (this: IDBObjectStore | IDBIndex, query: unknown, ...rest: unknown[]) {
        const t = this instanceof IDBIndex ? this.objectStore.transaction : this.transaction
        if (postsRange(query) && viewTransactions.has(t)) w.feedReads++
        return read.call(this, query, ...rest)
      }
    }
  }
}

const feedReads = async (page: Page): Promise<number> => await page.evaluate(() => (window as unknown as { feedReads: number }).feedReads)

describe('the feed read from IndexedDB', () => {
  it('is not read again as posts arrive in the tab running the engine; the other tab reads it and shows them live', async () => {
    const relay = await startRelay({ webDir: WEB_DIR })
    const admin = await tempDir('pl-cli-admin-')
    await cli(admin, ['id', 'create', '--name', 'Carol'])
    await cli(admin, ['hood', 'create', 'Oak Lane', '--area', 'u4pru', '--relay', tcpAddr(relay), '--relay', relay.webInfo().ws[0]!])
    await relay.serve((await cli(admin, ['--json', 'hood', 'relay-token'])).json.token as string)
    await cli(admin, ['hood', 'announce'])
    const invite = (await cli(admin, ['--json', 'hood', 'invite'])).json.invite as string

    const one = await app.open(`${relay.httpUrl}/#join=${invite}`, { initScript: countFeedReads })
    await createIdentity(one.page, 'Dev')
    await one.page.getByRole('button', { name: 'Join' }).click()
    await connected(one.page)
    await one.page.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })
    // A second tab of the same browser: the first holds the engine, this one shows IndexedDB.
    const two = await app.open(relay.httpUrl, { context: one.page.context(), initScript: countFeedReads })
    await two.page.getByRole('button', { name: 'New post' }).waitFor({ timeout: STEP_MS })
    const before = { one: await feedReads(one.page), two: await feedReads(two.page) }

    for (let i = 1; i <= POSTS; i++) await cli(admin, ['post', '--kind', 'info', '--text', `Notice number ${i}`])
    for (const page of [one.page, two.page]) {
      for (let i = 1; i <= POSTS; i++) await article(page, `Notice number ${i}`).waitFor({ timeout: STEP_MS })
    }
    // Each post was written to IndexedDB by the first tab's engine: only the second tab read the feed again.
    expect(await feedReads(one.page) - before.one).toBe(0)
    expect(await feedReads(two.page) - before.two).toBeGreaterThan(0)
    expect([...one.errors, ...two.errors]).toEqual([])
  })
})
