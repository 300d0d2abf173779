/**
 * A clip file on disk, cleaned of metadata before anything else reads it (protocol/clip/clean.ts
 * does the cleaning; this reads the file for it): random reads through one file handle while
 * the clip is recognised and planned, and a read stream in READ_PIECE_BYTES pieces when a
 * video is streamed, which fails if the file changed since it was planned.
 */
import { open, stat, type FileHandle } from 'node:fs/promises'
import { createReadStream } from 'node:fs'
import { fail, isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { cleanClip, MAX_CLIP_FILE_BYTES, MAX_PHOTO_BYTES, type CleanClip } from '../../protocol/clip/clean.ts'

export { MAX_CLIP_FILE_BYTES, MAX_PHOTO_BYTES }
/** Read size when streaming a video: 1 MiB. */
export const READ_PIECE_BYTES = 1024 * 1024

/** A clip file on disk, cleaned as it is read (the CleanClip that attachClip takes, with its path). */
export interface ClipFile extends CleanClip {
  readonly path: string
}

/** Opens, recognises and plans the cleaning of a clip file. Throws PorchlightError. */
export async function openClipFile (path: string): Promise<ClipFile> {
  let fh: FileHandle
  try {
    fh = await open(path, 'r')
  } catch (err) {
    throw fsError(err, path)
  }
  try {
    const st = await fh.stat()
    if (!st.isFile()) fail('BAD_ARGUMENT', `${path} is not a file`)
    const size = st.size
    const clip = await cleanClip({
      name: path,
      size,
      readAt: async (offset, length) => readFully(fh, offset, length),
      stream: () => streamFile(path, size),
      checkUnchanged: async () => {
        const after = await stat(path).catch((err: unknown) => { throw fsError(err, path) })
        if (after.size !== size || after.mtimeMs !== st.mtimeMs) fail('IO', `${path} changed while it was being read`)
      }
    })
    return { ...clip, path }
  } catch (err) {
    throw isPorchlightError(err) ? err : fsError(err, path)
  } finally {
    await fh.close().catch(() => {})
  }
}

/** The file's bytes, from the start; errors said as PorchlightErrors. */
async function * streamFile (path: string, size: number): AsyncGenerator<Uint8Array> {
  if (size === 0) return
  try {
    yield * createReadStream(path, { start: 0, end: size - 1, highWaterMark: READ_PIECE_BYTES }) as AsyncIterable<Uint8Array>
  } catch (err) {
    throw isPorchlightError(err) ? err : fsError(err, path)
  }
}

async function readFully (fh: FileHandle, offset: number, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length)
  let filled = 0
  while (filled < length) {
    const { bytesRead } = await fh.read(out, filled, length - filled, offset + filled)
    if (bytesRead === 0) break
    filled += bytesRead
  }
  return filled === length ? out : out.subarray(0, filled)
}

function fsError (err: unknown, path: string): PorchlightError {
  const code = (err as NodeJS.ErrnoException).code
  if (code === 'ENOENT') return new PorchlightError('NOT_FOUND', `no such file: ${path}`, { cause: err })
  if (code === 'EISDIR') return new PorchlightError('BAD_ARGUMENT', `${path} is a folder, not a file`, { cause: err })
  if (code === 'EACCES' || code === 'EPERM') return new PorchlightError('REFUSED', `cannot read ${path}: permission denied`, { cause: err })
  return new PorchlightError('IO', `cannot read ${path}: ${(err as Error).message}`, { cause: err })
}
