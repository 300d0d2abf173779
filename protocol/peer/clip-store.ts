/**
 * Encrypted clips in IPFS through Helia, on the peer's one libp2p node: the isomorphic part.
 * Each runtime hands in its storage and its fastest primitives (ClipStoreDeps): Node
 * blockstore-fs, datastore-level and node:crypto (node/storage/clips.ts, openNodeClipStore);
 * the browser IndexedDB stores and WebCrypto.
 *
 * Helia 7 normally creates its own libp2p node (`withLibp2p` / `withLibp2pLight`). Porchlight's
 * node already exists (gossip, push, sync, pin all run on it), so `withExistingLibp2p` hands
 * that node to a light Helia (`createHeliaLight`: no routers, no HTTP gateways, no bootstrap or
 * mDNS, nothing that reaches the internet) and `withBitswap` registers bitswap on it. Helia
 * never starts or stops the node: its owner (the resident peer or the relay) does.
 *
 * Fetching: a clip's blocks come first as one block stream (`/porchlight/blocks/1`, blocks.ts)
 * from a connected peer that has them (a relay that pinned it, its author); bitswap, which asks
 * every connected peer, is the fallback when no stream works, and resumes a stream that broke
 * part-way. With no routers there is no provider lookup beyond the connected peers.
 *
 * Streaming throughout: `add` encrypts (stream-aead.ts) and hashes the plaintext as it
 * passes and hands the ciphertext to UnixFS `addByteStream`; `read` runs the fetch into the
 * decryptor. Neither holds more than a few chunks and blocks: about
 * CLIP_PIPELINE_DEPTH x 64 KiB of cipher chunks plus 2 x readWindowBytes of blocks.
 */
import { createHeliaLight, type Helia } from 'helia'
import { withBitswap, type BitswapOptions } from '@helia/bitswap'
import { unixfs, type UnixFS } from '@helia/unixfs'
import { Key, type Datastore } from 'interface-datastore'
import type { Blockstore } from 'interface-blockstore'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as dagPb from '@ipld/dag-pb'
import type { AbortOptions, Libp2p, Logger, PeerId } from '@libp2p/interface'
import { fail, isPorchlightError, PorchlightError } from '../errors.ts'
import { equalBytes, utf8Bytes, utf8String } from '../encoding.ts'
import { sha256 } from '../crypto.ts'
import { decryptClip, encryptClip, encryptedClipSize, generateClipKey, type AesGcmFactory, type ClipCipherOptions } from '../clip/stream-aead.ts'
import { hashTap, nobleSha256, type HashFactory } from '../clip/hash.ts'
import { MAX_CID_BYTES } from '../post.ts'
import { BlockServer, blockPeers, fetchBlocks, type BlockDigest } from './blocks.ts'
import type { InboundBudget } from './stream-budget.ts'
import { meteredLibp2p } from './metered-libp2p.ts'
import { ClipWrites } from './clip-writes.ts'

export const CLIP_STORE_DEFAULTS = {
  /** UnixFS leaf size: 1 MiB (fewer bitswap round trips than 256 KiB). */
  chunkSize: 1024 * 1024,
  /**
   * Leaves being hashed and written while the next leaf is encrypted (clip-writes.ts): 2
   * keeps the thread pool busy (WebCrypto digest, file or IndexedDB writes) while the main
   * thread encrypts; the importer's default of 10 held ~90 MiB when adding a 256 MiB clip.
   */
  writeConcurrency: 2,
  /**
   * Bytes read per window: each is one UnixFS `cat` of that range, and the next window is
   * fetched while this one is consumed, so at most 2 windows (16 MiB) are held. (The
   * exporter's own `blockReadConcurrency` is not honoured by it-parallel 3.0.16, which lets
   * every child of a node be fetched at once; windows bound what is in flight instead.)
   */
  readWindowBytes: 8 * 1024 * 1024,
  /** A read gives up when no block arrived for this long. */
  idleTimeoutMs: 30_000,
  /** A window with no block for this long is asked for again (up to 3 times). */
  stallMs: 5_000,
  /** Bitswap sends wants and blocks after this pause (batches neighbours; libp2p default 10 ms). */
  bitswapDebounceMs: 1
} as const

