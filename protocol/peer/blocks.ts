/**
 * `/porchlight/blocks/1` (protocol/wire.ts): a clip's blocks streamed on one libp2p stream,
 * depth-first from the root, by a peer that stores them. The fast path beside bitswap:
 * Helia's bitswap asks for blocks a wantlist message at a time, each on a new stream, which
 * on loopback here caps at ~20-50 MB/s; one stream runs at the stream's own speed.
 *
 * Trust nothing in the frames: the requester walks the DAG itself, hashes every block
 * against the CID it expects next (SHA-256 multihashes only), and counts the file bytes
 * against the size it asked for. The content is ciphertext; the key is never involved.
 */
import { lpStream } from '@libp2p/utils'
import type { AbortOptions, Connection, Libp2p, Logger, PeerId, Startable, Stream } from '@libp2p/interface'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { fail, isPorchlightError, PorchlightError } from '../errors.ts'
import { equalBytes } from '../encoding.ts'
import { sha256 } from '../crypto.ts'
import {
  BLOCK_FRAME, END_FRAME, MAX_BLOCK_BYTES, MAX_CREDIT_BYTES, PROTOCOLS, decodeBlocksRequest, decodeCredit, decodeResult, encodeBlocksRequest,
  encodeCredit, encodeResult, toResult, type Result
} from '../wire.ts'
import { lengthPrefixBytes } from './frames.ts'
import { UNMETERED, type InboundBudget } from './stream-budget.ts'

/** Block streams served at once per connection: 8. */
export const BLOCKS_MAX_INBOUND_STREAMS = 8
/** Longest wait for one frame, either side (a request, a block, credit): 20 s. */
export const BLOCKS_FRAME_TIMEOUT_MS = 20_000

export const BLOCK_STREAM_DEFAULTS = {
  maxInboundStreams: BLOCKS_MAX_INBOUND_STREAMS,
  frameTimeoutMs: BLOCKS_FRAME_TIMEOUT_MS
} as const

export interface BlockStreamInit {
  /** @default BLOCKS_MAX_INBOUND_STREAMS (8) */
  maxInboundStreams?: number
  /** @default BLOCKS_FRAME_TIMEOUT_MS (20 s) */
  frameTimeoutMs?: number
}

/**
 * Credit the requester grants: 4 MiB at first, then back in steps of at least 1 MiB as it
 * consumes frames. At most this much is ever in flight or waiting to be read. (Measured on
 * loopback between two processes: 4 MiB fetches as fast as 8 MiB, with ~25 MiB less RSS.)
 */
const INITIAL_CREDIT = 4 * 1024 * 1024
const CREDIT_STEP = 1024 * 1024
/** Raw leaves a requester hashes while it reads the next frames: 2 (at most 2 MiB beyond the credit). */
const VERIFY_AHEAD = 2

/**
 * Largest frame the server reads: the requester only sends a request (at most 256 bytes) and
 * credit frames, so a half-sent frame cannot hold a block's worth of the server's memory.
 */
const MAX_CONTROL_FRAME_BYTES = 1024

/** Deepest DAG walked (a 4 GiB clip in 1 MiB leaves with 174 links per node is 3 levels). */
const MAX_DEPTH = 16
/** Smallest average block accepted: bounds the blocks one request can make either side handle. */
const MIN_AVG_BLOCK_BYTES = 16 * 1024
const SHA2_256 = 0x12
/** What blockstores (and Helia's, offline) name the error for a block they do not hold. */
const NOT_FOUND_ERRORS = new Set(['NotFoundError', 'BlockNotFoundWhileOfflineError'])

/** Where the server reads blocks from (the clip store's blockstore). */
export interface BlockSource {
  has (cid: CID): Promise<boolean>
  /** The block; throws an error named 'NotFoundError' when it is not stored (as blockstores do). */
  get (cid: CID): Promise<Uint8Array>
}

/**
 * SHA-256 of one block, as the runtime does it fastest (the clip store passes node:crypto's in
 * Node, WebCrypto's in the browser). @default the installed hash provider's (crypto.ts)
 */
export type BlockDigest = (block: Uint8Array) => Uint8Array | Promise<Uint8Array>

/** What the block server uses of the libp2p node. */
export type BlockServerComponents = Pick<Libp2p, 'handle' | 'unhandle' | 'logger'>

