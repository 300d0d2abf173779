/**
 * Child process of the clip benchmark's memory workload (clip-bench.ts): one clip operation
 * in a fresh process, with its resident memory sampled every SAMPLE_MS. Prints one JSON line:
 * { idle, peak } in bytes, plus what the parent needs next.
 *
 *   node --expose-gc --import tsx test/bench/clip-rss.ts post  STORE_DIR CLIP_FILE
 *     cleans, encrypts and adds the clip file as `post --clip` does (openClipFile -> add);
 *     prints { idle, peak, ref: { cid, key, size, hash } } (bytes as hex)
 *   node --expose-gc --import tsx test/bench/clip-rss.ts fetch STORE_DIR PROVIDER_ADDR REF_JSON OUT_FILE
 *     dials the provider and fetches, decrypts, checks and writes the clip as `clip get` does
 *
 * idle = RSS once the node and the clip store are up and a small clip went through the same
 * path (code loaded, JIT warm), after a GC; peak = the highest RSS seen during the operation.
 */
import '../../node/polyfill.ts'
import { multiaddr } from '@multiformats/multiaddr'
import { createNode } from '../../node/libp2p.ts'
import { openNodeClipStore } from '../../node/storage/clips.ts'
import { saveClip } from '../../node/storage/clip-save.ts'
import { openClipFile } from '../../node/storage/clip-file.ts'
import { fromHex, toHex } from '../../protocol/encoding.ts'
import { randomBytes } from '../../protocol/crypto.ts'

const SAMPLE_MS = 5

async function measure<T> (op: () => Promise<T>): Promise<{ idle: number, peak: number, ms: number, value: T }> {
  ;(globalThis as { gc?: () => void }).gc?.()
  await new Promise(r => setTimeout(r, 50))
  const idle = process.memoryUsage.rss()
  const maxBefore = process.resourceUsage().maxRSS * 1024
  let peak = idle
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage.rss()) }, SAMPLE_MS)
  const start = performance.now()
  try {
    const value = await op()
    const ms = performance.now() - start
    peak = Math.max(peak, process.memoryUsage.rss())
    // The kernel's high-water mark, if it rose during the operation, catches spikes between samples.
    const maxAfter = process.resourceUsage().maxRSS * 1024
    if (maxAfter > maxBefore) peak = Math.max(peak, maxAfter)
    return { idle, peak, ms, value }
  } finally {
    clearInterval(timer)
  }
}

async function main (): Promise<void> {
  const [mode, dir, ...rest] = process.argv.slice(2)
  const node = await createNode({})
  const store = await openNodeClipStore(node, dir!)
  try {
    if (mode === 'post') {
      const file = rest[0]!
      await store.add([randomBytes(60_000)]) // warm-up through the same path
      const r = await measure(async () => {
        const clip = await openClipFile(file)
        return await store.add(clip.stream())
      })
      const ref = { cid: r.value.cid, key: toHex(r.value.key), size: r.value.size, hash: toHex(r.value.hash) }
      process.stdout.write(JSON.stringify({ idle: r.idle, peak: r.peak, ms: r.ms, ref }) + '\n')
    } else if (mode === 'fetch') {
      const [addr, refJson, out] = rest as [string, string, string]
      const ref = JSON.parse(refJson) as { cid: string, key: string, size: number, hash: string }
      await node.dial(multiaddr(addr))
      const warm = await store.add([randomBytes(60_000)])
      for await (const _ of store.read(warm, { offline: true })) { /* warm-up */ }
      const r = await measure(async () => {
        await saveClip(store, { cid: ref.cid, key: fromHex(ref.key), size: ref.size, hash: fromHex(ref.hash) }, out)
      })
      process.stdout.write(JSON.stringify({ idle: r.idle, peak: r.peak, ms: r.ms }) + '\n')
    } else {
      throw new Error(`unknown mode ${mode}`)
    }
  } finally {
    await store.stop()
    await node.stop()
  }
}

main().then(() => process.exit(0), (err) => { console.error(err); process.exit(1) })