/** Deepest UnixFS tree walked when deleting (a 4 GiB clip in 1 MiB leaves is 2 levels). */
const MAX_DAG_DEPTH = 16
const KEEP_PREFIX = '/porchlight/keep/'
/** Streamed blocks being written to the blockstore at once. */
const STORE_AHEAD = 4
/** A window asked for again after a stall, at most this many times. */
const MAX_WINDOW_RETRIES = 3
const RAW_CODEC = raw.code

/**
 * The only router: it knows no providers, so bitswap asks the peers it is connected to (the
 * relays, other members) and nobody else. (With no router at all Helia throws, and logs a
 * stack trace, for every block wanted.)
 */
const CONNECTED_PEERS_ONLY = {
  name: 'porchlight-connected-peers',
  async * findProviders (): AsyncGenerator<never> {}
}

/** What a post needs to fetch and open a clip (MediaRef without the MIME type). */
export interface ClipRef {
  cid: string
  /** 32-byte clip key. */
  key: Uint8Array
  /** Plaintext size in bytes. */
  size: number
  /** SHA-256 of the plaintext, 32 bytes. */
  hash: Uint8Array
}

export interface AddedClip extends ClipRef {
  /** Ciphertext bytes stored (the UnixFS file size). */
  stored: number
}

export interface ClipStoreInit {
  /** @default CLIP_STORE_DEFAULTS.chunkSize (1 MiB) */
  chunkSize?: number
  /** @default CLIP_STORE_DEFAULTS.stallMs (5 s) */
  stallMs?: number
  /** @default CLIP_STORE_DEFAULTS.readWindowBytes (8 MiB) */
  readWindowBytes?: number
  /** @default CLIP_STORE_DEFAULTS.idleTimeoutMs (30 s) */
  idleTimeoutMs?: number
  /** Merged over the debounces in CLIP_STORE_DEFAULTS. */
  bitswap?: BitswapOptions
  /** Admits the block and bitswap streams this store serves and counts what they buffer (a relay's caps). @default no caps */
  inboundBudget?: InboundBudget
}

export interface FetchOptions extends AbortOptions {
  /** Only what is stored here. */
  offline?: boolean
  /** Ciphertext bytes of each piece as it arrives. */
  onPiece?: (bytes: number) => void
  /** Each block this fetch stored here, with its size in bytes (to bound it, and delete them if it fails). */
  onStored?: (cid: CID, bytes: number) => void
  /** Peers to stream from; default: every connected peer that serves block streams. */
  peers?: PeerId[]
}

export interface ReadOptions extends AbortOptions {
  /** Plaintext bytes released so far. */
  onProgress?: (bytes: number) => void
  /** Only what is stored here; 'NOT_FOUND' for anything missing. */
  offline?: boolean
  /** @default the store's idleTimeoutMs */
  idleTimeoutMs?: number
  /** Peers to stream from; default every connected peer that serves block streams; [] = bitswap only. */
  peers?: PeerId[]
}

/**
 * What a runtime supplies: where blocks and Helia's records (pins, keep times) live, and its
 * fastest AES-256-GCM and streaming SHA-256. The stores are opened by the caller; the clip
 * store closes them (`close`) when it stops, or when it fails to open.
 */
export interface ClipStoreDeps {
  /** Blocks (blockstore-fs in Node, IndexedDB in the browser), opened. */
  readonly blockstore: Blockstore
  /** Helia's datastore (pins) and the keep records, opened. */
  readonly datastore: Datastore
  /** Closes both stores. @default nothing to close */
  close?: () => Promise<void>
  /** AES-256-GCM for the clip STREAM. @default WebCrypto when `crypto.subtle` exists, else noble (stream-aead.ts) */
  readonly aesGcm?: AesGcmFactory
  /**
   * Streaming SHA-256 of the plaintext (and of blocks where there is no WebCrypto: blocks are
   * hashed by WebCrypto's digest, off the main thread, see blockDigest). @default nobleSha256
   */
  readonly sha256?: HashFactory
}