export interface BlockServerInit extends BlockStreamInit {
  /** Admits each stream and counts what it buffers. @default UNMETERED */
  budget?: InboundBudget
}

/** Serves `/porchlight/blocks/1` from `source`: start() registers the handler, stop() removes it. */
export class BlockServer implements Startable {
  private readonly log: Logger
  private readonly budget: InboundBudget
  private readonly timeout: number
  private readonly maxInboundStreams: number

  constructor (private readonly components: BlockServerComponents, private readonly source: BlockSource, init: BlockServerInit = {}) {
    this.log = components.logger.forComponent('porchlight:blocks')
    this.budget = init.budget ?? UNMETERED
    this.timeout = init.frameTimeoutMs ?? BLOCKS_FRAME_TIMEOUT_MS
    this.maxInboundStreams = init.maxInboundStreams ?? BLOCKS_MAX_INBOUND_STREAMS
  }

  async start (): Promise<void> {
    await this.components.handle(PROTOCOLS.blocks, async (stream, connection) => { await this.serve(stream, connection) }, { maxInboundStreams: this.maxInboundStreams })
  }

  async stop (): Promise<void> {
    await this.components.unhandle(PROTOCOLS.blocks)
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const timeout = this.timeout
    const lease = this.budget.admit(stream, connection, 'blocks')
    if (lease === undefined) return
    const lp = lpStream(stream, { maxDataLength: MAX_CONTROL_FRAME_BYTES })
    let result: Result = { ok: true }
    const readFrame = async (signal?: AbortSignal): Promise<Uint8Array> => {
      const frame = (await lp.read({ signal })).subarray()
      lease.endRead(lengthPrefixBytes(frame.length) + frame.length)
      return frame
    }
    try {
      lease.startRead()
      const req = decodeBlocksRequest(await readFrame(AbortSignal.timeout(timeout)))
      const credit = new Credit(req.credit)
      // Credit frames arrive while blocks go out; the loop ends with the stream. The requester
      // sends credit only as it reads, so these reads have no idle deadline.
      void (async () => {
        try {
          for (;;) credit.add(decodeCredit(await readFrame()))
        } catch (err) {
          credit.close(err)
        }
      })()
      let root: CID
      try { root = CID.parse(req.cid) } catch { fail('BAD_ARGUMENT', 'not a CID') }
      if (!(await this.source.has(root))) fail('NOT_FOUND', 'that clip is not stored here')
      const maxBlocks = Math.ceil(req.size / MIN_AVG_BLOCK_BYTES) + 16
      let blocks = 0
      // Depth-first, links in order: the order the requester expects them in.
      const stack: Array<{ cid: CID, depth: number }> = [{ cid: root, depth: 0 }]
      const read = async (cid: CID): Promise<Uint8Array> => {
        let block: Uint8Array
        try {
          block = await this.source.get(cid)
        } catch (err) {
          // One read, no `has` first: a missing block is the store's NotFoundError (Helia's, offline: BlockNotFoundWhileOfflineError).
          if (NOT_FOUND_ERRORS.has((err as Error).name)) fail('NOT_FOUND', 'part of that clip is not stored here')
          throw err
        }
        return frame(BLOCK_FRAME, block)
      }
      // One block read ahead while the previous one is being written (leaves are leaves:
      // only dag-pb nodes, read before their children, change what comes next).
      let ahead: Promise<Uint8Array> | undefined
      while (stack.length > 0) {
        const { cid, depth } = stack.pop()!
        if (++blocks > maxBlocks || depth > MAX_DEPTH) fail('TOO_LARGE', 'the DAG is larger than the size asked for')
        const block = await (ahead ?? read(cid))
        ahead = undefined
        if (cid.code === dagPb.code) {
          const links = dagPb.decode(block.subarray(1)).Links
          for (let i = links.length - 1; i >= 0; i--) stack.push({ cid: links[i]!.Hash as CID, depth: depth + 1 })
        }
        const next = stack[stack.length - 1]
        // Awaited on the next turn; caught now so a failed read-ahead is never an unhandled rejection.
        if (next !== undefined) { ahead = read(next.cid); ahead.catch(() => {}) }
        await credit.take(block.length, timeout)
        await lp.write(block, { signal: AbortSignal.timeout(timeout) })
      }
    } catch (err) {
      result = toResult(err, { code: 'IO', message: 'cannot read the clip' })
    }
    try {
      await lp.write(frame(END_FRAME, encodeResult(result)), { signal: AbortSignal.timeout(timeout) })
      await stream.close()
      lease.finish()
    } catch (err) {
      this.log('blocks reply to %p failed - %e', connection.remotePeer, err)
      stream.abort(new Error('blocks reply failed'))
    }
  }
}

