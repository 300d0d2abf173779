/**
 * The libp2p node as the clip store's Helia sees it on a relay: the same node, except that
 * the inbound streams of the protocols Helia registers (bitswap) pass through the relay's
 * stream budget (stream-budget.ts) before Helia's handler gets them.
 *
 * Why: Helia's bitswap reads whole messages of up to 4 MiB on up to 1,024 inbound streams per
 * connection and gives a half-sent one 10 s; measured, 2 connections x 32 streams of
 * half-sent messages from one IP took a relay from 214 to 400 MiB. Its reader is not ours,
 * so the budget finds the message boundaries itself (AdmitOptions.countsFrames).
 *
 * A view rather than libp2p stream middleware: in libp2p 3.3 a registered middleware array
 * gets the protocol handler appended to it on every inbound stream (connection.js
 * onIncomingStream), so each stream would run every earlier stream's handler again.
 */
import type { Libp2p, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { FramedProtocol, InboundBudget } from './stream-budget.ts'

export function meteredLibp2p (node: Libp2p, budget: InboundBudget, label: FramedProtocol): Libp2p {
  const handle = async (protocols: string | string[], handler: StreamHandler, options?: StreamHandlerOptions): Promise<void> => {
    await node.handle(protocols, async (stream, connection) => {
      if (budget.admit(stream, connection, label, { countsFrames: true }) === undefined) return
      await handler(stream, connection)
    }, options)
  }
  return new Proxy(node, {
    get (target, prop) {
      if (prop === 'handle') return handle
      const value: unknown = Reflect.get(target, prop, target)
      // Methods run on the node itself (its private fields are not on the proxy).
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}