/**
 * Lets a light Helia use an existing, already started libp2p node. Its owner starts and
 * stops the node; Helia only registers bitswap on it (and unregisters it on stop).
 */
export function withExistingLibp2p<H extends Helia> (helia: H, node: Libp2p): H & { libp2p: Libp2p } {
  Object.defineProperty(helia, 'libp2p', { value: node, enumerable: true, configurable: true })
  helia.addMixin({ name: 'libp2p' })
  return helia as H & { libp2p: Libp2p }
}

export class ClipStore {
  readonly fs: UnixFS
  private readonly chunkSize: number
  private readonly readWindowBytes: number
  private readonly idleTimeoutMs: number
  private readonly stallMs: number
  private readonly blocks: Blockstore
  private readonly datastore: Datastore
  private readonly aead: ClipCipherOptions
  private readonly hash: HashFactory
  private readonly digest: BlockDigest

  private readonly log: Logger

  private constructor (
    readonly helia: Helia & { libp2p: Libp2p },
    private readonly deps: ClipStoreDeps,
    private readonly blockServer: BlockServer,
    init: ClipStoreInit
  ) {
    this.log = helia.libp2p.logger.forComponent('porchlight:clip-store')
    this.fs = unixfs(helia)
    this.blocks = deps.blockstore
    this.datastore = deps.datastore
    this.aead = deps.aesGcm === undefined ? {} : { aesGcm: deps.aesGcm }
    this.hash = deps.sha256 ?? nobleSha256
    this.digest = blockDigest(deps.sha256)
    this.chunkSize = init.chunkSize ?? CLIP_STORE_DEFAULTS.chunkSize
    this.readWindowBytes = init.readWindowBytes ?? CLIP_STORE_DEFAULTS.readWindowBytes
    this.idleTimeoutMs = init.idleTimeoutMs ?? CLIP_STORE_DEFAULTS.idleTimeoutMs
    this.stallMs = init.stallMs ?? CLIP_STORE_DEFAULTS.stallMs
  }

  /**
   * Starts Helia with bitswap on `node` over the supplied stores, and serves the block stream
   * from them. On failure the stores are closed and 'IO' thrown.
   */
  static async open (node: Libp2p, deps: ClipStoreDeps, init: ClipStoreInit = {}): Promise<ClipStore> {
    const { blockstore, datastore } = deps
    try {
      // With a budget (a relay), inbound bitswap streams are admitted and counted like the relay's own.
      const heliaNode = init.inboundBudget === undefined ? node : meteredLibp2p(node, init.inboundBudget, 'bitswap')
      const helia = withExistingLibp2p(createHeliaLight({ blockstore, datastore, routers: [CONNECTED_PEERS_ONLY] }), heliaNode)
      withBitswap(helia, {
        sendWantlistDebounce: CLIP_STORE_DEFAULTS.bitswapDebounceMs,
        sendBlocksDebounce: CLIP_STORE_DEFAULTS.bitswapDebounceMs,
        ...init.bitswap
      })
      await helia.start()
      const blockServer = new BlockServer(node, { has: async (cid) => blockstore.has(cid), get: async (cid) => collect(blockstore.get(cid)) }, {
        ...(init.inboundBudget !== undefined ? { budget: init.inboundBudget } : {})
      })
      await blockServer.start()
      return new ClipStore(helia, deps, blockServer, init)
    } catch (err) {
      // The open failed and says why (thrown below); a close that fails too adds nothing to that.
      await deps.close?.().catch(() => {})
      throw isPorchlightError(err) ? err : new PorchlightError('IO', `cannot open the clip store: ${(err as Error).message}`, { cause: err })
    }
  }

