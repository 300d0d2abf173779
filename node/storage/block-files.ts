/**
 * blockstore-fs with fewer file system calls per block: the same files in the same places
 * (NextToLast sharding, `<dir>/<last 2 chars>/<base32 multihash>.data`, written to a temporary
 * file and renamed), so either reads what the other wrote.
 *
 * blockstore-fs's `put` makes the shard directory on every block and writes a 1 MiB block in
 * two 512 KiB writes; its `get` streams a file in 64 KiB reads (17 calls for a 1 MiB block).
 * Each call is a trip through libuv's thread pool and a wake-up of the main thread, which a
 * clip moves 64 of per 64 MiB each way. Here: a shard directory is made once per store, a block
 * is written in one write and read in one read.
 */
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import type { AbortOptions } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

/** Errors named as blockstore-fs names them (interface-store's): callers match on the name. */
class NotFoundError extends Error { override name = 'NotFoundError' }
class PutFailedError extends Error { override name = 'PutFailedError' }

/** Blocks larger than this are read the way blockstore-fs reads them (in 64 KiB pieces). */
const WHOLE_READ_MAX = 4 * 1024 * 1024

export class BlockFiles extends FsBlockstore {
  /** blockstore-fs's default layout, which its constructor uses too. */
  private readonly layout = new NextToLast()
  /** Shard directories known to exist (made, or found, once). */
  private readonly made = new Set<string>()
  private writes = 0

  override async put (key: CID, val: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>, options?: AbortOptions): Promise<CID> {
    if (!(val instanceof Uint8Array)) return await super.put(key, val, options)
    options?.signal?.throwIfAborted()
    const { dir, file } = this.layout.encode(key)
    const shard = join(this.path, dir)
    const target = join(shard, file)
    // Unique per write: two puts of one block at once must not write the same temporary file.
    const temp = join(shard, `.${file}.${process.pid}-${++this.writes}.tmp`)
    try {
      if (!this.made.has(shard)) {
        await mkdir(shard, { recursive: true })
        this.made.add(shard)
      }
      const fh = await open(temp, 'w').catch(async (err: NodeJS.ErrnoException) => {
        // The shard directory was removed behind our back: make it again.
        if (err.code !== 'ENOENT') throw err
        await mkdir(shard, { recursive: true })
        return await open(temp, 'w')
      })
      try {
        for (let off = 0; off < val.length;) off += (await fh.write(val, off, val.length - off)).bytesWritten
      } finally {
        await fh.close()
      }
      await rename(temp, target)
      return key
    } catch (err) {
      await unlink(temp).catch(() => {})
      throw new PutFailedError(String(err))
    }
  }

  override async * get (key: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    options?.signal?.throwIfAborted()
    const { dir, file } = this.layout.encode(key)
    let block: Uint8Array | undefined
    try {
      const fh = await open(join(this.path, dir, file), 'r')
      try {
        const { size } = await fh.stat()
        if (size <= WHOLE_READ_MAX) {
          const buf = new Uint8Array(size)
          let off = 0
          while (off < size) {
            const { bytesRead } = await fh.read(buf, off, size - off, off)
            if (bytesRead === 0) break
            off += bytesRead
          }
          block = buf.subarray(0, off)
        }
      } finally {
        await fh.close()
      }
    } catch (err) {
      throw new NotFoundError(String(err))
    }
    if (block === undefined) yield * super.get(key, options)
    else yield block
  }
}
