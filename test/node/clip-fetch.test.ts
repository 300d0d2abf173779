// Fetching a clip between two peers: over a block stream, over bitswap alone, resumed over
// bitswap when a stream breaks part-way, and never trusting what a stream sends.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes as nodeRandom } from 'node:crypto'
import { lpStream } from '@libp2p/utils'
import * as dagPb from '@ipld/dag-pb'
import type { Stream } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import { sha256 as mhSha256 } from 'multiformats/hashes/sha2'
import { isPorchlightError } from '../../protocol/errors.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { encryptedClipSize } from '../../protocol/clip/stream-aead.ts'
import { BLOCK_FRAME, END_FRAME, PROTOCOLS, decodeBlocksRequest, encodeResult } from '../../protocol/wire.ts'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import type { ClipStore, AddedClip } from '../../protocol/peer/clip-store.ts'
import { openNodeClipStore } from '../../node/storage/clips.ts'
import { fetchBlocks, handleBlocks } from '../../protocol/peer/blocks.ts'

const MiB = 1024 * 1024
let dir: string
let a: PorchlightNode
let b: PorchlightNode
let storeA: ClipStore
let storeB: ClipStore
let plain: Uint8Array

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'pl-fetch-'))
  a = await createNode({ tcpPort: 0 })
  b = await createNode({ tcpPort: 0 })
  storeA = await openNodeClipStore(a, join(dir, 'a'))
  storeB = await openNodeClipStore(b, join(dir, 'b'))
  plain = new Uint8Array(nodeRandom(5 * MiB + 12345))
  await b.dial(a.getMultiaddrs()[0]!)
})

afterAll(async () => {
  await storeA.stop()
  await storeB.stop()
  await a.stop()
  await b.stop()
  await rm(dir, { recursive: true, force: true })
})

async function readAll (store: ClipStore, ref: AddedClip, opts: Parameters<ClipStore['read']>[1] = {}): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of store.read(ref, { idleTimeoutMs: 20_000, ...opts })) { parts.push(p); n += p.length }
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

async function codeOf (fn: () => Promise<unknown>): Promise<string> {
  try { await fn() } catch (err) { return isPorchlightError(err) ? err.code : `THROW ${(err as Error).message}` }
  return 'OK'
}

/** Blocks of a stored DAG in depth-first order, as the server sends them. */
async function dagBlocks (store: ClipStore, root: CID): Promise<Array<{ cid: CID, bytes: Uint8Array }>> {
  const out: Array<{ cid: CID, bytes: Uint8Array }> = []
  const walk = async (cid: CID): Promise<void> => {
    const chunks: Uint8Array[] = []
    for await (const c of store.helia.blockstore.get(cid, { offline: true })) chunks.push(c)
    const bytes = Uint8Array.from(Buffer.concat(chunks))
    out.push({ cid, bytes })
    if (cid.code === dagPb.code) for (const l of dagPb.decode(bytes).Links) await walk(l.Hash as CID)
  }
  await walk(root)
  return out
}

/** Replaces A's block server with `serve` for one test. */
async function withServer (serve: (stream: Stream, blocks: Array<{ cid: CID, bytes: Uint8Array }>) => Promise<void>, blocks: Array<{ cid: CID, bytes: Uint8Array }>, fn: () => Promise<void>): Promise<void> {
  await a.unhandle(PROTOCOLS.blocks)
  await a.handle(PROTOCOLS.blocks, async (stream: Stream) => { await serve(stream, blocks) })
  try {
    await fn()
  } finally {
    // Back to the real server, reading A's store.
    await a.unhandle(PROTOCOLS.blocks)
    await handleBlocks(a, {
      has: async (cid) => storeA.helia.blockstore.has(cid),
      get: async (cid) => {
        const chunks: Uint8Array[] = []
        for await (const c of storeA.helia.blockstore.get(cid, { offline: true })) chunks.push(c)
        return Uint8Array.from(Buffer.concat(chunks))
      }
    })
  }
}

function frame (kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length)
  out[0] = kind
  out.set(body, 1)
  return out
}

