/**
 * The resident's preferences (notifications, previews), kept in localStorage. Key backups are
 * in backup-file.ts (loaded with the screens that use them).
 */
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
