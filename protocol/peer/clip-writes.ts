/**
 * The block writes of one clip add (clip-store.ts `add`): every block of the new clip, its raw
 * leaves and its UnixFS root alike, goes through `put` here, which starts the write and
 * returns at once. Up to `ahead` writes run while the next leaf is encrypted and hashed, and
 * the importer builds the tree from the leaves' CIDs without waiting for their files: the root
 * is written beside the last leaves, not after them (for a 1 MiB clip that was a quarter of
 * the add). `finish` waits for every write and throws the first failure; `undo` deletes what
 * was written, so an add that fails leaves no block of the clip behind.
 *
 * No block of a clip under a fresh key can already be stored or wanted by a peer, so the
 * blocks go straight to the runtime's blockstore, not through Helia's (which first asks
 * whether each block is stored, takes its GC lock and offers it to peers that want it).
 */
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { create as createDigest } from 'multiformats/hashes/digest'
import type { BlockDigest } from './blocks.ts'

/** Multihash code of SHA-256. */
const SHA2_256 = 0x12

type Leaf = { cid: CID, size: bigint, block: Uint8Array }
export type LeafImporter = (file: { content: AsyncIterable<Uint8Array> }) => AsyncGenerator<() => Promise<Leaf>>

export class ClipWrites {
  private readonly running = new Set<Promise<void>>()
  private readonly written: CID[] = []
  private failure: { err: unknown } | undefined
  /** Set by `undo`: a leaf still being hashed then must not start its write. */
  private undone = false

  constructor (private readonly blocks: Pick<Blockstore, 'put' | 'delete'>, private readonly ahead: number) {}

  /** Starts writing a block (a Blockstore `put` for the importer's root); fails if one before it failed. */
  async put (cid: CID, block: Uint8Array): Promise<CID> {
    if (this.undone) throw new Error('clip add: stopped')
    this.check()
    const w = (async () => {
      await this.blocks.put(cid, block)
      this.written.push(cid)
    })().catch((err: unknown) => { this.failure ??= { err } }).finally(() => { this.running.delete(w) })
    this.running.add(w)
    return cid
  }

  /** Waits until fewer than `ahead` writes run (bounds the leaves held in memory). */
  async room (): Promise<void> {
    while (this.running.size >= this.ahead) await Promise.race(this.running)
    this.check()
  }

  /** Waits for every write started; throws the first that failed. */
  async finish (): Promise<void> {
    await this.settle()
    this.check()
  }

  /** After a failed add: waits for the writes still running, then deletes every block written. */
  async undo (): Promise<void> {
    this.undone = true
    await this.settle()
    for (const cid of this.written.splice(0)) await (async () => { await this.blocks.delete(cid) })().catch(() => {})
  }

  /**
   * The importer's raw-leaf step (the same CIDs and blocks as the default `rawLeaves: true,
   * cidVersion: 1`): each leaf is hashed (`digest`, up to `ahead` at once) and its write
   * started as soon as it is cut, and the importer gets it once hashed. (The importer's own
   * `blockWriteConcurrency` runs a batch's writes only once the whole batch was read.)
   */
  leafImporter (digest: BlockDigest): LeafImporter {
    const leaf = async (block: Uint8Array): Promise<Leaf> => {
      const cid = CID.createV1(raw.code, createDigest(SHA2_256, await digest(block)))
      await this.put(cid, block)
      return { cid, size: BigInt(block.length), block }
    }
    const ahead = this.ahead
    const room = async (): Promise<void> => { await this.room() }
    return async function * (file) {
      const hashing: Array<Promise<Leaf>> = []
      for await (const block of file.content) {
        await room()
        const l = leaf(block)
        l.catch(() => {}) // awaited in turn below; no unhandled rejection if the import stops early
        hashing.push(l)
        if (hashing.length > ahead) yield thunk(hashing.shift()!)
      }
      for (const l of hashing) yield thunk(l)
    }
  }

  private check (): void {
    if (this.failure !== undefined) throw this.failure.err
  }

  private async settle (): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running)
  }
}

const thunk = (l: Promise<Leaf>) => async (): Promise<Leaf> => await l
