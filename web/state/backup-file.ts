/**
 * Key backups in the CLI's format (protocol/backup.ts: a `plbackup:` text file, what
 * `porchlight id export|import` write and read), for the Settings and Welcome screens.
 */
import { createBackup, DEFAULT_KDF, formatBackup, openBackup, parseBackup, type BackupContents, type KdfParams } from '../../protocol/backup.ts'
import type { Identity } from '../../protocol/identity.ts'
import type { HoodState } from '../../protocol/hood-state.ts'

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
