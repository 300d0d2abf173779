// Relay tokens (protocol/relay-token.ts): roundtrip, strict parsing, and above all that a
// token never carries what would let a relay read posts or name the neighborhood.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { containsBytes, encodeStruct, equalBytes, fromBase64Url, type StructSpec, toBase64Url, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { createRelayToken, encodeRelayToken, MAX_RELAY_TOKEN_CHARS, parseRelayToken, RELAY_TOKEN_PREFIX } from '../../protocol/relay-token.ts'
import { codeOrAccepted as codeOf, freshEpochKeys, testHood } from '../helpers/protocol-fixtures.ts'

const admin = await createIdentity('Ada')
const hood = testHood(admin)
const keys = freshEpochKeys(hood, 7)
const TOKEN: StructSpec = { domain: 'pl/relay-token', version: 1, required: ['tp', 'e', 'k'], optional: ['a'], maxBytes: 160 }
const encodeRaw = (fields: Record<string, unknown>): string => RELAY_TOKEN_PREFIX + toBase64Url(encodeStruct(TOKEN, fields as never))

describe('relay tokens', () => {
  it('roundtrip, with and without the area', async () => {
    for (const includeArea of [false, true]) {
      const t = createRelayToken(hood, keys, { includeArea })
      const s = encodeRelayToken(t)
      expect(s.startsWith('plrelay:')).toBe(true)
      expect(s.length).toBeLessThan(180)
      const back = parseRelayToken(s)
      expect(back.topic).toBe(privateTopic(hood.id))
      expect(back.epoch).toBe(7)
      expect(equalBytes(back.tagKey, keys.tagKey)).toBe(true)
      expect(back.area).toBe(includeArea ? '9q8yyk' : undefined)
      expect(encodeRelayToken(back)).toBe(s)
    }
  })

  it('never contains the content key, the epoch secret, the hood name or the hood id', async () => {
    for (const includeArea of [false, true]) {
      const s = encodeRelayToken(createRelayToken(hood, keys, { includeArea }))
      const stringBytes = utf8Bytes(s)
      const decoded = fromBase64Url(s.slice(RELAY_TOKEN_PREFIX.length))
      for (const haystack of [stringBytes, decoded]) {
        expect(containsBytes(haystack, keys.contentKey)).toBe(false)
        expect(containsBytes(haystack, keys.secret)).toBe(false)
        expect(containsBytes(haystack, hood.id)).toBe(false)
        expect(containsBytes(haystack, utf8Bytes(hood.name))).toBe(false)
        expect(containsBytes(haystack, utf8Bytes(toHex(hood.id)))).toBe(false)
        expect(containsBytes(haystack, utf8Bytes(toHex(keys.contentKey)))).toBe(false)
        expect(containsBytes(haystack, admin.public.signKey)).toBe(false)
      }
      expect(s.toLowerCase().includes('maple')).toBe(false)
      // It does carry the tag key: that is its job.
      expect(containsBytes(decoded, keys.tagKey)).toBe(true)
    }
  })

  it('strict parsing', async () => {
    const s = encodeRelayToken(createRelayToken(hood, keys))
    expect(await codeOf(() => parseRelayToken(s.replace('plrelay:', 'relay:')))).toBe('MALFORMED')
    expect(await codeOf(() => parseRelayToken(`${s}A`))).toBe('MALFORMED')
    expect(await codeOf(() => parseRelayToken('x'.repeat(MAX_RELAY_TOKEN_CHARS + 1)))).toBe('TOO_LARGE')
    expect(await codeOf(() => parseRelayToken(encodeRaw({ tp: '/porchlight/1/area/9q8yy', e: 1, k: keys.tagKey })))).toBe('WRONG_TOPIC')
    expect(await codeOf(() => parseRelayToken(encodeRaw({ tp: privateTopic(hood.id), e: 1, k: keys.tagKey.subarray(1) })))).toBe('BAD_LENGTH')
    expect(await codeOf(() => parseRelayToken(encodeRaw({ tp: privateTopic(hood.id), e: 2 ** 32, k: keys.tagKey })))).toBe('OUT_OF_RANGE')
    expect(await codeOf(() => parseRelayToken(encodeRaw({ tp: privateTopic(hood.id), e: 1, k: keys.tagKey, a: 'aaaa' })))).toBe('BAD_GEOHASH')
    expect(await codeOf(() => parseRelayToken(encodeRaw({ tp: privateTopic(hood.id), e: 1, k: keys.tagKey, ck: keys.contentKey })))).toBe('EXTRA_FIELD')
    expect(await codeOf(() => encodeRelayToken({ topic: 'nope', epoch: 1, tagKey: keys.tagKey }))).toBe('WRONG_TOPIC')
  })
})

describe('properties', () => {
  it('roundtrip for any epoch, key and area', async () => {
    await fc.assert(fc.property(
      fc.integer({ min: 0, max: 0xffff_ffff }),
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.option(fc.stringMatching(/^[0-9b-hjkmnp-z]{1,6}$/), { nil: undefined }),
      (epoch, tagKey, area) => {
        const t = { topic: privateTopic(hood.id), epoch, tagKey, ...(area !== undefined ? { area } : {}) }
        const back = parseRelayToken(encodeRelayToken(t))
        expect(back.epoch).toBe(epoch)
        expect(equalBytes(back.tagKey, tagKey)).toBe(true)
        expect(back.area).toBe(area)
      }
    ), { numRuns: 200 })
  })

  it('random mutations of the string and of its bytes give only PorchlightError', async () => {
    const s = encodeRelayToken(createRelayToken(hood, keys, { includeArea: true }))
    const bytes = fromBase64Url(s.slice(RELAY_TOKEN_PREFIX.length))
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_:= '
    const edits = fc.array(fc.tuple(fc.nat(), fc.nat(), fc.constantFrom('set', 'insert', 'delete')), { minLength: 1, maxLength: 4 })
    await fc.assert(fc.asyncProperty(edits, fc.boolean(), async (list, onBytes) => {
      if (onBytes) {
        const b = Array.from(bytes)
        for (const [pos, v, op] of list) {
          const i = pos % (b.length + 1)
          if (op === 'set' && i < b.length) b[i] = v % 256
          else if (op === 'insert') b.splice(i, 0, v % 256)
          else b.splice(i, 1)
        }
        await codeOf(() => parseRelayToken(RELAY_TOKEN_PREFIX + toBase64Url(Uint8Array.from(b))))
      } else {
        const c = s.split('')
        for (const [pos, v, op] of list) {
          const i = pos % (c.length + 1)
          if (op === 'set' && i < c.length) c[i] = alphabet[v % alphabet.length]!
          else if (op === 'insert') c.splice(i, 0, alphabet[v % alphabet.length]!)
          else c.splice(i, 1)
        }
        await codeOf(() => parseRelayToken(c.join('')))
      }
    }), { numRuns: 500 })
  })
})
