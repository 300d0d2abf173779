/**
 * The peer's local state in Node (protocol/peer/storage.ts LocalStore): one LevelDB folder
 * with a sublevel per section ('posts', 'outbox', 'joins', 'public-outbox'), JSON values; a
 * durable section's writes are synced (fsync), the others' are not.
 */
import { Level } from 'level'
import type { KeyValue, LocalStore, SectionOptions } from '../../protocol/peer/storage.ts'

export class LevelLocalStore implements LocalStore {
  private constructor (private readonly db: Level<string, unknown>) {}

  static async open (dir: string): Promise<LevelLocalStore> {
    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' })
    await db.open()
    return new LevelLocalStore(db)
  }

  section<V> (name: string, options: SectionOptions = {}): KeyValue<V> {
    const sub = this.db.sublevel<string, V>(name, { valueEncoding: 'json' })
    // classic-level takes `sync`; abstract-level's option types do not name it.
    const write = { sync: options.durable === true } as never
    return {
      get: async (key) => await sub.get(key),
      put: async (key, value) => { await sub.put(key, value, write) },
      del: async (key) => { await sub.del(key, write) },
      delMany: async (keys) => { await sub.batch(keys.map(key => ({ type: 'del' as const, key })), write) },
      entries: (opts = {}) => sub.iterator({ reverse: opts.reverse === true })
    }
  }

  async close (): Promise<void> { await this.db.close() }
}