describe('clip fetch between peers', () => {
  it('over a block stream (stored on arrival) and over bitswap alone give the same bytes', async () => {
    const viaStream = await storeA.add([plain])
    expect(sha256(await readAll(storeB, viaStream))).toEqual(sha256(plain))
    expect(await storeB.has(viaStream.cid)).toBe(true) // B can serve it now
    expect(sha256(await readAll(storeB, viaStream, { offline: true }))).toEqual(sha256(plain))

    const viaBitswap = await storeA.add([plain])
    expect(sha256(await readAll(storeB, viaBitswap, { peers: [] }))).toEqual(sha256(plain))
  })

  it('a stream that breaks part-way is resumed over bitswap', async () => {
    const ref = await storeA.add([plain])
    const blocks = await dagBlocks(storeA, CID.parse(ref.cid))
    expect(blocks.length).toBeGreaterThan(3)
    await withServer(async (stream, bl) => {
      const lp = lpStream(stream, { maxDataLength: 3 * MiB })
      await lp.read()
      for (const blk of bl.slice(0, 3)) await lp.write(frame(BLOCK_FRAME, blk.bytes))
      await lp.write(frame(END_FRAME, encodeResult({ ok: false, code: 'IO', message: 'disk went away' })))
      await stream.close()
    }, blocks, async () => {
      expect(sha256(await readAll(storeB, ref))).toEqual(sha256(plain))
    })
  })

  it('a tampered block in a stream is caught; the clip still arrives over bitswap', async () => {
    const ref = await storeA.add([plain])
    const blocks = await dagBlocks(storeA, CID.parse(ref.cid))
    await withServer(async (stream, bl) => {
      const lp = lpStream(stream, { maxDataLength: 3 * MiB })
      await lp.read()
      for (const [i, blk] of bl.entries()) {
        const bytes = blk.bytes.slice()
        if (i === 2) bytes[100]! ^= 1
        await lp.write(frame(BLOCK_FRAME, bytes))
      }
      await lp.write(frame(END_FRAME, encodeResult({ ok: true })))
      await stream.close()
    }, blocks, async () => {
      const root = CID.parse(ref.cid)
      const size = encryptedClipSize(ref.size)
      expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root, size)) { /* drain */ } })).toBe('MALFORMED')
      expect(sha256(await readAll(storeB, ref))).toEqual(sha256(plain))
    })
  })

  it('each streamed block is checked with the digest the requester gives (the clip store passes its own), leaves a few at a time, a wrong one fails it', async () => {
    const ref = await storeA.add([plain])
    const root = CID.parse(ref.cid)
    const size = encryptedClipSize(ref.size)
    const blocks = (await storeA.storedBlocks(root)).length
    let calls = 0
    const counted = (block: Uint8Array): Uint8Array => { calls++; return sha256(block) }
    let n = 0
    for await (const p of fetchBlocks(b, a.peerId, root, size, { digest: counted })) n += p.length
    expect(n).toBe(size)
    expect(calls).toBe(blocks)
    // Leaves are hashed while the next frames are read: more than one at a time when hashing is slow.
    let inFlight = 0
    let most = 0
    const slow = async (block: Uint8Array): Promise<Uint8Array> => {
      most = Math.max(most, ++inFlight)
      await new Promise((resolve) => setTimeout(resolve, 250))
      inFlight--
      return sha256(block)
    }
    n = 0
    for await (const p of fetchBlocks(b, a.peerId, root, size, { digest: slow })) n += p.length
    expect(n).toBe(size)
    expect(most).toBeGreaterThan(1)
    const wrong = (block: Uint8Array): Uint8Array => { const d = sha256(block); d[0]! ^= 1; return d }
    expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root, size, { digest: wrong })) { /* drain */ } })).toBe('MALFORMED')
  })

  it('a clip missing a leaf on the server is NOT_FOUND part-way', async () => {
    const ref = await storeA.add([plain])
    const root = CID.parse(ref.cid)
    const stored = await storeA.storedBlocks(root)
    await storeA.helia.blockstore.delete(stored[2]!)
    expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root, encryptedClipSize(ref.size))) { /* drain */ } })).toBe('NOT_FOUND')
  })

  it('a stream is refused for what is not stored, and for more than was asked', async () => {
    const ref = await storeA.add([plain])
    const root = CID.parse(ref.cid)
    const size = encryptedClipSize(ref.size)
    const other = await storeB.add([new Uint8Array(nodeRandom(1000))])
    expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, CID.parse(other.cid), other.stored)) { /* drain */ } })).toBe('NOT_FOUND')
    // Asking for fewer bytes than the clip has: the requester stops it.
    expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root, size - 1)) { /* drain */ } })).toBe('MALFORMED')
    // A request that is not one.
    await withServer(async (stream) => {
      const lp = lpStream(stream, { maxDataLength: 3 * MiB })
      let code = 'OK'
      try { decodeBlocksRequest((await lp.read()).subarray()) } catch (err) { code = isPorchlightError(err) ? err.code : 'THROW' }
      expect(code).toBe('OK')
      await lp.write(frame(END_FRAME, encodeResult({ ok: false, code: 'NOT_FOUND', message: 'no' })))
      await stream.close()
    }, [], async () => {
      expect(await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root, size)) { /* drain */ } })).toBe('NOT_FOUND')
    })
  })

  it('a DAG of blocks without data (a poster\'s bomb: links fanning out, nothing counted against the size) is cut off by the requester, as the server cuts its own', async () => {
    // leaf: an empty dag-pb node; mid: 1000 links to it; root: 1000 links to mid: a million blocks, no data.
    const block = async (links: CID[]): Promise<{ cid: CID, bytes: Uint8Array }> => {
      const bytes = dagPb.encode(dagPb.prepare({ Links: links.map(Hash => ({ Hash })) }))
      return { cid: CID.createV1(dagPb.code, await mhSha256.digest(bytes)), bytes }
    }
    const leaf = await block([])
    const mid = await block(Array(1000).fill(leaf.cid))
    const root = await block(Array(1000).fill(mid.cid))
    let sent = 0
    await withServer(async (stream) => {
      const lp = lpStream(stream, { maxDataLength: 3 * MiB })
      await lp.read()
      try {
        await lp.write(frame(BLOCK_FRAME, root.bytes))
        for (let m = 0; m < 1000; m++) {
          await lp.write(frame(BLOCK_FRAME, mid.bytes))
          sent++
          for (let l = 0; l < 1000; l++) { await lp.write(frame(BLOCK_FRAME, leaf.bytes)); sent++ }
        }
      } catch { /* the requester gave up */ }
    }, [], async () => {
      let got = 0
      const code = await codeOf(async () => { for await (const _ of fetchBlocks(b, a.peerId, root.cid, 1000, { onBlock: async () => { got++ } })) { /* drain */ } })
      expect(code).toBe('TOO_LARGE')
      // As many blocks as the server would send for that size (MIN_AVG_BLOCK_BYTES each, plus 16).
      expect(got).toBeLessThanOrEqual(Math.ceil(1000 / (16 * 1024)) + 16)
    })
    expect(sent).toBeLessThan(1_001_000)
  }, 120_000)

  it('a requester that stops reading part-way closes its stream (the server is not left holding it)', async () => {
    const ref = await storeA.add([plain])
    const blocks = await dagBlocks(storeA, CID.parse(ref.cid))
    let closed = false
    await withServer(async (stream, bl) => {
      stream.addEventListener('close', () => { closed = true })
      const lp = lpStream(stream, { maxDataLength: 3 * MiB })
      await lp.read()
      try {
        for (const blk of bl.slice(0, 3)) await lp.write(frame(BLOCK_FRAME, blk.bytes))
      } catch { /* closed */ }
      // No END frame: waits for the requester, as a real server waiting for credit would.
    }, blocks, async () => {
      for await (const piece of fetchBlocks(b, a.peerId, CID.parse(ref.cid), encryptedClipSize(ref.size))) {
        expect(piece.length).toBeGreaterThan(0)
        break
      }
      const until = Date.now() + 5000
      while (!closed && Date.now() < until) await new Promise(resolve => setTimeout(resolve, 20))
      expect(closed).toBe(true)
    })
  }, 30_000)
})
