/**
 * Fetched clips to files: the Node ClipSink of protocol/peer/clip-flows.ts. A clip is written
 * to a temporary file beside its target and renamed only once the whole clip decrypted and
 * matched its hash (the store's read checks it at the end): a failed fetch leaves nothing.
 */
import { access, rename, rm, stat } from 'node:fs/promises'
import { createWriteStream } from 'node:fs'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { fail, isPorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'
import type { ClipSink } from '../../protocol/peer/clip-flows.ts'
import type { ClipRef, ClipStore, ReadOptions } from '../../protocol/peer/clip-store.ts'

/** Writes `source` to `path` through a temporary file renamed at the end; nothing at `path` on failure. */
export async function writeFileAtomically (path: string, source: AsyncIterable<Uint8Array>): Promise<void> {
  const tmp = join(dirname(path), `.${toHex(randomBytes(8))}.part`)
  try {
    // pipeline destroys both ends on any failure and reports it once: a failure mid-clip
    // (a hash mismatch) never surfaces as an unhandled stream error (ERR_STREAM_DESTROYED on Node 24).
    await pipeline(Readable.from(source), createWriteStream(tmp, { mode: 0o600, flags: 'wx' }))
    await rename(tmp, path)
  } catch (err) {
    await rm(tmp, { force: true })
    if (isPorchlightError(err)) throw err
    fail('IO', `cannot write ${path}: ${(err as Error).message}`, err)
  }
}

/** Fetches, decrypts and checks a clip, and writes it to `path` (ClipStore.save before the split). */
export async function saveClip (store: Pick<ClipStore, 'read'>, ref: ClipRef, path: string, opts: ReadOptions = {}): Promise<void> {
  await writeFileAtomically(path, store.read(ref, opts))
}

/**
 * Files for `clip get`: with no `out`, the default name in the current folder; `out` naming a
 * folder, the default name in it (in both cases never over a file already there, 'REFUSED');
 * otherwise `out` itself, replaced if it exists.
 */
export function nodeClipSink (out?: string): ClipSink {
  return {
    async place (name) {
      const intoFolder = out !== undefined && await isFolder(out)
      const path = out === undefined ? name : intoFolder ? join(out, name) : out
      if ((out === undefined || intoFolder) && await exists(path)) fail('REFUSED', `${path} exists: choose another file with -o FILE`)
      return path
    },
    write: writeFileAtomically
  }
}

async function exists (path: string): Promise<boolean> {
  try { await access(path); return true } catch { return false }
}

async function isFolder (path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true
}