  /**
   * Encrypts a (cleaned) clip with a fresh key and adds the ciphertext as UnixFS. Returns the
   * CID, key, plaintext size and hash for the post. `onProgress` gets plaintext bytes read.
   */
  async add (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: AbortOptions & { onProgress?: (bytes: number) => void } = {}): Promise<AddedClip> {
    const key = generateClipKey()
    let size = 0
    const counted = async function * (): AsyncGenerator<Uint8Array> {
      for await (const piece of source) {
        size += piece.length
        opts.onProgress?.(size)
        yield piece
      }
    }
    const tap = hashTap(counted(), this.hash)
    // Every block of the clip, root included, is written through `writes` (clip-writes.ts).
    const writes = new ClipWrites(this.blocks, CLIP_STORE_DEFAULTS.writeConcurrency)
    let cid: CID
    try {
      cid = await unixfs({ blockstore: { put: async (c, b) => await writes.put(c, b instanceof Uint8Array ? b : fail('IO', 'clip add: a streamed block')), get: () => fail('IO', 'clip add: no reads'), has: async () => false } })
        .addByteStream(encryptClip(key, tap.stream, this.aead), {
          cidVersion: 1,
          rawLeaves: true,
          chunker: fixedChunker(this.chunkSize),
          bufferImporter: writes.leafImporter(this.digest),
          // The leaf importer runs its writes ahead itself: the importer's batches would not.
          blockWriteConcurrency: 1,
          ...(opts.signal !== undefined ? { signal: opts.signal } : {})
        } as never)
      await writes.finish()
    } catch (err) {
      await writes.undo()
      throw isPorchlightError(err) ? err : new PorchlightError('IO', `cannot store the clip: ${(err as Error).message}`, { cause: err })
    }
    return { cid: cid.toString(), key, size, hash: tap.digest(), stored: encryptedClipSize(size) }
  }

  /**
   * Fetches (from here, else as a block stream from a connected peer that has it, else over
   * bitswap: fetchCipher) and decrypts a clip. Yields
   * verified plaintext; the size and SHA-256 are checked at the end ('DECRYPT_FAILED'), so
   * a consumer must discard what it received if the stream throws.
   */
  async * read (ref: ClipRef, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    const cid = parseCid(ref.cid)
    const idle = new IdleTimer(opts.idleTimeoutMs ?? this.idleTimeoutMs)
    const signal = opts.signal === undefined ? idle.signal : AbortSignal.any([idle.signal, opts.signal])
    const ciphertext = this.fetchCipher(cid, encryptedClipSize(ref.size), {
      signal, offline: opts.offline === true, onPiece: () => { idle.touch() }, ...(opts.peers !== undefined ? { peers: opts.peers } : {})
    })
    const tap = hashTap(decryptClip(ref.key, ciphertext, this.aead), this.hash)
    let released = 0
    try {
      for await (const piece of tap.stream) {
        released += piece.length
        if (released > ref.size) fail('DECRYPT_FAILED', 'clip is longer than its post says')
        opts.onProgress?.(released)
        yield piece
      }
    } catch (err) {
      if (isPorchlightError(err)) throw err
      if (opts.signal?.aborted === true) fail('TIMEOUT', 'clip fetch aborted', err)
      if (idle.fired) fail('UNAVAILABLE', `no peer sent clip ${ref.cid.slice(0, 16)}… for ${idle.ms / 1000} s (is a relay that pinned it, or its author, online?)`, err)
      fail('UNAVAILABLE', `cannot fetch clip ${ref.cid.slice(0, 16)}…: ${(err as Error).message}`, err)
    } finally {
      idle.stop()
    }
    if (released !== ref.size || !equalBytes(tap.digest(), ref.hash)) fail('DECRYPT_FAILED', 'clip does not match the hash in its post')
  }

