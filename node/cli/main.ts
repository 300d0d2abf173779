/**
 * The `porchlight` command line: argument parsing, the command table, help, and the one-line
 * error contract. Commands live in COMMANDS below; adding one is one entry (see `Command`).
 *
 *   porchlight [--home DIR] [--json] COMMAND [ARGS] [OPTIONS]
 *
 * Exit codes: 0 success, 1 failure, 2 usage error. An error is ONE line on stderr,
 * `porchlight: <message>` (with --json: `{"error":{"code","message"}}`); a stack trace only
 * with PORCHLIGHT_DEBUG=1. Results go to stdout (shapes documented in node/cli/output.ts), notes
 * for people to stderr.
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'
import { multiaddr } from '@multiformats/multiaddr'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { toHex } from '../../protocol/encoding.ts'
import { createIdentity, fingerprint, type Identity } from '../../protocol/identity.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import { createNeighborhood, isAdmin, newEpochSecret, privateTopic } from '../../protocol/neighborhood.ts'
import { checkRelayAddrs, createInvite, DEFAULT_INVITE_TTL_MS, encodeInvite, MAX_INVITE_TTL_MS, MAX_RELAYS, parseInvite } from '../../protocol/invite.ts'
import { createRelayToken, encodeRelayToken, MAX_OLDER_TAG_KEYS } from '../../protocol/relay-token.ts'
import { createAttestation, DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS, verifyAttestation } from '../../protocol/agency.ts'
import {
  currentEpochKeys, defaultHomeDir, Home, newHoodState, unexpiredOlderEpochKeys, withAgencyAttestation, withAttestation, withEpoch,
  withAgencyRelays, withFollowedAreas, withMember, withoutEnded, withoutFollowedAreas, withRelays, type AgencyState
} from '../storage/home-dir.ts'
import {
  attestationJson, errorJson, hoodJson, identityJson, memberJson, oneLine, Output, parseAttestationString,
  parsePublicIdentity, table, type AttestationJson, type Writer
} from './output.ts'
import { NETWORK_COMMANDS } from './network.ts'
import { ResidentPeer, type PeerInit } from '../peer.ts'
import { forwardToHolder, homeInUse } from './daemon.ts'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2
const DAY_MS = 86_400_000
/** Longest command name in words ('hood attest-agency' is 2). */
const MAX_COMMAND_WORDS = 2

// ---- the command table's types ----

export interface OptionSpec {
  readonly type: 'string' | 'boolean'
  readonly short?: string
  /** Repeatable: the value is a string[]. */
  readonly multiple?: boolean
  /** Placeholder shown in help, e.g. 'GEOHASH'. */
  readonly value?: string
  readonly help: string
}

/**
 * One command. To add one, add an entry to COMMANDS:
 *
 *   'post': {
 *     summary: 'Post an alert to your neighborhood',
 *     usage: '--kind KIND --text TEXT [--public]',
 *     options: { kind: { type: 'string', value: 'KIND', help: '…' }, public: { type: 'boolean', help: '…' } },
 *     async run (ctx) { const home = await ctx.home(); … ctx.out.result(json, human) }
 *   }
 *
 * Global options (--home, --json, --help, --version) are added to every command.
 */
export interface Command {
  /** One line for `porchlight --help`. */
  readonly summary: string
  /** What follows the command name in its usage line. */
  readonly usage: string
  /** Longer text for `porchlight help COMMAND`. */
  readonly help?: string
  readonly options?: Readonly<Record<string, OptionSpec>>
  /** How many positional arguments; default none. */
  readonly args?: { readonly min: number, readonly max: number }
  /** Long-running commands (relay, watch) simply do not resolve until they stop. */
  run: (ctx: Context) => Promise<void>
}

/** What the CLI needs from the process; tests pass their own. */
export interface Io {
  readonly stdout: Writer
  readonly stderr: Writer
  readonly env: Readonly<Record<string, string | undefined>>
  readonly now: () => number
  /**
   * issue 9 (daemon hook): set inside a process holding the home (node/cli/daemon.ts), where
   * commands use its open peer instead of opening the home's databases (already locked).
   */
  readonly openPeer?: (home: Home, init: PeerInit) => Promise<ResidentPeer>
}

export function processIo (): Io {
  return { stdout: process.stdout, stderr: process.stderr, env: process.env, now: Date.now }
}

/** A usage error: exit code 2, code BAD_ARGUMENT. */
export class UsageError extends PorchlightError {
  constructor (message: string, readonly command?: string) {
    super('BAD_ARGUMENT', message)
  }
}

type OptionValue = string | boolean | string[] | undefined

export class Context {
  private opened: Home | undefined

  constructor (
    readonly command: string,
    readonly args: readonly string[],
    private readonly values: Readonly<Record<string, OptionValue>>,
    readonly out: Output,
    readonly io: Io,
    readonly homeDir: string
  ) {}

