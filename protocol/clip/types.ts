/** What each format cleaner returns: the cleaned bytes and what it took out, by name. */
export interface StripResult {
  readonly bytes: Uint8Array
  /** Human-readable names of removed or blanked items ('APP1 Exif', 'tEXt', 'udta'...), each once. */
  readonly removed: string[]
}
