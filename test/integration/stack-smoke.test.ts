// The whole chosen stack installs, imports and works on this Node: two libp2p peers on
// loopback exchange one gossipsub message, and Helia stores and reads a block.
import { describe, it, expect, afterEach } from 'vitest'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@libp2p/noise'
import { yamux } from '@libp2p/yamux'
import { identify } from '@libp2p/identify'
import { gossipsub } from '@libp2p/gossipsub'
import { createHeliaLight } from 'helia'
import { unixfs } from '@helia/unixfs'

const started: Array<{ stop: () => unknown }> = []
afterEach(async () => { await Promise.all(started.splice(0).map(async n => { await n.stop() })) })

async function peer (): Promise<Libp2p<any>> {
  const node = await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: {
      identify: identify(),
      pubsub: gossipsub({ globalSignaturePolicy: 'StrictNoSign', emitSelf: false })
    }
  })
  started.push(node)
  return node
}

describe('stack smoke test', () => {
  it('two libp2p peers exchange one gossipsub message on loopback', async () => {
    const a = await peer()
    const b = await peer()
    const topic = 'porchlight-smoke'
    a.services.pubsub.subscribe(topic)
    b.services.pubsub.subscribe(topic)
    const received = new Promise<Uint8Array>((resolve) => {
      b.services.pubsub.addEventListener('message', (evt: any) => {
        if (evt.detail.topic === topic) resolve(evt.detail.data)
      })
    })
    await a.dial(b.getMultiaddrs()[0]!)
    while (!a.services.pubsub.getSubscribers(topic).some((p: any) => p.equals(b.peerId))) {
      await new Promise(r => setTimeout(r, 20))
    }
    const data = new TextEncoder().encode('hello, neighbor')
    await a.services.pubsub.publish(topic, data)
    expect(new TextDecoder().decode(await received)).toBe('hello, neighbor')
  })

  it('Helia (light) stores and reads back UnixFS bytes', async () => {
    const helia = await createHeliaLight()
    started.push(helia)
    const fs = unixfs(helia)
    const cid = await fs.addBytes(new TextEncoder().encode('clip bytes'))
    const chunks: Uint8Array[] = []
    for await (const c of fs.cat(cid)) chunks.push(c)
    expect(new TextDecoder().decode(Buffer.concat(chunks))).toBe('clip bytes')
  })
})