  /** The home folder, opened on first use (created only when something is written). */
  async home (): Promise<Home> {
    this.opened ??= await Home.open(this.homeDir, { create: false })
    return this.opened
  }

  now (): number { return this.io.now() }

  /** issue 9 (daemon hook): the one way commands open the peer (the holder lends its own). */
  async openPeer (init: PeerInit): Promise<ResidentPeer> {
    const home = await this.home()
    if (this.io.openPeer !== undefined) return await this.io.openPeer(home, init)
    return await ResidentPeer.open(home, init).catch((err: unknown) => { throw homeInUse(err, this.homeDir) })
  }

  string (name: string): string | undefined {
    const v = this.values[name]
    return typeof v === 'string' ? v : undefined
  }

  /** A string option the command cannot do without: usage error if missing. */
  required (name: string): string {
    const v = this.string(name)
    if (v === undefined) throw new UsageError(`${this.command}: --${name} is required`, this.command)
    return v
  }

  strings (name: string): string[] {
    const v = this.values[name]
    return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
  }

  flag (name: string): boolean {
    return this.values[name] === true
  }
}

// ---- global options ----

const GLOBAL_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  home: { type: 'string', value: 'DIR', help: 'home folder (default $PORCHLIGHT_HOME, else ~/.porchlight)' },
  json: { type: 'boolean', help: 'print one JSON object (shapes in node/cli/output.ts); errors as JSON on stderr' },
  help: { type: 'boolean', short: 'h', help: 'show help' },
  version: { type: 'boolean', help: 'print the version' }
}

const HOOD_OPTION: OptionSpec = { type: 'string', value: 'NAME_OR_ID', help: 'which neighborhood (name, or id or id prefix); optional when you are in one' }
const TTL_OPTION: OptionSpec = { type: 'string', value: 'DURATION', help: `how long the invite is valid, e.g. 30m, 12h, 7d (default 7d, at most ${MAX_INVITE_TTL_MS / DAY_MS}d)` }

// ---- commands ----

