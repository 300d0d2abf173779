/**
 * One error class for everything Porchlight refuses. Callers and tests branch on `code`,
 * which is stable; `message` is for people and may change.
 */
export type ErrorCode =
  // decoding bytes
  | 'MALFORMED'        // not well-formed CBOR / framing, trailing bytes, indefinite lengths
  | 'BAD_DOMAIN'       // domain-separation prefix does not match the expected structure
  | 'BAD_VERSION'      // unknown structure version
  | 'MISSING_FIELD'
  | 'EXTRA_FIELD'
  | 'WRONG_TYPE'
  | 'TOO_LARGE'        // a string, array, byte field or whole message over its bound
  | 'OUT_OF_RANGE'     // an integer or enum value outside what the structure allows
  | 'BAD_LENGTH'       // a fixed-size byte field of the wrong size
  // crypto and validation
  | 'BAD_SIGNATURE'
  | 'WEAK_PROOF'       // a proof of work missing its difficulty (pow.ts: public posts)
  | 'DECRYPT_FAILED'   // AEAD tag mismatch: wrong key, wrong epoch, or tampered bytes
  | 'BAD_TAG'          // membership tag does not verify
  | 'BAD_SECRET'       // a retraction's secret does not open the post's commitment (retract.ts)
  | 'RETRACTED'        // the post was retracted by its author (a tombstone holds its id)
  | 'WRONG_TOPIC'
  | 'UNKNOWN_EPOCH'
  | 'STALE_EPOCH'      // an envelope in an epoch that a rekey closed: catch up and re-seal under the new one
  | 'NOT_MEMBER'
  | 'NOT_ADMIN'
  | 'FUTURE_DATED'
  | 'EXPIRED'
  | 'BAD_GEOHASH'
  | 'BAD_INVITE'
  | 'BAD_ARGUMENT'     // a caller passed an invalid value (programming or user input error)
  | 'UNSUPPORTED'      // a format or algorithm this build cannot handle
  // network, storage, policy (used by node/ and web/)
  | 'RATE_LIMITED'
  | 'OVER_QUOTA'
  | 'NOT_FOUND'
  | 'TIMEOUT'
  | 'UNAVAILABLE'
  | 'REFUSED'
  | 'HELD'             // the composer's fair-posting check holds a post until it says more (fair-posting.ts)
  | 'IO'

export class PorchlightError extends Error {
  override readonly name = 'PorchlightError'
  readonly code: ErrorCode

  constructor (code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
  }
}

export function fail (code: ErrorCode, message: string, cause?: unknown): never {
  throw new PorchlightError(code, message, cause === undefined ? undefined : { cause })
}

export function isPorchlightError (err: unknown, code?: ErrorCode): err is PorchlightError {
  return err instanceof PorchlightError && (code === undefined || err.code === code)
}
