/**
 * The Settings screen's state and actions outside the component: the resident's preferences
 * (notifications, previews; kept in localStorage), and key backups in the CLI's format
 * (protocol/backup.ts: a `plbackup:` text file, what `porchlight id export|import` write and read).
 */
import { createBackup, DEFAULT_KDF, formatBackup, openBackup, parseBackup, type BackupContents, type KdfParams } from '../../protocol/backup.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { HoodState } from '../../protocol/hood-state.ts'
import type { NotifyPrefs } from './notifications.ts'

export const PREFS_KEY = 'porchlight-prefs'

export const DEFAULT_PREFS: NotifyPrefs = Object.freeze({ enabled: false, previews: false })

/** The preferences, in a Storage (localStorage in the page); fires 'change'. */
export class SettingsStore extends EventTarget {
  private value: NotifyPrefs

  constructor (private readonly storage?: Pick<Storage, 'getItem' | 'setItem'>) {
    super()
    this.value = readPrefs(storage?.getItem(PREFS_KEY) ?? null)
  }

  get prefs (): NotifyPrefs { return this.value }

  update (patch: Partial<NotifyPrefs>): void {
    this.value = { ...this.value, ...patch }
    try { this.storage?.setItem(PREFS_KEY, JSON.stringify(this.value)) } catch { /* private mode: kept for this visit only */ }
    this.dispatchEvent(new Event('change'))
  }
}

/** Stored preferences, each field checked; anything unreadable is the default (off). */
export function readPrefs (raw: string | null): NotifyPrefs {
  if (raw === null) return { ...DEFAULT_PREFS }
  try {
    const v = JSON.parse(raw) as Record<string, unknown>
    return { enabled: v.enabled === true, previews: v.previews === true }
  } catch {
    return { ...DEFAULT_PREFS }
  }
}

/** The backup's file text: `plbackup:…` and a newline, exactly as `porchlight id export` writes it. */
export async function backupText (contents: { identity: Identity, hoods: readonly HoodState[], created: number }, passphrase: string,
  opts: { onProgress?: (fraction: number) => void, kdf?: KdfParams } = {}): Promise<string> {
  const bytes = await createBackup(contents, passphrase, { kdf: opts.kdf ?? DEFAULT_KDF, ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {}) })
  return formatBackup(bytes) + '\n'
}

/** A file name for the download: porchlight-<name>-<yyyy-mm-dd>.plbackup (the name kept to safe characters). */
export function backupFileName (name: string, now: number): string {
  const safe = name.normalize('NFKD').replace(/\p{M}+/gu, '').replace(/[^A-Za-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32) || 'identity'
  return `porchlight-${safe}-${new Date(now).toISOString().slice(0, 10)}.plbackup`
}

/** Checks a chosen file is a backup this version reads (before asking for the passphrase's slow work). */
export function checkBackupText (text: string): void {
  parseBackup(text.trim())
}

/** Opens a backup file's text with its passphrase (DECRYPT_FAILED: wrong passphrase or damaged file). */
export async function readBackupText (text: string, passphrase: string, onProgress?: (fraction: number) => void): Promise<BackupContents> {
  return await openBackup(text.trim(), passphrase, onProgress !== undefined ? { onProgress } : {})
}

/** Progress as a person reads it. */
export function progressText (what: 'export' | 'import', fraction: number): string {
  const pct = Math.min(100, Math.max(0, Math.round(fraction * 100)))
  return `${what === 'export' ? 'Encrypting' : 'Decrypting'} the backup… ${pct}%`
}