export const COMMANDS: Record<string, Command> = {
  help: {
    summary: 'Show help for a command',
    usage: '[COMMAND]',
    args: { min: 0, max: MAX_COMMAND_WORDS },
    async run (ctx) {
      ctx.io.stdout.write(helpFor(ctx.args.join(' ')) + '\n')
    }
  },

  'id create': {
    summary: 'Create your identity (signing and sealing keys)',
    usage: '--name NAME [--force]',
    help: 'Creates a new identity in the home folder (the key file is readable only by you). ' +
      'The name is what neighbors see next to your posts. --force replaces an existing identity: ' +
      'its keys are lost, and neighborhoods it administered keep the old key as admin.',
    options: {
      name: { type: 'string', value: 'NAME', help: 'display name (1..64 bytes)' },
      force: { type: 'boolean', help: 'replace an existing identity' }
    },
    async run (ctx) {
      const home = await ctx.home()
      const id = await createIdentity(ctx.required('name'))
      const wasAgency = (await home.agency()) !== undefined
      await home.saveIdentity(id, { force: ctx.flag('force') })
      if (wasAgency) await home.clearAgency()
      ctx.out.result(identityJson(id, 'resident'), `Created identity ${id.public.name} (fingerprint ${fingerprint(id.public.signKey)}) in ${home.root}`)
    }
  },

  'id show': {
    summary: 'Show your name, fingerprint and public keys',
    usage: '',
    async run (ctx) {
      const home = await ctx.home()
      const id = await home.requireIdentity()
      const j = identityJson(id, await home.role())
      ctx.out.result(j, table([
        ['name', j.name], ['fingerprint', j.fingerprint], ['role', j.role],
        ['signKey', j.signKey], ['boxKey', j.boxKey], ['public', j.public]
      ]))
    }
  },

  'id export-public': {
    summary: 'Print your public identity (plid:…) to hand to a neighborhood admin',
    usage: '',
    help: 'Prints your public identity as one string: name, signing key and sealing key, bound by your signature. ' +
      'An agency gives it to neighborhood admins, who vouch for it with `porchlight hood attest-agency`.',
    async run (ctx) {
      const id = await (await ctx.home()).requireIdentity()
      const pub = identityJson(id, 'resident').public
      ctx.out.result({ public: pub }, pub)
    }
  },

  'hood create': {
    summary: 'Create a neighborhood (you are its admin) and print an invite',
    usage: 'NAME --area GEOHASH --relay MULTIADDR [--relay MULTIADDR ...] [--ttl DURATION]',
    help: 'Creates a neighborhood with a fresh random id and epoch-0 secret, saves it, and prints an invite. ' +
      'The invite holds the neighborhood key: share it only with the person you invite. ' +
      'Then give each relay its token: `porchlight hood relay-token`.',
    args: { min: 1, max: 1 },
    options: {
      area: { type: 'string', value: 'GEOHASH', help: `coarse area, a geohash of 1..${MAX_AREA_PRECISION} characters` },
      relay: { type: 'string', multiple: true, value: 'MULTIADDR', help: `a relay serving the neighborhood (1..${MAX_RELAYS})` },
      ttl: TTL_OPTION
    },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const name = ctx.args[0]!
      const area = checkGeohash(ctx.required('area'), MAX_AREA_PRECISION, '--area')
      const relays = parseRelays(ctx.strings('relay'))
      if (relays.length === 0) throw new UsageError('hood create: at least one --relay MULTIADDR is required', ctx.command)
      const ttl = parseDuration(ctx.string('ttl'), DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS)
      const hood = createNeighborhood(name, area, me.public.signKey)
      if ((await home.hoods()).some(h => h.hood.name === hood.name)) {
        fail('REFUSED', `you already have a neighborhood named "${hood.name}"; choose another name`)
      }
      const now = ctx.now()
      const state = newHoodState({ hood, epoch: 0, secret: newEpochSecret(), relays, members: [me.public], joined: now })
      await home.saveHood(state)
      const invite = await createInvite(me, hood, currentEpochKeys(state), state.relays, now, ttl)
      ctx.out.note(`Created neighborhood "${hood.name}" (id ${toHex(hood.id).slice(0, 8)}…); you are its admin.`)
      ctx.out.note(`Invite (holds the neighborhood key; share it only with the person invited; valid until ${isoTime(invite.expires)}):`)
      ctx.out.result({ hood: hoodJson(state, me), invite: encodeInvite(invite), expires: invite.expires }, encodeInvite(invite))
    }
  },

  'hood list': {
    summary: 'List your neighborhoods',
    usage: '',
    async run (ctx) {
      const home = await ctx.home()
      const me = await home.identity()
      const hoods = (await home.hoods()).map(h => hoodJson(h, me))
      ctx.out.result({ hoods }, hoods.length === 0
        ? 'Not in any neighborhood yet (porchlight hood create, or porchlight hood join INVITE).'
        : hoods.map(h => `${h.id.slice(0, 8)}  ${h.name}  area ${h.area}  epoch ${h.epoch}  ${h.members} member(s)${h.admin ? '  (admin)' : ''}` +
          (h.ended !== undefined ? `  (${h.ended.reason === 'left' ? 'you left' : 'you were removed'} ${isoTime(h.ended.at)})` : '')))
    }
  },

  'hood invite': {
    summary: 'Print a fresh invite for the current epoch',
    usage: '[--hood NAME_OR_ID] [--ttl DURATION]',
    help: 'The invite holds the current epoch key: share it only with the person invited. An admin\'s invite admits ' +
      'one newcomer (make one per person); a member\'s invite lets the newcomer read this epoch until an admin approves them.',
    options: { hood: HOOD_OPTION, ttl: TTL_OPTION },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const state = await home.resolveHood(ctx.string('hood'))
      const keys = currentEpochKeys(state)
      const invite = await createInvite(me, state.hood, keys, state.relays, ctx.now(), parseDuration(ctx.string('ttl'), DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS))
      const str = encodeInvite(invite)
      ctx.out.note(`Invite to "${state.hood.name}" (valid until ${isoTime(invite.expires)}; holds the neighborhood key):`)
      ctx.out.result({ hood: toHex(state.hood.id), epoch: keys.epoch, invite: str, expires: invite.expires }, str)
    }
  },

  'hood join': {
    summary: 'Join a neighborhood from an invite',
    usage: 'INVITE',
    help: 'Verifies the invite (signature, expiry) and saves the neighborhood, its key and relays. ' +
      'Joining one you are already in adds the invite\'s epoch key and relays.',
    args: { min: 1, max: 1 },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const inv = await readInvite(ctx.args[0]!, ctx.now())
      const now = ctx.now()
      const state = await home.updateHood(inv.hood.id, current => {
        // The id is a hash of the founder's key, so an invite can only name the same admins'
        // chain: keep the longer one (admins are only ever added).
        let s = current ?? newHoodState({ hood: inv.hood, epoch: inv.epoch, secret: inv.secret, joined: now })
        if (inv.hood.adminCerts.length > s.hood.adminCerts.length) s = { ...s, hood: inv.hood }
        s = withEpoch(s, inv.epoch, inv.secret, { learned: now })
        s = withRelays(s, inv.relays)
        s = withMember(s, inv.inviter, { now })
        // A new invite into the epoch we were removed from (or a later one) lets us back in.
        if (s.ended !== undefined && inv.epoch >= s.ended.epoch) s = withoutEnded(s)
        return withMember(s, me.public, { now })
      })
      const inviter = memberJson(inv.inviter, state, me)
      // Tell the neighborhood who joined (their box key is what a later rekey seals to), with
      // the admin's admission when an admin invited us.
      const peer = await ctx.openPeer({ now: () => ctx.now() })
      let result: { ok: boolean, code?: string, message?: string } = { ok: false, code: 'UNAVAILABLE', message: 'no relay reachable' }
      let ended: string | undefined
      try {
        await peer.start()
        result = await peer.announceJoin(toHex(state.hood.id), {
          via: inv.inviter.signKey, ...(inv.admission !== undefined ? { admission: inv.admission, inviteKey: inv.inviteKey! } : {})
        })
        if (!result.ok) {
          // Perhaps the invite's epoch is closed: catch up to find out (and say so plainly).
          await peer.sync([privateTopic(state.hood.id)])
          const out = (await home.hoodById(state.hood.id))?.ended
          if (out !== undefined) ended = `This invite was made before the neighborhood moved on (epoch ${out.epoch}, ${new Date(out.at).toISOString()}): it no longer admits anyone. Ask for a new invite.`
        }
      } finally {
        await peer.stop()
      }
      if (ended !== undefined) fail('NOT_MEMBER', ended)
      const announced = result.ok
      if (!announced) {
        ctx.out.note(result.code === 'UNAVAILABLE' || result.code === 'TIMEOUT'
          ? 'No relay reachable: your join announcement waits in the outbox (run `porchlight hood announce` later).'
          : `Your join announcement was refused (${result.code ?? ''} ${result.message ?? ''}); it waits in the outbox.`)
      }
      const role = inv.inviterRole === 'admin' ? 'an admin' : 'a member (not an admin)'
      ctx.out.result({ hood: hoodJson(state, me), inviter, announced, admitted: inv.admission !== undefined }, [
        `Joined "${state.hood.name}" (area ${state.hood.area}, epoch ${inv.epoch}, id ${toHex(state.hood.id).slice(0, 8)}…).`,
        `Invited by ${inviter.name} (${inviter.fingerprint}), ${role}; compare this fingerprint with them.`,
        ...(inv.admission === undefined ? ['An admin must approve you (porchlight hood approve) before a new epoch includes you; until then you read this epoch only.'] : [])
      ])
    }
  },

  'hood members': {
    summary: 'List the known members of a neighborhood',
    usage: '[--hood NAME_OR_ID]',
    options: { hood: HOOD_OPTION },
    async run (ctx) {
      const home = await ctx.home()
      const me = await home.identity()
      const state = await home.resolveHood(ctx.string('hood'))
      const members = [...state.members].sort((a, b) => a.name.localeCompare(b.name)).map(m => memberJson(m, state, me))
      const removed = state.removed.map(r => ({ signKey: toHex(r.signKey), fingerprint: fingerprint(r.signKey), at: r.at, epoch: r.epoch }))
      ctx.out.result({ hood: toHex(state.hood.id), members, removed }, [
        ...members.map(m => `${m.fingerprint}  ${m.name}${m.lookAlike ? '  (name looks like another member\'s: check the fingerprint)' : ''}` +
          `${m.formerName !== undefined ? `  (formerly ${m.formerName})` : ''}${m.admin ? '  (admin)' : m.admitted ? '' : '  (awaiting an admin\'s approval)'}${m.me ? '  (you)' : ''}`),
        ...removed.map(r => `${r.fingerprint}  (removed or left ${isoTime(r.at)}, epoch ${r.epoch})`),
        ...(state.ended !== undefined ? [`You ${state.ended.reason === 'left' ? 'left' : 'were removed'} on ${isoTime(state.ended.at)}: this list is as it was then.`] : [])
      ])
    }
  },

  'hood relay-token': {
    summary: 'Print the relay token (lets a relay serve the neighborhood; it cannot read posts)',
    usage: '[--hood NAME_OR_ID] [--without-area]',
    help: 'The token holds the founder\'s public key and salt (from which the relay computes the private topic and checks ' +
      'that rekeys come from an admin), the membership-tag key of the current epoch, and those of the older epochs whose ' +
      `posts may not have expired yet (at most ${MAX_OLDER_TAG_KEYS}), so a new relay mirrors that history from the relays ` +
      'it peers with (--peer): no content key, no name. It names the neighborhood\'s coarse area too, so the relay carries ' +
      'the area\'s public channel (members\' public posts, agencies\' requests); --without-area leaves it out. ' +
      'The relay operator runs `porchlight relay --serve TOKEN`.',
    options: {
      hood: HOOD_OPTION,
      'without-area': { type: 'boolean', help: 'leave the neighborhood\'s coarse area out (the relay then carries no public posts for it)' },
      'with-area': { type: 'boolean', help: 'include the area (the default; kept for older scripts)' }
    },
    async run (ctx) {
      const state = await (await ctx.home()).resolveHood(ctx.string('hood'))
      const keys = currentEpochKeys(state)
      const older = unexpiredOlderEpochKeys(state, ctx.now(), MAX_OLDER_TAG_KEYS)
      const token = encodeRelayToken(createRelayToken(state.hood, keys, { includeArea: !ctx.flag('without-area'), older }))
      const epochs = [...new Set(older.map(k => k.epoch))].sort((a, b) => a - b)
      ctx.out.note(`Relay token for "${state.hood.name}", epoch ${keys.epoch}${epochs.length > 0 ? ` and the history of epoch(s) ${epochs.join(', ')}` : ''} ` +
        '(give it to the relay operator: porchlight relay --serve TOKEN):')
      ctx.out.result({ hood: toHex(state.hood.id), epoch: keys.epoch, older: epochs, topic: privateTopic(state.hood.id), token }, token)
    }
  },

  'hood attest-agency': {
    summary: 'Vouch for an agency key as an admin (prints an attestation)',
    usage: 'AGENCY_KEY [--hood NAME_OR_ID] [--area GEOHASH] [--name NAME] [--ttl DURATION]',
    help: 'AGENCY_KEY is the agency\'s public identity, as printed by `porchlight id export-public` (plid:…). ' +
      'Compare its fingerprint with the agency in person before you vouch. The attestation is public: it names ' +
      'your key, the agency, its area and expiry, but not your neighborhood. Give it to the agency ' +
      '(`porchlight agency add-attestation`), which attaches it to its requests.',
    args: { min: 1, max: 1 },
    options: {
      hood: HOOD_OPTION,
      area: { type: 'string', value: 'GEOHASH', help: 'area the agency serves (default the neighborhood\'s area)' },
      name: { type: 'string', value: 'NAME', help: 'name you vouch for (default the agency\'s own name)' },
      ttl: { type: 'string', value: 'DURATION', help: `how long it is valid (default ${DEFAULT_ATTESTATION_TTL_MS / DAY_MS}d, at most ${MAX_ATTESTATION_TTL_MS / DAY_MS}d)` }
    },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const state = await home.resolveHood(ctx.string('hood'))
      if (!isAdmin(state.hood, me.public.signKey)) fail('NOT_ADMIN', `only an admin of "${state.hood.name}" can vouch for an agency`)
      const agency = await parsePublicIdentity(ctx.args[0]!)
      const area = checkGeohash(ctx.string('area') ?? state.hood.area, MAX_AREA_PRECISION, '--area')
      const ttlMs = parseDuration(ctx.string('ttl'), DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS)
      const name = ctx.string('name')
      const now = ctx.now()
      const bytes = await createAttestation(me, agency, area, now, { ttlMs, hood: state.hood, ...(name !== undefined ? { name } : {}) })
      await home.updateHood(state.hood.id, cur => withAttestation(cur ?? state, bytes))
      const j = attestationJson(bytes, await verifyAttestation(bytes, now))
      ctx.out.note(`Vouched for ${j.name} (${fingerprint(agency.signKey)}) in area ${j.area} until ${isoTime(j.expires)}. Give the agency this attestation:`)
      ctx.out.result({ hood: toHex(state.hood.id), attestation: j }, j.attestation)
    }
  },

  'agency create': {
    summary: 'Create an agency identity (public channels and RFAs only)',
    usage: '--name NAME [--force]',
    help: 'An agency identity follows public area channels and posts Requests for Assistance; it never joins ' +
      'neighborhoods. Hand `porchlight id export-public` to neighborhood admins so they can vouch for it.',
    options: {
      name: { type: 'string', value: 'NAME', help: 'agency name, e.g. "Riverside Fire Dept" (1..64 bytes)' },
      force: { type: 'boolean', help: 'replace an existing identity' }
    },
    async run (ctx) {
      const home = await ctx.home()
      const id = await createIdentity(ctx.required('name'))
      const force = ctx.flag('force')
      if (!force && (await home.identity()) !== undefined) {
        fail('REFUSED', `an identity already exists in ${home.root}; use --force to replace it (its key is lost)`)
      }
      const before = await home.agency()
      // The role flag first: a crash in between leaves no identity, and re-running succeeds.
      await home.saveAgency(before ?? { areas: [] })
      try {
        await home.saveIdentity(id, { force })
      } catch (err) {
        if (before === undefined) await home.clearAgency()
        throw err
      }
      ctx.out.result(identityJson(id, 'agency'), `Created agency identity ${id.public.name} (fingerprint ${fingerprint(id.public.signKey)}) in ${home.root}`)
    }
  },

  'agency follow': {
    summary: 'Follow the public channels of areas',
    usage: 'AREA [AREA ...] [--relay MULTIADDR]',
    args: { min: 1, max: 64 },
    options: {
      relay: { type: 'string', multiple: true, value: 'MULTIADDR', help: `a relay carrying these areas, remembered for \`agency feed\` and \`agency rfa\` (1..${MAX_RELAYS})` }
    },
    async run (ctx) {
      const { home, state } = await requireAgency(ctx)
      const next = withAgencyRelays(withFollowedAreas(state, ctx.args), parseRelays(ctx.strings('relay')))
      await home.saveAgency(next)
      const relays = [...(next.relays ?? [])]
      ctx.out.result({ areas: [...next.areas], relays }, `Following ${next.areas.join(', ')}${relays.length > 0 ? ` through ${relays.length} relay(s)` : ''}`)
    }
  },

  'agency unfollow': {
    summary: 'Stop following areas',
    usage: 'AREA [AREA ...]',
    args: { min: 1, max: 64 },
    async run (ctx) {
      const { home, state } = await requireAgency(ctx)
      const next = withoutFollowedAreas(state, ctx.args)
      await home.saveAgency(next)
      ctx.out.result({ areas: [...next.areas] }, next.areas.length === 0 ? 'Following no areas' : `Following ${next.areas.join(', ')}`)
    }
  },

  'agency add-attestation': {
    summary: 'Keep an attestation an admin gave this agency (attached to its requests)',
    usage: 'ATTESTATION',
    args: { min: 1, max: 1 },
    async run (ctx) {
      const { home, state } = await requireAgency(ctx)
      const me = await home.requireIdentity()
      const bytes = parseAttestationString(ctx.args[0]!)
      const att = await verifyAttestation(bytes, ctx.now())
      if (toHex(att.agency.signKey) !== toHex(me.public.signKey)) fail('BAD_ARGUMENT', 'this attestation vouches for another key')
      // Expired ones are dropped here, so the list holds what an RFA can still carry.
      const kept = (await validAttestations(state, ctx.now())).map(a => a.bytes)
      const next = withAgencyAttestation({ ...state, attestations: kept }, bytes)
      await home.saveAgency(next)
      const j = attestationJson(bytes, att)
      ctx.out.result({ attestation: j, attestations: next.attestations?.length ?? 0 },
        `Kept: ${j.name}, area ${j.area}, vouched by ${j.adminFingerprint} until ${isoTime(j.expires)}`)
    }
  },

  'agency show': {
    summary: 'Show the agency identity and followed areas',
    usage: '',
    async run (ctx) {
      const { home, state } = await requireAgency(ctx)
      const j = identityJson(await home.requireIdentity(), 'agency')
      const attestations = (await validAttestations(state, ctx.now())).map(a => a.json)
      ctx.out.result({ identity: j, areas: [...state.areas], attestations }, table([
        ['name', j.name], ['fingerprint', j.fingerprint], ['areas', state.areas.join(' ') || '(none)'], ['public', j.public],
        ...attestations.map(a => ['vouched', `${a.name}, area ${a.area}, by ${a.adminFingerprint} until ${isoTime(a.expires)}`] as const)
      ]))
    }
  }
}

