/**
 * A peer's clip flows, on top of the clip store (clip-store.ts) and the pin protocol (pin.ts).
 * Isomorphic: the runtime hands in the cleaned clip (Node: node/storage/clip-file.ts from a
 * path; the browser: from a File) and where the fetched clip goes (a ClipSink: Node writes a
 * file through a temporary one, node/storage/clip-save.ts; the browser offers a download).
 *
 *   attach: the cleaned clip -> encrypt with a fresh key and add as UnixFS -> have the
 *           neighborhood's relays pin it until the post expires -> the MediaRef
 *           {cid, key, mime, size, hash} that goes inside the encrypted post (and, only if the
 *           author makes the post public, inside the public copy: agencies then hold the key
 *           of exactly that clip).
 *   get:    find a post in the local feed -> fetch the clip (a block stream from a relay that
 *           pinned it or its author, bitswap as the fallback) -> decrypt, check the hash ->
 *           hand it to the sink, which keeps it only if all of it arrived and matched.
 *
 * Nothing of the clip is sent before it is cleaned and encrypted; the relays only ever see
 * ciphertext blocks and a pin request tagged with the neighborhood's membership tag key.
 */
import type { AbortOptions, Libp2p } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { fail, isPorchlightError, PorchlightError } from '../errors.ts'
import { fromBase64Url, fromHex } from '../encoding.ts'
import type { CleanClip } from '../clip/clean.ts'
import type { MediaRef } from '../post.ts'
import type { Result } from '../wire.ts'
import type { ClipStore } from './clip-store.ts'
import { requestPin } from './pin.ts'

export type { CleanClip }

/** Shortest post id prefix `clip get` accepts. */
export const MIN_ID_PREFIX = 8
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/quicktime': 'mov'
}

export type ClipPhase = 'encrypt' | 'upload' | 'fetch'

/** The clip store as the flows use it. */
export type ClipStoreApi = Pick<ClipStore, 'add' | 'keepUntil' | 'remove' | 'read'>

/** What the flows need of a peer (the resident peer has all of it). */
export interface ClipPeer {
  node (): Libp2p
  clips (): ClipStoreApi
}

/** The relays to pin a clip on, and what a pin request for the neighborhood carries. */
export interface PinTarget {
  /** The neighborhood's private topic. */
  readonly topic: string
  /** Its current epoch, and that epoch's membership tag key. */
  readonly epoch: number
  readonly tagKey: Uint8Array
  /** Relay multiaddrs, each asked in turn. */
  readonly relays: readonly string[]
}

export interface AttachOptions extends AbortOptions {
  /** When the post (and so the clip) expires, ms. */
  expires: number
  now: number
  onProgress?: (phase: ClipPhase, done: number, total: number) => void
}

export interface AttachedClip {
  media: MediaRef
  /** Relays that pinned it. */
  pinnedBy: string[]
  /** What the cleaner removed from the file, by name. */
  removed: readonly string[]
}

/**
 * Encrypts and stores a cleaned clip, and has the target's relays pin it. Throws the relays'
 * refusal (e.g. OVER_QUOTA) if none pinned it; the local copy is then deleted.
 */
export async function attachClip (peer: ClipPeer, target: PinTarget, clip: CleanClip, opts: AttachOptions): Promise<AttachedClip> {
  const store = peer.clips()
  const signal = opts.signal !== undefined ? { signal: opts.signal } : {}
  const added = await store.add(clip.stream(), { ...signal, onProgress: (n) => opts.onProgress?.('encrypt', n, clip.size) })
  await store.keepUntil(added.cid, opts.expires)
  const pinnedBy: string[] = []
  let last: Result = { ok: false, code: 'UNAVAILABLE', message: 'no relay known for this neighborhood' }
  for (const relay of new Set(target.relays)) {
    last = await requestPin(peer.node(), multiaddr(relay), {
      topic: target.topic, epoch: target.epoch, cid: added.cid, size: added.stored, ts: opts.now, exp: opts.expires
    }, target.tagKey, { ...signal, onProgress: (n) => opts.onProgress?.('upload', n, added.stored) })
    if (last.ok) {
      pinnedBy.push(relay)
      opts.onProgress?.('upload', added.stored, added.stored)
    }
  }
  if (pinnedBy.length === 0) {
    await store.remove(added.cid)
    throw new PorchlightError(last.code ?? 'UNAVAILABLE', `clip not stored by any relay: ${last.message ?? 'no answer'}`)
  }
  return {
    media: { cid: added.cid, key: added.key, mime: clip.mime, size: added.size, hash: added.hash },
    pinnedBy,
    removed: clip.removed
  }
}

