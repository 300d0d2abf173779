/**
 * The strings people hand each other outside the network, read and written the same way by
 * the CLI (node/cli/output.ts prints them) and the web app (its admin screen reads a pasted
 * agency identity and hands back the attestation):
 *
 *   'plid:'     + base64url of a public identity ('pl/id', at most MAX_PUBLIC_ID_BYTES = 512
 *                 bytes: 683 characters), as `porchlight id export-public` prints it; the
 *                 binding signature is verified when it is read.
 *   'plattest:' + base64url of an agency attestation (protocol/agency.ts, at most
 *                 MAX_ATTESTATION_BYTES = 768 bytes); read here, verified with verifyAttestation.
 */
import { fail } from './errors.ts'
import { fromBase64Url, toBase64Url } from './encoding.ts'
import { decodePublicIdentity, encodePublicIdentity, type PublicIdentity } from './identity.ts'
import { MAX_ATTESTATION_BYTES } from './agency.ts'

export const PUBLIC_ID_PREFIX = 'plid:'
/** 'pl/id' is at most 512 bytes: 683 base64url characters. */
export const MAX_PUBLIC_ID_CHARS = PUBLIC_ID_PREFIX.length + 683
export const ATTESTATION_PREFIX = 'plattest:'
export const MAX_ATTESTATION_CHARS = ATTESTATION_PREFIX.length + Math.ceil(MAX_ATTESTATION_BYTES * 4 / 3)

/** 'plid:' + base64url of encodePublicIdentity: how people hand each other a public identity. */
export function formatPublicIdentity (id: PublicIdentity): string {
  return PUBLIC_ID_PREFIX + toBase64Url(encodePublicIdentity(id))
}

/** Accepts the 'plid:' string (prefix optional); verifies the binding signature. */
export async function parsePublicIdentity (str: string): Promise<PublicIdentity> {
  const s = str.trim()
  if (s.length > MAX_PUBLIC_ID_CHARS) fail('TOO_LARGE', 'public identity string too long')
  const body = s.startsWith(PUBLIC_ID_PREFIX) ? s.slice(PUBLIC_ID_PREFIX.length) : s
  return decodePublicIdentity(fromBase64Url(body, MAX_PUBLIC_ID_CHARS))
}

/** 'plattest:' + base64url of the attestation bytes (protocol/agency.ts). */
export function formatAttestation (bytes: Uint8Array): string {
  return ATTESTATION_PREFIX + toBase64Url(bytes)
}

/** The attestation bytes of a 'plattest:' string (prefix required); verify them with verifyAttestation. */
export function parseAttestationString (str: string): Uint8Array {
  const s = str.trim()
  if (s.length > MAX_ATTESTATION_CHARS) fail('TOO_LARGE', 'attestation string too long')
  if (!s.startsWith(ATTESTATION_PREFIX)) fail('MALFORMED', `an attestation starts with "${ATTESTATION_PREFIX}"`)
  return fromBase64Url(s.slice(ATTESTATION_PREFIX.length), MAX_ATTESTATION_CHARS)
}