Object.assign(COMMANDS, NETWORK_COMMANDS)

// ---- helpers shared by commands ----

const DAMAGED = new Set(['MALFORMED', 'WRONG_TYPE', 'TOO_LARGE', 'BAD_LENGTH', 'MISSING_FIELD', 'EXTRA_FIELD', 'BAD_DOMAIN', 'BAD_VERSION'])

/** parseInvite, with decoding errors explained as a damaged invite (same code). */
async function readInvite (str: string, now: number): Promise<Awaited<ReturnType<typeof parseInvite>>> {
  try {
    return await parseInvite(str.trim(), now)
  } catch (err) {
    if (err instanceof PorchlightError && DAMAGED.has(err.code)) {
      throw new PorchlightError(err.code, `not a valid invite (was it copied whole?): ${err.message}`, { cause: err })
    }
    throw err
  }
}

/** The agency's attestations that are valid at `now` (expired ones are skipped). */
async function validAttestations (state: AgencyState, now: number): Promise<Array<{ bytes: Uint8Array, json: AttestationJson }>> {
  const out: Array<{ bytes: Uint8Array, json: AttestationJson }> = []
  for (const bytes of state.attestations ?? []) {
    try {
      out.push({ bytes, json: attestationJson(bytes, await verifyAttestation(bytes, now)) })
    } catch (err) {
      if (!(err instanceof PorchlightError && err.code === 'EXPIRED')) throw err
    }
  }
  return out
}

