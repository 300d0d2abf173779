/**
 * Test-only page code for the `web-clip` bench (bundled by web-bench.ts with esbuild for the
 * browser, served from 127.0.0.1: a secure context, so the clip store's WebCrypto AES-GCM is
 * the one the app uses). Attaches a video as the composer and the engine do: the picked File
 * cleaned in the page (web/engine/file-source.ts's cleanFile), then added to the app's clip
 * store (web/engine/clips.ts's BrowserClips: the shared ClipStore over IndexedDB, on a libp2p
 * node made by the app's createBrowserNode, never dialled). The baseline is crypto.subtle's
 * AES-256-GCM over the same bytes in the clip format's chunks (CLIP_CHUNK_SIZE), as many in
 * flight as the format keeps (CLIP_PIPELINE_DEPTH).
 */
import { cleanFile } from '../../web/engine/file-source.ts'
import { BrowserClips } from '../../web/engine/clips.ts'
import { createBrowserNode } from '../../web/engine/libp2p.ts'
import { CLIP_CHUNK_SIZE, CLIP_PIPELINE_DEPTH } from '../../protocol/clip/stream-aead.ts'
import type { PorchlightNode } from '../../protocol/peer/gossip.ts'

let bytes: Uint8Array<ArrayBuffer> | undefined
let node: PorchlightNode | undefined
let round = 0

/** Fetches the video once (the bench serves it), to attach as a File and to encrypt as bytes. */
export async function load (url: string): Promise<number> {
  bytes = new Uint8Array(await (await fetch(url)).arrayBuffer())
  node = await createBrowserNode({ relays: () => [], pageHost: location.hostname }, undefined, { webrtc: false })
  return bytes.length
}

/** One attach: clean the File and add it to a fresh clip store on IndexedDB. ms, and what it did. */
export async function attach (): Promise<{ ms: number, size: number, stored: number, removed: readonly string[] }> {
  if (bytes === undefined || node === undefined) throw new Error('load() first')
  const file = new File([bytes], 'clip.mp4', { type: 'video/mp4' })
  const names = { blocks: `bench-clip-blocks-${round}`, data: `bench-clip-data-${round}` }
  round++
  const clips = new BrowserClips(node, names)
  // Helia and the stores loaded and opened outside the timing (the app opens them on first use,
  // once per page): an empty clip opens them.
  await clips.add([])
  try {
    const t0 = performance.now()
    const clean = await cleanFile(file)
    const added = await clips.add(clean.stream())
    const ms = performance.now() - t0
    if (added.size !== bytes.length) throw new Error(`added ${added.size} bytes of ${bytes.length}`)
    return { ms, size: added.size, stored: added.stored, removed: clean.removed }
  } finally {
    await clips.stop()
    await Promise.all([names.blocks, names.data].map(async n => await new Promise<void>(resolve => {
      const r = indexedDB.deleteDatabase(n)
      r.onsuccess = r.onerror = r.onblocked = () => { resolve() }
    })))
  }
}

/** crypto.subtle AES-256-GCM over the same bytes in CLIP_CHUNK_SIZE chunks, CLIP_PIPELINE_DEPTH in flight. ms. */
export async function webCrypto (): Promise<number> {
  if (bytes === undefined) throw new Error('load() first')
  const data = bytes
  const key = await crypto.subtle.importKey('raw', crypto.getRandomValues(new Uint8Array(32)), 'AES-GCM', false, ['encrypt'])
  const aad = crypto.getRandomValues(new Uint8Array(8))
  const prefix = crypto.getRandomValues(new Uint8Array(7))
  const chunks = Math.max(1, Math.ceil(data.length / CLIP_CHUNK_SIZE))
  let next = 0
  let out = 0
  const t0 = performance.now()
  const lane = async (): Promise<void> => {
    while (next < chunks) {
      const i = next++
      const iv = new Uint8Array(12)
      iv.set(prefix)
      new DataView(iv.buffer).setUint32(7, i)
      iv[11] = i === chunks - 1 ? 1 : 0
      const ct = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad }, key, data.subarray(i * CLIP_CHUNK_SIZE, (i + 1) * CLIP_CHUNK_SIZE))
      out += ct.byteLength
    }
  }
  await Promise.all(Array.from({ length: CLIP_PIPELINE_DEPTH }, lane))
  const ms = performance.now() - t0
  if (out !== data.length + chunks * 16) throw new Error(`encrypted ${out} bytes`)
  return ms
}
