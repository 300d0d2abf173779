/**
 * The format of what a relay stores, across releases. A message store written by an earlier
 * release may hold messages in a wire format no current peer reads (envelopes before padding,
 * public posts before proof of work): they would be offered in every sync and refused every
 * time. On first open by this release they are deleted, once, and the store is marked.
 */
import { isPorchlightError } from '../errors.ts'
import { peekDomain } from '../encoding.ts'
import { decodeEnvelope } from '../envelope.ts'
import { decodeRekey } from '../rekey.ts'
import { openPublicPost } from '../public-post.ts'
import { openRfa } from '../agency.ts'

/** Bumped whenever a stored wire format changes. 2: envelope v2, public post v2. */
export const STORE_FORMAT = 2

/** Whether a stored message is in a format this release refuses as another version (BAD_VERSION). */
export async function isRetiredFormat (bytes: Uint8Array, now: number): Promise<boolean> {
  try {
    const domain = peekDomain(bytes)
    if (domain === 'pl/env') decodeEnvelope(bytes)
    else if (domain === 'pl/rekey') decodeRekey(bytes)
    else if (domain === 'pl/public-post') await openPublicPost(bytes, now)
    else if (domain === 'pl/rfa') await openRfa(bytes, now)
    return false
  } catch (err) {
    return isPorchlightError(err, 'BAD_VERSION')
  }
}