/** Starts a BlockServer on `node` from `source`; `budget` admits each stream and counts what it buffers. */
export async function handleBlocks (node: BlockServerComponents, source: BlockSource, budget: InboundBudget = UNMETERED, init: BlockStreamInit = {}): Promise<BlockServer> {
  const server = new BlockServer(node, source, { ...init, budget })
  await server.start()
  return server
}

export interface FetchBlocksOptions extends AbortOptions {
  /** @default BLOCKS_FRAME_TIMEOUT_MS (20 s) */
  frameTimeoutMs?: number
  /** Called with every verified block, before its content is yielded (to store it). */
  onBlock?: (cid: CID, block: Uint8Array) => Promise<void>
  /** Hashes each block to check it against its CID. @default the installed provider's sha256 */
  digest?: BlockDigest
}

/**
 * The content (UnixFS file bytes) of the DAG at `root` from `peer`, verified block by block.
 * Exactly `size` bytes or a PorchlightError: NOT_FOUND if the peer does not have it,
 * MALFORMED / BAD_LENGTH for a block that does not hash to the CID it should.
 */
export async function * fetchBlocks (node: Libp2p, peer: PeerId, root: CID, size: number, opts: FetchBlocksOptions = {}): AsyncGenerator<Uint8Array> {
  const timeout = opts.frameTimeoutMs ?? BLOCKS_FRAME_TIMEOUT_MS
  const digest = opts.digest ?? sha256
  const signal = (): AbortSignal => opts.signal === undefined ? AbortSignal.timeout(timeout) : AbortSignal.any([opts.signal, AbortSignal.timeout(timeout)])
  let stream: Stream | undefined
  // Set once the stream is closed or aborted: a requester that stops reading (break, or an
  // error where it uses the pieces) aborts it in `finally`, so the server is not left holding it.
  let settled = false
  try {
    stream = await node.dialProtocol(peer, PROTOCOLS.blocks, { signal: signal() })
    // No lpStream here: its reader would buffer the whole reply (see FrameReader).
    const frames = new FrameReader(stream)
    const send = async (bytes: Uint8Array): Promise<void> => {
      if (!stream!.send(lengthPrefixed(bytes))) await stream!.onDrain({ signal: signal() })
    }
    await send(encodeBlocksRequest({ cid: root.toString(), size, credit: INITIAL_CREDIT }))
    let consumed = 0
    const expected: Array<{ cid: CID, depth: number }> = [{ cid: root, depth: 0 }]
    let out = 0
    // The server's own bound (serve): blocks without data (links fanning out to empty nodes)
    // count against nothing else, and a poster's DAG could have millions.
    const maxBlocks = Math.ceil(size / MIN_AVG_BLOCK_BYTES) + 16
    let blocks = 0
    // Raw leaves being hashed (off the main thread where `digest` is WebCrypto's) while the next
    // frames are read; each is checked, handed to onBlock and yielded in order, none before its
    // hash matched, and as soon as it did if no frame is waiting. They hold at most
    // VERIFY_AHEAD blocks beyond the credit granted.
    const checking: Array<{ cid: CID, block: Uint8Array, hash: Promise<Uint8Array> }> = []
    const settle = async (): Promise<Uint8Array> => {
      const c = checking.shift()!
      if (!equalBytes(await c.hash, c.cid.multihash.digest)) fail('MALFORMED', 'a block does not match its CID')
      await opts.onBlock?.(c.cid, c.block)
      return c.block
    }
    const hashed = async (): Promise<boolean> => await checking[0]!.hash.then(() => true, () => true)
    for (;;) {
      const reading = frames.read(signal())
      reading.catch(() => {}) // awaited below; no unhandled rejection if the reader stops first
      // While the next frame is on its way, release the leaves whose hashes are done.
      while (checking.length > 0 && await Promise.race([reading.then(() => false, () => false), hashed()])) {
        const leaf = await settle()
        if (leaf.length > 0) yield leaf
      }
      const frame = await reading
      if (frame[0] === END_FRAME) {
        const r = decodeResult(frame.subarray(1))
        if (!r.ok) fail(r.code ?? 'UNAVAILABLE', r.message ?? 'the peer refused')
        while (checking.length > 0) {
          const leaf = await settle()
          if (leaf.length > 0) yield leaf
        }
        if (expected.length > 0 || out !== size) fail('MALFORMED', 'the clip ended early')
        settled = true
        await stream.close()
        return
      }
      if (frame[0] !== BLOCK_FRAME) fail('MALFORMED', 'unknown frame')
      if (++blocks > maxBlocks) fail('TOO_LARGE', `the clip has more blocks than ${size} bytes allow`)
      consumed += frame.length
      if (consumed >= CREDIT_STEP) { await send(encodeCredit(consumed)); consumed = 0 }
      const block = frame.subarray(1)
      const next = expected.pop() ?? fail('MALFORMED', 'more blocks than the clip has')
      if (next.depth > MAX_DEPTH) fail('TOO_LARGE', 'the clip DAG is too deep')
      if (next.cid.multihash.code !== SHA2_256) fail('UNSUPPORTED', 'clip blocks must be SHA-256 addressed')
      if (next.cid.code === raw.code) {
        out += block.length
        if (out > size) fail('MALFORMED', 'the clip is larger than its size')
        const hash = Promise.resolve(digest(block))
        hash.catch(() => {}) // awaited in settle; no unhandled rejection if the fetch stops first
        checking.push({ cid: next.cid, block, hash })
        if (checking.length > VERIFY_AHEAD) {
          const leaf = await settle()
          if (leaf.length > 0) yield leaf
        }
        continue
      }
      if (next.cid.code !== dagPb.code) fail('UNSUPPORTED', 'clip blocks must be raw or dag-pb')
      // A node says which blocks come next: the leaves before it go first, and it is checked before it is read.
      while (checking.length > 0) {
        const leaf = await settle()
        if (leaf.length > 0) yield leaf
      }
      if (!equalBytes(await digest(block), next.cid.multihash.digest)) fail('MALFORMED', 'a block does not match its CID')
      await opts.onBlock?.(next.cid, block)
      const node = dagPb.decode(block)
      const data = node.Data === undefined ? undefined : UnixFS.unmarshal(node.Data).data
      for (let i = node.Links.length - 1; i >= 0; i--) expected.push({ cid: node.Links[i]!.Hash as CID, depth: next.depth + 1 })
      if (data !== undefined && data.length > 0) {
        out += data.length
        if (out > size) fail('MALFORMED', 'the clip is larger than its size')
        yield data
      }
    }
  } catch (err) {
    settled = true
    stream?.abort(new Error('blocks fetch failed'))
    if (isPorchlightError(err)) throw err
    throw new PorchlightError('UNAVAILABLE', `block stream failed: ${(err as Error).message}`, { cause: err })
  } finally {
    if (!settled) stream?.abort(new Error('blocks fetch stopped by the reader'))
  }
}

