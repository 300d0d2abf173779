/**
 * The relay's public record of requests for assistance (RFAs): every RFA a relay stores on an
 * area topic is also kept, in the same message store, under the area's record topic
 * (`/porchlight/1/rfa-record/<area>`, never gossiped or synced) until RFA_RECORD_MS after it
 * was created, whatever the post's own expiry. The area copy expires as every post does, so
 * sync and gossip never carry an expired request; the record copy answers transparency asks.
 *
 * Bounded: at most MAX_RFA_RECORDS_PER_AREA on one area's record and MAX_RFA_RECORDS_PER_AGENCY
 * of one agency key there; past them new RFAs are refused (OVER_QUOTA) before they are stored,
 * so nothing this relay carries is missing from its record.
 *
 * Reports (`report`): the RFAs of every served area overlapping the one asked, each verified
 * (openRfaRecord), with the number of public replies (stored public posts whose replyTo names
 * it). Cached for REPORT_CACHE_MS per set of area topics, made again sooner (at most every
 * MIN_REBUILD_MS) when a request joins the record; each request's signatures are checked once.
 */
import { openRfaRecord, RFA_RECORD_MS, type OpenedRfa } from '../../protocol/agency.ts'
import { concatBytes, peekDomain, toHex, utf8Bytes } from '../../protocol/encoding.ts'
import { sha256 } from '../../protocol/crypto.ts'
import { fail } from '../../protocol/errors.ts'
import { TOPIC_PREFIX } from '../../protocol/neighborhood.ts'
import { publicPostReplyTo } from '../../protocol/public-post.ts'
import { MAX_RFA_RECORDS_PER_AGENCY, MAX_RFA_RECORDS_PER_AREA } from '../../protocol/transparency.ts'
import type { RecordedRfa } from '../../protocol/peer/transparency.ts'
import type { MessageStore } from '../storage/level-messages.ts'

export const RECORD_TOPIC_PREFIX = `${TOPIC_PREFIX}rfa-record/`
const AREA_TOPIC_PREFIX = `${TOPIC_PREFIX}area/`
/** How long one report is reused (unless an area topic changed meanwhile). */
export const REPORT_CACHE_MS = 30_000
/**
 * A report is made again at most this often, however often the record changes: a rebuild reads
 * every request and reply of the areas, so a stream of changes must not become a stream of
 * rebuilds.
 */
export const MIN_REBUILD_MS = 5_000
/** Requests whose signatures were checked once (records never change), at most this many kept. */
const MAX_VERIFIED = 20_000

export function recordTopic (areaTopic: string): string {
  return RECORD_TOPIC_PREFIX + areaTopic.slice(AREA_TOPIC_PREFIX.length)
}

/** The record copy's id: distinct from the RFA's own id, which its area copy holds. */
function recordId (rfaId: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8Bytes('pl/rfa-record'), rfaId))
}

export interface VerifiedRfa extends RecordedRfa { opened: OpenedRfa }

interface AreaCount { total: number, agencies: Map<string, number> }

/**
 * Requests one network address may put on one area's record within the record's year. Agency
 * keys cost nothing, so the per-agency bound alone lets one sender fill an area's record with
 * throwaway agencies and block real requests for a year; this bound charges the address, for
 * as long as the record keeps the request.
 */
export const MAX_RFA_RECORDS_PER_ADDRESS = 32

/** Where the record keeps who sent each request (a hash of the address, never the address). */
export const OWNER_TOPIC_PREFIX = `${TOPIC_PREFIX}rfa-record-owner/`

function ownerId (recordIdBytes: Uint8Array): Uint8Array {
  return sha256(concatBytes(utf8Bytes('pl/rfa-record-owner'), recordIdBytes))
}

/** The address as kept on disk: hashed (a relay keeps no readable addresses). */
function addressTag (address: string): string {
  return toHex(sha256(utf8Bytes(`pl/rfa-record-address ${address}`))).slice(0, 32)
}

export interface RfaRecordInit {
  /** RFAs one network address may put on one area's record per year. @default MAX_RFA_RECORDS_PER_ADDRESS (32) */
  maxPerAddress?: number
  /** RFAs one area's record holds. @default MAX_RFA_RECORDS_PER_AREA (4096) */
  maxPerArea?: number
  /** RFAs of one agency key on one area's record. @default MAX_RFA_RECORDS_PER_AGENCY (1024) */
  maxPerAgency?: number
}