/** What getClip needs of a post of the feed (a FeedPost has it). */
export interface ClipPost {
  /** Hex post id. */
  id: string
  expires: number
  /** Clip references as the feed keeps them: key base64url, hash hex. */
  media: ReadonlyArray<{ cid: string, key: string, mime: string, size: number, hash: string }>
}

/** A post of the local feed by id or id prefix (at least MIN_ID_PREFIX hex characters). */
export async function findPost<P extends { id: string }> (peer: { feed (): Promise<P[]> }, id: string): Promise<P | undefined> {
  const prefix = id.toLowerCase()
  if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_ID_PREFIX || prefix.length > 64) {
    fail('BAD_ARGUMENT', `a post id is ${MIN_ID_PREFIX} to 64 hex characters (as \`porchlight feed\` prints it)`)
  }
  const found = (await peer.feed()).filter(p => p.id.startsWith(prefix))
  if (found.length > 1) fail('BAD_ARGUMENT', `${found.length} posts start with ${prefix}: give more of the id`)
  return found[0]
}

/** Where a fetched clip goes (Node: a file, node/storage/clip-save.ts; a browser: a download). */
export interface ClipSink {
  /**
   * Where the clip will be kept, given its default name (`clip-<id>.<ext>`): decided before
   * anything is fetched, so a refusal (e.g. 'REFUSED' rather than overwrite a file) costs nothing.
   */
  place (name: string): Promise<string>
  /**
   * Keeps all of `source` at `place`, and only if `source` ends without throwing (the store
   * checks a clip's hash at its end): a failure leaves nothing at `place`.
   */
  write (place: string, source: AsyncIterable<Uint8Array>): Promise<void>
}

export interface GetOptions extends AbortOptions {
  /** Which of the post's clips, from 0. @default 0 */
  index?: number
  onProgress?: (phase: ClipPhase, done: number, total: number) => void
}

/** Fetches, decrypts and checks one clip of a post in the feed, and hands it to `sink`. */
export async function getClip (peer: Pick<ClipPeer, 'clips'>, post: ClipPost, sink: ClipSink, opts: GetOptions = {}): Promise<{ path: string, mime: string, size: number }> {
  const index = opts.index ?? 0
  const m = post.media[index] ?? fail('NOT_FOUND', post.media.length === 0 ? 'that post has no clip' : `that post has ${post.media.length} clip(s)`)
  const path = await sink.place(clipFileName(post.id, index, m.mime))
  try {
    const ref = { cid: m.cid, key: fromBase64Url(m.key), size: m.size, hash: fromHex(m.hash) }
    await sink.write(path, peer.clips().read(ref, {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      onProgress: (n) => opts.onProgress?.('fetch', n, m.size)
    }))
    // The fetched blocks are kept here (and served to others) only as long as the post lives.
    await peer.clips().keepUntil(m.cid, post.expires)
  } catch (err) {
    if (isPorchlightError(err)) throw err
    fail('IO', `cannot fetch the clip: ${(err as Error).message}`, err)
  }
  return { path, mime: m.mime, size: m.size }
}

/** The default file name of a post's clip: `clip-<first 16 of the id>[-<index>].<ext>`. */
export function clipFileName (postId: string, index: number, mime: string): string {
  return `clip-${postId.slice(0, 16)}${index > 0 ? `-${index}` : ''}.${EXTENSIONS[mime] ?? 'bin'}`
}
