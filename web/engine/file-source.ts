/**
 * A photo or video the person picked (a browser File) as the ClipSource that
 * protocol/clip/clean.ts reads: random reads through Blob.slice while the clip is recognised
 * and planned, and File.stream when a video is streamed. Cleaning happens here in the page,
 * before anything is encrypted or sent; nothing of the original leaves it.
 */
import { isPorchlightError, PorchlightError } from '../../protocol/errors.ts'
import { cleanClip, type CleanClip, type ClipSource } from '../../protocol/clip/clean.ts'

export function fileSource (file: File): ClipSource {
  return {
    name: file.name,
    size: file.size,
    readAt: async (offset, length) => {
      try {
        return new Uint8Array(await file.slice(offset, offset + length).arrayBuffer())
      } catch (err) {
        throw readError(err, file.name)
      }
    },
    stream: () => streamFile(file)
  }
}

/** Recognises the picked file and cleans it (photos at once, videos as they stream). */
export async function cleanFile (file: File): Promise<CleanClip> {
  return await cleanClip(fileSource(file))
}

async function * streamFile (file: File): AsyncGenerator<Uint8Array> {
  const reader = file.stream().getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } catch (err) {
    // A File is a snapshot: Chromium fails the read (NotReadableError) if the file changed since it was picked.
    throw readError(err, file.name)
  } finally {
    reader.releaseLock()
  }
}

function readError (err: unknown, name: string): PorchlightError {
  if (isPorchlightError(err)) return err
  return new PorchlightError('IO', `cannot read ${name} (was it changed or moved since it was picked?): ${(err as Error).message}`, { cause: err })
}