/** The identity, which must be a resident's: agencies never hold a neighborhood key. */
async function requireResident (home: Home): Promise<Identity> {
  const id = await home.requireIdentity()
  if ((await home.role()) === 'agency') {
    fail('REFUSED', 'this is an agency identity: agencies use public channels only and never join neighborhoods')
  }
  return id
}

async function requireAgency (ctx: Context): Promise<{ home: Home, state: AgencyState }> {
  const home = await ctx.home()
  await home.requireIdentity()
  const state = await home.agency()
  if (state === undefined) fail('REFUSED', 'not an agency identity: create one with `porchlight agency create --name NAME`')
  return { home, state }
}

/** Parses each multiaddr fully (so typos fail here, not at dial time); at most MAX_RELAYS, no duplicates. */
export function parseRelays (relays: readonly string[]): string[] {
  const out = relays.map(r => {
    try {
      return multiaddr(r).toString()
    } catch (err) {
      fail('BAD_ARGUMENT', `--relay "${r.slice(0, 80)}" is not a multiaddr: ${(err as Error).message}`)
    }
  })
  checkRelayAddrs(out)
  return out
}

const DURATION_UNITS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: DAY_MS }

/** '30s', '30m', '12h', '7d' → ms; undefined → `fallback`. OUT_OF_RANGE unless 0 < ms <= max. */
export function parseDuration (value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback
  const m = /^(\d{1,6})([smhd])$/.exec(value)
  if (m === null) throw new UsageError(`--ttl "${value.slice(0, 20)}" is not a duration like 30m, 12h or 7d`)
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!]!
  if (ms <= 0 || ms > max) fail('OUT_OF_RANGE', `--ttl must be more than 0 and at most ${max / DAY_MS}d`)
  return ms
}