export class RfaRecord {
  private readonly counts = new Map<string, AreaCount>()
  /** Record id hex → what it counts as, so an expired record is uncounted. */
  private readonly counted = new Map<string, { topic: string, agency: string, owner?: string }>()
  /** Requests on record per `${record topic} ${address tag}`. */
  private readonly byOwner = new Map<string, number>()
  private readonly cache = new Map<string, { at: number, version: number, report: Promise<VerifiedRfa[]> }>()
  private version = 0
  /** Requests already verified, by the SHA-256 of their bytes: a rebuild checks no signature twice. */
  private readonly verified = new Map<string, OpenedRfa>()
  private readonly maxPerArea: number
  private readonly maxPerAgency: number
  private readonly maxPerAddress: number

  private constructor (private readonly store: MessageStore, private readonly now: () => number, init: RfaRecordInit) {
    this.maxPerArea = init.maxPerArea ?? MAX_RFA_RECORDS_PER_AREA
    this.maxPerAgency = init.maxPerAgency ?? MAX_RFA_RECORDS_PER_AGENCY
    this.maxPerAddress = init.maxPerAddress ?? MAX_RFA_RECORDS_PER_ADDRESS
  }

  /** Counts what the store holds on record (at start). */
  static async open (store: MessageStore, now: () => number, init: RfaRecordInit = {}): Promise<RfaRecord> {
    const record = new RfaRecord(store, now, init)
    for (const topic of store.topicNames()) {
      if (!topic.startsWith(RECORD_TOPIC_PREFIX)) continue
      for await (const m of store.list(topic)) {
        // What no longer verifies (older than the record keeps) goes at the next sweep; it is not counted.
        const rfa = await openRfaRecord(m.bytes, now()).catch(() => undefined)
        if (rfa === undefined) continue
        const owner = await store.get(ownerId(m.id))
        record.count(topic, toHex(m.id), toHex(rfa.agency.signKey), owner === undefined ? undefined : new TextDecoder().decode(owner.bytes))
      }
    }
    return record
  }

  private area (topic: string): AreaCount {
    let c = this.counts.get(topic)
    if (c === undefined) { c = { total: 0, agencies: new Map() }; this.counts.set(topic, c) }
    return c
  }

  private count (topic: string, idHex: string, agency: string, owner?: string): void {
    const c = this.area(topic)
    c.total++
    c.agencies.set(agency, (c.agencies.get(agency) ?? 0) + 1)
    this.counted.set(idHex, { topic, agency, ...(owner !== undefined ? { owner } : {}) })
    if (owner !== undefined) this.byOwner.set(`${topic} ${owner}`, (this.byOwner.get(`${topic} ${owner}`) ?? 0) + 1)
  }

  private uncount (idHex: string): void {
    const e = this.counted.get(idHex)
    if (e === undefined) return
    this.counted.delete(idHex)
    if (e.owner !== undefined) {
      const key = `${e.topic} ${e.owner}`
      const left = (this.byOwner.get(key) ?? 1) - 1
      if (left > 0) this.byOwner.set(key, left)
      else this.byOwner.delete(key)
    }
    const c = this.area(e.topic)
    c.total--
    const n = (c.agencies.get(e.agency) ?? 1) - 1
    if (n === 0) c.agencies.delete(e.agency)
    else c.agencies.set(e.agency, n)
  }

  /**
   * Puts a verified RFA on the record of `areaTopic` (durably) before the relay stores it
   * there: OVER_QUOTA when the area's record, or the agency's share of it, is full.
   */
  async keep (areaTopic: string, rfa: OpenedRfa, bytes: Uint8Array, address?: string): Promise<void> {
    const topic = recordTopic(areaTopic)
    const id = recordId(rfa.id)
    if (this.store.has(id)) return
    const idHex = toHex(id)
    const agency = toHex(rfa.agency.signKey)
    const owner = address === undefined ? undefined : addressTag(address)
    const c = this.area(topic)
    if (c.total >= this.maxPerArea) fail('OVER_QUOTA', `this area's public record holds ${this.maxPerArea} requests`)
    if ((c.agencies.get(agency) ?? 0) >= this.maxPerAgency) fail('OVER_QUOTA', `this agency has ${this.maxPerAgency} requests on this area's record`)
    if (owner !== undefined && (this.byOwner.get(`${topic} ${owner}`) ?? 0) >= this.maxPerAddress) {
      fail('OVER_QUOTA', `this address has ${this.maxPerAddress} requests on this area's record this year`)
    }
    // Counted before the write, so concurrent requests cannot pass the bound together.
    this.count(topic, idHex, agency, owner)
    const exp = rfa.post.created + RFA_RECORD_MS
    try {
      // Who sent it first, so a restart still charges the address; it leaves with the record.
      if (owner !== undefined) await this.store.put({ topic: OWNER_TOPIC_PREFIX + topic.slice(RECORD_TOPIC_PREFIX.length), id: ownerId(id), ts: rfa.post.created, exp, bytes: utf8Bytes(owner) })
      if (!await this.store.put({ topic, id, ts: rfa.post.created, exp, bytes })) this.uncount(idHex)
    } catch (err) {
      this.uncount(idHex)
      throw err
    }
    this.changed()
  }

