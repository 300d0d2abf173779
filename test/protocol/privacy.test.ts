/**
 * Privacy on the bytes: what a relay, a gossip peer or an agency receives must not contain
 * what the protocol promises to hide. Checked on the exact wire bytes with containsBytes.
 */
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { runs } from '../helpers/fc.ts'
import { ed25519 } from '@noble/curves/ed25519.js'
import { randomBytes } from '../../protocol/crypto.ts'
import { containsBytes, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { areaKey, createIdentity } from '../../protocol/identity.ts'
import { createNeighborhood, deriveEpochKeys, privateTopic } from '../../protocol/neighborhood.ts'
import { createPost } from '../../protocol/post.ts'
import { decodeEnvelope, openEnvelope, sealPost } from '../../protocol/envelope.ts'
import { sealPublicPost } from '../../protocol/public-post.ts'
import { createRekey } from '../../protocol/rekey.ts'
import { createRelayToken, encodeRelayToken, relayTokenBytes } from '../../protocol/relay-token.ts'
import { geohashArb } from '../vectors/generate-posts.ts'

const NOW = 1_764_000_000_000
const hex = (n: number): string => toHex(randomBytes(n))
const nameArb = fc.tuple(fc.constantFrom('Alice', 'Bob', 'Zoë', 'Ngozi', '李'), fc.integer({ min: 0, max: 1e9 }))
  .map(([n, i]) => `${n} ${i}`)

describe('a private post envelope hides', () => {
  it('the text, author signKey, boxKey and name, the location, and the neighborhood name, id and area', async () => {
    // Areas of 5-6 characters (a neighborhood's usual size): shorter strings turn up in random bytes by chance.
    await fc.assert(fc.asyncProperty(nameArb, nameArb, geohashArb(5, 6), async (authorName, hoodName, area) => {
      const author = await createIdentity(authorName)
      const hood = createNeighborhood(`${hoodName} Heights`, area, author.public.signKey)
      const keys = deriveEpochKeys(hood.id, 1, randomBytes(32))
      const topic = privateTopic(hood.id)
      const marker = `MARKER-${hex(12)}`
      const location = `${area}${'bcdefgh'.slice(0, 8 - area.length)}`
      const post = createPost({ kind: 'crime', text: `bike stolen ${marker} on Main`, location, now: NOW })
      const { bytes } = await sealPost(author, topic, keys, post)

      const secrets: Array<[string, Uint8Array]> = [
        ['text marker', utf8Bytes(marker)],
        ['author signKey', author.public.signKey],
        ['author boxKey', author.public.boxKey],
        ['author name', utf8Bytes(author.public.name)],
        ['location', utf8Bytes(location)],
        ['hood name', utf8Bytes(hood.name)],
        ['hood id', hood.id],
        ['hood id (hex)', utf8Bytes(toHex(hood.id))],
        ['hood area', utf8Bytes(hood.area)],
        // The author is the founder here: neither the founder's key nor the salt shows which neighborhood this is.
        ['hood founder', hood.founder],
        ['hood salt', hood.salt]
      ]
      for (const [what, secret] of secrets) expect(containsBytes(bytes, secret), what).toBe(false)

      // The topic names the neighborhood without revealing it.
      expect(containsBytes(utf8Bytes(topic), hood.id)).toBe(false)
      expect(topic.includes(toHex(hood.id).slice(0, 8))).toBe(false)
      expect(topic.includes(hood.name)).toBe(false)

      // Not vacuous: a member who decrypts finds them all.
      const inner = openEnvelope(decodeEnvelope(bytes), keys)
      for (const secret of [utf8Bytes(marker), author.public.signKey, utf8Bytes(author.public.name), utf8Bytes(location)]) {
        expect(containsBytes(inner, secret)).toBe(true)
      }
    }), { numRuns: runs(20) })
  })

  it('a fixed example: area and name of "Elm Park"', async () => {
    const author = await createIdentity('Alice')
    const hood = createNeighborhood('Elm Park', 'u4pruy', author.public.signKey)
    const keys = deriveEpochKeys(hood.id, 0, randomBytes(32))
    const { bytes } = await sealPost(author, privateTopic(hood.id), keys, createPost({ kind: 'info', text: 'hi', location: 'u4pruyd', now: NOW }))
    expect(containsBytes(bytes, utf8Bytes('u4pruy'))).toBe(false)
    expect(containsBytes(bytes, utf8Bytes('Elm Park'))).toBe(false)
  })
})

describe('a private post envelope\'s shape says little (issue 10)', () => {
  it('its size is a bucket and its clear times are whole minutes; the exact time is only inside', async () => {
    await fc.assert(fc.asyncProperty(nameArb, fc.integer({ min: 0, max: 59_999 }), fc.integer({ min: 1, max: 1500 }), async (name, ms, textBytes) => {
      const author = await createIdentity(name)
      const hood = createNeighborhood('Birch Lane', 'u4pruy', author.public.signKey)
      const keys = deriveEpochKeys(hood.id, 0, randomBytes(32))
      const created = NOW + ms
      const post = createPost({ kind: 'info', text: 'x'.repeat(textBytes), now: created })
      const { bytes } = await sealPost(author, privateTopic(hood.id), keys, post)
      const env = decodeEnvelope(bytes)
      expect([1024, 4096, 16384, 65536]).toContain(bytes.length)
      expect(env.ts).toBe(NOW) // NOW is a whole minute; created is up to 59.999 s later
      expect(env.exp % 60_000).toBe(0)
      // The exact created time (as CBOR would write it) is not in the clear.
      expect(containsBytes(bytes, Uint8Array.from([0x1b, 0, 0, ...Array.from({ length: 6 }, (_, i) => Math.floor(created / 2 ** (8 * (5 - i))) & 0xff)]))).toBe(ms === 0)
    }), { numRuns: runs(20) })
  })
})

describe('what a relay is given for a neighborhood (token, rekey) hides', () => {
  it('names, area (unless asked), members\' keys, epoch secrets and content keys; it names only the admins\' keys', async () => {
    await fc.assert(fc.asyncProperty(nameArb, nameArb, geohashArb(5, 6), async (adminName, hoodName, area) => {
      const admin = await createIdentity(adminName)
      const members = await Promise.all(['Ben', 'Cleo'].map(async n => createIdentity(`${n} ${hex(4)}`)))
      const removed = await createIdentity(`Dev ${hex(4)}`)
      const hood = createNeighborhood(`${hoodName} Heights`, area, admin.public.signKey)
      const old = deriveEpochKeys(hood.id, 3, randomBytes(32))
      const relaySeed = randomBytes(32)
      const { bytes, newKeys } = await createRekey(admin, hood, old, [admin, ...members].map(m => m.public), NOW, {
        relays: [ed25519.getPublicKey(relaySeed)], removed: [removed.public.signKey]
      })
      const token = relayTokenBytes(encodeRelayToken(createRelayToken(hood, old)))
      const hidden: Array<[string, Uint8Array]> = [
        ['hood name', utf8Bytes(hood.name)], ['hood area', utf8Bytes(hood.area)], ['hood id', hood.id],
        ['admin name', utf8Bytes(admin.public.name)], ['admin box key', admin.public.boxKey],
        ...members.flatMap((m): Array<[string, Uint8Array]> => [[`${m.public.name} sign key`, m.public.signKey], [`${m.public.name} box key`, m.public.boxKey], [`${m.public.name} name`, utf8Bytes(m.public.name)]]),
        ['removed member', removed.public.signKey], ['old secret', old.secret], ['old content key', old.contentKey],
        ['new secret', newKeys.secret], ['new content key', newKeys.contentKey], ['new tag key', newKeys.tagKey]
      ]
      for (const [what, secret] of hidden) {
        expect(containsBytes(bytes, secret), `rekey: ${what}`).toBe(false)
        expect(containsBytes(token, secret), `token: ${what}`).toBe(false)
      }
      // Documented: both name the founder (the root relays check admins against); the rekey names its signer.
      expect(containsBytes(token, admin.public.signKey)).toBe(true)
      expect(containsBytes(bytes, admin.public.signKey)).toBe(true)
    }), { numRuns: runs(20) })
  })
})

describe('a public post', () => {
  it('never carries the identity signKey or boxKey; carries the name only with showName', async () => {
    await fc.assert(fc.asyncProperty(nameArb, geohashArb(1, 6), fc.boolean(), async (name, area, showName) => {
      const author = await createIdentity(name)
      const marker = `MARKER-${hex(12)}`
      const post = createPost({ kind: 'suspicious', text: `car doors ${marker}`, now: NOW })
      const { bytes } = await sealPublicPost(author, area, post, { showName })
      expect(containsBytes(bytes, author.public.signKey)).toBe(false)
      expect(containsBytes(bytes, author.public.boxKey)).toBe(false)
      expect(containsBytes(bytes, utf8Bytes(author.public.name))).toBe(showName)
      // Public on purpose: the text is there.
      expect(containsBytes(bytes, utf8Bytes(marker))).toBe(true)
      expect(containsBytes(bytes, (await areaKey(author, area)).publicKey)).toBe(true)
    }), { numRuns: runs(20) })
  })

  it('pseudonyms: area A differs from area B and from the identity signKey', async () => {
    await fc.assert(fc.asyncProperty(geohashArb(1, 6), geohashArb(1, 6), async (a, b) => {
      fc.pre(a !== b)
      const author = await createIdentity('Alice')
      const pa = (await areaKey(author, a)).publicKey
      const pb = (await areaKey(author, b)).publicKey
      expect(toHex(pa)).not.toBe(toHex(pb))
      expect(toHex(pa)).not.toBe(toHex(author.public.signKey))
      expect(toHex(pb)).not.toBe(toHex(author.public.signKey))
      // And a post in area B carries neither the identity key nor the pseudonym for A.
      const { bytes } = await sealPublicPost(author, b, createPost({ kind: 'info', text: 'x', now: NOW }))
      expect(containsBytes(bytes, pa)).toBe(false)
      expect(containsBytes(bytes, author.public.signKey)).toBe(false)
    }), { numRuns: runs(20) })
  })
})
