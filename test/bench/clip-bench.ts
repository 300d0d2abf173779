/**
 * Clip workloads (BENCH.md rows "clip encrypt + add", "clip fetch + decrypt", "clip memory"):
 *
 *  - encrypt + add, 1 MiB and 64 MiB: ClipStore.add as the Node peer opens it (STREAM
 *    AES-256-GCM and SHA-256 through node:crypto, UnixFS import into blockstore-fs) against a
 *    minimal native pipeline of the same work (nativeAdd): the clip format's 64 KiB
 *    AES-256-GCM chunks through `node:crypto`, SHA-256 of the plaintext (the post's hash) and
 *    of each 1 MiB block of ciphertext (its address), each block written to its own file named
 *    by its hash (plus a root listing them), one step after the other on one thread.
 *    Interleaved (A B A B ...) so a noisy neighbour slows both. Aim: ratio >= 0.5.
 *  - fetch + decrypt, 64 MiB: peer B fetches the clip from peer A on loopback TCP and
 *    decrypts it (ClipStore.read), against one raw libp2p stream carrying 64 MiB from A to B
 *    over the same connection, interleaved. Twice: as `clip get` does it (a block stream,
 *    block-stream.ts) and over bitswap alone. Aim: ratio >= 0.5.
 *  - memory, 256 MiB: peak resident memory above the idle process while posting (clean an
 *    MP4 file, encrypt, add) and while fetching (bitswap, decrypt, write the file), each in a
 *    child process (clip-rss.ts). Aim: < 64 MiB.
 * MB = 10^6 bytes. About 40 s on the project's 2-core machines.
 *
 * Run alone: npm run bench -- --only clips
 */
import { createCipheriv, createHash, randomFillSync } from 'node:crypto'
import { spawn } from 'node:child_process'
import { mkdir, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Stream } from '@libp2p/interface'
import { createNode, type PorchlightNode } from '../../node/libp2p.ts'
import type { ClipRef } from '../../protocol/peer/clip-store.ts'
import { openNodeClipStore } from '../../node/storage/clips.ts'
import { CLIP_CHUNK_SIZE, CLIP_HEADER_BYTES, CLIP_TAG_BYTES } from '../../protocol/clip/stream-aead.ts'
import { makeMp4 } from '../helpers/media.ts'
import { costWorkload, rateWorkload, type Workload } from './report.ts'

const MiB = 1024 * 1024
/** Pieces fed to add and to the native cipher, as a file read would give them. */
const PIECE = MiB
/** Blocks the native pipeline hashes and writes: the clip store's UnixFS leaf size. */
const BLOCK = MiB
const SMALL = MiB
const LARGE = 64 * MiB
const MEMORY_CLIP = 256 * MiB
const SMALL_ROUNDS = 12
const LARGE_ROUNDS = 3
const FETCH_ROUNDS = 2
const RAW_PROTOCOL = '/porchlight-bench/raw/1'
/** Raw stream writes, as large as the yamux frames carry them. */
const RAW_WRITE = 256 * 1024
const ROOT = fileURLToPath(new URL('../..', import.meta.url))
const RSS_SCRIPT = fileURLToPath(new URL('./clip-rss.ts', import.meta.url))

function pieces (data: Uint8Array, size = PIECE): Uint8Array[] {
  const out: Uint8Array[] = []
  for (let o = 0; o < data.length; o += size) out.push(data.subarray(o, o + size))
  return out
}

/**
 * The work of a clip add, done minimally with node:crypto and node:fs: the same STREAM chunks
 * (stream-aead.ts: 8-byte header as AAD, 64 KiB plaintext per chunk, nonce = prefix ||
 * counter || last flag), SHA-256 of the plaintext, the ciphertext cut into BLOCK-byte blocks,
 * each hashed and written to `dir/<hex hash>`, then a root file of the blocks' hashes.
 */
