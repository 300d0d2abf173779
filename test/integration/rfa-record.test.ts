/**
 * RFAs are public records: a relay serving the area keeps each one a year after it was made,
 * though the request itself expires as every post does (it leaves gossip and sync then), and
 * the record is bounded per area and per agency. The relay's clock is injected.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { fromHex } from '../../protocol/encoding.ts'
import { openRfa, type OpenedRfa, RFA_RECORD_MS, sealRfa } from '../../protocol/agency.ts'
import { createIdentity } from '../../protocol/identity.ts'
import { areaTopic } from '../../protocol/neighborhood.ts'
import { cleanUp, cli, startRelay, tcpAddr, tempDir } from '../helpers/network.ts'
import { openMessageStore } from '../../node/storage/level-messages.ts'
import { RfaRecord, recordTopic } from '../../node/relay/rfa-record.ts'
import { rejection } from '../helpers/protocol-fixtures.ts'

afterEach(cleanUp)

const AREA = 'u4pruy'
const HOUR = 3600_000

describe('the public record of requests for assistance', () => {
  it('keeps an RFA a year past its own expiry, answers for it over HTTP, and lets it go after the year', async () => {
    let clock = Date.now()
    const now = (): number => clock
    const relay = await startRelay({ areas: [AREA], now })
    const agency = await tempDir('pl-agency-')
    await cli(agency, ['agency', 'create', '--name', 'Riverside Fire'], 0, now)
    const sent = await cli(agency, ['--json', 'agency', 'rfa', '--area', AREA, '--text', 'Seen the grey van?', '--ttl', '1h', '--relay', tcpAddr(relay)], 0, now)
    const id = fromHex(sent.json.id as string)
    expect(relay.store.has(id)).toBe(true)

    // Past the request's own expiry: the area copy goes (gossip and sync never carry it again), the record stays.
    clock += 2 * HOUR
    await relay.sweep()
    expect(relay.store.has(id)).toBe(false)
    const listed = await relay.transparency(AREA)
    expect(Array.isArray(listed) && listed.map(r => r.opened.post.text)).toEqual(['Seen the grey van?'])
    const res = await fetch(`${relay.httpUrl}/transparency?area=${AREA}`)
    expect(res.status).toBe(200)
    const body = await res.json() as { area: string, rfas: Array<Record<string, unknown>> }
    expect(body).toMatchObject({ area: AREA, rfas: [{ id: sent.json.id, agency: 'Riverside Fire', vouchedBy: [], text: 'Seen the grey van?', publicReplies: 0 }] })
    expect(Object.keys(body.rfas[0]!).sort()).toEqual(['agency', 'created', 'fingerprint', 'id', 'publicReplies', 'text', 'vouchedBy'])

    // A shorter area overlapping it answers too; a malformed one and an unserved one do not.
    expect((await fetch(`${relay.httpUrl}/transparency?area=u4pr`)).status).toBe(200)
    expect((await fetch(`${relay.httpUrl}/transparency?area=u4pr%20x`)).status).toBe(400)
    expect((await fetch(`${relay.httpUrl}/transparency?area=ezs42`)).status).toBe(404)

    // The record ends a year after the request was made.
    clock += RFA_RECORD_MS
    await relay.sweep()
    const after = await relay.transparency(AREA)
    expect(Array.isArray(after) && after.length).toBe(0)
    expect(relay.records.size(areaTopic(AREA))).toBe(0)
  })

  it('answers one address a burst of queries, then 429 until its rate allows; other routes are not limited', async () => {
    const relay = await startRelay({ areas: [AREA] })
    const statuses: number[] = []
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${relay.httpUrl}/transparency?area=${AREA}`)).status)
    // QUERY_RATE: a burst of 20, then half a query a second.
    expect(statuses.slice(0, 20).every(s => s === 200)).toBe(true)
    expect(statuses.slice(20).filter(s => s === 429).length).toBeGreaterThanOrEqual(8)
    const refused = await fetch(`${relay.httpUrl}/transparency?area=${AREA}`)
    expect(refused.status).toBe(429)
    expect(refused.headers.get('retry-after')).toBe('10')
    expect((await fetch(`${relay.httpUrl}/health`)).status).toBe(200)
  })

  it('bounds the record per agency and per area, refusing a request it could not keep on record', async () => {
    const dir = await tempDir('pl-record-')
    const store = await openMessageStore(dir)
    try {
      const now = Date.now()
      const record = await RfaRecord.open(store, () => now, { maxPerArea: 3, maxPerAgency: 2 })
      const topic = areaTopic(AREA)
      const [a, b] = [await createIdentity('Agency A'), await createIdentity('Agency B')]
      const rfa = async (who: typeof a, text: string): Promise<{ bytes: Uint8Array, opened: OpenedRfa }> => {
        const { bytes } = await sealRfa(who, AREA, text, now, HOUR)
        return { bytes, opened: await openRfa(bytes, now) }
      }
      for (const text of ['a1', 'a2']) { const r = await rfa(a, text); await record.keep(topic, r.opened, r.bytes) }
      const a3 = await rfa(a, 'a3')
      expect(await rejection(() => record.keep(topic, a3.opened, a3.bytes))).toBe('OVER_QUOTA')
      // The same request again is not counted twice.
      const b1 = await rfa(b, 'b1')
      await record.keep(topic, b1.opened, b1.bytes)
      await record.keep(topic, b1.opened, b1.bytes)
      expect(record.size(topic)).toBe(3)
      const b2 = await rfa(b, 'b2')
      expect(await rejection(() => record.keep(topic, b2.opened, b2.bytes))).toBe('OVER_QUOTA')
      // Counted again from the store when a relay starts.
      const reopened = await RfaRecord.open(store, () => now, { maxPerArea: 3, maxPerAgency: 2 })
      expect(reopened.size(topic)).toBe(3)
      const texts = (await reopened.report(AREA, [topic])).map(r => r.opened.post.text).sort()
      expect(texts).toEqual(['a1', 'a2', 'b1'])
      expect(store.topicNames()).toContain(recordTopic(topic))
    } finally {
      await store.close()
    }
  })
  it('charges each request to the address that sent it for the record\'s year: throwaway agency keys do not let one sender fill an area', async () => {
    const dir = await tempDir('pl-record-owner-')
    let store = await openMessageStore(dir)
    try {
      const now = Date.now()
      const init = { maxPerArea: 100, maxPerAgency: 100, maxPerAddress: 2 }
      const record = await RfaRecord.open(store, () => now, init)
      const topic = areaTopic(AREA)
      // A new agency key for every request, as an attacker would make them.
      const fresh = async (text: string): Promise<{ bytes: Uint8Array, opened: OpenedRfa }> => {
        const { bytes } = await sealRfa(await createIdentity(`Agency ${text}`), AREA, text, now, 60_000)
        return { bytes, opened: await openRfa(bytes, now) }
      }
      for (const text of ['m1', 'm2']) { const r = await fresh(text); await record.keep(topic, r.opened, r.bytes, 'ip4:203.0.113.7') }
      const m3 = await fresh('m3')
      expect(await rejection(() => record.keep(topic, m3.opened, m3.bytes, 'ip4:203.0.113.7'))).toBe('OVER_QUOTA')
      // Another address, and a sibling relay's copy (no address), are still taken.
      const real = await fresh('real')
      await record.keep(topic, real.opened, real.bytes, 'ip4:198.51.100.1')
      await record.keep(topic, m3.opened, m3.bytes)
      expect(record.size(topic)).toBe(4)
      // The charge lasts as long as the record, not the request's own minute, and survives a restart.
      await store.close()
      store = await openMessageStore(dir)
      const reopened = await RfaRecord.open(store, () => now + HOUR, init)
      const m4 = await fresh('m4')
      expect(await rejection(() => reopened.keep(topic, m4.opened, m4.bytes, 'ip4:203.0.113.7'))).toBe('OVER_QUOTA')
      // The relay keeps no readable address.
      for (const t of store.topicNames()) for await (const m of store.list(t)) expect(new TextDecoder().decode(m.bytes)).not.toContain('203.0.113.7')
    } finally {
      await store.close()
    }
  })
})