/**
 * Length-prefixed frames (unsigned varint length, as lpStream writes them). libp2p 3 streams
 * emit data as it arrives whatever the reader does (lpStream buffers it and fails past
 * 4 MiB; pausing a yamux stream does not hold the sender back for long), so the server sends
 * only what the reader granted in credit, and this buffer stays within that.
 */
class FrameReader {
  private readonly chunks: Uint8Array[] = []
  private buffered = 0
  private ended: Error | true | undefined
  private wake: (() => void) | undefined

  constructor (stream: Stream) {
    stream.addEventListener('message', (evt) => {
      const data = evt.data instanceof Uint8Array ? evt.data : evt.data.subarray()
      this.chunks.push(data)
      this.buffered += data.length
      // The server sends only what we granted: more than that (plus framing) is a broken peer.
      if (this.buffered > MAX_CREDIT_BYTES + MAX_BLOCK_BYTES) { this.ended = new Error('sent more than granted'); stream.abort(this.ended) }
      this.notify()
    })
    stream.addEventListener('close', (evt) => { this.ended = evt.error ?? true; this.notify() })
    stream.addEventListener('remoteCloseWrite', () => { this.ended = true; this.notify() })
  }

  /** The next frame's body; throws if the stream ends first or `signal` aborts. */
  async read (signal: AbortSignal): Promise<Uint8Array> {
    let length = 0
    for (let shift = 0; ; shift += 7) {
      if (shift > 28) fail('MALFORMED', 'frame length too long')
      const byte = (await this.take(1, signal))[0]!
      length += (byte & 0x7f) * 2 ** shift
      if ((byte & 0x80) === 0) break
    }
    if (length > MAX_BLOCK_BYTES + 1) fail('TOO_LARGE', 'frame too large')
    return await this.take(length, signal)
  }

