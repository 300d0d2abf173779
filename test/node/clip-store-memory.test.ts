// The shared clip store (protocol/peer/clip-store.ts) runs on whatever stores and crypto a
// runtime hands it: here in-memory stores (as a browser's IndexedDB ones would be) and the
// default WebCrypto / noble primitives, with none of Node's. Its ciphertext opens under the
// Node primitives too, and a fetched clip goes through a ClipSink only once it verified.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { randomBytes as nodeRandom } from 'node:crypto'
import { MemoryBlockstore } from 'blockstore-core'
import { MemoryDatastore } from 'datastore-core'
import { importBytes } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { isPorchlightError } from '../../protocol/errors.ts'
import { toBase64Url, toHex } from '../../protocol/encoding.ts'
import { CLIP_STORE_DEFAULTS, ClipStore, parseCid, type AddedClip } from '../../protocol/peer/clip-store.ts'
import { getClip, type ClipSink } from '../../protocol/peer/clip-flows.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import { nativeAesGcm, nativeSha256 } from '../../node/storage/clips.ts'

let node: PorchlightNode
let store: ClipStore
let closed = 0

beforeAll(async () => {
  node = await createNode({})
  store = await ClipStore.open(node, { blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore(), close: async () => { closed++ } })
})

afterAll(async () => {
  await store.stop()
  await node.stop()
})

async function codeOf (fn: () => Promise<unknown>): Promise<string> {
  try { await fn() } catch (err) { return isPorchlightError(err) ? err.code : `THROW ${(err as Error).message}` }
  return 'OK'
}

async function readAll (s: Pick<ClipStore, 'read'>, ref: AddedClip): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of s.read(ref, { offline: true })) parts.push(p)
  return Uint8Array.from(Buffer.concat(parts))
}

describe('the clip store on injected stores and default crypto', () => {
  it('adds and reads back a clip of several chunks and leaves', async () => {
    const plain = new Uint8Array(nodeRandom(2 * 1024 * 1024 + 4321))
    const added = await store.add([plain])
    expect(added.size).toBe(plain.length)
    expect(await store.has(added.cid)).toBe(true)
    expect(Buffer.from(await readAll(store, added)).equals(plain)).toBe(true)
  })

  it('writes the same format as the Node primitives', async () => {
    const plain = new Uint8Array(nodeRandom(300_000))
    const added = await store.add([plain])
    // A view of the same stores with node:crypto's AES-GCM and SHA-256 reads it.
    const native = Object.assign(Object.create(Object.getPrototypeOf(store) as object) as ClipStore, store, {
      aead: { aesGcm: nativeAesGcm }, hash: nativeSha256
    })
    expect(Buffer.from(await readAll(native, added)).equals(plain)).toBe(true)
  })

  it('stores the ciphertext under the CID the stock UnixFS importer gives it (the pipelined leaf writes keep the leaves in order)', async () => {
    const plain = new Uint8Array(nodeRandom(5 * 1024 * 1024 + 777))
    const added = await store.add([plain])
    const parts: Uint8Array[] = []
    for await (const p of store.cipher(parseCid(added.cid), added.stored, { offline: true })) parts.push(p)
    const stock = await importBytes(Uint8Array.from(Buffer.concat(parts)), new MemoryBlockstore(), {
      cidVersion: 1, rawLeaves: true, chunker: fixedSize({ chunkSize: CLIP_STORE_DEFAULTS.chunkSize })
    })
    expect(stock.cid.toString()).toBe(added.cid)
  })

  it('keeps a clip until its time, then sweeps it', async () => {
    const added = await store.add([new Uint8Array(nodeRandom(5000))])
    await store.keepUntil(added.cid, 1000)
    expect(await store.sweep(999)).toBe(0)
    expect(await store.sweep(1000)).toBe(1)
    expect(await store.has(added.cid)).toBe(false)
  })

  it('getClip hands a sink only a verified clip', async () => {
    const plain = new Uint8Array(nodeRandom(70_000))
    const added = await store.add([plain])
    const kept = new Map<string, Uint8Array>()
    const sink: ClipSink = {
      place: async (name) => name,
      write: async (place, source) => {
        const parts: Uint8Array[] = []
        for await (const p of source) parts.push(p)
        kept.set(place, Uint8Array.from(Buffer.concat(parts)))
      }
    }
    const post = { id: 'ab'.repeat(32), expires: Date.now() + 60_000, media: [{ cid: added.cid, key: toBase64Url(added.key), mime: 'image/png', size: added.size, hash: toHex(added.hash) }] }
    const got = await getClip({ clips: () => store }, post, sink)
    expect(got).toEqual({ path: `clip-${'ab'.repeat(8)}.png`, mime: 'image/png', size: plain.length })
    expect(Buffer.from(kept.get(got.path)!).equals(plain)).toBe(true)

    kept.clear()
    const bad = { ...post, media: [{ ...post.media[0]!, hash: '00'.repeat(32) }] }
    const err = await getClip({ clips: () => store }, bad, sink).catch((e: unknown) => e)
    expect(isPorchlightError(err, 'DECRYPT_FAILED')).toBe(true)
    expect(kept.size).toBe(0)
  })

  it('leaves no block behind when an add fails part-way (its source, or a block write)', async () => {
    const blocks = new MemoryBlockstore()
    const other = await createNode({})
    const s = await ClipStore.open(other, { blockstore: blocks, datastore: new MemoryDatastore() })
    const stored = async (): Promise<number> => { let n = 0; for await (const _ of blocks.getAll()) n++; return n }
    try {
      // The source fails after 3 MiB: three leaves were cut and written by then.
      async function * failing (): AsyncGenerator<Uint8Array> {
        for (let i = 0; i < 3; i++) yield new Uint8Array(nodeRandom(1024 * 1024))
        throw new Error('the file went away')
      }
      await expect(s.add(failing())).rejects.toThrow('the file went away')
      expect(await stored()).toBe(0)
      // The third block write fails: the two written before it, and any after, are deleted.
      let puts = 0
      const put = blocks.put.bind(blocks)
      blocks.put = async (cid, val, o) => { if (++puts === 3) throw new Error('disk full'); return await put(cid, val, o) }
      expect(await codeOf(async () => await s.add([new Uint8Array(nodeRandom(5 * 1024 * 1024))]))).toBe('IO')
      expect(await stored()).toBe(0)
      // And the store still adds.
      blocks.put = put
      const added = await s.add([new Uint8Array(nodeRandom(1024 * 1024 + 5))])
      expect(await stored()).toBe(3) // two leaves and the root
      expect((await readAll(s, added)).length).toBe(1024 * 1024 + 5)
    } finally {
      await s.stop()
      await other.stop()
    }
  })

  it('closes the stores it was given when it stops', async () => {
    const other = await createNode({})
    const s = await ClipStore.open(other, { blockstore: new MemoryBlockstore(), datastore: new MemoryDatastore(), close: async () => { closed++ } })
    const before = closed
    await s.stop()
    await other.stop()
    expect(closed).toBe(before + 1)
  })
})
