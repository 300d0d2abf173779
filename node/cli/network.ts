/**
 * The CLI commands that talk to the network: the relay, posting, the feed, live watching,
 * removing a member (rekey), and the agency's public feed and requests for assistance.
 * Merged into the command table of node/cli/main.ts; each loads the network stack when it
 * runs (loadStack), so that help and the offline commands do not.
 */
import { readFile } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { POST_KINDS, DEFAULT_TTL_MS, MAX_TTL_MS } from '../../protocol/post.ts'
import { checkFairPosting, FAIR_POSTING_LIMITS, missingWords } from '../../protocol/fair-posting.ts'
import { checkGeohash, MAX_AREA_PRECISION, MAX_POST_PRECISION } from '../../protocol/geohash.ts'
import { attestationId, sealRfa } from '../../protocol/agency.ts'
import { findIssuedAttestations, issuedAttestations } from '../../protocol/peer/admin-actions.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { hoodSettings } from '../../protocol/hood-state.ts'
import type { FeedPost, ReplyAudience, ReplyMode, ResidentPeer } from '../resident.ts'
import type { WeekContext } from '../../protocol/week-counts.ts'
import { parseAttestationString } from './output.ts'
import {
  HELP_FIGURES, HOOD_OPTION, loadStack, packagePath, parseRelays, parseTtl, RELAY_OPTION, relaysFrom, ttlOption, UsageError, type Command, type Context, type OptionSpec
} from './command.ts'
import { attachWithProgress } from './clips.ts'
import { holdHome, noteRelayPid, relayInUse } from './daemon.ts'
import { CAPS_DEFAULTS, type CapsInit } from '../relay/caps.ts'

const RELAY_HELP_DEFAULTS = HELP_FIGURES.relay
const MIB = 1024 * 1024

/** `porchlight relay` flags for the relay's caps (read by capsFrom in caps.ts). */
const CAPS_OPTIONS: Record<string, OptionSpec> = {
  'max-connections': { type: 'string', value: 'N', help: `connections the relay holds at once (default ${CAPS_DEFAULTS.maxConnections}; a relay for a whole district needs more, and a file-descriptor limit (ulimit -n) above it)` },
  'max-conns-per-ip': { type: 'string', value: 'N', help: `inbound connections one IP may hold (default ${CAPS_DEFAULTS.maxConnectionsPerIp}; households behind one NAT share an IP)` },
  'max-streams': { type: 'string', value: 'N', help: `open push/sync/pin/block/bitswap streams, all peers (default ${CAPS_DEFAULTS.maxInboundStreams})` },
  'max-streams-per-ip': { type: 'string', value: 'N', help: `open push/sync/pin/block/bitswap streams from one IP (default ${CAPS_DEFAULTS.maxInboundStreamsPerIp})` },
  'max-buffered': { type: 'string', value: 'SIZE', help: `unread inbound bytes, all peers, e.g. 32MiB (default ${CAPS_DEFAULTS.maxBufferedBytes / MIB}MiB)` },
  'max-buffered-per-ip': { type: 'string', value: 'SIZE', help: `unread inbound bytes from one IP (default ${CAPS_DEFAULTS.maxBufferedBytesPerIp / MIB}MiB)` },
  'idle-timeout': { type: 'string', value: 'DURATION', help: `close a stream that sends nothing this long, e.g. 15s (default ${CAPS_DEFAULTS.idleTimeoutMs / 1000}s)` },
  'frame-timeout': { type: 'string', value: 'DURATION', help: `close a stream whose frame is not whole this long after it began (default ${CAPS_DEFAULTS.partialFrameTimeoutMs / 1000}s)` }
}

function port (ctx: Context, name: string, fallback: number): number {
  const v = ctx.string(name)
  if (v === undefined) return fallback
  const n = Number(v)
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail('BAD_ARGUMENT', `--${name} must be a port number (0 picks a free one)`)
  return n
}

async function openPeer (ctx: Context): Promise<ResidentPeer> {
  const relays = await relaysFrom(ctx)
  const { publicDelayFromEnv } = await loadStack()
  // PORCHLIGHT_PUBLIC_DELAY_MS replaces the random delay before a public copy goes out (tests; at most 30 s).
  const publicDelayMs = publicDelayFromEnv(ctx.io.env.PORCHLIGHT_PUBLIC_DELAY_MS)
  const peer = await ctx.openPeer({ relays, now: () => ctx.now(), ...(publicDelayMs !== undefined ? { publicDelayMs } : {}) })
  try {
    await peer.start()
  } catch (err) {
    await peer.stop()
    throw err
  }
  return peer
}

/** Runs `fn` with a started peer, and stops the peer whatever happens. */
async function withPeer<T> (ctx: Context, fn: (peer: ResidentPeer) => Promise<T>): Promise<T> {
  const peer = await openPeer(ctx)
  try {
    return await fn(peer)
  } finally {
    await peer.stop()
  }
}

/** Says on stderr that `what` waits in the outbox when no relay took it. */
function noteUnsent (ctx: Context, what: string, result: { ok: boolean, message?: string }): void {
  if (!result.ok) ctx.out.note(`${what} is saved but no relay has it yet (${result.message ?? 'unreachable'}); it stays in the outbox.`)
}

/** Resolves on SIGINT/SIGTERM (long-running commands). */
function untilSignal (): Promise<string> {
  return new Promise(resolve => {
    const done = (sig: string): void => {
      process.off('SIGINT', onInt)
      process.off('SIGTERM', onTerm)
      resolve(sig)
    }
    const onInt = (): void => { done('SIGINT') }
    const onTerm = (): void => { done('SIGTERM') }
    process.once('SIGINT', onInt)
    process.once('SIGTERM', onTerm)
  })
}

function when (ms: number): string {
  return new Date(ms).toISOString().replace(/:\d{2}\.\d{3}Z$/, 'Z').replace('T', ' ')
}

/**
 * An agency's peer, caught up with its relays (unless --no-sync) and swept, for `agency feed`
 * and `agency replies`. A stale list shown as if it were current is worse than none: it fails
 * when no relay answered.
 */
async function caughtUpAgencyPeer (ctx: Context): Promise<ResidentPeer> {
  const home = await ctx.home()
  if ((await home.agency()) === undefined) fail('REFUSED', 'not an agency identity: create one with `porchlight agency create --name NAME`')
  const peer = await openPeer(ctx)
  try {
    if (!ctx.flag('no-sync') && (await peer.sync()).length === 0) {
      fail('UNAVAILABLE', peer.relays().length === 0
        ? 'no relay to ask: give --relay ADDR (or set PORCHLIGHT_RELAY); --no-sync shows what is stored here'
        : 'no relay answered; --no-sync shows what is stored here')
    }
    await peer.sweep()
    return peer
  } catch (err) {
    await peer.stop()
    throw err
  }
}

