/**
 * `porchlight transparency AREA`: every request for assistance agencies made in an area, from
 * the public record the relays keep (a year), with who vouched for each agency and how many
 * public replies each request received. Needs no identity: it asks the relays the home knows
 * (its neighborhoods' and followed areas'), and those named with --relay, over
 * `/porchlight/transparency/1`, and verifies every request itself.
 */
import { openRfaRecord } from '../../protocol/agency.ts'
import { fail, isPorchlightError } from '../../protocol/errors.ts'
import { checkGeohash, MAX_AREA_PRECISION } from '../../protocol/geohash.ts'
import { countsByMonth, groupByAgency, mergeReports, transparencyRfa, type TransparencyRfa } from '../../protocol/transparency.ts'
import { errorMessage } from '../../protocol/wire.ts'
import { isoTime, loadStack, RELAY_OPTION, relaysFrom, UsageError, type Command, type Context } from './command.ts'

/** The relays this home knows: its neighborhoods' and those `agency follow --relay` named. */
async function homeRelays (ctx: Context): Promise<string[]> {
  try {
    const home = await ctx.home()
    const hoods = await home.hoods()
    const agency = await home.agency()
    return [...hoods.flatMap(h => h.ended === undefined ? h.relays : []), ...(agency?.relays ?? [])]
  } catch (err) {
    // No home yet: only the relays named here.
    if (isPorchlightError(err, 'NOT_FOUND')) return []
    throw err
  }
}

function humanReport (area: string, rfas: readonly TransparencyRfa[], asked: number, answered: number): string[] {
  if (rfas.length === 0) return [`No requests for assistance on record for area ${area} (${answered} of ${asked} relays answered).`]
  const lines = [`${rfas.length} request${rfas.length === 1 ? '' : 's'} for assistance on record for area ${area} (${answered} of ${asked} relays answered):`]
  for (const g of groupByAgency(rfas)) {
    lines.push('', `${g.agency}  ${g.fingerprint}  ${g.rfas.length} request${g.rfas.length === 1 ? '' : 's'}, ${g.publicReplies} public repl${g.publicReplies === 1 ? 'y' : 'ies'}`)
    lines.push(g.vouchedBy.length === 0
      ? '  vouched by: nobody (unverified)'
      : `  vouched by: ${g.vouchedBy.map(v => `admin ${v.admin} as "${v.name}" (area ${v.area}, until ${isoTime(v.expires).slice(0, 10)})`).join('; ')}`)
    for (const r of g.rfas) lines.push(`  ${isoTime(r.created)}  ${r.id.slice(0, 12)}  ${r.publicReplies} repl${r.publicReplies === 1 ? 'y' : 'ies'}  ${r.text.replace(/\s+/g, ' ').slice(0, 100)}`)
  }
  lines.push('', 'Requests per month:')
  for (const m of countsByMonth(rfas)) lines.push(`  ${m.month}  ${String(m.count).padStart(4)}  ${'#'.repeat(Math.min(m.count, 60))}`)
  return lines
}

export const TRANSPARENCY_COMMANDS: Record<string, Command> = {
  transparency: {
    summary: 'List every request for assistance agencies made in an area (the public record), no identity needed',
    usage: 'AREA [--relay MULTIADDR]',
    help: 'AREA is a geohash (1..6 characters). Asks the relays of your neighborhoods (and those named with --relay) for every ' +
      'request they keep on the record for AREA and overlapping areas (relays keep requests a year), verifies each, and prints ' +
      'them by agency with the attestations each carried (which admin keys vouched, as the attestations say), the requests per ' +
      'month, and how many public replies each received.',
    args: { min: 1, max: 1 },
    options: { relay: RELAY_OPTION },
    async run (ctx) {
      const raw = ctx.args[0]!
      let area: string
      try {
        area = checkGeohash(raw, MAX_AREA_PRECISION, 'AREA')
      } catch (err) {
        throw new UsageError(`transparency: ${errorMessage(err)}`)
      }
      const relays = [...new Set([...await relaysFrom(ctx), ...await homeRelays(ctx)])]
      if (relays.length === 0) fail('BAD_ARGUMENT', 'transparency: no relay to ask: give --relay MULTIADDR (or set PORCHLIGHT_RELAY, or join a neighborhood)')
      const { askTransparency, createNode, multiaddr } = await loadStack()
      const node = await createNode({})
      const answers: TransparencyRfa[][] = []
      let refused = 0
      try {
        for (const r of relays) {
          try {
            const recorded = await askTransparency(node, multiaddr(r), area)
            const list: TransparencyRfa[] = []
            for (const x of recorded) {
              try {
                list.push(transparencyRfa(await openRfaRecord(x.bytes, ctx.now()), x.replies))
              } catch {
                refused++
              }
            }
            answers.push(list)
          } catch (err) {
            ctx.out.note(`Relay ${r.slice(0, 80)} did not answer: ${errorMessage(err).slice(0, 200)}`)
          }
        }
      } finally {
        await node.stop()
      }
      if (answers.length === 0) fail('UNAVAILABLE', `no relay answered for area ${area}`)
      if (refused > 0) ctx.out.note(`${refused} request${refused === 1 ? '' : 's'} from the relays did not verify and ${refused === 1 ? 'is' : 'are'} left out.`)
      const report = mergeReports(area, answers)
      ctx.out.result(report, humanReport(area, report.rfas, relays.length, answers.length))
    }
  }
}
