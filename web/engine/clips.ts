/**
 * Clips in the page: the shared clip store (protocol/peer/clip-store.ts: Helia with bitswap on
 * the peer's one libp2p node) over IndexedDB (blockstore-idb for the encrypted blocks,
 * datastore-idb for Helia's pins and the keep records), with the store's default WebCrypto
 * AES-GCM. Helia and the stores are loaded (dynamic import) and opened only when a clip is
 * attached or opened, not when the peer starts: the engine gets a BrowserClips at start that
 * opens the real store on first use.
 *
 * The flows are protocol/peer/clip-flows.ts's: attachToHood cleans nothing (the composer
 * cleaned the file in the page already, file-source.ts) and encrypts, stores and has the
 * neighborhood's relays pin the clip; openClipUrl fetches, decrypts and checks a post's clip
 * into a Blob the page shows through an object URL (blobSink).
 */
import type { AbortOptions, Libp2p } from '@libp2p/interface'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { currentEpochKeys } from '../../protocol/hood-state.ts'
import { DEFAULT_TTL_MS } from '../../protocol/post.ts'
import type { CleanClip } from '../../protocol/clip/clean.ts'
import type { AddedClip, ClipRef, ClipStore, ReadOptions } from '../../protocol/peer/clip-store.ts'
import type { AttachedClip, ClipPhase, ClipSink } from '../../protocol/peer/clip-flows.ts'
import type { FeedPost, PeerClips } from '../../protocol/peer/resident.ts'
import type { PeerHome } from '../../protocol/peer/storage.ts'
import { fail } from '../../protocol/errors.ts'

/** IndexedDB database names of the clip store (beside the app's Dexie database). */
export const CLIP_DB_NAMES = { blocks: 'porchlight-clip-blocks', data: 'porchlight-clip-data' } as const

/**
 * The engine's clip store in the page (PeerClips, and the store API the clip flows use),
 * opening the real ClipStore on first use.
 */
export class BrowserClips implements PeerClips {
  private opening: Promise<ClipStore> | undefined
  private stopped = false

  constructor (private readonly node: Libp2p, private readonly names: { blocks: string, data: string } = CLIP_DB_NAMES) {}

  /** Whether Helia and the stores were loaded in this page. */
  get loaded (): boolean { return this.opening !== undefined }

  private async store (): Promise<ClipStore> {
    if (this.stopped) fail('UNAVAILABLE', 'peer is stopped')
    this.opening ??= this.open()
    // A failed open is tried again next time (the stores were closed by ClipStore.open).
    return await this.opening.catch((err: unknown) => { this.opening = undefined; throw err })
  }

  private async open (): Promise<ClipStore> {
    const [{ ClipStore }, { IDBBlockstore }, { IDBDatastore }] = await Promise.all([
      import('../../protocol/peer/clip-store.ts'), import('blockstore-idb'), import('datastore-idb')
    ])
    const blockstore = new IDBBlockstore(this.names.blocks)
    const datastore = new IDBDatastore(this.names.data)
    await blockstore.open()
    await datastore.open()
    return await ClipStore.open(this.node, {
      blockstore,
      datastore,
      close: async () => { await Promise.allSettled([blockstore.close(), datastore.close()]) }
    })
  }

  async add (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, opts: AbortOptions & { onProgress?: (bytes: number) => void } = {}): Promise<AddedClip> {
    return await (await this.store()).add(source, opts)
  }

  async keepUntil (cid: string, expires: number): Promise<void> {
    await (await this.store()).keepUntil(cid, expires)
  }

  async remove (cid: string): Promise<number> {
    return await (await this.store()).remove(cid)
  }

  async * read (ref: ClipRef, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
    yield * (await this.store()).read(ref, opts)
  }

  /**
   * Deletes clips past their keep time. Loads the store only if this browser ever kept a clip
   * (its database exists), so a page that never touched a clip never loads Helia.
   */
  async sweep (now: number): Promise<number> {
    if (this.opening === undefined && !(await databaseExists(this.names.data))) return 0
    return await (await this.store()).sweep(now)
  }

  async stop (): Promise<void> {
    this.stopped = true
    const opening = this.opening
    this.opening = undefined
    if (opening !== undefined) await (await opening.catch(() => undefined))?.stop()
  }
}

async function databaseExists (name: string): Promise<boolean> {
  // Browsers without indexedDB.databases(): assume it may exist.
  if (typeof indexedDB.databases !== 'function') return true
  return (await indexedDB.databases()).some(d => d.name === name)
}

/** What the clip flows need of the page's engine (a BrowserPeer has it). */
export interface ClipEngine {
  readonly home: Pick<PeerHome, 'resolveHood'>
  node: () => Libp2p
  clips: () => PeerClips
  relays: () => string[]
}

function browserClips (engine: Pick<ClipEngine, 'clips'>): BrowserClips {
  const c = engine.clips()
  if (!(c instanceof BrowserClips)) fail('UNAVAILABLE', 'clips are not available in this page')
  return c
}

export type ClipProgress = (phase: ClipPhase, done: number, total: number) => void

/**
 * Encrypts a cleaned clip, stores it here and has the neighborhood's relays pin it until
 * `expires` (the post's expiry; default now + DEFAULT_TTL_MS). Throws the relays' refusal.
 */
export async function attachToHood (engine: ClipEngine, clip: CleanClip, opts: AbortOptions & { hood?: string, now: number, expires?: number, onProgress?: ClipProgress }): Promise<AttachedClip> {
  const { attachClip } = await import('../../protocol/peer/clip-flows.ts')
  const state = await engine.home.resolveHood(opts.hood)
  const keys = currentEpochKeys(state)
  const target = { topic: privateTopic(state.hood.id), epoch: keys.epoch, tagKey: keys.tagKey, relays: [...new Set([...state.relays, ...engine.relays()])] }
  const clips = browserClips(engine)
  return await attachClip({ node: () => engine.node(), clips: () => clips }, target, clip, {
    now: opts.now,
    expires: opts.expires ?? opts.now + DEFAULT_TTL_MS,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {})
  })
}

/** A fetched clip in the page: an object URL of its Blob (revoke it when no longer shown). */
export interface ClipView { url: string, mime: string, size: number }

/** A ClipSink that keeps the clip as a Blob, only once all of it arrived and matched its hash. */
export function blobSink (mime: string): ClipSink & { blob: () => Blob | undefined } {
  let blob: Blob | undefined
  return {
    place: async (name) => name,
    write: async (_place, source) => {
      const pieces: BlobPart[] = []
      for await (const piece of source) pieces.push(piece as Uint8Array<ArrayBuffer>)
      blob = new Blob(pieces, { type: mime })
    },
    blob: () => blob
  }
}

/** Fetches, decrypts and checks clip `index` of a post, for the page to show. */
export async function openClipUrl (engine: Pick<ClipEngine, 'clips'>, post: FeedPost, index = 0, opts: AbortOptions & { onProgress?: ClipProgress } = {}): Promise<ClipView> {
  const { getClip } = await import('../../protocol/peer/clip-flows.ts')
  const clips = browserClips(engine)
  const mime = post.media[index]?.mime ?? 'application/octet-stream'
  const sink = blobSink(mime)
  const got = await getClip({ clips: () => clips }, post, sink, {
    index,
    ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
    ...(opts.onProgress !== undefined ? { onProgress: opts.onProgress } : {})
  })
  const blob = sink.blob() ?? fail('IO', 'the clip was not kept')
  return { url: URL.createObjectURL(blob), mime: got.mime, size: got.size }
}