/** A neighborhood's week in one line: "This week in Elm Street: crime 3 (usually 1), pet 1 (usually 0)". */
function weekLine (w: { hood: string } & WeekContext): string {
  const kinds = w.kinds.map(k => `${k.kind} ${k.thisWeek}${k.usual !== undefined ? ` (usually ${Number.isInteger(k.usual) ? k.usual : k.usual.toFixed(1)})` : ''}`)
  return `This week in ${w.hood}: ${kinds.length > 0 ? kinds.join(', ') : 'no posts'}${w.enoughHistory ? '' : ' (not enough history yet for a usual week)'}`
}

/** One post as people read it in a terminal; `requests` are the ids of agency requests, to say a reply answers one. */
function postLines (p: FeedPost, requests: ReadonlySet<string> = new Set()): string {
  const fp = p.lookAlike === true ? ` [${p.authorFingerprint}]` : ''
  const former = p.authorFormerName !== undefined ? ` (formerly ${p.authorFormerName})` : ''
  const agency = (p.vouchedBy ?? []).length === 0
    ? `UNVERIFIED agency "${p.authorName ?? '?'}" [${p.authorFingerprint}] (no admin of your neighborhoods vouched for it)`
    : `agency ${p.authorName ?? '?'}${fp} (vouched by ${p.vouchedBy!.join(', ')})`
  const who = p.channel === 'private'
    ? `${p.authorName ?? p.author.slice(0, 8)}${fp}${former}`
    : p.channel === 'rfa' ? agency : `neighbor #${p.author.slice(0, 6)}${p.authorName !== undefined ? ` (${p.authorName})` : ''}`
  const where = [p.hood, p.area !== undefined ? `area ${p.area}` : undefined, p.location !== undefined ? `@${p.location}` : undefined].filter(Boolean).join(' ')
  const media = p.media.length > 0 ? `  [${p.media.length} clip${p.media.length > 1 ? 's' : ''}]` : ''
  const thread = p.replyTo === undefined ? '' : `\n    ↳ reply to ${requests.has(p.replyTo) ? 'request' : 'post'} ${p.replyTo.slice(0, 16)}`
  return `${when(p.created)}  ${p.kind.toUpperCase().padEnd(10)} ${who}${where !== '' ? `  (${where})` : ''}${media}\n    ${p.text.replace(/\p{Cc}/gu, ' ')}\n    id ${p.id.slice(0, 16)}  expires ${when(p.expires)}${p.channel !== 'private' ? `  ${p.channel}` : ''}${p.publicId !== undefined ? `  (also public: ${p.publicId.slice(0, 16)})` : ''}${thread}`
}

/** The ids of the agency requests among `posts`. */
function requestIds (posts: readonly FeedPost[]): Set<string> {
  return new Set(posts.filter(p => p.channel === 'rfa').map(p => p.id))
}

/** Who will be able to read a reply, in one sentence (said before it is sent). */
function audienceText (a: ReplyAudience, unverified: boolean, withClip = false): string {
  if (a.mode === 'private') return `Only members of ${a.hood ?? 'your neighborhood'} will read this reply (sealed for the neighborhood; no agency sees it).`
  if (a.mode === 'public') return `Everyone following area ${a.area ?? '?'} will read this reply, agencies included, under your pseudonym for that area (not your name).`
  return `Only ${unverified ? 'the UNVERIFIED agency ' : ''}${a.agency?.name ?? '?'} [${a.agency?.fingerprint ?? '?'}] can open this reply; relays and everyone else on area ` +
    `${a.area ?? '?'} see an opaque padded box. It does not carry your name.` +
    (withClip ? ' With a clip, your neighborhood\'s relay sees this device keep it just before the box appears and the agency fetch it later: it can tell that someone of your neighborhood using this device answered that agency (not what was said).' : '')
}

interface RelayConfig {
  data?: string, host?: string, tcp?: number, ws?: number, http?: number, serve?: string[], areas?: string[], peers?: string[], web?: string, caps?: CapsInit,
  tlsCert?: string, tlsKey?: string, announce?: string[], webOrigin?: string, mapTiles?: string, mapAttribution?: string
}

async function readConfig (path: string | undefined): Promise<RelayConfig> {
  if (path === undefined) return {}
  try {
    const c = JSON.parse(await readFile(path, 'utf8')) as RelayConfig
    if (typeof c !== 'object' || c === null || Array.isArray(c)) throw new Error('expected a JSON object')
    return c
  } catch (err) {
    fail('BAD_ARGUMENT', `cannot read config ${path}: ${(err as Error).message}`)
  }
}

