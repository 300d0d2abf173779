/**
 * What a relay checks before it stores or forwards a message, without any content key:
 * private topics carry envelopes whose membership tag must verify under a tag key the relay
 * was given (or learned from a rekey), and whose times are sane; public area topics carry
 * signed public posts and agency requests, which anyone can verify.
 */
import { fail } from '../protocol/errors.ts'
import { equalBytes, peekDomain } from '../protocol/encoding.ts'
import { isPorchlightError } from '../protocol/errors.ts'
import { sha256 } from '../protocol/crypto.ts'
import { checkEnvelopeTag, checkEnvelopeTime, decodeEnvelope } from '../protocol/envelope.ts'
import { openPublicPost } from '../protocol/public-post.ts'
import { isAreaTopic, isPrivateTopic, TOPIC_PREFIX } from '../protocol/neighborhood.ts'
import { MAX_MESSAGE_BYTES } from '../protocol/wire.ts'
import { decodeRekey, relayNextTagKey, rekeyTimes } from '../protocol/rekey.ts'
import { openRfa } from '../protocol/agency.ts'
import type { StoredMessage } from './store.ts'

/** Tag keys a relay keeps for one epoch: anyone holding the previous tag key can publish a
 * rekey, so a relay cannot tell the admin's from a forgery and keeps each (bounded). */
export const MAX_TAG_KEYS_PER_EPOCH = 4

/** Tag keys by epoch for each private topic this relay serves. */
export class ServedTopics {
  readonly private = new Map<string, Map<number, Uint8Array[]>>()
  readonly areas = new Set<string>()

  /** Adds a tag key; false if it was already known (or the epoch is full). */
  addPrivate (topic: string, epoch: number, tagKey: Uint8Array): boolean {
    let epochs = this.private.get(topic)
    if (epochs === undefined) { epochs = new Map(); this.private.set(topic, epochs) }
    const keys = epochs.get(epoch) ?? []
    if (keys.some(k => equalBytes(k, tagKey)) || keys.length >= MAX_TAG_KEYS_PER_EPOCH) return false
    epochs.set(epoch, [...keys, tagKey])
    return true
  }

  addArea (area: string): void { this.areas.add(`${TOPIC_PREFIX}area/${area}`) }

  serves (topic: string): boolean { return this.private.has(topic) || this.areas.has(topic) }

  all (): string[] { return [...this.private.keys(), ...this.areas] }
}

export interface Validated {
  message: StoredMessage
  /** A rekey taught the relay the tag key of a new epoch. */
  learned?: { topic: string, epoch: number, tagKey: Uint8Array }
}

/**
 * Throws PorchlightError with the reason; returns what to store otherwise. `id` is the
 * message's SHA-256, passed in when the caller already computed it for its duplicate check.
 */
export async function validateMessage (topic: string, bytes: Uint8Array, served: ServedTopics, now: number, id = sha256(bytes)): Promise<Validated> {
  if (bytes.length > MAX_MESSAGE_BYTES) fail('TOO_LARGE', `message exceeds ${MAX_MESSAGE_BYTES} bytes`)
  if (!served.serves(topic)) fail('NOT_FOUND', 'topic not served here')
  const domain = peekDomain(bytes, MAX_MESSAGE_BYTES)
  if (isPrivateTopic(topic)) {
    const epochs = served.private.get(topic)!
    if (domain === 'pl/env') {
      const env = decodeEnvelope(bytes)
      if (env.topic !== topic) fail('WRONG_TOPIC', 'envelope names another topic')
      const tagKeys = epochs.get(env.epoch) ?? fail('UNKNOWN_EPOCH', `epoch ${env.epoch} is not known here`)
      if (!tagKeys.some(k => checkEnvelopeTag(env, k))) fail('BAD_TAG', 'membership tag does not verify')
      checkEnvelopeTime(env, now)
      return { message: { topic, id, ts: env.ts, exp: env.exp, bytes } }
    }
    if (domain === 'pl/rekey') {
      const w = decodeRekey(bytes)
      if (w.tp !== topic) fail('WRONG_TOPIC', 'rekey names another topic')
      const oldTagKeys = epochs.get(w.pe) ?? fail('UNKNOWN_EPOCH', `epoch ${w.pe} is not known here`)
      const next = nextTagKey(bytes, oldTagKeys)
      // Its own clear-text time orders it the same way on every relay (sync needs that).
      const times = rekeyTimes(bytes, now)
      return {
        message: { topic, id, ts: times.ts, exp: times.exp, bytes },
        learned: { topic, epoch: next.epoch, tagKey: next.tagKey }
      }
    }
    fail('BAD_DOMAIN', `unexpected ${domain.slice(0, 32)} on a private topic`)
  }
  if (isAreaTopic(topic)) {
    if (domain === 'pl/public-post') {
      const p = await openPublicPost(bytes, now)
      if (p.topic !== topic) fail('WRONG_TOPIC', 'public post is for another area')
      return { message: { topic, id, ts: p.post.created, exp: p.post.expires, bytes } }
    }
    if (domain === 'pl/rfa') {
      const r = await openRfa(bytes, now)
      if (r.topic !== topic) fail('WRONG_TOPIC', 'request is for another area')
      return { message: { topic, id, ts: r.post.created, exp: r.post.expires, bytes } }
    }
    fail('BAD_DOMAIN', `unexpected ${domain.slice(0, 32)} on an area topic`)
  }
  fail('WRONG_TOPIC', 'not a Porchlight topic')
}

/** The next tag key from a rekey, under whichever of the epoch's tag keys opens it. */
function nextTagKey (bytes: Uint8Array, oldTagKeys: Uint8Array[]): ReturnType<typeof relayNextTagKey> {
  let last: unknown
  for (const k of oldTagKeys) {
    try {
      return relayNextTagKey(bytes, k)
    } catch (err) {
      if (!isPorchlightError(err, 'DECRYPT_FAILED')) throw err
      last = err
    }
  }
  throw last
}
