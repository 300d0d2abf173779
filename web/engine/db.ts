/**
 * The page's IndexedDB database (Dexie), one per origin: the browser side of what the Node
 * peer keeps in its home folder and LevelDB.
 *
 *   messages   key → bytes      the MessageStore's ordered byte store (MessageBackend)
 *   local      [section+key]    the engine's local state: feed, outboxes, joins (LocalStore)
 *   secrets    name → bytes     'identity' (encodeIdentitySecret), 'node-key' (libp2p key, protobuf)
 *   hoods      id hex → bytes   one 'pl/home-hood' state per neighborhood (encodeHoodState)
 *   agency     'state' → bytes  (v2) 'pl/home-agency' (encodeAgencyState): present only for an
 *                               agency identity, as the Node home's `agency` file
 *
 * Versioned: a later release adds `this.version(2).stores(…)` with an upgrade, never edits v1.
 * Several Dexie instances on the same database (the engine's runtime, the app's home) are fine.
 */
import { Dexie, type Table } from 'dexie'

export const DB_NAME = 'porchlight'

export interface LocalRow { section: string, key: string, value: unknown }

export class PorchlightDb extends Dexie {
  messages!: Table<Uint8Array, string>
  local!: Table<LocalRow, [string, string]>
  secrets!: Table<Uint8Array, string>
  hoods!: Table<Uint8Array, string>
  agency!: Table<Uint8Array, string>

  constructor (name = DB_NAME) {
    // 'strict' durability: a transaction resolves only once its writes are on disk (Chromium
    // otherwise reports success before the flush), as MessageBackend.batch promises.
    super(name, { chromeTransactionDurability: 'strict' })
    this.version(1).stores({
      messages: '',
      local: '[section+key]',
      secrets: '',
      hoods: ''
    })
    // v2: the agency state (a new table; v1's tables are kept as they are).
    this.version(2).stores({ agency: '' })
  }
}
