// The push, sync and block servers are components: start() registers their protocols on the
// libp2p node and stop() removes them; client calls take a signal; one toResult turns a caught
// error into the Result a protocol answers with.
import { describe, it, expect } from 'vitest'
import { createNode } from '../../node/libp2p.ts'
import { PorchlightError } from '../../protocol/errors.ts'
import { PROTOCOLS, RETIRED_PROTOCOLS, toResult } from '../../protocol/wire.ts'
import { PushServer, pushMessage } from '../../protocol/peer/push.ts'
import { SyncServer, syncTopic } from '../../protocol/peer/sync.ts'
import { BlockServer } from '../../protocol/peer/blocks.ts'
import { SyncItemSet } from '../../protocol/reconcile/sync.ts'

describe('toResult', () => {
  it('keeps a PorchlightError\'s code and message, and gives anything else the fallback', () => {
    expect(toResult(new PorchlightError('OVER_QUOTA', 'full'))).toEqual({ ok: false, code: 'OVER_QUOTA', message: 'full' })
    expect(toResult(new Error('secret internals'))).toEqual({ ok: false, code: 'IO', message: 'internal error' })
    expect(toResult('thrown string', { code: 'UNAVAILABLE', message: 'push stream failed' })).toEqual({ ok: false, code: 'UNAVAILABLE', message: 'push stream failed' })
  })
})

describe('peer protocol components', () => {
  it('register their protocols on start and remove them on stop', async () => {
    const node = await createNode({})
    try {
      const servers = [
        new PushServer(node, { accept: async () => ({ ok: true }) }),
        new SyncServer(node, {
          serves: () => false, items: () => new SyncItemSet(), epochKeys: () => undefined, get: async () => undefined, accept: async () => ({ ok: true })
        }),
        new BlockServer(node, { has: async () => false, get: async () => new Uint8Array() })
      ]
      const ours = [PROTOCOLS.push, PROTOCOLS.sync, RETIRED_PROTOCOLS.sync, PROTOCOLS.blocks]
      for (const s of servers) await s.start()
      expect(node.getProtocols()).toEqual(expect.arrayContaining(ours))
      for (const s of servers) await s.stop()
      for (const p of ours) expect(node.getProtocols()).not.toContain(p)
    } finally {
      await node.stop()
    }
  })

  it('push and sync clients stop at once when their signal has aborted', async () => {
    const relay = await createNode({ tcpPort: 0 })
    const client = await createNode({})
    try {
      const push = new PushServer(relay, { accept: async () => ({ ok: true }) })
      await push.start()
      const aborted = AbortSignal.abort()
      const r = await pushMessage(client, relay.getMultiaddrs(), '/porchlight/test', new Uint8Array([1]), undefined, { signal: aborted })
      expect(r).toMatchObject({ ok: false, code: 'TIMEOUT' })
      await expect(syncTopic(client, relay.getMultiaddrs(), 'porchlight/area/u4pr', new SyncItemSet(), {
        getLocal: async () => undefined, onMessage: async () => {}, signal: aborted
      })).rejects.toMatchObject({ name: 'AbortError' })
      // An abort while the answer is awaited (this relay never answers) ends the push too.
      await push.stop()
      const silent = new PushServer(relay, { accept: async () => await new Promise(() => {}) })
      await silent.start()
      const started = Date.now()
      const late = await pushMessage(client, relay.getMultiaddrs(), '/porchlight/test', new Uint8Array([1]), undefined, { signal: AbortSignal.timeout(200) })
      expect(late).toMatchObject({ ok: false, code: 'TIMEOUT', message: 'push aborted' })
      expect(Date.now() - started).toBeLessThan(5000)
    } finally {
      await client.stop()
      await relay.stop()
    }
  })
})