  private async take (n: number, signal: AbortSignal): Promise<Uint8Array> {
    while (this.buffered < n) {
      if (this.ended !== undefined) fail('UNAVAILABLE', this.ended === true ? 'the stream ended' : `the stream failed: ${this.ended.message}`)
      signal.throwIfAborted()
      await new Promise<void>((resolve) => {
        const done = (): void => { signal.removeEventListener('abort', done); this.wake = undefined; resolve() }
        this.wake = done
        signal.addEventListener('abort', done, { once: true })
      })
    }
    let out: Uint8Array
    const first = this.chunks[0]!
    if (first.length >= n) {
      out = first.subarray(0, n)
      if (first.length === n) this.chunks.shift(); else this.chunks[0] = first.subarray(n)
    } else {
      out = new Uint8Array(n)
      let o = 0
      while (o < n) {
        const c = this.chunks[0]!
        const k = Math.min(c.length, n - o)
        out.set(c.subarray(0, k), o)
        o += k
        if (k === c.length) this.chunks.shift(); else this.chunks[0] = c.subarray(k)
      }
    }
    this.buffered -= n
    return out
  }

  private notify (): void { this.wake?.() }
}

/** Bytes the server may still send; `take` waits for more credit. */
class Credit {
  private wake: (() => void) | undefined
  private closed: unknown

  constructor (private available: number) {}

  add (n: number): void {
    this.available += n
    if (this.available > MAX_CREDIT_BYTES) this.close(new PorchlightError('OUT_OF_RANGE', 'credit over its bound'))
    this.wake?.()
  }

  close (err: unknown): void {
    this.closed ??= err
    this.wake?.()
  }

  async take (n: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (this.available < n) {
      if (this.closed !== undefined && this.available < n) fail('UNAVAILABLE', 'the requester stopped reading')
      const left = deadline - Date.now()
      if (left <= 0) fail('TIMEOUT', 'the requester granted no credit in time')
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.wake = () => { clearTimeout(timer); this.wake = undefined; resolve() }
      })
    }
    this.available -= n
  }
}

/** An unsigned-varint length, then the bytes (a small frame: the request). */
function lengthPrefixed (body: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let n = body.length
  do { prefix.push((n & 0x7f) | (n > 0x7f ? 0x80 : 0)); n = Math.floor(n / 128) } while (n > 0)
  const out = new Uint8Array(prefix.length + body.length)
  out.set(prefix, 0)
  out.set(body, prefix.length)
  return out
}

/** A kind byte and a body in one array (one copy of the block: cheap beside hashing it). */
function frame (kind: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(1 + body.length)
  out[0] = kind
  out.set(body, 1)
  return out
}

/**
 * Connected peers to ask for a block stream: those known (from identify) to serve
 * `/porchlight/blocks/1` first, then those whose protocols are not known yet; never those
 * known not to (asking them would only cost a failed negotiation).
 */
export async function blockPeers (node: Libp2p): Promise<PeerId[]> {
  const known: PeerId[] = []
  const unknown: PeerId[] = []
  for (const peer of node.getPeers()) {
    // NotFoundError: a connected peer not in the store yet; its protocols are not known.
    const p = await node.peerStore.get(peer).catch(() => undefined)
    if (p === undefined || p.protocols.length === 0) unknown.push(peer)
    else if (p.protocols.includes(PROTOCOLS.blocks)) known.push(peer)
  }
  return [...known, ...unknown]
}
