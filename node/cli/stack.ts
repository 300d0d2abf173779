/**
 * Everything of the network stack the CLI uses (libp2p, Helia, gossipsub, LevelDB behind the
 * peer and the relay), in one module that commands load with `await loadStack()` (command.ts)
 * when they run: `porchlight --help`, `--version` and the offline commands never import it.
 * Built with esbuild splitting, it and what only it imports are chunks of their own.
 */
export { openResidentPeer } from '../resident.ts'
export { Relay, RELAY_DEFAULTS } from '../relay/relay.ts'
export { pushMessage } from '../../protocol/peer/push.ts'
export { attachClip, findPost, getClip } from '../../protocol/peer/clip-flows.ts'
export { openClipFile } from '../storage/clip-file.ts'
export { nodeClipSink } from '../storage/clip-save.ts'
export { publicDelayFromEnv } from '../../protocol/peer/public-copy.ts'
export { multiaddr } from '@multiformats/multiaddr'
export { askTransparency } from '../../protocol/peer/transparency.ts'
export { createNode } from '../libp2p.ts'