  /**
   * A clip's ciphertext (its UnixFS file bytes, `size` of them): from here when stored;
   * otherwise streamed (blocks.ts) from a connected peer that has it, and over
   * bitswap from whoever has it when no stream works. A stream that breaks part-way is
   * resumed over bitswap from where it stopped. Fetched blocks are stored here.
   */
  async * fetchCipher (cid: CID, size: number, opts: FetchOptions = {}): AsyncGenerator<Uint8Array> {
    let from = 0
    if (opts.offline !== true && !(await this.blocks.has(cid))) {
      for (const peer of opts.peers ?? await blockPeers(this.helia.libp2p)) {
        try {
          for await (const piece of this.streamFrom(peer, cid, size, opts)) {
            from += piece.length
            yield piece
          }
          return
        } catch (err) {
          if (opts.signal?.aborted === true) throw err
          if (from > 0) break // resume over bitswap
        }
      }
    }
    yield * this.cipher(cid, size, { ...opts, from })
  }

  /** The stored size of one block in bytes (what a pin counts against its quota). */
  async blockBytes (cid: CID): Promise<number> {
    return (await collect(this.blocks.get(cid))).length
  }

  /**
   * The file bytes of `cid` streamed from one peer, each block verified and stored here (up
   * to STORE_AHEAD blocks being written while the next ones arrive).
   */
  async * streamFrom (peer: PeerId, cid: CID, size: number, opts: FetchOptions = {}): AsyncGenerator<Uint8Array> {
    const blockstore = this.helia.blockstore
    const writing = new Set<Promise<void>>()
    let failed: unknown
    const store = async (c: CID, block: Uint8Array): Promise<void> => {
      if (failed !== undefined) throw failed
      while (writing.size >= STORE_AHEAD) await Promise.race(writing)
      const w = (async () => {
        // Helia's put skips a block already stored (and says so): only new blocks count.
        let duplicate = false
        await blockstore.put(c, block, { onProgress: (evt: { type: string }) => { if (evt.type === 'blocks:put:duplicate') duplicate = true } } as never)
        if (!duplicate) opts.onStored?.(c, block.length)
      })().catch((err: unknown) => { failed ??= err }).finally(() => { writing.delete(w) })
      writing.add(w)
    }
    try {
      for await (const piece of fetchBlocks(this.helia.libp2p, peer, cid, size, {
        ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
        onBlock: store,
        digest: this.digest
      })) {
        opts.onPiece?.(piece.length)
        yield piece
      }
    } finally {
      // Whatever happened, the blocks received are on disk (or failed) before we return.
      await Promise.all(writing)
    }
    if (failed !== undefined) throw failed
  }

