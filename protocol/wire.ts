/**
 * Messages of Porchlight's request/response protocols (push, sync, pin): one CBOR structure
 * per frame, each frame length-prefixed on a libp2p stream. Shapes and bounds live here,
 * pure, so every peer (Node, browser) speaks exactly the same bytes; the streams live in
 * node/ and web/.
 */
import { decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import { ascii, CanonicalReader } from './canonical-reader.ts'
import { fail, isPorchlightError, type ErrorCode } from './errors.ts'
import { checkMembershipTag, MAX_EPOCH, MAX_TOPIC_BYTES, membershipTag, TAG_BYTES } from './neighborhood.ts'
import { MAX_CID_BYTES, MAX_MEDIA_SIZE } from './post.ts'
import { encryptedClipSize } from './clip/stream-aead.ts'
import { SYNC_NONCE_BYTES, SYNC_PROOF_BYTES, SYNC_SCOPES, type SyncScope } from './sync-auth.ts'

/** Protocols of earlier releases: a relay answers them with a BAD_VERSION result that says so. */
export const RETIRED_PROTOCOLS = { sync: '/porchlight/sync/1' } as const

export const PROTOCOLS = {
  push: '/porchlight/push/1',
  /** v2: sessions on private topics start with proof of a tag key (sync-auth.ts). */
  sync: '/porchlight/sync/2',
  pin: '/porchlight/pin/1',
  blocks: '/porchlight/blocks/1'
} as const

/** Largest frame on any Porchlight stream. */
export const MAX_FRAME_BYTES = 256 * 1024
/** Largest envelope a relay stores or forwards (an envelope is at most 64 KiB; headroom for public posts). */
export const MAX_MESSAGE_BYTES = 64 * 1024
export const MAX_IDS_PER_FRAME = 1024
export const MAX_ENVELOPES_PER_FRAME = 256
/** Bound on a frame's topic field (neighborhood.ts). */
export { MAX_TOPIC_BYTES }

const PUSH_REQUEST: StructSpec = { domain: 'pl/push', version: 1, required: ['topic', 'msg'], maxBytes: MAX_FRAME_BYTES }
const RESULT: StructSpec = { domain: 'pl/result', version: 1, required: ['ok'], optional: ['code', 'msg', 'n'], maxBytes: 4096 }
const SYNC_HELLO: StructSpec = { domain: 'pl/sync-hello', version: 1, required: ['nonce'], maxBytes: 256 }
const SYNC_OPEN: StructSpec = { domain: 'pl/sync-open', version: 2, required: ['topic', 'nonce'], optional: ['epoch', 'proof'], maxBytes: 1024 }
const SYNC_READY: StructSpec = { domain: 'pl/sync-ready', version: 1, required: ['scope'], optional: ['proof'], maxBytes: 256 }
const SYNC_REC: StructSpec = { domain: 'pl/sync-rec', version: 1, required: ['rec'], maxBytes: MAX_FRAME_BYTES }
const SYNC_WANT: StructSpec = { domain: 'pl/sync-want', version: 1, required: ['ids', 'give'], maxBytes: MAX_FRAME_BYTES }
const SYNC_ENVELOPES: StructSpec = { domain: 'pl/sync-envs', version: 1, required: ['msgs', 'more'], maxBytes: MAX_FRAME_BYTES }

export interface PushRequest { topic: string, message: Uint8Array }
/** Expected outcomes are values (ok or a code), not exceptions: a refusal is something to show. */
export interface Result { ok: boolean, code?: ErrorCode, message?: string, count?: number }

/** What a failure that is not a PorchlightError (a bug, a broken stream) becomes as a Result. */
export interface ResultFallback { code: ErrorCode, message: string }

/**
 * A caught error as a Result: a PorchlightError keeps its code and message; anything else
 * becomes `fallback` (its message is not passed on: it may hold internals).
 * @param fallback @default { code: 'IO', message: 'internal error' }
 */
export function toResult (err: unknown, fallback: ResultFallback = { code: 'IO', message: 'internal error' }): Result & { ok: false } {
  return isPorchlightError(err)
    ? { ok: false, code: err.code, message: err.message }
    : { ok: false, code: fallback.code, message: fallback.message }
}

/** The message of a caught value that may not be an Error (for logs and 'relay unreachable: …'). */
export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

export function encodePushRequest (req: PushRequest): Uint8Array {
  return encodeStruct(PUSH_REQUEST, { topic: req.topic, msg: req.message })
}

export function decodePushRequest (bytes: Uint8Array): PushRequest {
  const fast = bytes.length <= MAX_FRAME_BYTES ? readCanonicalPushRequest(bytes) : undefined
  if (fast !== undefined) return fast
  const f = decodeStruct(PUSH_REQUEST, bytes)
  return { topic: f.string('topic', MAX_TOPIC_BYTES, 1), message: f.bytes('msg', { max: MAX_MESSAGE_BYTES, min: 1 }) }
}

/** a4 (map of 4) "t" "pl/push" "v" 1 "msg" */
const PUSH_START = Uint8Array.from([0xa4, 0x61, ...ascii('t'), 0x67, ...ascii('pl/push'), 0x61, ...ascii('v'), 0x01, 0x63, ...ascii('msg')])
const KEY_TOPIC = Uint8Array.from([0x65, ...ascii('topic')])

/**
 * Fast path of decodePushRequest (a relay reads one per push): the one canonical layout of
 * a valid request, read directly (canonical-reader.ts):
 *   a4 "t" "pl/push" "v" 1 "msg" bytes "topic" text(ASCII)
 * undefined for anything else (the generic decoder then decides). The message is a copy.
 */
function readCanonicalPushRequest (b: Uint8Array): PushRequest | undefined {
  const r = new CanonicalReader(b)
  if (!r.lit(PUSH_START)) return undefined
  const n = r.head(2)
  if (n < 1 || n > MAX_MESSAGE_BYTES) return undefined
  const message = r.take(n)
  if (message === undefined || !r.lit(KEY_TOPIC)) return undefined
  const len = r.head(3)
  const topic = len >= 1 ? r.ascii(len, MAX_TOPIC_BYTES) : undefined
  return topic !== undefined && r.done() ? { topic, message } : undefined
}

export function encodeResult (r: Result): Uint8Array {
  return encodeStruct(RESULT, { ok: r.ok, code: r.code, msg: r.message?.slice(0, 500), n: r.count })
}

export function decodeResult (bytes: Uint8Array): Result {
  const f = decodeStruct(RESULT, bytes)
  const code = f.optString('code', 32)
  if (code !== undefined && !/^[A-Z_]+$/.test(code)) fail('OUT_OF_RANGE', 'result code')
  const message = f.optString('msg', 2000)
  const count = f.optUint('n')
  return {
    ok: f.bool('ok'),
    ...(code !== undefined ? { code: code as ErrorCode } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(count !== undefined ? { count } : {})
  }
}

/** The responder's first frame: a fresh challenge (sync-auth.ts). */
export function encodeSyncHello (nonce: Uint8Array): Uint8Array {
  return encodeStruct(SYNC_HELLO, { nonce })
}

export function decodeSyncHello (bytes: Uint8Array): Uint8Array {
  return decodeStruct(SYNC_HELLO, bytes).bytes('nonce', { len: SYNC_NONCE_BYTES })
}

/** The initiator's open: which topic, its nonce, and (private topics) the epoch and proof of its tag key. */
export interface SyncOpen { topic: string, nonce: Uint8Array, epoch?: number, proof?: Uint8Array }

export function encodeSyncOpen (open: SyncOpen): Uint8Array {
  return encodeStruct(SYNC_OPEN, { topic: open.topic, nonce: open.nonce, epoch: open.epoch, proof: open.proof })
}

export function decodeSyncOpen (bytes: Uint8Array): SyncOpen {
  const f = decodeStruct(SYNC_OPEN, bytes)
  const topic = f.string('topic', MAX_TOPIC_BYTES, 1)
  const nonce = f.bytes('nonce', { len: SYNC_NONCE_BYTES })
  const epoch = f.optUint('epoch', MAX_EPOCH)
  const proof = f.optBytes('proof', { len: SYNC_PROOF_BYTES })
  if ((epoch === undefined) !== (proof === undefined)) fail('MISSING_FIELD', 'pl/sync-open: epoch and proof go together')
  return { topic, nonce, ...(epoch !== undefined ? { epoch, proof } : {}) }
}

/** The responder's answer to an accepted open: what the session may fetch, and its own proof. */
export interface SyncReady { scope: SyncScope, proof?: Uint8Array }

export function encodeSyncReady (ready: SyncReady): Uint8Array {
  return encodeStruct(SYNC_READY, { scope: ready.scope, proof: ready.proof })
}

export function decodeSyncReady (bytes: Uint8Array): SyncReady {
  const f = decodeStruct(SYNC_READY, bytes)
  const scope = f.oneOf('scope', SYNC_SCOPES)
  const proof = f.optBytes('proof', { len: SYNC_PROOF_BYTES })
  return { scope, ...(proof !== undefined ? { proof } : {}) }
}

/** A reconciliation round; an empty `rec` from the initiator ends reconciliation. */
export function encodeSyncRec (rec: Uint8Array): Uint8Array {
  return encodeStruct(SYNC_REC, { rec })
}

export function decodeSyncRec (bytes: Uint8Array): Uint8Array {
  return decodeStruct(SYNC_REC, bytes).bytes('rec', { max: MAX_FRAME_BYTES })
}

/** After reconciling: ids the initiator wants, and envelopes it gives (the responder lacks them). */
export function encodeSyncWant (ids: Uint8Array[], give: Uint8Array[]): Uint8Array {
  return encodeStruct(SYNC_WANT, { ids, give })
}

export function decodeSyncWant (bytes: Uint8Array): { ids: Uint8Array[], give: Uint8Array[] } {
  const f = decodeStruct(SYNC_WANT, bytes)
  return {
    ids: f.array('ids', MAX_IDS_PER_FRAME, i => i.bytes({ len: 32 })),
    give: f.array('give', MAX_ENVELOPES_PER_FRAME, i => i.bytes({ max: MAX_MESSAGE_BYTES, min: 1 }))
  }
}

export function encodeSyncEnvelopes (msgs: Uint8Array[], more: boolean): Uint8Array {
  return encodeStruct(SYNC_ENVELOPES, { msgs, more })
}

export function decodeSyncEnvelopes (bytes: Uint8Array): { msgs: Uint8Array[], more: boolean } {
  const f = decodeStruct(SYNC_ENVELOPES, bytes)
  return { msgs: f.array('msgs', MAX_ENVELOPES_PER_FRAME, i => i.bytes({ max: MAX_MESSAGE_BYTES, min: 1 })), more: f.bool('more') }
}

// ---- /porchlight/pin/1 ----
//
// A member asks a relay to keep an encrypted clip until its post expires:
//   request  'pl/pin' v1 { topic, epoch, cid, size, ts, exp, tag }        (<= 512 bytes)
//   progress 'pl/pin-progress' v1 { n }  bytes of the clip fetched so far, any number of times
//   answer   'pl/result' v1 { ok, code?, msg?, n? }  n = bytes pinned
// tag = HMAC-SHA256(tag key of `epoch`, encode('pl/pin-body' v1 {topic, epoch, cid, size, ts,
// exp}))[0..16]: the relay, which holds only tag keys, checks membership with it, exactly as it
// does for envelopes. size is the ciphertext size (the UnixFS file size), at most the
// encryption of MAX_MEDIA_SIZE; cid is 1..MAX_CID_BYTES ASCII letters and digits.

/** Largest ciphertext a pin may name: a 4 GiB clip, encrypted. */
export const MAX_PIN_BYTES = encryptedClipSize(MAX_MEDIA_SIZE)
const CID_CHARS = /^[A-Za-z0-9]+$/

const PIN_REQUEST: StructSpec = { domain: 'pl/pin', version: 1, required: ['topic', 'epoch', 'cid', 'size', 'ts', 'exp', 'tag'], maxBytes: 512 }
const PIN_BODY: StructSpec = { domain: 'pl/pin-body', version: 1, required: ['topic', 'epoch', 'cid', 'size', 'ts', 'exp'], maxBytes: 512 }
const PIN_PROGRESS: StructSpec = { domain: 'pl/pin-progress', version: 1, required: ['n'], maxBytes: 64 }

export interface PinFields {
  topic: string
  epoch: number
  /** CID of the encrypted clip (as in the post's MediaRef). */
  cid: string
  /** Ciphertext bytes (1..MAX_PIN_BYTES). */
  size: number
  /** When the request was made, ms. */
  ts: number
  /** When the relay may drop the clip (the post's expiry), ms. */
  exp: number
}

export interface PinRequest extends PinFields {
  /** Membership tag over the fields, 16 bytes. */
  tag: Uint8Array
}

function checkPinFields (p: PinFields): void {
  if (typeof p.cid !== 'string' || p.cid.length < 1 || p.cid.length > MAX_CID_BYTES || !CID_CHARS.test(p.cid)) fail('OUT_OF_RANGE', 'pin cid is not a CID string')
  if (!Number.isSafeInteger(p.size) || p.size < 1 || p.size > MAX_PIN_BYTES) fail('OUT_OF_RANGE', `pin size must be 1..${MAX_PIN_BYTES}`)
  if (!Number.isSafeInteger(p.epoch) || p.epoch < 0 || p.epoch > MAX_EPOCH) fail('OUT_OF_RANGE', 'pin epoch')
}

function pinBody (p: PinFields): Uint8Array {
  return encodeStruct(PIN_BODY, { topic: p.topic, epoch: p.epoch, cid: p.cid, size: p.size, ts: p.ts, exp: p.exp })
}

/** A pin request tagged under the epoch's 32-byte tag key. */
export function encodePinRequest (fields: PinFields, tagKey: Uint8Array): Uint8Array {
  checkPinFields(fields)
  const tag = membershipTag(tagKey, pinBody(fields))
  const { topic, epoch, cid, size, ts, exp } = fields
  return encodeStruct(PIN_REQUEST, { topic, epoch, cid, size, ts, exp, tag })
}

/** Strict decoding; the tag is not checked here (checkPinTag, with the relay's tag key). */
export function decodePinRequest (bytes: Uint8Array): PinRequest {
  const f = decodeStruct(PIN_REQUEST, bytes)
  const req: PinRequest = {
    topic: f.string('topic', MAX_TOPIC_BYTES, 1),
    epoch: f.uint('epoch', MAX_EPOCH),
    cid: f.string('cid', MAX_CID_BYTES, 1),
    size: f.uint('size', MAX_PIN_BYTES, 1),
    ts: f.uint('ts'),
    exp: f.uint('exp'),
    tag: f.bytes('tag', { len: TAG_BYTES })
  }
  checkPinFields(req)
  return req
}

/** Does the request's membership tag verify under this tag key? (constant time) */
export function checkPinTag (req: PinRequest, tagKey: Uint8Array): boolean {
  return checkMembershipTag(tagKey, pinBody(req), req.tag)
}

export function encodePinProgress (bytes: number): Uint8Array {
  return encodeStruct(PIN_PROGRESS, { n: bytes })
}

export function decodePinProgress (bytes: Uint8Array): number {
  return decodeStruct(PIN_PROGRESS, bytes).uint('n', MAX_PIN_BYTES)
}

// ---- /porchlight/blocks/1 ----
//
// Streams a clip's ciphertext blocks from a peer that stores them (a relay that pinned it, its
// author), on one stream: the fast path beside bitswap, which asks for blocks a wantlist at a
// time. Frames are length-prefixed (unsigned varint).
//   requester: 'pl/blocks' v1 { cid, size, credit }   size: the UnixFS file size it expects,
//              1..MAX_PIN_BYTES; credit: bytes of BLOCK_FRAMEs it can take, 1..MAX_CREDIT_BYTES
//   requester: 'pl/credit' v1 { n }                   n more bytes, any number of times
//   server:    BLOCK_FRAME (0x01) || block bytes       the DAG's blocks, depth-first, root first,
//                                                      never beyond the credit granted
//   server:    END_FRAME (0x00) || 'pl/result' bytes   last frame: ok, or why not (NOT_FOUND...)
// Credit is the flow control: libp2p streams do not hold back a fast sender from a slow
// reader. Nothing in a frame is trusted: the requester hashes every block against the CID it
// expects next in its own walk of the DAG. A block is at most MAX_BLOCK_BYTES.

export const MAX_BLOCK_BYTES = 2 * 1024 * 1024
/** Most credit a requester may hold out at once: 64 MiB. */
export const MAX_CREDIT_BYTES = 64 * 1024 * 1024
export const BLOCK_FRAME = 0x01
export const END_FRAME = 0x00
const BLOCKS_REQUEST: StructSpec = { domain: 'pl/blocks', version: 1, required: ['cid', 'size', 'credit'], maxBytes: 256 }
const CREDIT: StructSpec = { domain: 'pl/credit', version: 1, required: ['n'], maxBytes: 64 }

export interface BlocksRequest { cid: string, size: number, credit: number }

export function encodeBlocksRequest (req: BlocksRequest): Uint8Array {
  checkPinFields({ topic: '', epoch: 0, cid: req.cid, size: req.size, ts: 0, exp: 0 })
  if (!Number.isSafeInteger(req.credit) || req.credit < 1 || req.credit > MAX_CREDIT_BYTES) fail('OUT_OF_RANGE', 'credit')
  return encodeStruct(BLOCKS_REQUEST, { cid: req.cid, size: req.size, credit: req.credit })
}

export function decodeBlocksRequest (bytes: Uint8Array): BlocksRequest {
  const f = decodeStruct(BLOCKS_REQUEST, bytes)
  const req = { cid: f.string('cid', MAX_CID_BYTES, 1), size: f.uint('size', MAX_PIN_BYTES, 1), credit: f.uint('credit', MAX_CREDIT_BYTES, 1) }
  checkPinFields({ topic: '', epoch: 0, cid: req.cid, size: req.size, ts: 0, exp: 0 })
  return req
}

export function encodeCredit (n: number): Uint8Array {
  return encodeStruct(CREDIT, { n })
}

export function decodeCredit (bytes: Uint8Array): number {
  return decodeStruct(CREDIT, bytes).uint('n', MAX_CREDIT_BYTES, 1)
}
