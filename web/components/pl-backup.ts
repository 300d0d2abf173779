/**
 * Key backups in the CLI's file format (`porchlight id export|import`): export downloads a
 * `plbackup:` text file through a Blob link; import reads one from a file input with its
 * passphrase. scrypt takes about a second: its progress is shown.
 */
import { LitElement, html, nothing } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import type { AppState } from '../state/app-state.ts'
import { backupFileName, checkBackupText, progressText, readBackupText } from '../state/backup-file.ts'
import { MIN_PASSPHRASE_CHARS } from '../../protocol/backup.ts'
import { shared } from './shared-styles.ts'

@customElement('pl-backup')
export class PlBackup extends LitElement {
  static override styles = shared

  @property({ attribute: false }) app: AppState | undefined
  /** Which parts to show: a new browser only restores. */
  @property() mode: 'both' | 'import' = 'both'
  @state() private progress: string | undefined
  @state() private message: string | undefined
  @state() private download: { url: string, name: string } | undefined
  @query('#export-pass') private exportPass!: HTMLInputElement
  @query('#export-pass2') private exportPass2!: HTMLInputElement
  @query('#backup-file') private fileInput!: HTMLInputElement
  @query('#import-pass') private importPass!: HTMLInputElement

  override disconnectedCallback (): void {
    if (this.download !== undefined) URL.revokeObjectURL(this.download.url)
    super.disconnectedCallback()
  }

  override render () {
    return html`
      ${this.mode === 'both' ? this.exportForm() : nothing}
      <h3>Restore from a backup</h3>
      <form @submit=${this.import}>
        <label for="backup-file">Backup file</label>
        <input id="backup-file" type="file" accept=".plbackup,text/plain" required>
        <label for="import-pass">Passphrase of the backup</label>
        <input id="import-pass" type="password" autocomplete="off" required>
        <p class="note">${this.mode === 'both'
          ? 'The backup\'s identity replaces this browser\'s (its keys are lost unless they are in a backup too).'
          : 'A backup from the app or from porchlight id export brings your identity and neighborhoods here.'}</p>
        <button type="submit" ?disabled=${this.progress !== undefined}>Restore</button>
      </form>
      <p aria-live="polite">${this.progress ?? this.message ?? ''}</p>`
  }

  private exportForm () {
    return html`
      <h3>Back up your keys</h3>
      <form @submit=${this.export}>
        <label for="export-pass">Choose a passphrase</label>
        <input id="export-pass" type="password" autocomplete="new-password" required minlength=${MIN_PASSPHRASE_CHARS}>
        <label for="export-pass2">Repeat the passphrase</label>
        <input id="export-pass2" type="password" autocomplete="new-password" required minlength=${MIN_PASSPHRASE_CHARS}>
        <p class="note">Anyone with the file and the passphrase can act as you: keep them apart. The same file works with
          porchlight id import.</p>
        <button type="submit" ?disabled=${this.progress !== undefined}>Make a backup</button>
      </form>
      ${this.download !== undefined ? html`<p><a href=${this.download.url} download=${this.download.name}>Download backup file</a></p>` : nothing}`
  }

  private async export (e: Event): Promise<void> {
    e.preventDefault()
    if (this.app === undefined) return
    const pass = this.exportPass.value
    if (pass !== this.exportPass2.value) { this.message = 'The passphrases differ.'; return }
    this.message = undefined
    try {
      this.progress = progressText('export', 0)
      const text = await this.app.exportBackup(pass, f => { this.progress = progressText('export', f) })
      if (this.download !== undefined) URL.revokeObjectURL(this.download.url)
      const name = backupFileName(this.app.snapshot.me?.name ?? 'identity', Date.now())
      this.download = { url: URL.createObjectURL(new Blob([text], { type: 'text/plain' })), name }
      this.exportPass.value = ''
      this.exportPass2.value = ''
      this.message = 'Backup ready: download it and keep it somewhere safe.'
    } catch (err) {
      this.message = `No backup made: ${(err as Error).message}`
    } finally {
      this.progress = undefined
    }
    await this.updateComplete
    // Start the download at once; the link stays for a second try.
    this.renderRoot.querySelector<HTMLAnchorElement>('a[download]')?.click()
  }

  private async import (e: Event): Promise<void> {
    e.preventDefault()
    const file = this.fileInput.files?.[0]
    if (this.app === undefined || file === undefined) return
    this.message = undefined
    try {
      const text = await file.text()
      checkBackupText(text)
      this.progress = progressText('import', 0)
      const contents = await readBackupText(text, this.importPass.value, f => { this.progress = progressText('import', f) })
      this.progress = undefined
      if (await this.app.restore(contents)) {
        this.message = `Restored ${contents.identity.public.name} and ${contents.hoods.length} neighborhood(s).`
        this.importPass.value = ''
      }
    } catch (err) {
      this.message = `Not restored: ${(err as Error).message}`
    } finally {
      this.progress = undefined
    }
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-backup': PlBackup }
}
