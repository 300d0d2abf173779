/**
 * The resident's clip flows, on top of the peer (resident.ts), the clip store (clips.ts) and the
 * pin protocol (pin.ts):
 *
 *   attach: clean the file (clip-file.ts) -> encrypt with a fresh key and add as UnixFS ->
 *           have the neighborhood's relays pin it until the post expires -> the MediaRef
 *           {cid, key, mime, size, hash} that goes inside the encrypted post (and, only if the
 *           author makes the post public, inside the public copy: agencies then hold the key
 *           of exactly that clip).
 *   get:    find a post in the local feed -> fetch the clip over bitswap from whoever has it
 *           (relays, its author) -> decrypt, check the hash -> write the file.
 *
 * Nothing of the clip is sent before it is cleaned and encrypted; the relays only ever see
 * ciphertext blocks and a pin request tagged with the neighborhood's membership tag key.
 */
import { access, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { fail, isPorchlightError, PorchlightError } from '../protocol/errors.ts'
import { fromBase64Url, fromHex } from '../protocol/encoding.ts'
import { privateTopic } from '../protocol/neighborhood.ts'
import type { MediaRef } from '../protocol/post.ts'
import type { Result } from '../protocol/wire.ts'
import { currentEpochKeys } from './storage/home-dir.ts'
import { openClipFile } from './storage/clip-file.ts'
import { requestPin } from './relay/pin-service.ts'
import type { FeedPost, ResidentPeer } from './resident.ts'

/** Shortest post id prefix `clip get` accepts. */
export const MIN_ID_PREFIX = 8
const EXTENSIONS: Record<string, string> = {
  'image/jpeg': 'jpg', 'image/png': 'png', 'image/webp': 'webp', 'video/mp4': 'mp4', 'video/quicktime': 'mov'
}

export type ClipPhase = 'encrypt' | 'upload' | 'fetch'

export interface AttachOptions {
  hood?: string
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
 * Cleans, encrypts and stores a clip, and has the neighborhood's relays pin it. Throws the
 * relays' refusal (e.g. OVER_QUOTA) if none pinned it; the local copy is then deleted.
 */
export async function attachClip (peer: ResidentPeer, file: string, opts: AttachOptions): Promise<AttachedClip> {
  const state = await peer.home.resolveHood(opts.hood)
  const clip = await openClipFile(file)
  const store = peer.clips()
  const added = await store.add(clip.stream(), { onProgress: (n) => opts.onProgress?.('encrypt', n, clip.size) })
  await store.keepUntil(added.cid, opts.expires)
  const keys = currentEpochKeys(state)
  const topic = privateTopic(state.hood.id)
  const relays = [...new Set([...state.relays, ...peer.relays()])]
  const pinnedBy: string[] = []
  let last: Result = { ok: false, code: 'UNAVAILABLE', message: 'no relay known for this neighborhood' }
  for (const relay of relays) {
    last = await requestPin(peer.node(), multiaddr(relay), {
      topic, epoch: keys.epoch, cid: added.cid, size: added.stored, ts: opts.now, exp: opts.expires
    }, keys.tagKey, { onProgress: (n) => opts.onProgress?.('upload', n, added.stored) })
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

/** A post of the local feed by id or id prefix (at least MIN_ID_PREFIX hex characters). */
export async function findPost (peer: ResidentPeer, id: string): Promise<FeedPost | undefined> {
  const prefix = id.toLowerCase()
  if (!/^[0-9a-f]+$/.test(prefix) || prefix.length < MIN_ID_PREFIX || prefix.length > 64) {
    fail('BAD_ARGUMENT', `a post id is ${MIN_ID_PREFIX} to 64 hex characters (as \`porchlight feed\` prints it)`)
  }
  const found = (await peer.feed()).filter(p => p.id.startsWith(prefix))
  if (found.length > 1) fail('BAD_ARGUMENT', `${found.length} posts start with ${prefix}: give more of the id`)
  return found[0]
}

export interface GetOptions {
  /** Which of the post's clips, from 0. */
  index?: number
  /** Output file; default `clip-<id>.<ext>` in the current folder, never overwritten. */
  out?: string
  onProgress?: (phase: ClipPhase, done: number, total: number) => void
  signal?: AbortSignal
}

/** Fetches, decrypts and checks one clip of a post in the feed, and writes it to a file. */
export async function getClip (peer: ResidentPeer, post: FeedPost, opts: GetOptions = {}): Promise<{ path: string, mime: string, size: number }> {
  const index = opts.index ?? 0
  const m = post.media[index] ?? fail('NOT_FOUND', post.media.length === 0 ? 'that post has no clip' : `that post has ${post.media.length} clip(s)`)
  const name = `clip-${post.id.slice(0, 16)}${index > 0 ? `-${index}` : ''}.${EXTENSIONS[m.mime] ?? 'bin'}`
  // -o naming a folder saves into it under the default name (never over a file already there).
  const intoFolder = opts.out !== undefined && await isFolder(opts.out)
  const path = opts.out === undefined ? name : intoFolder ? join(opts.out, name) : opts.out
  if ((opts.out === undefined || intoFolder) && await exists(path)) fail('REFUSED', `${path} exists: choose another file with -o FILE`)
  try {
    await peer.clips().save({ cid: m.cid, key: fromBase64Url(m.key), size: m.size, hash: fromHex(m.hash) }, path, {
      ...(opts.signal !== undefined ? { signal: opts.signal } : {}),
      onProgress: (n) => opts.onProgress?.('fetch', n, m.size)
    })
    // The fetched blocks are kept here (and served to others) only as long as the post lives.
    await peer.clips().keepUntil(m.cid, post.expires)
  } catch (err) {
    if (isPorchlightError(err)) throw err
    fail('IO', `cannot fetch the clip: ${(err as Error).message}`, err)
  }
  return { path, mime: m.mime, size: m.size }
}

async function exists (path: string): Promise<boolean> {
  try { await access(path); return true } catch { return false }
}

async function isFolder (path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() === true
}