async function nativeAdd (data: Uint8Array, dir: string): Promise<void> {
  await mkdir(dir, { recursive: true })
  const key = randomFillSync(new Uint8Array(32))
  const header = new Uint8Array(CLIP_HEADER_BYTES)
  header[0] = 1
  randomFillSync(header.subarray(1))
  const plainHash = createHash('sha256')
  const hashes: Buffer[] = []
  let block = Buffer.allocUnsafe(BLOCK)
  let fill = 0
  const put = async (bytes: Uint8Array): Promise<void> => {
    const h = createHash('sha256').update(bytes).digest()
    hashes.push(h)
    await writeFile(join(dir, h.toString('hex')), bytes)
  }
  const append = async (bytes: Uint8Array): Promise<void> => {
    for (let o = 0; o < bytes.length;) {
      const n = Math.min(BLOCK - fill, bytes.length - o)
      block.set(bytes.subarray(o, o + n), fill)
      fill += n
      o += n
      if (fill === BLOCK) { await put(block); block = Buffer.allocUnsafe(BLOCK); fill = 0 }
    }
  }
  await append(header)
  const nonce = new Uint8Array(12)
  nonce.set(header.subarray(1))
  const view = new DataView(nonce.buffer)
  for (const p of pieces(data)) plainHash.update(p)
  for (let o = 0, i = 0; o < data.length || i === 0; o += CLIP_CHUNK_SIZE, i++) {
    const end = Math.min(o + CLIP_CHUNK_SIZE, data.length)
    view.setUint32(7, i)
    nonce[11] = end === data.length ? 1 : 0
    const c = createCipheriv('aes-256-gcm', key, nonce)
    c.setAAD(header)
    await append(c.update(data.subarray(o, end)))
    c.final()
    const tag = c.getAuthTag()
    if (tag.length !== CLIP_TAG_BYTES) throw new Error('clip bench: tag length')
    await append(tag)
  }
  if (fill > 0) await put(block.subarray(0, fill))
  plainHash.digest()
  await put(Buffer.concat(hashes))
}

async function time (fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = performance.now()
  await fn()
  return performance.now() - t
}

const mbps = (bytes: number, ms: number): number => bytes / 1e6 / (ms / 1000)

/** Sends `bytes` bytes on every stream opened to RAW_PROTOCOL, then closes it. */
async function serveRaw (node: PorchlightNode, bytes: number): Promise<void> {
  const chunk = randomFillSync(new Uint8Array(RAW_WRITE))
  await node.handle(RAW_PROTOCOL, async (stream: Stream) => {
    for (let sent = 0; sent < bytes; sent += chunk.length) {
      if (!stream.send(chunk)) await stream.onDrain()
    }
    await stream.close()
  })
}

async function fetchRaw (node: PorchlightNode, from: PorchlightNode): Promise<number> {
  const stream = await node.dialProtocol(from.peerId, RAW_PROTOCOL)
  let n = 0
  for await (const c of stream) n += c.byteLength
  await stream.close()
  return n
}

async function child (args: string[]): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', '--import', 'tsx', RSS_SCRIPT, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.setEncoding('utf8').on('data', (s: string) => { out += s })
    p.stderr.setEncoding('utf8').on('data', (s: string) => { err += s })
    p.once('exit', (code) => {
      if (code !== 0) { reject(new Error(`clip-rss ${args[0]} exited ${code}: ${err.slice(-2000)}`)); return }
      try { resolve(JSON.parse(out.trim().split('\n').pop()!)) } catch { reject(new Error(`clip-rss ${args[0]}: no result: ${out}${err}`)) }
    })
  })
}

/** A valid MP4 of `size` bytes written in pieces: the test fixture, its mdat extended with random bytes. */
async function writeBigMp4 (path: string, size: number): Promise<void> {
  const head = makeMp4({ mdatToEnd: true, co64: true }).bytes
  const fh = await open(path, 'w')
  try {
    await fh.write(head)
    const buf = new Uint8Array(4 * MiB)
    for (let left = size - head.length; left > 0; left -= buf.length) {
      randomFillSync(buf)
      await fh.write(buf, 0, Math.min(left, buf.length))
    }
  } finally {
    await fh.close()
  }
}

