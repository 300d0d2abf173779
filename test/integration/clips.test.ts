// Clips end to end on loopback: a resident posts a 20 MiB video with `post --clip`, goes
// offline, another member fetches it through the relay with `clip get`; the relay holds only
// ciphertext, refuses pins it should refuse without storing anything, and deletes the blocks
// once the post has expired. A public post's clip reaches the agency.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { readFile, writeFile, readdir, access, mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { randomBytes as nodeRandom } from 'node:crypto'
import { multiaddr } from '@multiformats/multiaddr'
import { containsBytes, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { randomBytes, sha256 } from '../../protocol/crypto.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { stripMetadata } from '../../protocol/clip/strip.ts'
import { encryptClip, encryptedClipSize, generateClipKey } from '../../protocol/clip/stream-aead.ts'
import { DEFAULT_TTL_MS } from '../../protocol/post.ts'
import type { Relay } from '../../node/relay/relay.ts'
import { Home, currentEpochKeys } from '../../node/storage/home-dir.ts'
import { requestPin } from '../../protocol/peer/pin.ts'
import type { ResidentPeer } from '../../node/resident.ts'
import { cleanUp, cli, filesUnder, neighborhood, peer, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { concat, leakedSecrets, makeMp4 } from '../helpers/media.ts'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 as multihashSha256 } from 'multiformats/hashes/sha2'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'

const MiB = 1024 * 1024
const QUOTA = 32 * MiB
/** bigMp4's fixture part (ftyp, moov with metadata, the start of mdat) lies within this. */
const HEAD = 64 * 1024
/** Random bytes of any length (WebCrypto's getRandomValues stops at 64 KiB). */
const rand = (n: number): Uint8Array => new Uint8Array(nodeRandom(n))

afterAll(cleanUp)

/** A valid MP4 of about `size` bytes: the fixture (moov first, mdat to the end of the file) with random bytes added to mdat and `marker` inside them. */
function bigMp4 (size: number, marker: Uint8Array): Uint8Array {
  const f = makeMp4({ mdatToEnd: true, co64: true })
  if (f.bytes.length > HEAD) throw new Error('fixture larger than expected')
  const extra = rand(size - f.bytes.length)
  extra.set(marker, Math.floor(extra.length / 2))
  return concat(f.bytes, extra)
}

async function blockFiles (relayDir: string): Promise<string[]> {
  const dir = join(relayDir, 'clips', 'blocks')
  try {
    return (await readdir(dir, { recursive: true })).filter(n => n.endsWith('.data'))
  } catch {
    return []
  }
}

describe('clips through a relay', () => {
  let relay: Relay
  let relayDir: string
  let anaHome: string
  let benHome: string
  let work: string
  let skew = 0
  const marker = utf8Bytes(`PLAINTEXT-MARKER-${toHex(randomBytes(16))}`)
  let clipBytes: Uint8Array
  let postId: string

  beforeAll(async () => {
    relay = await startRelay({ areas: ['u4pruy'], now: () => Date.now() + skew, pins: { quotaBytesPerTopic: QUOTA, rootTimeoutMs: 2000 } })
    relayDir = (relay as unknown as { init: { dataDir: string } }).init.dataDir
    const hood = await neighborhood(relay, ['Ana', 'Ben'])
    ;[anaHome, benHome] = hood.members as [string, string]
    work = await tempDir('pl-clips-')
  })

  it('a 20 MiB clip posted by A is fetched by B through the relay while A is offline', async () => {
    clipBytes = bigMp4(20 * MiB, marker)
    // The planted metadata is all in the fixture part (the first few KiB); the rest is random.
    expect(leakedSecrets(clipBytes.subarray(0, HEAD)).length).toBeGreaterThan(5)
    const file = join(work, 'doorbell.mp4')
    await writeFile(file, clipBytes)

    // Human output: progress comes as plain lines, as there is no terminal here.
    const posted = await cli(anaHome, ['post', '--kind', 'suspicious', '--text', 'Someone tried the door handle', '--clip', file])
    expect(posted.err).toMatch(/cleaning and encrypting: 100%/)
    expect(posted.err).toMatch(/relay fetching: 100%/)
    expect(posted.err).toMatch(/Removed from the clip: .*udta/)
    postId = /Sent ([0-9a-f]{16})/.exec(posted.out)![1]!
    expect(relay.pins!.pinned()).toHaveLength(1)
    // Ana's CLI has exited: her peer is offline. Ben fetches from the relay.
    const out = join(work, 'from-ben.mp4')
    // Into a folder that does not exist: one line, before anything is fetched.
    const nowhere = await cli(benHome, ['clip', 'get', postId.slice(0, 12), '-o', join(work, 'no-such-dir', 'x.mp4')], 1)
    expect(nowhere.err.trim().split('\n')).toHaveLength(1)
    expect(nowhere.err).toContain('no-such-dir does not exist')
    const got = await cli(benHome, ['clip', 'get', postId.slice(0, 12), '-o', out])
    expect(got.out).toMatch(/Saved .*from-ben\.mp4 \(video\/mp4/)
    const fetched = new Uint8Array(await readFile(out))
    const cleaned = stripMetadata(clipBytes).bytes
    expect(fetched.length).toBe(cleaned.length)
    expect(toHex(sha256(fetched))).toBe(toHex(sha256(cleaned)))
    expect(leakedSecrets(fetched.subarray(0, HEAD))).toEqual([])
    expect(got.err).toMatch(/fetching: 100%/)
    // -o naming a folder saves into it under the default name (it renamed a temp file onto the folder: EISDIR).
    const folder = join(work, 'clips-here')
    await mkdir(folder)
    const intoFolder = await cli(benHome, ['--json', 'clip', 'get', postId.slice(0, 12), '-o', folder])
    expect(intoFolder.json.path).toBe(join(folder, `clip-${postId.slice(0, 16)}.mp4`))
    expect(toHex(sha256(new Uint8Array(await readFile(intoFolder.json.path))))).toBe(toHex(sha256(cleaned)))
    expect((await cli(benHome, ['clip', 'get', postId.slice(0, 12), '-o', folder], 1)).err).toMatch(/exists/)
  })

  it('the relay stores only ciphertext: the marker is nowhere in its data', async () => {
    const files = await filesUnder(relayDir)
    expect((await blockFiles(relayDir)).length).toBeGreaterThan(5)
    for (const f of files) expect(containsBytes(f.bytes, marker), f.path).toBe(false)
  })

  it('a tampered clip is detected on the fetch path and no file is written', async () => {
    const ana = await peer(anaHome)
    const store = ana.clips()
    // Encrypt a clip, flip one bit of the ciphertext, store and pin that, and post it.
    const plain = rand(300_000)
    const key = generateClipKey()
    const parts: Uint8Array[] = []
    for await (const c of encryptClip(key, [plain])) parts.push(c)
    const sealed = concat(...parts)
    sealed[200_000]! ^= 0x01
    const cid = (await store.fs.addByteStream([sealed])).toString()
    const state = await (await Home.open(anaHome)).resolveHood()
    const keys = currentEpochKeys(state)
    const now = Date.now()
    const pinned = await requestPin(ana.node(), multiaddr(tcpAddr(relay)), {
      topic: privateTopic(state.hood.id), epoch: keys.epoch, cid, size: sealed.length, ts: now, exp: now + DEFAULT_TTL_MS
    }, keys.tagKey)
    expect(pinned).toMatchObject({ ok: true })
    const sent = await ana.post({ kind: 'info', text: 'tampered clip', media: [{ cid, key, mime: 'video/mp4', size: plain.length, hash: sha256(plain) }] })
    expect(sent.result.ok).toBe(true)
    await ana.stop()

    const out = join(work, 'tampered.mp4')
    const r = await cli(benHome, ['--json', 'clip', 'get', sent.id, '-o', out], 1)
    expect(JSON.parse(r.err).error.code).toBe('DECRYPT_FAILED')
    await expect(access(out)).rejects.toThrow()
    expect((await readdir(work)).filter(n => n.endsWith('.part'))).toEqual([])
  })

  it('a clip whose bytes do not match the hash in its post is refused', async () => {
    const ana = await peer(anaHome)
    const plain = rand(100_000)
    const added = await ana.clips().add([plain])
    const state = await (await Home.open(anaHome)).resolveHood()
    const keys = currentEpochKeys(state)
    const now = Date.now()
    expect(await requestPin(ana.node(), multiaddr(tcpAddr(relay)), {
      topic: privateTopic(state.hood.id), epoch: keys.epoch, cid: added.cid, size: added.stored, ts: now, exp: now + DEFAULT_TTL_MS
    }, keys.tagKey)).toMatchObject({ ok: true })
    const sent = await ana.post({ kind: 'info', text: 'wrong hash', media: [{ cid: added.cid, key: added.key, mime: 'image/png', size: added.size, hash: sha256(randomBytes(8)) }] })
    await ana.stop()
    const r = await cli(benHome, ['--json', 'clip', 'get', sent.id, '-o', join(work, 'wrong.png')], 1)
    // One line, the typed error: no uncaught stream error (Node 24 threw ERR_STREAM_DESTROYED here), nothing left behind.
    expect(r.err.trim().split('\n')).toHaveLength(1)
    expect(JSON.parse(r.err).error.code).toBe('DECRYPT_FAILED')
    await expect(access(join(work, 'wrong.png'))).rejects.toThrow()
    expect((await readdir(work)).filter(n => n.endsWith('.part'))).toEqual([])
  })

  describe('refused pins store nothing', () => {
    let ana: ResidentPeer
    let fields: { topic: string, epoch: number, tagKey: Uint8Array }

    beforeAll(async () => {
      ana = await peer(anaHome)
      const state = await (await Home.open(anaHome)).resolveHood()
      const keys = currentEpochKeys(state)
      fields = { topic: privateTopic(state.hood.id), epoch: keys.epoch, tagKey: keys.tagKey }
    })

    async function pin (cid: string, size: number, tagKey = fields.tagKey): Promise<{ ok: boolean, code?: string, message?: string }> {
      const now = Date.now()
      return requestPin(ana.node(), multiaddr(tcpAddr(relay)), { topic: fields.topic, epoch: fields.epoch, cid, size, ts: now, exp: now + DEFAULT_TTL_MS }, tagKey)
    }

    it('over quota', async () => {
      const before = await blockFiles(relayDir)
      const added = await ana.clips().add([rand(14 * MiB)])
      const r = await pin(added.cid, added.stored)
      expect(r).toMatchObject({ ok: false, code: 'OVER_QUOTA' })
      expect(r.message).toMatch(/quota/)
      expect(await blockFiles(relayDir)).toEqual(before)
    })

    it('unknown CID', async () => {
      const before = await blockFiles(relayDir)
      const added = await ana.clips().add([rand(1000)])
      await ana.clips().remove(added.cid) // nobody has it now
      const r = await pin(added.cid, added.stored)
      expect(r).toMatchObject({ ok: false, code: 'NOT_FOUND' })
      expect(r.message).toMatch(/could not fetch/)
      expect(await blockFiles(relayDir)).toEqual(before)
    })

    it('a declared 1-byte clip whose root node carries a 1 MB link name: refused by stored bytes, nothing kept', async () => {
      // The quota counted blocks, not bytes: eight such pins stored 257 MB while
      // porchlight_pinned_bytes said 8.
      const before = await blockFiles(relayDir)
      const leafBytes = utf8Bytes('x')
      const leaf = CID.createV1(raw.code, await multihashSha256.digest(leafBytes))
      const data = new UnixFS({ type: 'file', blockSizes: [1n] })
      const rootBytes = dagPb.encode(dagPb.prepare({ Data: data.marshal(), Links: [{ Hash: leaf, Name: 'A'.repeat(1_000_000), Tsize: 1 }] }))
      const root = CID.createV1(dagPb.code, await multihashSha256.digest(rootBytes))
      await ana.clips().helia.blockstore.put(leaf, leafBytes)
      await ana.clips().helia.blockstore.put(root, rootBytes)
      const r = await pin(root.toString(), 1)
      expect(r).toMatchObject({ ok: false, code: 'TOO_LARGE' })
      expect(await blockFiles(relayDir)).toEqual(before)
    })

    it('pinning again with a later expiry does not keep a clip longer', async () => {
      const added = await ana.clips().add([rand(3000)])
      const now = Date.now()
      const ask = async (exp: number): Promise<{ ok: boolean }> =>
        requestPin(ana.node(), multiaddr(tcpAddr(relay)), { topic: fields.topic, epoch: fields.epoch, cid: added.cid, size: added.stored, ts: now, exp }, fields.tagKey)
      expect(await ask(now + 3600_000)).toMatchObject({ ok: true })
      expect(await ask(now + 20 * 24 * 3600_000)).toMatchObject({ ok: true })
      expect(relay.pins!.pinned().find(p => p.cid === added.cid)!.exp).toBe(now + 3600_000)
    })

    it('bad membership tag', async () => {
      const before = await blockFiles(relayDir)
      const added = await ana.clips().add([rand(5000)])
      const r = await pin(added.cid, added.stored, randomBytes(32))
      expect(r).toMatchObject({ ok: false, code: 'BAD_TAG' })
      expect(await blockFiles(relayDir)).toEqual(before)
    })

    it('a size that does not match the clip', async () => {
      const before = await blockFiles(relayDir)
      const added = await ana.clips().add([rand(70_000)])
      const r = await pin(added.cid, added.stored - 1)
      expect(r).toMatchObject({ ok: false, code: 'BAD_ARGUMENT' })
      expect(await blockFiles(relayDir)).toEqual(before)
      expect(encryptedClipSize(70_000)).toBe(added.stored)
      await ana.stop()
    })
  })

  it('posting a clip over quota through the CLI sends nothing, and says why', async () => {
    const before = await blockFiles(relayDir)
    const file = join(work, 'big.mp4')
    await writeFile(file, bigMp4(14 * MiB, marker))
    const run = await cli(anaHome, ['--json', 'post', '--kind', 'info', '--text', 'too big', '--clip', file], 1)
    const err = JSON.parse(run.err).error
    expect(err.code).toBe('OVER_QUOTA')
    expect(err.message).toMatch(/clip not stored by any relay: over quota/)
    expect(await blockFiles(relayDir)).toEqual(before)
    const feed = await cli(benHome, ['--json', 'feed'])
    expect(feed.json.posts.some((p: { text: string }) => p.text === 'too big')).toBe(false)
  })

  it('a public post\'s clip reaches the agency; private clips do not', async () => {
    const agencyHome = await tempDir('pl-agency-')
    await cli(agencyHome, ['agency', 'create', '--name', 'City PD'])
    await cli(agencyHome, ['agency', 'follow', 'u4pruy'])
    const file = join(work, 'photo.mp4')
    const bytes = bigMp4(2 * MiB, marker)
    await writeFile(file, bytes)
    const posted = await cli(anaHome, ['--json', 'post', '--kind', 'safety', '--text', 'Fallen tree', '--public', '--clip', file])
    // The agency is in no neighborhood: it names the relay.
    const got = await cli(agencyHome, ['--json', 'clip', 'get', posted.json.publicId, '-o', join(work, 'agency.mp4'), '--relay', tcpAddr(relay)])
    expect(got.code).toBe(0)
    // (Hashes: toEqual over megabytes of Uint8Array takes seconds.)
    expect(toHex(sha256(new Uint8Array(await readFile(join(work, 'agency.mp4')))))).toBe(toHex(sha256(stripMetadata(bytes).bytes)))
    // The private post of the first test is not in the agency's feed: no key, no clip.
    const denied = await cli(agencyHome, ['--json', 'clip', 'get', postId, '--relay', tcpAddr(relay)], 1)
    expect(JSON.parse(denied.err).error.code, denied.err).toBe('NOT_FOUND')
  })

  it('after the posts expire, the relay no longer has the blocks', async () => {
    expect((await blockFiles(relayDir)).length).toBeGreaterThan(0)
    skew = DEFAULT_TTL_MS + 60_000
    await relay.sweep()
    expect(relay.pins!.pinned()).toEqual([])
    expect(await blockFiles(relayDir)).toEqual([])
    expect(relay.pins!.usage(privateTopic((await (await Home.open(anaHome)).resolveHood()).hood.id))).toBe(0)
  })
})