function isoTime (ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z')
}

// ---- help ----

export function version (): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }
  return pkg.version ?? '0.0.0'
}

function optionLines (options: Readonly<Record<string, OptionSpec>>): string[] {
  const rows = Object.entries(options).map(([name, o]) => {
    const flag = `${o.short !== undefined ? `-${o.short}, ` : ''}--${name}${o.value !== undefined ? ` ${o.value}` : ''}`
    return [flag, o.help + (o.multiple === true ? ' (repeatable)' : '')] as const
  })
  return table(rows).split('\n').map(l => `  ${l}`)
}

function generalHelp (): string {
  const names = Object.keys(COMMANDS)
  const width = Math.max(...names.map(n => n.length))
  return [
    `porchlight ${version()}: neighborhood safety network, no company in the middle`,
    '',
    'Usage: porchlight [--home DIR] [--json] COMMAND [ARGS] [OPTIONS]',
    '',
    'Commands:',
    ...names.map(n => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`),
    '',
    'Global options:',
    ...optionLines(GLOBAL_OPTIONS),
    '',
    'Run `porchlight help COMMAND` for one command\'s options.'
  ].join('\n')
}

function commandHelp (name: string, cmd: Command): string {
  const lines = [`Usage: porchlight ${name}${cmd.usage !== '' ? ` ${cmd.usage}` : ''}`, '', cmd.summary + '.']
  if (cmd.help !== undefined) lines.push('', cmd.help)
  if (cmd.options !== undefined && Object.keys(cmd.options).length > 0) lines.push('', 'Options:', ...optionLines(cmd.options))
  lines.push('', 'Global options: --home DIR, --json, --help')
  return lines.join('\n')
}

function groupHelp (group: string): string {
  const names = Object.keys(COMMANDS).filter(n => n.startsWith(group + ' '))
  const width = Math.max(...names.map(n => n.length))
  return [`Usage: porchlight ${group} SUBCOMMAND`, '', ...names.map(n => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`)].join('\n')
}