export async function benchClips (): Promise<Workload[]> {
  const dir = await mkdtemp(join(tmpdir(), 'pl-clip-bench-'))
  try {
    return await benchIn(dir)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function benchIn (dir: string): Promise<Workload[]> {
  const a = await createNode({ tcpPort: 0 })
  const b = await createNode({ tcpPort: 0 })
  const storeA = await openNodeClipStore(a, join(dir, 'a'))
  const storeB = await openNodeClipStore(b, join(dir, 'b'))
  const rows: Workload[] = []
  try {
    // ---- encrypt + add, beside native AES-256-GCM over the same bytes ----
    const data = randomFillSync(new Uint8Array(LARGE))
    const small = data.subarray(0, SMALL)
    const nativeDir = join(dir, 'native')
    await storeA.remove((await storeA.add(pieces(small))).cid) // warm-up
    await nativeAdd(small, nativeDir)
    await rm(nativeDir, { recursive: true })
    for (const [size, rounds] of [[SMALL, SMALL_ROUNDS], [LARGE, LARGE_ROUNDS]] as const) {
      const bytes = data.subarray(0, size)
      let ours = 0
      let native = 0
      for (let r = 0; r < rounds; r++) {
        let cid = ''
        ours += await time(async () => { cid = (await storeA.add(pieces(bytes))).cid })
        native += await time(async () => { await nativeAdd(bytes, nativeDir) })
        await storeA.remove(cid)
        await rm(nativeDir, { recursive: true })
      }
      rows.push(rateWorkload(`clip encrypt + add, ${size / MiB} MiB`, mbps(size * rounds, ours), 'MB/s', mbps(size * rounds, native)))
    }

    // ---- fetch + decrypt from another peer, beside one raw stream between the same peers ----
    // Twice: as `clip get` fetches (block stream from a peer that has it), and bitswap alone.
    // A fresh clip per round: bitswap does not resend a block the same peer got moments ago.
    await serveRaw(a, LARGE)
    await b.dial(a.getMultiaddrs()[0]!)
    for (const [label, peers] of [['block stream', undefined], ['bitswap only', []]] as const) {
      const refs: ClipRef[] = []
      for (let r = 0; r < FETCH_ROUNDS; r++) refs.push(await storeA.add(pieces(data)))
      let fetchMs = 0
      let rawMs = 0
      for (const ref of refs) {
        let got = 0
        fetchMs += await time(async () => { for await (const p of storeB.read(ref, peers === undefined ? {} : { peers: [...peers] })) got += p.length })
        if (got !== LARGE) throw new Error(`clip bench: fetched ${got} bytes`)
        await storeB.remove(ref.cid)
        await storeA.remove(ref.cid)
        let raw = 0
        rawMs += await time(async () => { raw = await fetchRaw(b, a) })
        if (raw < LARGE) throw new Error(`clip bench: raw stream carried ${raw} bytes`)
      }
      rows.push(rateWorkload(`clip fetch + decrypt, 64 MiB over loopback (${label})`, mbps(LARGE * FETCH_ROUNDS, fetchMs), 'MB/s', mbps(LARGE * FETCH_ROUNDS, rawMs)))
    }
  } finally {
    await storeA.stop()
    await storeB.stop()
    await a.stop()
    await b.stop()
  }

  // ---- peak memory above idle, posting and fetching 256 MiB, each in a child process ----
  {
    const file = join(dir, 'clip.mp4')
    await writeBigMp4(file, MEMORY_CLIP)
    const posted = await child(['post', join(dir, 'poster'), file])
    await rm(file)
    const provider = await createNode({ tcpPort: 0 })
    const store = await openNodeClipStore(provider, join(dir, 'poster'))
    let fetched: Record<string, unknown>
    try {
      const addr = provider.getMultiaddrs()[0]!.toString()
      fetched = await child(['fetch', join(dir, 'fetcher'), addr, JSON.stringify(posted.ref), join(dir, 'out.mp4')])
    } finally {
      await store.stop()
      await provider.stop()
    }
    const above = (r: Record<string, unknown>): number => ((r.peak as number) - (r.idle as number)) / MiB
    rows.push(costWorkload('clip memory, post 256 MiB (peak above idle)', above(posted), 'MiB', null))
    rows.push(costWorkload('clip memory, fetch 256 MiB (peak above idle)', above(fetched), 'MiB', null))
    // For reference: the same 256 MiB fetched between two processes (no shared event loop).
    rows.push(rateWorkload('clip fetch + decrypt, 256 MiB, separate processes', mbps(MEMORY_CLIP, fetched.ms as number), 'MB/s', null))
  }
  return rows
}

if (import.meta.url === `file://${process.argv[1] ?? ''}`) {
  await import('../../node/polyfill.ts')
  for (const r of await benchClips()) console.log(`${r.name}: ${r.value} ${r.unit} (baseline ${r.baseline}, ratio ${r.ratio})`)
  process.exit(0)
}