  /**
   * The first `size` bytes of a stored or fetchable UnixFS file (a clip's ciphertext), in
   * windows of readWindowBytes: window k+1 is fetched while window k is consumed. Fails if
   * the file is shorter than `size`. `onPiece` is called for each piece as it arrives.
   */
  async * cipher (cid: CID, size: number, opts: FetchOptions & { from?: number } = {}): AsyncGenerator<Uint8Array> {
    const stop = new AbortController()
    const abortAll = (): void => { stop.abort() }
    opts.signal?.addEventListener('abort', abortAll, { once: true })
    const window = this.readWindowBytes
    const fetchWindow = async (offset: number): Promise<Uint8Array[]> => {
      const length = Math.min(window, size - offset)
      for (let attempt = 0; ; attempt++) {
        // Each attempt has its own signal; a stalled one is aborted and the window asked for
        // again (bitswap sends a wantlist once: if that message is lost, nothing re-sends it).
        const own = new AbortController()
        const onStop = (): void => { own.abort() }
        stop.signal.addEventListener('abort', onStop, { once: true })
        let stalled = false
        let timer: ReturnType<typeof setTimeout> | undefined
        const arm = (): void => {
          clearTimeout(timer)
          timer = unrefTimer(setTimeout(() => { stalled = true; own.abort() }, this.stallMs))
        }
        const pieces: Uint8Array[] = []
        let got = 0
        try {
          if (opts.offline !== true) arm()
          const onProgress = opts.onStored === undefined
        ? undefined
        : (evt: { type: string, detail: unknown }): void => {
          if (evt.type !== 'blocks:get:blockstore:put') return
          // Bitswap says only which block it stored: read its size back.
          const c = evt.detail as CID
          void collect(this.blocks.get(c)).then(b => { opts.onStored!(c, b.length) }, () => { opts.onStored!(c, 0) })
        }
      for await (const piece of this.catRange(cid, offset, length, own.signal, opts.offline === true, onProgress)) {
            pieces.push(piece)
            got += piece.length
            opts.onPiece?.(piece.length)
            if (opts.offline !== true) arm()
          }
          if (got !== length) fail('MALFORMED', 'clip is shorter than its size')
          return pieces
        } catch (err) {
          if (!stalled || attempt >= MAX_WINDOW_RETRIES || stop.signal.aborted) throw err
        } finally {
          clearTimeout(timer)
          stop.signal.removeEventListener('abort', onStop)
        }
      }
    }
    const start = (offset: number): Promise<Uint8Array[]> | undefined => {
      if (offset >= size) return undefined
      const p = fetchWindow(offset)
      // Awaited in turn below; caught now so a window that fails ahead is never an unhandled rejection.
      p.catch(() => {})
      return p
    }
    try {
      const first = opts.from ?? 0
      let next = start(first)
      for (let offset = first; next !== undefined; offset += window) {
        const current = next
        next = start(offset + window)
        yield * await current
      }
    } finally {
      opts.signal?.removeEventListener('abort', abortAll)
      stop.abort()
    }
  }

  private async * catRange (cid: CID, offset: number, length: number, signal: AbortSignal, offline: boolean, onProgress?: (evt: { type: string, detail: unknown }) => void): AsyncGenerator<Uint8Array> {
    try {
      yield * this.fs.cat(cid, { signal, offline, offset, length, ...(onProgress !== undefined ? { onProgress } : {}) })
    } catch (err) {
      const name = (err as Error).name
      if (offline && (name === 'BlockNotFoundWhileOfflineError' || name === 'NotFoundError')) fail('NOT_FOUND', `clip ${cid.toString().slice(0, 16)}… is not stored here`, err)
      if (name === 'NotAFileError' || name === 'NotUnixFSError' || name === 'NoContentError') fail('MALFORMED', 'that CID is not a clip', err)
      if (name === 'InvalidParametersError' || name === 'OverReadError' || name === 'UnderReadError') fail('MALFORMED', 'clip is not the size its post says', err)
      throw err
    }
  }

  /** Whether the clip's root block is stored here. */
  async has (cid: string): Promise<boolean> {
    return this.blocks.has(parseCid(cid))
  }

  /** Remembers to delete a clip we hold (our own) at `expires`. */
  async keepUntil (cid: string, expires: number): Promise<void> {
    await this.datastore.put(new Key(KEEP_PREFIX + parseCid(cid).toString()), utf8Bytes(String(expires)))
  }

  /** Deletes the clips whose keep time has passed; returns how many. */
  async sweep (now: number): Promise<number> {
    const due: string[] = []
    for await (const { key, value } of this.datastore.query({ prefix: KEEP_PREFIX })) {
      if (Number(utf8String(value)) <= now) due.push(key.toString().slice(KEEP_PREFIX.length))
    }
    for (const cid of due) {
      await this.remove(cid)
      await this.datastore.delete(new Key(KEEP_PREFIX + cid))
    }
    return due.length
  }

  /**
   * Deletes a clip's blocks that no pin holds: the UnixFS tree is walked through what is
   * stored (a partial tree, after a failed fetch, is removed as far as it goes).
   */
  async remove (cid: string): Promise<number> {
    let deleted = 0
    for (const c of await this.storedBlocks(parseCid(cid))) {
      if (await this.helia.pins.isPinned(c)) continue
      await this.blocks.delete(c)
      deleted++
    }
    return deleted
  }