function isGroup (word: string): boolean {
  return Object.keys(COMMANDS).some(n => n.startsWith(word + ' '))
}

/** Help for a command, a group ('hood'), or everything (''). */
export function helpFor (topic: string): string {
  if (topic === '') return generalHelp()
  const cmd = COMMANDS[topic]
  if (cmd !== undefined) return commandHelp(topic, cmd)
  if (isGroup(topic)) return groupHelp(topic)
  throw new UsageError(`no command "${topic}" (see porchlight --help)`)
}

// ---- parsing and running ----

interface Parsed {
  name: string
  command: Command
  args: string[]
  values: Record<string, OptionValue>
}

/** Splits argv into the command (longest table match after leading global options) and its arguments. */
export function parse (argv: readonly string[]): Parsed | { help: string } | { version: true } {
  let i = 0
  const leading: string[] = []
  for (; i < argv.length && argv[i]!.startsWith('-'); i++) {
    const a = argv[i]!
    leading.push(a)
    if (a === '--home') leading.push(argv[++i] ?? '')
  }
  const words: string[] = []
  for (let j = i; j < argv.length && j - i < MAX_COMMAND_WORDS && !argv[j]!.startsWith('-'); j++) words.push(argv[j]!)
  let name: string | undefined
  for (let n = words.length; n > 0 && name === undefined; n--) {
    const candidate = words.slice(0, n).join(' ')
    if (COMMANDS[candidate] !== undefined) name = candidate
  }
  if (name === undefined) {
    const globals = parseOptions('porchlight', [...leading, ...argv.slice(i + words.length)], GLOBAL_OPTIONS)
    if (globals.values.version === true) return { version: true }
    if (words.length === 0) return { help: generalHelp() }
    if (isGroup(words[0]!)) {
      if (words.length === 1) {
        if (globals.values.help === true) return { help: groupHelp(words[0]!) }
        throw new UsageError(`"${words[0]}" needs a subcommand: ${subcommands(words[0]!)}`)
      }
      throw new UsageError(`unknown command "${words.slice(0, 2).join(' ')}"; ${words[0]} commands: ${subcommands(words[0]!)}`)
    }
    throw new UsageError(`unknown command "${words[0]!.slice(0, 40)}" (see porchlight --help)`)
  }
  const command = COMMANDS[name]!
  const rest = [...leading, ...argv.slice(i + name.split(' ').length)]
  const { values, positionals } = parseOptions(name, rest, { ...GLOBAL_OPTIONS, ...command.options })
  if (values.version === true) return { version: true }
  if (values.help === true) return { help: commandHelp(name, command) }
  const { min, max } = command.args ?? { min: 0, max: 0 }
  if (positionals.length < min) {
    throw new UsageError(`${name}: missing argument (usage: porchlight ${name} ${command.usage})`, name)
  }
  if (positionals.length > max) {
    throw new UsageError(`${name}: unexpected argument "${positionals[max]!.slice(0, 40)}" (usage: porchlight ${name} ${command.usage})`, name)
  }
  return { name, command, args: positionals, values }
}

