/**
 * The CLI commands that work on the home folder: identities, neighborhoods (create, invite,
 * join, members, relay tokens, vouching for agencies) and the agency's own settings. All of
 * them run without the network except `hood join`, which announces the newcomer (loadStack).
 */
import { readFile, stat } from 'node:fs/promises'
import { resolve } from 'node:path'
import { fail, PorchlightError } from '../../protocol/errors.ts'
import { toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { createBackup, DEFAULT_KDF, formatBackup, MAX_BACKUP_CHARS, openBackup, parseBackup } from '../../protocol/backup.ts'
import { createIdentity, fingerprint, type Identity } from '../../protocol/identity.ts'
import { checkGeohash, MAX_AREA_PRECISION, MAX_POST_PRECISION } from '../../protocol/geohash.ts'
import { DEFAULT_TTL_MS, MAX_TTL_MS } from '../../protocol/post.ts'
import { hoodSettings } from '../../protocol/hood-state.ts'
import { privateTopic } from '../../protocol/neighborhood.ts'
import { DEFAULT_INVITE_TTL_MS, encodeInvite, MAX_INVITE_TTL_MS, MAX_RELAYS } from '../../protocol/invite.ts'
import { MAX_OLDER_TAG_KEYS } from '../../protocol/relay-token.ts'
import { DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS, verifyAttestation } from '../../protocol/agency.ts'
import {
  currentEpochKeys, Home, writeAtomic, unexpiredOlderEpochKeys, withAgencyAttestation,
  withAgencyRelays, withFollowedAreas, withoutFollowedAreas, type AgencyState
} from '../storage/home-dir.ts'
import { attestationJson, hoodJson, identityJson, memberJson, parseAttestationString, parsePublicIdentity, table, type AttestationJson } from './output.ts'
import { passphrase, PASSPHRASE_FILE_OPTION } from './passphrase.ts'
import { HOOD_OPTION, isoTime, parseRelays, parseTtl, ttlOption, UsageError, type Command, type Context, type OptionSpec } from './command.ts'
import { foundHood, inviteTo, readInvite, relayToken, saveJoin } from '../../protocol/peer/hood-actions.ts'
import { attestAgency, memberList, settingsAfter } from '../../protocol/peer/admin-actions.ts'
import { inviteLink, parseWebOrigin, rememberedWebOrigin, rememberWebOrigin, splitInviteLink } from './web-origin.ts'

const INVITE_TTL_OPTION = ttlOption('how long the invite is valid', DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS)
const WEB_ORIGIN_OPTION: OptionSpec = {
  type: 'string',
  value: 'URL',
  help: 'where the neighborhood\'s relay serves the web app, e.g. https://porch.example.org (its /health shows it as webOrigin): ' +
    'the invite is printed as a link too, <URL>/#join=<invite>, and later invites remember it'
}

/** The neighborhood's web origin: --web-origin (then remembered), else the one remembered, else none. */
async function webOriginFor (ctx: Context, home: Home, hoodId: Uint8Array): Promise<string | undefined> {
  const given = ctx.string('web-origin')
  if (given === undefined) return await rememberedWebOrigin(home, hoodId)
  const origin = parseWebOrigin(given)
  await rememberWebOrigin(home, hoodId, origin)
  return origin
}

export const HOME_COMMANDS: Record<string, Command> = {
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

  'id export': {
    summary: 'Write your keys and neighborhoods to a file encrypted under a passphrase',
    usage: 'FILE [--passphrase-file FILE] [--force]',
    help: 'The backup holds your identity (its secret keys and name), every neighborhood with its keys, and an agency\'s ' +
      'followed areas, encrypted under a passphrase (scrypt, then XChaCha20-Poly1305): with the file AND the passphrase ' +
      'someone is you, so keep them apart. Bring it to another device with `porchlight id import FILE`; the browser ' +
      'reads the same file. The passphrase is asked twice on the terminal (not shown), or read from --passphrase-file ' +
      'or $PORCHLIGHT_PASSPHRASE. Neighborhoods move on: a backup holds the keys it was made with, and a rekey after it ' +
      'reaches the imported home when an admin seals it to you, as to any member. The file is readable only by you (0600).',
    args: { min: 1, max: 1 },
    options: {
      'passphrase-file': PASSPHRASE_FILE_OPTION,
      force: { type: 'boolean', help: 'replace FILE if it exists' }
    },
    async run (ctx) {
      const home = await ctx.home()
      const identity = await home.requireIdentity()
      const hoods = await home.hoods()
      const agency = await home.agency()
      const path = resolve(ctx.args[0]!)
      const force = ctx.flag('force')
      if (!force && await exists(path)) fail('REFUSED', `${path} exists; use --force to replace it`)
      const pass = await passphrase(ctx, { confirm: true })
      const kdf = ctx.io.backupKdf ?? DEFAULT_KDF
      ctx.out.note('Encrypting (the passphrase is stretched with scrypt: about a second)…')
      const bytes = await createBackup({ identity, hoods, ...(agency !== undefined ? { agency } : {}), created: ctx.now() }, pass, { kdf })
      if (!await writeAtomic(path, utf8Bytes(formatBackup(bytes) + '\n'), { exclusive: !force })) {
        fail('REFUSED', `${path} exists; use --force to replace it`)
      }
      const fp = fingerprint(identity.public.signKey)
      ctx.out.result({
        file: path, name: identity.public.name, fingerprint: fp, role: agency === undefined ? 'resident' : 'agency',
        hoods: hoods.map(h => ({ id: toHex(h.hood.id), name: h.hood.name })), kdf: { ...kdf }
      }, [
        `Wrote a backup of ${identity.public.name} (fingerprint ${fp})${hoods.length > 0 ? ` and ${hoods.length} neighborhood(s): ${hoods.map(h => h.hood.name).join(', ')}` : ''} to ${path}.`,
        'Anyone with this file and the passphrase can act as you: keep them apart. Restore with `porchlight id import FILE`.'
      ])
    }
  },

  'id import': {
    summary: 'Restore your keys and neighborhoods from a backup file (id export)',
    usage: 'FILE [--passphrase-file FILE] [--force]',
    help: 'Decrypts a backup made by `porchlight id export` (or the browser) and saves its identity, neighborhoods and ' +
      'agency settings in this home. A home that already has an identity is left alone unless --force: then the ' +
      'identity is replaced (its keys are lost unless they are in a backup too), each neighborhood in the backup ' +
      'replaces the one with the same id, and neighborhoods the backup does not hold are kept as they were. ' +
      'A wrong passphrase and a damaged file give the same error. The passphrase comes as for `id export`.',
    args: { min: 1, max: 1 },
    options: {
      'passphrase-file': PASSPHRASE_FILE_OPTION,
      force: { type: 'boolean', help: 'replace the identity this home has' }
    },
    async run (ctx) {
      const path = resolve(ctx.args[0]!)
      const raw = await readBackupFile(path)
      // The cheap checks first: not a backup, or one this version cannot read, fails before the passphrase is asked.
      parseBackup(raw)
      const home = await ctx.home()
      const force = ctx.flag('force')
      if (!force && (await home.identity()) !== undefined) {
        fail('REFUSED', `an identity already exists in ${home.root}; use --force to replace it with the backup's (its keys are lost unless backed up)`)
      }
      const pass = await passphrase(ctx, { confirm: false })
      const backup = await openBackup(raw, pass)
      const before = await home.hoods()
      // The role flag first, as `agency create` does: a crash in between leaves no identity, or the old one.
      if (backup.agency !== undefined) await home.saveAgency(backup.agency)
      await home.saveIdentity(backup.identity, { force })
      if (backup.agency === undefined) await home.clearAgency()
      for (const h of backup.hoods) await home.saveHood(h)
      const restored = new Set(backup.hoods.map(h => toHex(h.hood.id)))
      const kept = before.filter(h => !restored.has(toHex(h.hood.id)))
      const role = backup.agency === undefined ? 'resident' : 'agency'
      const id = identityJson(backup.identity, role)
      const hoods = backup.hoods.map(h => hoodJson(h, backup.identity))
      ctx.out.result({ identity: id, hoods, kept: kept.map(h => toHex(h.hood.id)), created: backup.created }, [
        `Restored ${id.name} (fingerprint ${id.fingerprint}${role === 'agency' ? ', an agency' : ''}) from a backup made ${isoTime(backup.created)}.`,
        ...(hoods.length === 0 ? ['No neighborhoods in it.'] : [`Neighborhoods (${hoods.length}):`, ...hoods.map(h => `  ${h.id.slice(0, 8)}  ${h.name}  area ${h.area}  epoch ${h.epoch}${h.admin ? '  (admin)' : ''}`)]),
        ...(kept.length > 0 ? [`Kept ${kept.length} neighborhood(s) this home already had and the backup does not hold: ${kept.map(h => h.hood.name).join(', ')}.`] : []),
        ...(backup.agency !== undefined ? [`Agency settings: following ${backup.agency.areas.join(', ') || 'no areas'}.`] : [])
      ])
    }
  },

  'hood create': {
    summary: 'Create a neighborhood (you are its admin) and print an invite',
    usage: 'NAME --area GEOHASH --relay MULTIADDR [--relay MULTIADDR ...] [--ttl DURATION] [--web-origin URL]',
    help: 'Creates a neighborhood with a fresh random id and epoch-0 secret, saves it, and prints an invite. ' +
      'The invite holds the neighborhood key: share it only with the person you invite. ' +
      'Then give each relay its token: `porchlight hood relay-token`.',
    args: { min: 1, max: 1 },
    options: {
      area: { type: 'string', value: 'GEOHASH', help: `coarse area, a geohash of 1..${MAX_AREA_PRECISION} characters` },
      relay: { type: 'string', multiple: true, value: 'MULTIADDR', help: `a relay serving the neighborhood (1..${MAX_RELAYS})` },
      ttl: INVITE_TTL_OPTION,
      'web-origin': WEB_ORIGIN_OPTION
    },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const name = ctx.args[0]!
      const area = checkGeohash(ctx.required('area'), MAX_AREA_PRECISION, '--area')
      const relays = await parseRelays(ctx.strings('relay'))
      if (relays.length === 0) throw new UsageError('hood create: at least one --relay MULTIADDR is required')
      const ttl = parseTtl(ctx, DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS)
      const givenOrigin = ctx.string('web-origin')
      if (givenOrigin !== undefined) parseWebOrigin(givenOrigin) // before anything is saved
      const { state, invite } = await foundHood(home, me, { name, area, relays, now: ctx.now(), ttl })
      const hood = state.hood
      const str = encodeInvite(invite)
      const origin = await webOriginFor(ctx, home, hood.id)
      ctx.out.note(`Created neighborhood "${hood.name}" (id ${toHex(hood.id).slice(0, 8)}…); you are its admin.`)
      ctx.out.note(`Invite (holds the neighborhood key; share it only with the person invited; valid until ${isoTime(invite.expires)}):`)
      ctx.out.result({ hood: hoodJson(state, me), invite: str, expires: invite.expires, ...(origin !== undefined ? { link: inviteLink(origin, str) } : {}) },
        origin !== undefined ? [str, inviteLink(origin, str)] : str)
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
    usage: '[--hood NAME_OR_ID] [--ttl DURATION] [--web-origin URL]',
    help: 'The invite holds the current epoch key: share it only with the person invited. An admin\'s invite admits ' +
      'one newcomer (make one per person); a member\'s invite lets the newcomer read this epoch until an admin approves them. ' +
      'When the home knows the web origin of the neighborhood\'s relay (--web-origin, remembered from an earlier ' +
      '`hood create|invite --web-origin` or from joining with a link), the invite is printed as a link too: <origin>/#join=<invite>, ' +
      'which a phone opens in the web app.',
    options: { hood: HOOD_OPTION, ttl: INVITE_TTL_OPTION, 'web-origin': WEB_ORIGIN_OPTION },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const state = await home.resolveHood(ctx.string('hood'))
      const keys = currentEpochKeys(state)
      const invite = await inviteTo(me, state, ctx.now(), parseTtl(ctx, DEFAULT_INVITE_TTL_MS, MAX_INVITE_TTL_MS))
      const str = encodeInvite(invite)
      const origin = await webOriginFor(ctx, home, state.hood.id)
      ctx.out.note(`Invite to "${state.hood.name}" (valid until ${isoTime(invite.expires)}; holds the neighborhood key):`)
      ctx.out.result({ hood: toHex(state.hood.id), epoch: keys.epoch, invite: str, expires: invite.expires, ...(origin !== undefined ? { link: inviteLink(origin, str) } : {}) },
        origin !== undefined ? [str, inviteLink(origin, str)] : str)
    }
  },

  'hood join': {
    summary: 'Join a neighborhood from an invite',
    usage: 'INVITE|LINK',
    help: 'Verifies the invite (signature, expiry) and saves the neighborhood, its key and relays. ' +
      'Joining one you are already in adds the invite\'s epoch key and relays. An invite link (<origin>/#join=<invite>) ' +
      'works too; its origin is remembered for the links of your own invites.',
    args: { min: 1, max: 1 },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const given = splitInviteLink(ctx.args[0]!)
      const inv = await readInvite(given.invite, ctx.now())
      const now = ctx.now()
      const state = await saveJoin(home, me, inv, now)
      if (given.origin !== undefined) await rememberWebOrigin(home, state.hood.id, given.origin)
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
      const members = memberList(state, me)
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
      const token = relayToken(state, ctx.now(), { includeArea: !ctx.flag('without-area') })
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
      ttl: ttlOption('how long it is valid', DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS)
    },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      const state = await home.resolveHood(ctx.string('hood'))
      const agency = await parsePublicIdentity(ctx.args[0]!)
      const area = checkGeohash(ctx.string('area') ?? state.hood.area, MAX_AREA_PRECISION, '--area')
      const ttlMs = parseTtl(ctx, DEFAULT_ATTESTATION_TTL_MS, MAX_ATTESTATION_TTL_MS)
      const name = ctx.string('name')
      const { info: j } = await attestAgency(home, me, state, agency, { now: ctx.now(), area, ttlMs, ...(name !== undefined ? { name } : {}) })
      ctx.out.note(`Vouched for ${j.name} (${fingerprint(agency.signKey)}) in area ${j.area} until ${isoTime(j.expires)}. Give the agency this attestation:`)
      ctx.out.result({ hood: toHex(state.hood.id), attestation: j }, j.attestation)
    }
  },

  'hood settings': {
    summary: 'Show or change the neighborhood settings (admins): a new post\'s default expiry and location precision, RFAs for new members',
    usage: '[--hood NAME_OR_ID] [--post-ttl DURATION] [--precision N] [--rfas-for-new-members shown|hidden]',
    help: 'Without options, prints the settings in force. --post-ttl is how long a new post lives unless its author says ' +
      `otherwise (\`post --ttl\`, the web app's composer; 1h..${MAX_TTL_MS / 86_400_000}d), --precision how many geohash characters ` +
      `of a new post's location are kept by default (the neighborhood's area length..${MAX_POST_PRECISION}), --rfas-for-new-members ` +
      'whether agencies\' requests for assistance show to members who never chose (`settings rfa`; their own choice wins). A change ' +
      'goes to every member in a message signed by you (the newest change wins) and shapes their new posts too; it is sent through ' +
      'a relay, and waits in the outbox when none takes it.',
    options: {
      hood: HOOD_OPTION,
      'post-ttl': { type: 'string', value: 'DURATION', help: `default lifetime of a new post, e.g. 1d or 30d (default ${DEFAULT_TTL_MS / 86_400_000}d)` },
      precision: { type: 'string', value: 'N', help: `default geohash characters of a new post's location (default the area's length; at most ${MAX_POST_PRECISION})` },
      'rfas-for-new-members': { type: 'string', value: 'shown|hidden', help: 'whether new members see agencies\' requests (default shown)' }
    },
    async run (ctx) {
      const home = await ctx.home()
      const me = await requireResident(home)
      let state = await home.resolveHood(ctx.string('hood'))
      const ttl = ctx.string('post-ttl')
      const precision = ctx.string('precision')
      const rfas = ctx.string('rfas-for-new-members')
      let sent: boolean | undefined
      if (ttl !== undefined || precision !== undefined || rfas !== undefined) {
        if (rfas !== undefined && rfas !== 'shown' && rfas !== 'hidden') throw new UsageError('--rfas-for-new-members is shown or hidden')
        if (precision !== undefined && !/^\d{1,2}$/.test(precision)) throw new UsageError('--precision is a number of geohash characters')
        const patch = {
          ...(ttl !== undefined ? { postTtlMs: parseTtl({ string: () => ttl }, DEFAULT_TTL_MS, MAX_TTL_MS) } : {}),
          ...(precision !== undefined ? { precision: Number(precision) } : {}),
          ...(rfas !== undefined ? { rfasForNewMembers: rfas === 'shown' } : {})
        }
        settingsAfter(me, state, patch) // refused before any network
        const peer = await ctx.openPeer({ now: () => ctx.now() })
        try {
          await peer.start()
          const r = await peer.changeHoodSettings(patch, toHex(state.hood.id))
          state = r.state
          sent = r.result.ok
          if (!sent) ctx.out.note(`The new settings are saved but no relay has them yet (${r.result.message ?? 'unreachable'}); they stay in the outbox.`)
        } finally {
          await peer.stop()
        }
      }
      const s = hoodSettings(state)
      ctx.out.result({
        hood: toHex(state.hood.id), postTtlMs: s.postTtlMs, precision: s.precision, rfasForNewMembers: s.rfasForNewMembers, ...(sent !== undefined ? { sent } : {})
      }, table([
        ['post expiry', `${s.postTtlMs % 86_400_000 === 0 ? `${s.postTtlMs / 86_400_000}d` : `${s.postTtlMs / 3_600_000}h`}`],
        ['location', `${s.precision} geohash characters${s.precision === state.hood.area.length ? ' (the neighborhood\'s area)' : ''}`],
        ['RFAs for new members', s.rfasForNewMembers ? 'shown' : 'hidden'],
        ...(sent === undefined ? [] : [['sent', sent ? 'a relay took the change' : 'not yet: waiting in the outbox'] as const])
      ]))
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
      const next = withAgencyRelays(withFollowedAreas(state, ctx.args), await parseRelays(ctx.strings('relay')))
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

// ---- helpers ----

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, (err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return false
    fail('IO', `cannot look at ${path}: ${err.code ?? err.message}`, err)
  })
}

/** A backup file's bytes (text or binary form), bounded before it is read. */
async function readBackupFile (path: string): Promise<Uint8Array> {
  let size: number
  try {
    size = (await stat(path)).size
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    fail(e.code === 'ENOENT' ? 'NOT_FOUND' : 'IO', `cannot read ${path}: ${e.code === 'ENOENT' ? 'no such file' : e.code ?? e.message}`, err)
  }
  if (size > MAX_BACKUP_CHARS + 2) fail('TOO_LARGE', `${path} is not a Porchlight backup: ${size} bytes is more than a backup can be`)
  try {
    const buf = await readFile(path)
    return new Uint8Array(buf.buffer, buf.byteOffset, buf.length)
  } catch (err) {
    const e = err as NodeJS.ErrnoException
    fail('IO', `cannot read ${path}: ${e.code ?? e.message}`, err)
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