  /** Something on an area topic changed (a post or reply stored, deleted or expired): reports are made again. */
  changed (): void { this.version++ }

  /** Uncounts records the store's sweep deleted. */
  swept (ids: readonly Uint8Array[]): void {
    for (const id of ids) this.uncount(toHex(id))
    if (ids.length > 0) this.changed()
  }

  /** How many RFAs an area's record holds. */
  size (areaTopic: string): number { return this.counts.get(recordTopic(areaTopic))?.total ?? 0 }

  /** The verified RFAs of `areaTopics` (newest first) with their public reply counts; cached. */
  async report (_area: string, areaTopics: readonly string[]): Promise<VerifiedRfa[]> {
    // Keyed by the topics (what the report is made of), not by the area asked: the many
    // spellings of overlapping areas share one report.
    const key = [...areaTopics].sort().join(' ')
    const hit = this.cache.get(key)
    const age = hit === undefined ? Infinity : this.now() - hit.at
    if (hit !== undefined && age < REPORT_CACHE_MS && (hit.version === this.version || age < MIN_REBUILD_MS)) return await hit.report
    const report = this.build(areaTopics)
    this.cache.set(key, { at: this.now(), version: this.version, report })
    // Only a few areas are served; a cache entry per area asked is bounded by them.
    if (this.cache.size > 64) this.cache.delete(this.cache.keys().next().value!)
    report.catch(() => { if (this.cache.get(key)?.report === report) this.cache.delete(key) })
    return await report
  }

  /** openRfaRecord, its signatures checked once per request; undefined for one that fails or left the record's year. */
  private async verify (bytes: Uint8Array, now: number): Promise<OpenedRfa | undefined> {
    const key = toHex(sha256(bytes))
    const known = this.verified.get(key)
    if (known !== undefined) return now < known.post.created + RFA_RECORD_MS ? known : undefined
    const opened = await openRfaRecord(bytes, now).catch(() => undefined)
    if (opened === undefined) return undefined
    if (this.verified.size >= MAX_VERIFIED) this.verified.delete(this.verified.keys().next().value!)
    this.verified.set(key, opened)
    return opened
  }

  private async build (areaTopics: readonly string[]): Promise<VerifiedRfa[]> {
    const now = this.now()
    const rfas = new Map<string, VerifiedRfa>()
    const replies = new Map<string, number>()
    const add = async (bytes: Uint8Array): Promise<void> => {
      const opened = await this.verify(bytes, now)
      if (opened !== undefined && !rfas.has(toHex(opened.id))) rfas.set(toHex(opened.id), { bytes, opened, replies: 0 })
    }
    for (const topic of areaTopics) {
      for await (const m of this.store.list(recordTopic(topic))) await add(m.bytes)
      // The area itself: public replies, and RFAs stored before the record existed.
      for await (const m of this.store.list(topic)) {
        let domain: string
        try { domain = peekDomain(m.bytes) } catch { continue }
        if (domain === 'pl/rfa') {
          await add(m.bytes)
        } else if (domain === 'pl/public-post') {
          let to: Uint8Array | undefined
          try { to = publicPostReplyTo(m.bytes) } catch { continue }
          if (to !== undefined) replies.set(toHex(to), (replies.get(toHex(to)) ?? 0) + 1)
        }
      }
    }
    const out = [...rfas.values()].map(r => ({ ...r, replies: replies.get(toHex(r.opened.id)) ?? 0 }))
    return out.sort((a, b) => b.opened.post.created - a.opened.post.created || (toHex(a.opened.id) < toHex(b.opened.id) ? -1 : 1))
  }
}
