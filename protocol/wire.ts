/**
 * Messages of Porchlight's request/response protocols (push, sync, pin): one CBOR structure
 * per frame, each frame length-prefixed on a libp2p stream. Shapes and bounds live here,
 * pure, so every peer (Node, browser) speaks exactly the same bytes; the streams live in
 * node/ and web/.
 */
import { decodeStruct, encodeStruct, type StructSpec } from './encoding.ts'
import { fail, type ErrorCode } from './errors.ts'

export const PROTOCOLS = {
  push: '/porchlight/push/1',
  sync: '/porchlight/sync/1',
  pin: '/porchlight/pin/1'
} as const

/** Largest frame on any Porchlight stream. */
export const MAX_FRAME_BYTES = 256 * 1024
/** Largest envelope a relay stores or forwards (an envelope is at most 64 KiB; headroom for public posts). */
export const MAX_MESSAGE_BYTES = 64 * 1024
export const MAX_IDS_PER_FRAME = 1024
export const MAX_ENVELOPES_PER_FRAME = 256
export const MAX_TOPIC_BYTES = 128

const PUSH_REQUEST: StructSpec = { domain: 'pl/push', version: 1, required: ['topic', 'msg'], maxBytes: MAX_FRAME_BYTES }
const RESULT: StructSpec = { domain: 'pl/result', version: 1, required: ['ok'], optional: ['code', 'msg', 'n'], maxBytes: 4096 }
const SYNC_OPEN: StructSpec = { domain: 'pl/sync-open', version: 1, required: ['topic', 'rec'], maxBytes: MAX_FRAME_BYTES }
const SYNC_REC: StructSpec = { domain: 'pl/sync-rec', version: 1, required: ['rec'], maxBytes: MAX_FRAME_BYTES }
const SYNC_WANT: StructSpec = { domain: 'pl/sync-want', version: 1, required: ['ids', 'give'], maxBytes: MAX_FRAME_BYTES }
const SYNC_ENVELOPES: StructSpec = { domain: 'pl/sync-envs', version: 1, required: ['msgs', 'more'], maxBytes: MAX_FRAME_BYTES }

export interface PushRequest { topic: string, message: Uint8Array }
/** Expected outcomes are values (ok or a code), not exceptions: a refusal is something to show. */
export interface Result { ok: boolean, code?: ErrorCode, message?: string, count?: number }

export function encodePushRequest (req: PushRequest): Uint8Array {
  return encodeStruct(PUSH_REQUEST, { topic: req.topic, msg: req.message })
}

export function decodePushRequest (bytes: Uint8Array): PushRequest {
  const f = decodeStruct(PUSH_REQUEST, bytes)
  return { topic: f.string('topic', MAX_TOPIC_BYTES, 1), message: f.bytes('msg', { max: MAX_MESSAGE_BYTES, min: 1 }) }
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

/** First sync frame: which topic, and the initiator's first reconciliation message. */
export function encodeSyncOpen (topic: string, rec: Uint8Array): Uint8Array {
  return encodeStruct(SYNC_OPEN, { topic, rec })
}

export function decodeSyncOpen (bytes: Uint8Array): { topic: string, rec: Uint8Array } {
  const f = decodeStruct(SYNC_OPEN, bytes)
  return { topic: f.string('topic', MAX_TOPIC_BYTES, 1), rec: f.bytes('rec', { max: MAX_FRAME_BYTES }) }
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
