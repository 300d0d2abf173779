/**
 * The engine's storage interfaces (protocol/peer/storage.ts) over IndexedDB: MessageBackend
 * for the MessageStore and LocalStore for the feed and outboxes. Ranges are read in pages, so
 * a large topic is never loaded at once.
 */
import { Dexie } from 'dexie'
import type { BackendOp, KeyRange, KeyValue, LocalStore, MessageBackend } from '../../protocol/peer/storage.ts'
import type { PorchlightDb } from './db.ts'

/** Rows read per IndexedDB request while iterating a range. */
const PAGE = 256

export class DexieBackend implements MessageBackend {
  constructor (private readonly db: PorchlightDb) {}

  async batch (ops: readonly BackendOp[]): Promise<void> {
    await this.db.transaction('rw', this.db.messages, async () => {
      for (const op of ops) {
        if (op.type === 'put') await this.db.messages.put(op.value, op.key)
        else await this.db.messages.delete(op.key)
      }
    })
  }

  async get (key: string): Promise<Uint8Array | undefined> {
    return await this.db.messages.get(key)
  }

  async * entries (range: KeyRange): AsyncIterable<[string, Uint8Array]> {
    let from = range.gte
    let inclusive = true
    for (;;) {
      const keys = await this.page(from, inclusive, range)
      if (keys.length === 0) return
      const values = await this.db.messages.bulkGet(keys)
      for (const [i, key] of keys.entries()) {
        const v = values[i]
        if (v !== undefined) yield [key, v]
      }
      if (keys.length < PAGE) return
      from = keys[keys.length - 1]!
      inclusive = false
    }
  }

  async * keys (range: KeyRange): AsyncIterable<string> {
    let from = range.gte
    let inclusive = true
    for (;;) {
      const keys = await this.page(from, inclusive, range)
      yield * keys
      if (keys.length < PAGE) return
      from = keys[keys.length - 1]!
      inclusive = false
    }
  }

  private async page (from: string, inclusive: boolean, range: KeyRange): Promise<string[]> {
    const where = this.db.messages.where(':id')
    const c = range.lt !== undefined
      ? where.between(from, range.lt, inclusive, false)
      : range.lte !== undefined
        ? where.between(from, range.lte, inclusive, true)
        : inclusive ? where.aboveOrEqual(from) : where.above(from)
    return await c.limit(PAGE).primaryKeys() as string[]
  }

  async close (): Promise<void> {
    this.db.close()
  }
}

export class DexieLocalStore implements LocalStore {
  constructor (private readonly db: PorchlightDb) {}

  // `durable` (SectionOptions) is not told apart here: an IndexedDB transaction commits as the
  // browser's durability setting says, for every section alike.
  section<V> (name: string): KeyValue<V> {
    const t = this.db.local
    return {
      get: async (key) => (await t.get([name, key]))?.value as V | undefined,
      put: async (key, value) => { await t.put({ section: name, key, value }) },
      del: async (key) => { await t.delete([name, key]) },
      delMany: async (keys) => { await t.bulkDelete(keys.map(k => [name, k] as [string, string])) },
      entries: async function * (opts = {}) {
        // One section at once (the feed, an outbox): small next to the message store.
        let coll = t.where('[section+key]').between([name, Dexie.minKey], [name, Dexie.maxKey])
        if (opts.reverse === true) coll = coll.reverse()
        for (const row of await coll.toArray()) yield [row.key, row.value as V] as [string, V]
      }
    }
  }

  async close (): Promise<void> {
    this.db.close()
  }
}
