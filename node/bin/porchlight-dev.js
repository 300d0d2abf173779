#!/usr/bin/env node
// `porchlight` from the TypeScript sources, compiled on the fly by tsx (slower to start than the
// build node/bin/porchlight.js runs, but always current): `npm run porchlight:dev -- ARGS`.
import { register } from 'tsx/esm/api'

register()
await import('../cli/entry.ts')
