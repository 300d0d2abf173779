/**
 * What the peer engine keeps, and the storage each runtime supplies (LevelDB in Node,
 * IndexedDB in the browser).
 */

/** One message as stored and offered to sync. */
export interface StoredMessage {
  readonly topic: string
  /** 32-byte id: SHA-256 of the message bytes. */
  readonly id: Uint8Array
  /** Creation time, ms. */
  readonly ts: number
  /** Expiry time, ms. */
  readonly exp: number
  readonly bytes: Uint8Array
}