function subcommands (group: string): string {
  return Object.keys(COMMANDS).filter(n => n.startsWith(group + ' ')).map(n => n.slice(group.length + 1)).join(', ')
}

function parseOptions (name: string, args: string[], options: Readonly<Record<string, OptionSpec>>): { values: Record<string, OptionValue>, positionals: string[] } {
  const config: Record<string, { type: 'string' | 'boolean', short?: string, multiple?: boolean }> = {}
  for (const [k, o] of Object.entries(options)) {
    config[k] = { type: o.type, ...(o.short !== undefined ? { short: o.short } : {}), ...(o.multiple === true ? { multiple: true } : {}) }
  }
  try {
    const { values, positionals } = parseArgs({ args, options: config, allowPositionals: true, strict: true })
    return { values: values as Record<string, OptionValue>, positionals }
  } catch (err) {
    const e = err as { code?: string, message: string }
    if (e.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      const opt = /'([^']+)'/.exec(e.message)?.[1] ?? 'option'
      throw new UsageError(`${name}: unknown option ${opt} (see porchlight help${name === 'porchlight' ? '' : ` ${name}`})`, name)
    }
    if (e.code?.startsWith('ERR_PARSE_ARGS') === true) throw new UsageError(`${name}: ${e.message.split('. ')[0]!}`, name)
    throw err
  }
}

/** Runs the CLI; returns the exit code (the caller sets process.exitCode). */
export async function main (argv: readonly string[], io: Io = processIo()): Promise<number> {
  const json = argv.includes('--json')
  const debug = io.env.PORCHLIGHT_DEBUG === '1'
  try {
    const parsed = parse(argv)
    if ('version' in parsed) {
      const v = version()
      io.stdout.write(json ? JSON.stringify({ version: v }) + '\n' : v + '\n')
      return EXIT_OK
    }
    if ('help' in parsed) {
      io.stdout.write(parsed.help + '\n')
      return EXIT_OK
    }
    const homeOption = parsed.values.home
    const homeDir = typeof homeOption === 'string' && homeOption !== '' ? homeOption : defaultHomeDir(io.env)
    // issue 9 (daemon hook): a home held by a running `watch` runs the command there.
    const forwarded = await forwardToHolder(parsed.name, argv, homeDir, io)
    if (forwarded !== undefined) return forwarded
    const out = new Output(io.stdout, io.stderr, parsed.values.json === true)
    await parsed.command.run(new Context(parsed.name, parsed.args, parsed.values, out, io, homeDir))
    return EXIT_OK
  } catch (err) {
    io.stderr.write((json ? JSON.stringify(errorJson(err)) : `porchlight: ${errorMessage(err)}`) + '\n')
    if (debug && err instanceof Error && err.stack !== undefined) io.stderr.write(err.stack + '\n')
    return err instanceof UsageError ? EXIT_USAGE : EXIT_FAILURE
  }
}

function errorMessage (err: unknown): string {
  if (err instanceof PorchlightError) return oneLine(err.message)
  const msg = err instanceof Error ? err.message : String(err)
  return `internal error: ${oneLine(msg)} (run with PORCHLIGHT_DEBUG=1 for details)`
}
