/**
 * Public posts: a post the author chose to share with an area's public channel, signed but
 * not encrypted. Agencies and anyone else subscribed to `/porchlight/1/area/<area>` read them.
 *
 * Wire struct 'pl/public-post' v1 (at most MAX_PUBLIC_POST_BYTES):
 *   { post (map), area: geohash 1..6, pk: Ed25519 key 32, name?: string, sig: 64 bytes }
 * sig = Ed25519(pk, encodeStruct('pl/public-post-body' v1 { ...post fields, area, pk, name? }))
 *
 * pk is the author's pseudonym for that area (identity.areaKey: HKDF of the identity seed),
 * so a public post links neither to the author's identity key, nor to their private posts,
 * nor to their public posts in other areas. The name is there only if the author opts in.
 * The area is signed: a post signed for one area never verifies in another, and its location
 * must lie inside the area. Agencies sign RFAs with their identity key instead (sealPublicPostAs).
 */
import { fail } from './errors.ts'
import { type CborValue, decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import { sha256, SIGNATURE_BYTES } from './crypto.ts'
import { checkPostArea, MAX_AREA_FIELD_BYTES } from './geohash.ts'
import { areaKey, checkName, type Identity, signStruct, startVerify } from './identity.ts'
import { areaTopic } from './neighborhood.ts'
import { checkPostFields, MAX_POST_BYTES, type Post, postFields, readOptAuthorName, readPost } from './post.ts'

export const MAX_PUBLIC_POST_BYTES = MAX_POST_BYTES + 512
export const DOMAIN_PUBLIC_POST = 'pl/public-post'

const PUBLIC_POST: StructSpec = {
  domain: DOMAIN_PUBLIC_POST, version: 1, required: ['post', 'area', 'pk', 'sig'], optional: ['name'], maxBytes: MAX_PUBLIC_POST_BYTES
}
/** What the signer signs; a different domain from the container and from private posts ('pl/post'). */
const PUBLIC_TBS: StructSpec = {
  domain: 'pl/public-post-body',
  version: 1,
  required: ['kind', 'text', 'created', 'expires', 'media', 'area', 'pk'],
  optional: ['location', 'replyTo', 'name'],
  maxBytes: MAX_PUBLIC_POST_BYTES
}

export interface OpenedPublicPost {
  /** SHA-256 of the public post bytes, 32 bytes. */
  id: Uint8Array
  area: string
  /** areaTopic(area). */
  topic: string
  post: Post
  /** The signing key: the author's area pseudonym (or an agency's identity key for RFAs). */
  pseudonym: Uint8Array
  /** Present only if the author chose to show it. */
  name?: string
}

/** An Ed25519 signer: 32-byte seed and its 32-byte public key. */
export interface PublicSigner {
  seed: Uint8Array
  publicKey: Uint8Array
}

/** The fields the signer signs under PUBLIC_TBS. */
function signedFields (post: Post, area: string, pk: Uint8Array, name: string | undefined): Record<string, CborValue | undefined> {
  return { ...postFields(post), area, pk, name }
}

/** Signs a post for `area` with the author's pseudonym for that area; the name only if `showName`. */
export async function sealPublicPost (author: Identity, area: string, post: Post, opts?: { showName?: boolean }): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  checkPostArea(area, post.location, 'public post')
  const key = await areaKey(author, area)
  return sealPublicPostAs({ seed: key.seed, publicKey: key.publicKey }, area, post, opts?.showName === true ? author.public.name : undefined)
}

/**
 * Signs a public post with a given key: for agencies (RFAs are signed with the agency's
 * identity key, see agency.ts) and for sealPublicPost. `name` is shown if given.
 */
export async function sealPublicPostAs (signer: PublicSigner, area: string, post: Post, name?: string): Promise<{ bytes: Uint8Array, id: Uint8Array }> {
  checkPostFields(post)
  checkPostArea(area, post.location, 'public post')
  if (name !== undefined && checkName(name) !== name) fail('BAD_ARGUMENT', 'name must be trimmed')
  const pk = signer.publicKey
  const sig = await signStruct(signer.seed, PUBLIC_TBS, signedFields(post, area, pk, name))
  const bytes = encodeStruct(PUBLIC_POST, { post: postFields(post), area, pk, name, sig })
  return { bytes, id: sha256(bytes) }
}

/** Decodes, validates (against `now`) and verifies a public post. */
export async function openPublicPost (bytes: Uint8Array, now: number): Promise<OpenedPublicPost> {
  const f = decodeStruct(PUBLIC_POST, bytes)
  const area = f.string('area', MAX_AREA_FIELD_BYTES, 1)
  const pk = f.bytes('pk', { len: 32 })
  const name = readOptAuthorName(f, 'name')
  const sig = f.bytes('sig', { len: SIGNATURE_BYTES })
  const post = readPost(f, 'post', now)
  checkPostArea(area, post.location, 'public post')
  // Hash the id while the signature verifies (startVerify: a rejection counts as false).
  const verifying = await startVerify(pk, encodeStruct(PUBLIC_TBS, signedFields(post, area, pk, name)), sig)
  const opened: OpenedPublicPost = { id: sha256(bytes), area, topic: areaTopic(area), post, pseudonym: pk }
  if (name !== undefined) opened.name = name
  if (!await verifying.valid) fail('BAD_SIGNATURE', 'public post signature does not verify')
  return opened
}
