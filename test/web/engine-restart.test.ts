// The app restarts its engine on a rename (and a restore): the old engine's store closes, and
// a feed read the refresh timer started just before must not become an uncaught error in the
// page (a CI run failed on "pageerror: r": Dexie's DatabaseClosedError, its class name minified).
import { afterEach, describe, expect, it } from 'vitest'
import { createIdentity } from '../../protocol/identity.ts'
import { createNeighborhood, newEpochSecret } from '../../protocol/neighborhood.ts'
import { newHoodState } from '../../protocol/hood-state.ts'
import { AppState, type AppDeps, type Engine } from '../../web/state/app-state.ts'
import { MemoryHome } from '../helpers/memory-runtime.ts'

const RELAY = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWGzAZ8y1U6dK5oqX1SntK7kqN1Uw2kj5cE8AfG9sYVdxS'

/** What Dexie rejects a read with once its database is closed: not an Error instance. */
class DatabaseClosed { readonly name = 'DatabaseClosedError' }

/**
 * An engine whose feed reads wait on its store, as IndexedDB's do: a read pending when the
 * engine stops is refused as Dexie refuses it.
 */
function closingEngine (reads: { pending: number }): Engine {
  let closed = false
  const waiting = new Set<(err?: unknown) => void>()
  const node = { getConnections: () => [], addEventListener: () => undefined, removeEventListener: () => undefined }
  const engine = {
    start: async () => undefined,
    stop: async () => {
      closed = true
      for (const settle of waiting) settle(new DatabaseClosed())
    },
    feed: async () => {
      if (closed) throw new DatabaseClosed()
      reads.pending++
      await new Promise<void>((resolve, reject) => {
        const settle = (err?: unknown): void => { waiting.delete(settle); reads.pending--; if (err === undefined) resolve(); else reject(err) }
        waiting.add(settle)
        setTimeout(settle, 200)
      })
      return []
    },
    showsRequests: async () => true,
    settings: () => ({}),
    onPost: () => () => undefined,
    onRetract: () => () => undefined,
    stayConnected: () => () => undefined,
    node: () => node,
    relays: () => [RELAY],
    announceJoin: async () => ({ ok: true })
  }
  return engine as unknown as Engine
}

const unhandled: unknown[] = []
const onUnhandled = (reason: unknown): void => { unhandled.push(reason) }
afterEach(() => { process.off('unhandledRejection', onUnhandled) })

describe('restarting the engine', () => {
  it('drops a feed read the old engine was still making when its store closed, and shows no error', async () => {
    process.on('unhandledRejection', onUnhandled)
    const ann = await createIdentity('Ann')
    const state = newHoodState({ hood: createNeighborhood('Maple Street', 'u4pru', ann.public.signKey), epoch: 1, secret: newEpochSecret(), relays: [RELAY], members: [ann.public], joined: Date.now() })
    let me = ann
    const home = Object.assign(new MemoryHome(ann, [state]), {
      identity: async () => me,
      saveIdentity: async (id: typeof ann) => { me = id }
    })
    const reads = { pending: 0 }
    let opened = 0
    const deps: AppDeps = {
      home: home as unknown as AppDeps['home'],
      openEngine: async () => { opened++; return closingEngine(reads) },
      origin: 'http://localhost',
      feedRefreshMs: 5
    }
    const app = new AppState(deps)
    await app.init()
    expect(app.snapshot.phase).toBe('feed')
    // The refresh timer's read is under way on the first engine...
    for (let i = 0; reads.pending === 0 && i < 200; i++) await new Promise(resolve => setTimeout(resolve, 5))
    expect(reads.pending).toBeGreaterThan(0)
    // ...when a rename restarts it.
    expect(await app.rename('Annie')).toBe(true)
    expect(opened).toBe(2)
    await new Promise(resolve => setTimeout(resolve, 50))
    expect(unhandled).toEqual([])
    expect(app.snapshot.error).toBeUndefined()
    expect(app.snapshot.me?.name).toBe('Annie')
    await app.stop()
  })
})
