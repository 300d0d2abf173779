/**
 * The message store's LevelDB backend in Node (protocol/peer/message-store.ts keeps the index,
 * quotas, sync item sets, expiry and group commit). Batches are written with `sync: true` (they
 * resolve only once on disk: fsync) unless the store asks otherwise (a received message's).
 */
import { Level } from 'level'
import { fail } from '../../protocol/errors.ts'
import { MessageStore, type StoreInit } from '../../protocol/peer/message-store.ts'
import type { BackendOp, KeyRange, MessageBackend } from '../../protocol/peer/storage.ts'

export { MessageStore, DEFAULT_QUOTA_BYTES_PER_TOPIC, type StoreInit, type StoredMessage } from '../../protocol/peer/message-store.ts'

/** A MessageBackend on a LevelDB folder. */
export class LevelMessageBackend implements MessageBackend {
  private constructor (private readonly db: Level<string, Uint8Array>) {}

  /** Opens (creating) the database in `dir`: REFUSED when another process holds it, IO otherwise. */
  static async open (dir: string): Promise<LevelMessageBackend> {
    const db = new Level<string, Uint8Array>(dir, { valueEncoding: 'view' })
    try {
      await db.open()
    } catch (err) {
      // LevelDB's lock: another process (a running relay, or `watch` on the same home) has it.
      const locked = (err as { cause?: { code?: string } }).cause?.code === 'LEVEL_LOCKED'
      fail(locked ? 'REFUSED' : 'IO', locked
        ? `the database in ${dir} is in use by another porchlight process (a relay on the same data folder, or \`watch\` on the same home): stop it, or use another folder`
        : `cannot open the database in ${dir}: ${(err as Error).message}`, err)
    }
    return new LevelMessageBackend(db)
  }

  async batch (ops: readonly BackendOp[], options: { readonly sync?: boolean } = {}): Promise<void> {
    await this.db.batch(ops as never, { sync: options.sync !== false } as never)
  }

  async get (key: string): Promise<Uint8Array | undefined> { return this.db.get(key) }

  entries (range: KeyRange): AsyncIterable<[string, Uint8Array]> { return this.db.iterator(range) }

  keys (range: KeyRange): AsyncIterable<string> { return this.db.keys(range) }

  async close (): Promise<void> { await this.db.close() }
}

/** The message store in a LevelDB folder (what a relay and a resident keep). */
export async function openMessageStore (dir: string, init: StoreInit = {}): Promise<MessageStore> {
  return MessageStore.open(await LevelMessageBackend.open(dir), init)
}
