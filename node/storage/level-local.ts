/**
 * The peer's local state in Node (protocol/peer/storage.ts LocalStore): one LevelDB folder
 * with a sublevel per section ('posts', 'outbox', 'joins', 'public-outbox'), JSON values.
 */
import { Level } from 'level'
import type { KeyValue, LocalStore } from '../../protocol/peer/storage.ts'

export class LevelLocalStore implements LocalStore {
  private constructor (private readonly db: Level<string, unknown>) {}

  static async open (dir: string): Promise<LevelLocalStore> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
    await db.open()
    return new LevelLocalStore(db)
  }

  section<V> (name: string): KeyValue<V> {
    const sub = this.db.sublevel<string, V>(name, { valueEncoding: 'json' })
    return {
      put: async (key, value) => { await sub.put(key, value) },
      del: async (key) => { await sub.del(key) },
      delMany: async (keys) => { await sub.batch(keys.map(key => ({ type: 'del' as const, key }))) },
      entries: (opts = {}) => sub.iterator({ reverse: opts.reverse === true })
    }
  }

  async close (): Promise<void> { await this.db.close() }
}
