// Node's blockstore (node/storage/block-files.ts): blockstore-fs's files, fewer calls per block.
import { describe, it, expect, beforeEach, afterEach } from 'vitest'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { FsBlockstore } from 'blockstore-fs'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { sha256 } from 'multiformats/hashes/sha2'
import { BlockFiles } from '../../node/storage/block-files.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'pl-blockfiles-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

async function block (size: number): Promise<{ cid: CID, bytes: Uint8Array }> {
  const bytes = new Uint8Array(randomBytes(size))
  return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
}

async function pieces (source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const p of source) out.push(p)
  return out
}

const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b))

async function allFiles (root: string): Promise<string[]> {
  return (await readdir(root, { recursive: true, withFileTypes: true })).filter(e => e.isFile()).map(e => e.name)
}

describe('BlockFiles', () => {
  it('keeps blockstore-fs\'s files: each reads what the other wrote', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'))
    const theirs = new FsBlockstore(join(dir, 'blocks'))
    await ours.open()
    await theirs.open()
    const a = await block(1024 * 1024)
    const b = await block(300_000)
    await ours.put(a.cid, a.bytes)
    await theirs.put(b.cid, b.bytes)
    expect(same(Buffer.concat(await pieces(theirs.get(a.cid))), a.bytes)).toBe(true)
    expect(same(Buffer.concat(await pieces(ours.get(b.cid))), b.bytes)).toBe(true)
    expect(await theirs.has(a.cid)).toBe(true)
    const listed = await pieces((async function * () { for await (const { cid } of theirs.getAll()) yield cid.bytes })())
    expect(listed).toHaveLength(2)
  })

  it('reads a block in one piece (blockstore-fs streams it in 64 KiB reads)', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'))
    await ours.open()
    const a = await block(1024 * 1024 + 7)
    await ours.put(a.cid, a.bytes)
    const got = await pieces(ours.get(a.cid))
    expect(got).toHaveLength(1)
    expect(same(got[0]!, a.bytes)).toBe(true)
  })

  it('a missing block is NotFoundError; puts of one block at once leave one file and no temporary ones', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'))
    await ours.open()
    const a = await block(200_000)
    let name = ''
    try { await pieces(ours.get(a.cid)) } catch (err) { name = (err as Error).name }
    expect(name).toBe('NotFoundError')
    await Promise.all([ours.put(a.cid, a.bytes), ours.put(a.cid, a.bytes), ours.put(a.cid, a.bytes)])
    expect(await allFiles(join(dir, 'blocks'))).toHaveLength(1)
    expect(same(Buffer.concat(await pieces(ours.get(a.cid))), a.bytes)).toBe(true)
  })

  it('makes a shard directory removed behind its back again', async () => {
    const ours = new BlockFiles(join(dir, 'blocks'))
    await ours.open()
    const a = await block(1000)
    await ours.put(a.cid, a.bytes)
    await rm(join(dir, 'blocks'), { recursive: true })
    await ours.put(a.cid, a.bytes)
    expect(await ours.has(a.cid)).toBe(true)
  })
})
