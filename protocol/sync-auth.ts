/**
 * Proof of a neighborhood's tag key for a sync session, both ways, in the manner of Nostr's
 * NIP-42: the responder opens with a fresh challenge, the initiator answers with a MAC over
 * it and its own fresh nonce, and the responder proves the same key back before anything is
 * reconciled or given. Nothing is replayable: each proof covers both nonces and both libp2p
 * peer ids (which Noise authenticated), so a proof made for one session or one peer is
 * worthless in another, and a peer in the middle cannot pass a proof on.
 *
 * proof = HMAC-SHA256(K, encodeStruct('pl/sync-proof' v1 { role, topic, epoch, challenge,
 *                                      nonce, initiator, responder }))
 * K     = HKDF-SHA256(tagKey, salt "porchlight/sync-auth/v1", info "sync-auth")
 *
 * K is derived, not the tag key itself, so a sync proof can never pass for a membership tag.
 */
import { constantTimeEqual, hkdf, hmacSha256 } from './crypto.ts'
import { encodeStruct, utf8Bytes, type StructSpec } from './encoding.ts'

export const SYNC_NONCE_BYTES = 32
export const SYNC_PROOF_BYTES = 32

/** What a proof under an epoch's tag key lets the prover fetch. */
export type SyncScope =
  /** Everything on the topic: the epoch is the newest the responder knows (or just closed). */
  | 'all'
  /**
   * Only the rekeys: the epoch was closed by a later one. A returning member opens them to
   * learn the current keys (then syncs again); a removed member learns nothing posted since.
   */
  | 'rekeys'

export const SYNC_SCOPES: readonly SyncScope[] = ['all', 'rekeys']

export interface SyncSession {
  topic: string
  epoch: number
  /** The responder's challenge. */
  challenge: Uint8Array
  /** The initiator's nonce. */
  nonce: Uint8Array
  /** libp2p peer ids, as bytes (multihash), of both ends. */
  initiator: Uint8Array
  responder: Uint8Array
}

const PROOF: StructSpec = { domain: 'pl/sync-proof', version: 1, required: ['role', 'topic', 'epoch', 'challenge', 'nonce', 'initiator', 'responder'], maxBytes: 1024 }

function proofKey (tagKey: Uint8Array): Uint8Array {
  return hkdf(tagKey, utf8Bytes('porchlight/sync-auth/v1'), 'sync-auth')
}

export function syncProof (tagKey: Uint8Array, role: 'initiator' | 'responder', s: SyncSession): Uint8Array {
  const data = encodeStruct(PROOF, {
    role, topic: s.topic, epoch: s.epoch, challenge: s.challenge, nonce: s.nonce, initiator: s.initiator, responder: s.responder
  })
  return hmacSha256(proofKey(tagKey), data)
}

/**
 * The one of `tagKeys` that `proof` was made with (an epoch can have several after concurrent
 * rekeys), or undefined.
 */
export function matchSyncProof (tagKeys: readonly Uint8Array[], role: 'initiator' | 'responder', s: SyncSession, proof: Uint8Array): Uint8Array | undefined {
  if (proof.length !== SYNC_PROOF_BYTES) return undefined
  let match: Uint8Array | undefined
  for (const k of tagKeys) if (constantTimeEqual(syncProof(k, role, s), proof)) match = k
  return match
}