export const NETWORK_COMMANDS: Record<string, Command> = {
  relay: {
    summary: 'Run a community relay (stores ciphertext it cannot read; serves health, metrics, the web app)',
    usage: '[--data DIR] [--serve TOKEN ...] [--area GEOHASH ...] [--peer MULTIADDR ...] [--tcp PORT] [--ws PORT] [--http PORT] [--host IP] ' +
      '[--announce MULTIADDR ...] [--tls-cert FILE --tls-key FILE] [--web-origin URL] [--map-tiles URL [--map-attribution TEXT]] [--config FILE] [caps: --max-connections N --max-conns-per-ip N ...]',
    help: `Defaults: data in ${RELAY_HELP_DEFAULTS.dataDir}, TCP ${RELAY_HELP_DEFAULTS.tcpPort}, WebSockets ${RELAY_HELP_DEFAULTS.wsPort}, HTTP ${RELAY_HELP_DEFAULTS.httpPort} on ${RELAY_HELP_DEFAULTS.host}. ` +
      'Port 0 picks a free port; the relay prints the addresses it listens on. Tokens and areas it was given are remembered in the data folder. ' +
      'With --tls-cert and --tls-key the HTTP port serves HTTPS and the WebSockets port WSS (/tls/ws): browsers need a secure context ' +
      '(or put a reverse proxy such as Caddy in front; see the README). --announce gives the public addresses peers are told ' +
      '(behind a router or proxy); give members those for `hood create --relay`. --web-origin (derived from the first --announce host ' +
      'when there is a certificate) is reported in /health as webOrigin, the base of invite links. ' +
      '--map-tiles offers the web app\'s map a street map (a Leaflet tile template; each resident turns it on, being told the tile ' +
      'server learns which area they look at). ' +
      'The config file is JSON: {"data","host","tcp","ws","http","serve":[],"areas":[],"peers":[],"web","tlsCert","tlsKey","announce":[],"webOrigin","mapTiles","mapAttribution",' +
      '"caps":{"maxConnections","maxConnectionsPerIp",...}}. ' +
      'The caps bound what strangers can make the relay hold; /metrics counts what they refuse. Stops cleanly on Ctrl-C / SIGTERM.',
    options: {
      data: { type: 'string', value: 'DIR', help: `data folder (default ${RELAY_HELP_DEFAULTS.dataDir})` },
      serve: { type: 'string', multiple: true, value: 'TOKEN', help: 'relay token of a neighborhood to serve' },
      area: { type: 'string', multiple: true, value: 'GEOHASH', help: 'public area channel to serve' },
      peer: {
        type: 'string',
        multiple: true,
        value: 'MULTIADDR',
        help: 'another relay to stay connected to, reconcile with and mirror (trusted: what it holds of epochs a rekey closed is taken as history, and what it gives skips the per-address limits on area channels)'
      },
      tcp: { type: 'string', value: 'PORT', help: `TCP port (default ${RELAY_HELP_DEFAULTS.tcpPort})` },
      ws: { type: 'string', value: 'PORT', help: `WebSockets port (default ${RELAY_HELP_DEFAULTS.wsPort})` },
      http: { type: 'string', value: 'PORT', help: `HTTP port for /health, /metrics and the web app (default ${RELAY_HELP_DEFAULTS.httpPort})` },
      host: { type: 'string', value: 'IP', help: `interface to listen on (default ${RELAY_HELP_DEFAULTS.host})` },
      announce: { type: 'string', multiple: true, value: 'MULTIADDR', help: 'a public address to announce instead of the listening ones, e.g. /dns4/porch.example.org/tcp/4001 (repeatable)' },
      'tls-cert': { type: 'string', value: 'FILE', help: 'PEM certificate (chain): serve HTTPS and WSS (with --tls-key)' },
      'tls-key': { type: 'string', value: 'FILE', help: 'PEM private key of --tls-cert' },
      'web-origin': { type: 'string', value: 'URL', help: 'where browsers open the web app, e.g. https://porch.example.org (in /health; the base of invite links)' },
      'map-tiles': { type: 'string', value: 'URL', help: 'street map tiles for the web app\'s map, e.g. https://tile.openstreetmap.org/{z}/{x}/{y}.png (mind the tile server\'s usage policy)' },
      'map-attribution': { type: 'string', value: 'TEXT', help: 'the attribution the tiles require, e.g. "© OpenStreetMap contributors"' },
      config: { type: 'string', value: 'FILE', help: 'JSON config file (flags win over it)' },
      ...CAPS_OPTIONS
    },
    async run (ctx) {
      const c = await readConfig(ctx.string('config'))
      const { capsFrom } = await import('./caps.ts')
      const caps = capsFrom(ctx, c.caps)
      // A relay keeps serving: a stray rejection from a peer's broken stream is logged, not fatal.
      process.on('unhandledRejection', (err) => {
        ctx.io.stderr.write(`${new Date().toISOString()} unhandled error (relay keeps running): ${(err as Error)?.message ?? String(err)}\n`)
      })
      const webDir = c.web ?? packagePath('web/dist')
      const certFile = ctx.string('tls-cert') ?? c.tlsCert
      const keyFile = ctx.string('tls-key') ?? c.tlsKey
      const { loadTls } = await import('../relay/tls.ts')
      const tls = certFile !== undefined || keyFile !== undefined ? await loadTls(certFile, keyFile, ctx.now()) : undefined
      const announce = await parseRelays([...(ctx.strings('announce').length > 0 ? ctx.strings('announce') : c.announce ?? [])], '--announce')
      const { Relay, RELAY_DEFAULTS } = await loadStack()
      const httpPort = port(ctx, 'http', c.http ?? RELAY_DEFAULTS.httpPort)
      const { derivedWebOrigin, parseWebOrigin } = await import('./web-origin.ts')
      const originGiven = ctx.string('web-origin') ?? c.webOrigin
      const webOrigin = originGiven !== undefined
        ? parseWebOrigin(originGiven)
        : tls !== undefined && httpPort !== 0 ? derivedWebOrigin(announce, httpPort) : undefined
      const tileUrl = ctx.string('map-tiles') ?? c.mapTiles
      const attribution = ctx.string('map-attribution') ?? c.mapAttribution
      const { checkMapTiles } = await import('../../protocol/map-tiles.ts')
      const mapTiles = tileUrl !== undefined ? checkMapTiles({ url: tileUrl, ...(attribution !== undefined ? { attribution } : {}) }) : undefined
      const dataDir = ctx.string('data') ?? c.data ?? RELAY_DEFAULTS.dataDir
      const relay = await Relay.start({
        dataDir,
        host: ctx.string('host') ?? c.host ?? RELAY_DEFAULTS.host,
        tcpPort: port(ctx, 'tcp', c.tcp ?? RELAY_DEFAULTS.tcpPort),
        wsPort: port(ctx, 'ws', c.ws ?? RELAY_DEFAULTS.wsPort),
        httpPort,
        tokens: [...(c.serve ?? []), ...ctx.strings('serve')],
        areas: [...(c.areas ?? []), ...ctx.strings('area')],
        peers: [...(c.peers ?? []), ...ctx.strings('peer')],
        webDir,
        caps,
        ...(tls !== undefined ? { tls: { cert: tls.cert, key: tls.key } } : {}),
        ...(announce.length > 0 ? { announce } : {}),
        ...(webOrigin !== undefined ? { webOrigin } : {}),
        ...(mapTiles !== undefined ? { mapTiles } : {}),
        log: (line) => { ctx.io.stderr.write(`${new Date().toISOString()} ${line}\n`) }
      }).catch(async (err: unknown) => { throw await relayInUse(err, dataDir) }) // one line when the folder is in use
      const forgetPid = await noteRelayPid(dataDir)
      const addresses = relay.addresses().map(String)
      const listening = relay.listening().map(String)
      ctx.out.result({
        peerId: relay.node.peerId.toString(), addresses, http: relay.httpUrl,
        ...(announce.length > 0 ? { listening } : {}), ...(webOrigin !== undefined ? { webOrigin } : {})
      }, [
        `porchlight relay ${relay.node.peerId.toString()}`,
        ...(announce.length > 0 ? [...listening.map(a => `  listening ${a}`), ...addresses.map(a => `  announcing ${a}`)] : addresses.map(a => `  listening ${a}`)),
        `  http ${relay.httpUrl}  (/health, /metrics)`,
        ...(tls !== undefined ? [`  certificate for ${tls.names}, valid until ${new Date(tls.validTo).toISOString().slice(0, 10)}`] : []),
        ...(webOrigin !== undefined ? [`  web app ${webOrigin}  (invite links: hood invite --web-origin ${webOrigin})`] : existsSync(join(webDir, 'index.html')) ? [`  web app ${relay.httpUrl}/`] : [])
      ])
      const sig = await untilSignal()
      ctx.io.stderr.write(`${new Date().toISOString()} ${sig}: stopping\n`)
      await relay.stop()
      await forgetPid()
    }
  },

  post: {
    summary: 'Post an alert to your neighborhood (returns once a relay has stored it)',
    usage: '--kind KIND --text TEXT [--public [--show-name]] [--geohash G | --lat LAT --lon LON] [--precision N] [--ttl DURATION] [--reply-to ID] [--hood NAME_OR_ID] [--clip FILE]',
    help: `Kinds: ${POST_KINDS.join(', ')}. The post is signed and encrypted for the neighborhood; with --public a copy goes to ` +
      'the area\'s public channel, signed with your pseudonym for that area (agencies see it; your name only with --show-name). ' +
      `The public copy goes out after a random delay of up to ${HELP_FIGURES.maxPublicDelayMs / 1000} s, dated then, from a one-time peer id, so a relay ` +
      'cannot match it to your private post; the command waits for a relay to acknowledge it and says whether one did. ' +
      `Locations are geohashes, cut to --precision characters (default: the neighborhood's setting, \`hood settings\`, at first the area's length; 6 is about 1.2 km; at most ${MAX_POST_PRECISION}). ` +
      `Posts expire after --ttl (default ${DEFAULT_TTL_MS / 86_400_000}d, or what the neighborhood's admins chose with \`hood settings --post-ttl\`). If no relay acknowledges the post, it stays in the outbox ` +
      'and is sent the next time you post, read the feed or watch. ' +
      '--clip attaches a photo (JPEG, PNG, WebP) or video (MP4, MOV): its metadata (GPS, camera, times) is removed, it is ' +
      'encrypted, and the neighborhood\'s relays keep it until the post expires; with --public, agencies can view it too.\n\n' +
      `${FAIR_POSTING_LIMITS} A post it holds is not sent (exit 1, code HELD), and the message says what to add.`,
    options: {
      kind: { type: 'string', value: 'KIND', help: 'what kind of alert' },
      text: { type: 'string', value: 'TEXT', help: 'the alert text (at most 2000 bytes)' },
      public: { type: 'boolean', help: 'also share it on the area\'s public channel' },
      'show-name': { type: 'boolean', help: 'show your name on the public copy' },
      geohash: { type: 'string', value: 'G', help: 'location as a geohash' },
      lat: { type: 'string', value: 'LAT', help: 'latitude (with --lon)' },
      lon: { type: 'string', value: 'LON', help: 'longitude (with --lat)' },
      precision: { type: 'string', value: 'N', help: `geohash characters to keep, 1..${MAX_POST_PRECISION} (default: the neighborhood's setting)` },
      ttl: ttlOption('lifetime', DEFAULT_TTL_MS, MAX_TTL_MS),
      'reply-to': { type: 'string', value: 'ID', help: 'the post this replies to: its id as `feed` prints it (8 or more hex digits) or whole' },
      clip: { type: 'string', value: 'FILE', help: 'attach a photo or video (metadata removed, encrypted)' },
      hood: HOOD_OPTION,
      relay: RELAY_OPTION
    },
    async run (ctx) {
      const kind = ctx.required('kind')
      if (!(POST_KINDS as readonly string[]).includes(kind)) fail('BAD_ARGUMENT', `--kind must be one of: ${POST_KINDS.join(', ')}`)
      const text = ctx.required('text')
      // Before the peer opens: a held post is neither stored nor sent.
      const fair = checkFairPosting({ kind, text })
      if (!fair.ok) fail('HELD', `not sent: ${fair.explanation} Missing: ${missingWords(fair)}.`)
      const precision = ctx.string('precision') !== undefined ? Number(ctx.string('precision')) : undefined
      if (precision !== undefined && (!Number.isInteger(precision) || precision < 1 || precision > MAX_POST_PRECISION)) {
        fail('BAD_ARGUMENT', `--precision must be 1..${MAX_POST_PRECISION}`)
      }
      const geohash = ctx.string('geohash')
      if (geohash !== undefined) checkGeohash(geohash, 12, '--geohash')
      const lat = ctx.string('lat')
      const lon = ctx.string('lon')
      if ((lat === undefined) !== (lon === undefined)) fail('BAD_ARGUMENT', '--lat and --lon go together')
      const replyRef = ctx.string('reply-to')
      // Without --ttl, the lifetime the neighborhood's admins chose (`hood settings`, announced to every member).
      const ttlMs = parseTtl(ctx, hoodSettings(await (await ctx.home()).resolveHood(ctx.string('hood'))).postTtlMs, MAX_TTL_MS)
      const peer = await openPeer(ctx)
      const { findPost } = await loadStack()
      try {
        // The short id `feed` prints (any unique prefix of 8 or more hex digits) or a whole one.
        const replyTo = replyRef === undefined || /^[0-9a-f]{64}$/.test(replyRef)
          ? replyRef
          : (await findPost(peer, replyRef))?.id ?? fail('NOT_FOUND', `--reply-to: no post ${replyRef.slice(0, 16)} in your feed`)
        const now = ctx.now()
        const clipFile = ctx.string('clip')
        const clip = clipFile === undefined
          ? undefined
          : await attachWithProgress(ctx, peer, clipFile, { ...(ctx.string('hood') !== undefined ? { hood: ctx.string('hood')! } : {}), now, expires: now + ttlMs })
        // Up to 30 s without a word looks like a hang, and Ctrl-C then would drop the public copy.
        if (ctx.flag('public')) {
          ctx.out.note(`Sending; the public copy follows after a random delay of up to ${HELP_FIGURES.maxPublicDelayMs / 1000} s ` +
            '(so that a relay cannot match it to this post): let this finish.')
        }
        const outcome = await peer.post({
          kind: kind as typeof POST_KINDS[number],
          text,
          ttlMs,
          ...(precision !== undefined ? { precision } : {}),
          ...(geohash !== undefined ? { geohash } : {}),
          ...(lat !== undefined && lon !== undefined ? { lat: Number(lat), lon: Number(lon) } : {}),
          ...(replyTo !== undefined ? { replyTo: Uint8Array.from(Buffer.from(replyTo, 'hex')) } : {}),
          ...(ctx.string('hood') !== undefined ? { hood: ctx.string('hood')! } : {}),
          public: ctx.flag('public'),
          showName: ctx.flag('show-name'),
          ...(clip !== undefined ? { media: [clip.media] } : {}),
          now
        })
        if (!outcome.result.ok) {
          const pub = outcome.publicId === undefined ? '' : outcome.publicResult?.ok === true ? '; its public copy was acknowledged' : '; its public copy was not sent either'
          throw new PorchlightError(outcome.result.code ?? 'UNAVAILABLE',
            `not sent: ${outcome.result.message ?? 'no relay acknowledged it'}; kept in the outbox (id ${outcome.id.slice(0, 16)})${pub}`)
        }
        const publicSent = outcome.publicResult?.ok === true
        if (outcome.publicResult !== undefined && !publicSent) {
          ctx.out.note(`The public copy was not sent: ${outcome.publicResult.code ?? ''} ${outcome.publicResult.message ?? ''} ` +
            '(a relay must serve the area: give it a new token (`hood relay-token` names the area), or run it with --area); ' +
            'it is kept and tried again, from a new peer id, with your next public post.')
        }
        const publicText = outcome.publicId === undefined
          ? ''
          : publicSent
            ? ` (public copy ${outcome.publicId.slice(0, 16)} acknowledged by ${outcome.publicAckedBy ?? 'a relay'})`
            : ' (public copy NOT sent)'
        ctx.out.result({
          id: outcome.id,
          publicId: outcome.publicId ?? null,
          publicSent,
          /** 'acknowledged' once a relay stored the public copy, 'not sent' otherwise; null without --public. */
          publicCopy: outcome.publicId === undefined ? null : publicSent ? 'acknowledged' : 'not sent',
          publicRelay: outcome.publicAckedBy ?? null,
          relay: outcome.ackedBy ?? null,
          ...(clip !== undefined ? { clip: { cid: clip.media.cid, mime: clip.media.mime, size: clip.media.size, pinnedBy: clip.pinnedBy } } : {})
        },
          `Sent ${outcome.id.slice(0, 16)}${publicText}; stored by ${outcome.ackedBy ?? 'a relay'}`)
      } finally {
        await peer.stop()
      }
    }
  },

  reply: {
    summary: 'Reply to a post or an agency\'s request: in your neighborhood, in public, or sealed to the agency',
    usage: 'POST_ID --text TEXT [--public | --sealed] [--clip FILE]',
    help: 'POST_ID is any unique prefix of 8 or more hex digits of a post in your feed (as `feed` prints it). Nothing is ever ' +
      'sent for you: each reply is one command. Before it is sent, the command says who will read it. Without a flag the reply ' +
      'is a private post in your neighborhood (members only; no agency sees it). --public puts it on the area\'s public channel ' +
      `under your pseudonym for that area (after a random delay of up to ${HELP_FIGURES.maxPublicDelayMs / 1000} s, from a one-time peer id); not for private posts. ` +
      '--sealed (agency requests only) seals it to the key of the agency that signed the request: only that agency can open it, ' +
      'it does not carry your name, and it is padded to 1 or 4 KiB, so relays and other readers of the area learn nothing from it. ' +
      '--clip attaches a photo or video (metadata removed, encrypted; your neighborhood\'s relays keep it until the reply expires); ' +
      'its key travels only inside the reply, so with --sealed only the agency can view it.',
    args: { min: 1, max: 1 },
    options: {
      text: { type: 'string', value: 'TEXT', help: 'the reply (at most 2000 bytes)' },
      public: { type: 'boolean', help: 'reply on the area\'s public channel (anyone following the area reads it)' },
      sealed: { type: 'boolean', help: 'seal the reply to the agency that made the request (only it can read it)' },
      clip: { type: 'string', value: 'FILE', help: 'attach a photo or video (metadata removed, encrypted)' },
      relay: RELAY_OPTION
    },
    async run (ctx) {
      if (ctx.flag('public') && ctx.flag('sealed')) throw new UsageError('reply: --public and --sealed exclude each other (public: everyone on the area; sealed: only the agency)')
      const text = ctx.required('text')
      const mode: ReplyMode = ctx.flag('sealed') ? 'sealed' : ctx.flag('public') ? 'public' : 'private'
      const ref = ctx.args[0]!
      const peer = await openPeer(ctx)
      try {
        let target
        try {
          target = await peer.replyTarget(ref, mode)
        } catch (err) {
          if (!(err instanceof PorchlightError && err.code === 'NOT_FOUND')) throw err
          // Not here yet: catch up once, then ask again.
          await peer.sync()
          target = await peer.replyTarget(ref, mode)
        }
        // Said before anything is sent, even with --json: who reads a reply is the one thing to know before it leaves.
        const clipFile = ctx.string('clip')
        ctx.out.warn(audienceText(target.audience, target.post.channel === 'rfa' && (target.post.vouchedBy ?? []).length === 0, clipFile !== undefined))
        const now = ctx.now()
        const clip = clipFile === undefined
          ? undefined
          : await attachWithProgress(ctx, peer, clipFile, { hood: toHex(target.hood.hood.id), now, expires: now + DEFAULT_TTL_MS })
        if (mode !== 'private') {
          ctx.out.note(`Sending after a random delay of up to ${HELP_FIGURES.maxPublicDelayMs / 1000} s, from a one-time peer id: let this finish.`)
        }
        const outcome = await peer.reply({ to: target.post.id, text, mode, now, ...(clip !== undefined ? { media: [clip.media] } : {}) })
        if (!outcome.result.ok) {
          const kept = mode === 'private' ? `kept in the outbox (id ${outcome.id.slice(0, 16)})` : mode === 'public' ? 'kept, and tried again with your next public post' : 'nothing was kept: run it again'
          throw new PorchlightError(outcome.result.code ?? 'UNAVAILABLE', `reply not sent: ${outcome.result.message ?? 'no relay acknowledged it'}; ${kept}`)
        }
        ctx.out.result({
          id: outcome.id,
          replyTo: target.post.id,
          mode,
          audience: outcome.audience,
          relay: outcome.relay ?? null,
          ...(clip !== undefined ? { clip: { cid: clip.media.cid, mime: clip.media.mime, size: clip.media.size, pinnedBy: clip.pinnedBy } } : {})
        }, `Replied ${outcome.id.slice(0, 16)} to ${target.post.id.slice(0, 16)} (${mode}); stored by ${outcome.relay ?? 'a relay'}`)
      } finally {
        await peer.stop()
      }
    }
  },

  'settings rfa': {
    summary: 'Show agencies\' requests for assistance in your feed and watch (on, the default) or never (off)',
    usage: '[on|off]',
    help: 'One switch for this home: off, requests for your areas are never shown or notified (feed, watch, the web app\'s feed); ' +
      'on shows them again. Until you choose, your neighborhoods\' admins decide (`hood settings --rfas-for-new-members`: hidden ' +
      'if any of your neighborhoods hides them). Without an argument, prints the switch in force.',
    args: { min: 0, max: 1 },
    async run (ctx) {
      const value = ctx.args[0]
      if (value !== undefined && value !== 'on' && value !== 'off') throw new UsageError(`settings rfa: "${value.slice(0, 20)}" is neither on nor off`)
      const peer = await ctx.openPeer({ now: () => ctx.now() })
      try {
        if (value !== undefined) await peer.updateSettings({ rfa: value === 'on' })
        const on = await peer.showsRequests()
        // Never chosen: the neighborhoods' default for new members (`hood settings --rfas-for-new-members`).
        const why = peer.settings().rfa === undefined ? ' (your neighborhood\'s default; you have not chosen)' : ''
        ctx.out.result({ rfa: on ? 'on' : 'off' }, on ? `Agency requests are shown${why}.` : `Agency requests are not shown${why} (porchlight settings rfa on shows them).`)
      } finally {
        await peer.stop()
      }
    }
  },

  retract: {
    summary: 'Take back one of your posts before it expires, its public copy too',
    usage: 'POST_ID',
    help: 'POST_ID is the id `post` or `feed` printed (8 or more hex digits, or whole). The post leaves your feed at once; ' +
      'relays check a secret only your home kept (sealed in the post as a hash), delete the post and keep a small tombstone ' +
      'until it would have expired, so members\' and agencies\' feeds drop it and sync never brings it back. The public ' +
      `copy is retracted too, after a random delay of up to ${HELP_FIGURES.maxPublicDelayMs / 1000} s from a one-time peer id ` +
      '(so that the two retractions cannot be matched). Posts from before retractions existed cannot be retracted.',
    args: { min: 1, max: 1 },
    options: { relay: RELAY_OPTION },
    async run (ctx) {
      const ref = ctx.args[0]!
      const peer = await openPeer(ctx)
      try {
        const outcome = await peer.retract(ref)
        if (!outcome.result.ok) {
          throw new PorchlightError(outcome.result.code ?? 'UNAVAILABLE',
            `retracted here, but no relay took the retraction: ${outcome.result.message ?? ''}; it is kept in the outbox and sent again`)
        }
        const publicOk = outcome.publicResult?.ok === true
        if (outcome.publicResult !== undefined && !publicOk) {
          ctx.out.note(`The public copy's retraction was not sent: ${outcome.publicResult.code ?? ''} ${outcome.publicResult.message ?? ''} (run retract again)`)
        }
        ctx.out.result({
          id: outcome.id,
          relay: outcome.relay ?? null,
          publicId: outcome.publicId ?? null,
          publicRetracted: outcome.publicId === undefined ? null : publicOk,
          publicRelay: outcome.publicRelay ?? null
        }, `Retracted ${outcome.id.slice(0, 16)}${outcome.publicId !== undefined ? (publicOk ? ' and its public copy' : ' (public copy NOT retracted)') : ''}`)
      } finally {
        await peer.stop()
      }
    }
  },

  feed: {
    summary: 'Catch up with your relays, then print the feed (newest first)',
    usage: '[--kind KIND] [--since ISO_TIME|MS] [--no-sync] [--limit N]',
    options: {
      kind: { type: 'string', value: 'KIND', help: 'only this kind' },
      since: { type: 'string', value: 'TIME', help: 'only posts created since (ISO time or ms)' },
      limit: { type: 'string', value: 'N', help: 'at most N posts (default 100)' },
      'no-sync': { type: 'boolean', help: 'print what is stored locally without asking a relay' },
      relay: RELAY_OPTION
    },
    async run (ctx) {
      const since = parseSince(ctx.string('since'))
      const limit = Number(ctx.string('limit') ?? 100)
      if (!Number.isInteger(limit) || limit < 1) fail('BAD_ARGUMENT', '--limit must be a positive integer')
      const peer = await openPeer(ctx)
      try {
        let synced = 0
        let relayAnswered = false
        if (!ctx.flag('no-sync')) {
          await peer.flushOutbox()
          const stats = await peer.sync()
          synced = stats.reduce((n, s) => n + s.received, 0)
          relayAnswered = stats.length > 0
          if (stats.length === 0 && peer.relays().length > 0) ctx.out.note('No relay answered; showing what is stored here.')
        }
        await peer.sweep()
        const ended = await peer.ended()
        for (const e of ended) {
          ctx.out.note(e.reason === 'left'
            ? `You left ${e.hood} on ${when(e.at)}.`
            : `You were removed from ${e.hood} on ${when(e.at)} (an admin started epoch ${e.epoch} without you): you no longer see its new posts or can post there.`)
        }
        const posts = (await peer.feed({ ...(ctx.string('kind') !== undefined ? { kind: ctx.string('kind')! } : {}), ...(since !== undefined ? { since } : {}) })).slice(0, limit)
        // This week beside the usual week, per neighborhood still followed (a busy week is not a crime wave).
        const weeks: Array<{ hood: string } & WeekContext> = []
        for (const h of await (await ctx.home()).hoods()) if (h.ended === undefined) weeks.push({ hood: h.hood.name, ...await peer.weekContext(toHex(h.hood.id)) })
        // relayAnswered: whether this feed is fresh from a relay (false: what is stored here, maybe stale).
        const requests = requestIds(posts)
        ctx.out.result({ posts, synced, relayAnswered, outbox: await peer.outboxSize(), ended, weeks },
          [...weeks.map(weekLine), posts.length === 0 ? 'No posts.' : posts.map(p => postLines(p, requests)).join('\n')].join('\n'))
      } finally {
        await peer.stop()
      }
    }
  },

  watch: {
    summary: 'Print new posts as they arrive (until Ctrl-C)',
    usage: '[--relay MULTIADDR]',
    help: 'Catches up first, then prints each new post; with --json, one JSON object per line. While it runs it holds the ' +
      'home: post, feed, clip get, agency feed|rfa and the hood commands that use the network, typed in other terminals, ' +
      'run inside it (through HOME/porchlight.sock), and a second watch, hood join|create, id create|rename and agency create|follow|unfollow ' +
      'are refused until it stops.',
    options: { relay: RELAY_OPTION },
    async run (ctx) {
      const peer = await openPeer(ctx)
      let holder: { close: () => Promise<void> } | undefined
      try {
        // Other commands for this home run here, with this peer (daemon.ts).
        holder = await holdHome({ homeDir: ctx.homeDir, holder: 'watch', peer, io: ctx.io, run: async (argv, io) => await (await import('./main.ts')).main(argv, io) })
          .catch((err: unknown) => { ctx.out.warn(`other commands for this home cannot run while it watches: ${(err as Error).message}`); return undefined })
        peer.onPost((p) => { ctx.out.result(p, postLines(p)) })
        await peer.flushOutbox()
        await peer.sync()
        // Said on stderr even with --json: a watch that silently lost its relays shows nothing.
        peer.stayConnected((event, relay) => {
          ctx.out.warn(event === 'lost' ? `lost the relay ${relay}: reconnecting…` : `reconnected to the relay ${relay}; caught up`)
        })
        ctx.out.note('Watching; Ctrl-C to stop.')
        await untilSignal()
      } finally {
        await holder?.close()
        await peer.stop()
      }
    }
  },

  'hood announce': {
    summary: 'Announce yourself to a neighborhood you joined (done by `hood join` when a relay is reachable)',
    usage: '[--hood NAME_OR_ID]',
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      const peer = await openPeer(ctx)
      try {
        const r = await peer.announceJoin(ctx.string('hood'))
        if (!r.ok) throw new PorchlightError(r.code ?? 'UNAVAILABLE', `announcement not sent: ${r.message ?? 'no relay'}; kept in the outbox`)
        ctx.out.result({ announced: true }, 'Announced to the neighborhood.')
      } finally {
        await peer.stop()
      }
    }
  },

  'id rename': {
    summary: 'Change your display name and tell your neighborhoods',
    usage: 'NAME',
    help: 'Keeps your keys (and so your fingerprint); members see the new name with the former one beside it for ' +
      '30 days, so a rename cannot quietly pass for someone else.',
    args: { min: 1, max: 1 },
    options: { relay: RELAY_OPTION },
    async run (ctx) {
      const home = await ctx.home()
      const old = await home.requireIdentity()
      const renamed = await createIdentity(ctx.args[0]!, { seed: old.seed, boxSecret: old.boxSecret })
      await home.saveIdentity(renamed, { force: true })
      const told: string[] = []
      await withPeer(ctx, async peer => {
        for (const h of await home.hoods()) {
          if (h.ended !== undefined) continue
          if ((await peer.announceJoin(toHex(h.hood.id))).ok) told.push(h.hood.name)
        }
      })
      ctx.out.result({ name: renamed.public.name, formerName: old.public.name, told },
        `Renamed ${old.public.name} to ${renamed.public.name}${told.length > 0 ? `; told ${told.join(', ')}` : ''}.`)
    }
  },

  'hood approve': {
    summary: 'Approve a member who joined from a member\'s invite (admins), so new epochs include them',
    usage: 'MEMBER [--hood NAME_OR_ID]',
    help: 'Only admins\' invites admit a newcomer by themselves; someone invited by a member reads the epoch they were ' +
      'invited to and waits for an admin. Compare their fingerprint (porchlight hood members) before you approve.',
    args: { min: 1, max: 1 },
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      await withPeer(ctx, async peer => {
        await peer.sync()
        const r = await peer.approveMember(ctx.args[0]!, ctx.string('hood'))
        noteUnsent(ctx, 'The approval', r.result)
        ctx.out.result({ hood: toHex((await peer.home.resolveHood(ctx.string('hood'))).hood.id), member: { name: r.member.name, signKey: toHex(r.member.signKey), admitted: true }, sent: r.result.ok },
          `Approved ${r.member.name}: the next epoch includes them.`)
      })
    }
  },

  'hood add-admin': {
    summary: 'Make an admitted member an admin too (admins); a new epoch carries the change to everyone',
    usage: 'MEMBER [--hood NAME_OR_ID]',
    args: { min: 1, max: 1 },
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      await withPeer(ctx, async peer => {
        await peer.sync()
        const r = await peer.addAdmin(ctx.args[0]!, ctx.string('hood'))
        const state = await peer.home.resolveHood(ctx.string('hood'))
        const admin = state.hood.admins[state.hood.admins.length - 1]!
        noteUnsent(ctx, 'The new epoch', r.result)
        ctx.out.result({ hood: toHex(state.hood.id), admin: toHex(admin), epoch: r.epoch, sent: r.result.ok },
          `Now ${state.hood.admins.length} admins; epoch ${r.epoch} carries the change.`)
      })
    }
  },

  'hood leave': {
    summary: 'Leave a neighborhood: stop reading and posting here, and ask an admin to close your keys',
    usage: '[--hood NAME_OR_ID]',
    help: 'You stop posting at once and the neighborhood is told. Until an admin starts a new epoch (any rekey, e.g. ' +
      '`porchlight hood remove`), your old keys would still open new posts: the admins see you among the departures.',
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      await withPeer(ctx, async peer => {
        const state = await peer.home.resolveHood(ctx.string('hood'))
        const r = await peer.leave(ctx.string('hood'))
        noteUnsent(ctx, 'The notice', r)
        ctx.out.result({ hood: toHex(state.hood.id), sent: r.ok }, `Left ${state.hood.name}. An admin closes your keys with the next epoch.`)
      })
    }
  },

  'hood attestations': {
    summary: 'List the agency attestations you issued for a neighborhood (and whether they were revoked)',
    usage: '[--hood NAME_OR_ID]',
    options: { hood: HOOD_OPTION },
    async run (ctx) {
      const state = await (await ctx.home()).resolveHood(ctx.string('hood'))
      const list = await issuedAttestations(state, ctx.now())
      ctx.out.result({ hood: toHex(state.hood.id), attestations: list.map(({ bytes: _, ...shown }) => shown) }, list.length === 0
        ? 'No attestations issued here (porchlight hood attest-agency).'
        : list.map(a => `${a.id.slice(0, 12)}  ${a.name}  agency ${a.agencyFingerprint}  area ${a.area}  until ${when(a.expires)}${a.revoked ? '  (revoked)' : ''}`))
    }
  },

  'hood revoke-agency': {
    summary: 'Withdraw an attestation for an agency (admins)',
    usage: 'ATTESTATION|AGENCY_FINGERPRINT|ID_PREFIX [--hood NAME_OR_ID]',
    help: 'Give the plattest:… string, the agency\'s fingerprint, or an id prefix as `hood attestations` prints it. ' +
      'Members stop counting it in `vouchedBy`; the agency\'s requests show as unverified unless another admin vouches.',
    args: { min: 1, max: 1 },
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      const ref = ctx.args[0]!
      const state = await (await ctx.home()).resolveHood(ctx.string('hood'))
      let targets: Uint8Array[]
      if (ref.trim().startsWith('plattest:')) {
        targets = [parseAttestationString(ref)]
      } else {
        targets = (await findIssuedAttestations(state, ref, ctx.now())).map(a => a.bytes)
      }
      await withPeer(ctx, async peer => {
        const sent: boolean[] = []
        for (const bytes of targets) {
          const r = await peer.revokeAttestation(bytes, ctx.string('hood'))
          noteUnsent(ctx, 'The revocation', r)
          sent.push(r.ok)
        }
        ctx.out.result({ hood: toHex(state.hood.id), attestations: targets.map(b => toHex(attestationId(b))), sent: sent.every(Boolean) },
          `Revoked ${targets.length} attestation${targets.length > 1 ? 's' : ''}.`)
      })
    }
  },

  'hood remove': {
    summary: 'Remove a member (admins): starts a new epoch that only the others can read',
    usage: 'MEMBER [--hood NAME_OR_ID]',
    help: 'MEMBER is a name, a fingerprint or a signing-key hex prefix (see `porchlight hood members`). The new epoch key is sealed to each ' +
      'remaining admitted member, and its tag key to each of the neighborhood\'s relays; relays then refuse anything the removed ' +
      'member sends, in any epoch. A relay not named in the neighborhood\'s relay list needs a new token (`porchlight hood relay-token`).',
    args: { min: 1, max: 1 },
    options: { hood: HOOD_OPTION, relay: RELAY_OPTION },
    async run (ctx) {
      await withPeer(ctx, async peer => {
        const r = await peer.removeMember(ctx.args[0]!, ctx.string('hood'))
        noteUnsent(ctx, 'The rekey', r.result)
        ctx.out.result({ epoch: r.epoch, remaining: r.remaining, sent: r.result.ok }, `Removed. Epoch ${r.epoch} now, ${r.remaining} member(s) remain.`)
      })
    }
  },

  'agency feed': {
    summary: 'Print the public posts and requests of the followed areas',
    usage: '[--relay MULTIADDR] [--kind KIND] [--no-sync]',
    options: {
      relay: RELAY_OPTION,
      kind: { type: 'string', value: 'KIND', help: 'only this kind' },
      'no-sync': { type: 'boolean', help: 'show what is stored here without asking a relay' }
    },
    async run (ctx) {
      const peer = await caughtUpAgencyPeer(ctx)
      try {
        const posts = await peer.feed(ctx.string('kind') !== undefined ? { kind: ctx.string('kind')! } : {})
        const requests = requestIds(posts)
        ctx.out.result({ posts }, posts.length === 0 ? 'No public posts.' : posts.map(p => postLines(p, requests)).join('\n'))
      } finally {
        await peer.stop()
      }
    }
  },

  'agency replies': {
    summary: 'Print the replies residents sealed to this agency',
    usage: '[--relay MULTIADDR] [--no-sync]',
    help: 'Catches up on the followed areas, then lists the replies only this agency can open, newest first: the request ' +
      'each answers, the text, and its clips (`porchlight clip get ID` fetches one by the reply\'s id). They carry no name ' +
      'unless the resident signed one.',
    options: {
      relay: RELAY_OPTION,
      'no-sync': { type: 'boolean', help: 'show what is stored here without asking a relay' }
    },
    async run (ctx) {
      const peer = await caughtUpAgencyPeer(ctx)
      try {
        const replies = await peer.agencyReplies()
        ctx.out.result({ replies }, replies.length === 0
          ? 'No sealed replies.'
          : replies.map(r => `${when(r.created)}  reply to request ${r.rfa.slice(0, 16)}${r.author !== undefined ? `  from ${r.author.name} [${r.author.fingerprint}]` : ''}` +
            `${r.clips.length > 0 ? `  [${r.clips.length} clip${r.clips.length > 1 ? 's' : ''}]` : ''}\n    ${r.text.replace(/\p{Cc}/gu, ' ')}\n    id ${r.id.slice(0, 16)}`).join('\n'))
      } finally {
        await peer.stop()
      }
    }
  },

  'agency rfa': {
    summary: 'Publish a request for assistance to an area (public, on the record)',
    usage: '--area GEOHASH --text TEXT [--ttl DURATION] [--relay MULTIADDR]',
    options: {
      area: { type: 'string', value: 'GEOHASH', help: `area, 1..${MAX_AREA_PRECISION} characters` },
      text: { type: 'string', value: 'TEXT', help: 'what you are asking residents for' },
      ttl: ttlOption('lifetime', DEFAULT_TTL_MS, MAX_TTL_MS),
      relay: RELAY_OPTION
    },
    async run (ctx) {
      const home = await ctx.home()
      const agency = (await home.agency()) ?? fail('REFUSED', 'not an agency identity: create one with `porchlight agency create --name NAME`')
      const me = await home.requireIdentity()
      const area = checkGeohash(ctx.required('area'), MAX_AREA_PRECISION, '--area')
      // The relays named here first, then those `agency follow --relay` remembered.
      const relays = [...new Set([...await relaysFrom(ctx), ...(agency.relays ?? [])])]
      if (relays.length === 0) fail('BAD_ARGUMENT', 'agency rfa: give --relay MULTIADDR (or set PORCHLIGHT_RELAY, or follow the area with `agency follow AREA --relay MULTIADDR`)')
      const rfa = await sealRfa(me, area, ctx.required('text'), ctx.now(), parseTtl(ctx, DEFAULT_TTL_MS, MAX_TTL_MS), {
        attestations: [...(agency.attestations ?? [])]
      })
      const peer = await openPeer(ctx)
      const { multiaddr, pushMessage } = await loadStack()
      try {
        let last = { ok: false, message: 'no relay' } as { ok: boolean, code?: string, message?: string }
        for (const r of relays) {
          last = await pushMessage(peer.node(), multiaddr(r), areaTopic(area), rfa.bytes)
          if (last.ok) break
        }
        if (!last.ok) fail('UNAVAILABLE', `request not sent: ${last.message ?? 'no relay acknowledged it'}`)
        ctx.out.result({ id: toHex(rfa.id), area }, `Request ${toHex(rfa.id).slice(0, 16)} published to area ${area}.`)
      } finally {
        await peer.stop()
      }
    }
  }
}

function parseSince (v: string | undefined): number | undefined {
  if (v === undefined) return undefined
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
  if (!Number.isFinite(n)) fail('BAD_ARGUMENT', `--since "${v.slice(0, 30)}" is not a time (ISO 8601 or ms)`)
  return n
}