  /** CIDs of the stored blocks of a tree, root first. Raw leaves are never read. */
  async storedBlocks (root: CID): Promise<CID[]> {
    const out: CID[] = []
    const walk = async (cid: CID, depth: number): Promise<void> => {
      if (depth > MAX_DAG_DEPTH || !(await this.blocks.has(cid))) return
      out.push(cid)
      if (cid.code !== dagPb.code) return
      let node: dagPb.PBNode
      try {
        node = dagPb.decode(await collect(this.blocks.get(cid)))
      } catch {
        return
      }
      for (const link of node.Links) await walk(link.Hash as CID, depth + 1)
    }
    if (root.code === RAW_CODEC || root.code === dagPb.code) await walk(root, 0)
    return out
  }

  async stop (): Promise<void> {
    // Each step runs even when one before it failed: a store left open holds its files (its lock).
    await this.blockServer.stop().catch((err: unknown) => { this.log.error('cannot unregister the block stream - %e', err) })
    await this.helia.stop().catch((err: unknown) => { this.log.error('cannot stop helia - %e', err) })
    await this.deps.close?.().catch((err: unknown) => { this.log.error('cannot close the clip stores - %e', err) })
  }
}

/** Parses a CID string from a post or a request; 'BAD_ARGUMENT' if it is not one. */
export function parseCid (s: string): CID {
  if (typeof s !== 'string' || s.length === 0 || s.length > MAX_CID_BYTES) fail('BAD_ARGUMENT', 'not a CID')
  try {
    return CID.parse(s)
  } catch (err) {
    fail('BAD_ARGUMENT', 'not a CID', err)
  }
}

/**
 * SHA-256 of one block: WebCrypto's, off the main thread (libuv's pool in Node, the browser's
 * own), where the main thread has the cipher, the plaintext hash and the network to run;
 * else the host's own streaming hash; else noble's (no `crypto.subtle`: an insecure browser
 * context).
 */
function blockDigest (host: HashFactory | undefined): BlockDigest {
  const subtle = globalThis.crypto?.subtle as SubtleCrypto | undefined
  if (subtle !== undefined) return async (block) => new Uint8Array(await subtle.digest('SHA-256', block as Uint8Array<ArrayBuffer>))
  if (host === undefined) return sha256
  return (block) => {
    const h = host()
    h.update(block)
    return Uint8Array.from(h.digest())
  }
}

/** Fixed-size UnixFS chunker (the importer's own is the same; this avoids a deep import). */
function fixedChunker (size: number) {
  return async function * (source: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
    let buf = new Uint8Array(size)
    let fill = 0
    for await (const piece of source) {
      let off = 0
      while (off < piece.length) {
        const n = Math.min(size - fill, piece.length - off)
        buf.set(piece.subarray(off, off + n), fill)
        fill += n
        off += n
        if (fill === size) {
          yield buf
          buf = new Uint8Array(size)
          fill = 0
        }
      }
    }
    if (fill > 0) yield buf.subarray(0, fill)
  }
}

async function collect (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let n = 0
  for await (const p of source) { parts.push(p); n += p.length }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.length }
  return out
}

/** Aborts when `touch` was not called for `ms`. */
class IdleTimer {
  private readonly controller = new AbortController()
  private timer: ReturnType<typeof setTimeout>
  fired = false

  constructor (readonly ms: number) {
    this.timer = this.arm()
  }

  get signal (): AbortSignal { return this.controller.signal }

  touch (): void {
    clearTimeout(this.timer)
    this.timer = this.arm()
  }

  stop (): void { clearTimeout(this.timer) }

  private arm (): ReturnType<typeof setTimeout> {
    return unrefTimer(setTimeout(() => { this.fired = true; this.controller.abort(new Error('idle')) }, this.ms))
  }
}

/** A timer that does not keep Node's event loop alive (browsers' timers never do). */
function unrefTimer (t: ReturnType<typeof setTimeout>): ReturnType<typeof setTimeout> {
  (t as { unref?: () => void }).unref?.()
  return t
}
