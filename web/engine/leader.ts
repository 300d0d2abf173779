/**
 * One engine per origin, however many tabs: the tab that holds the Web Lock `porchlight-engine`
 * runs the engine (libp2p, the outbox); the others show what IndexedDB holds and hand their
 * actions to it over a BroadcastChannel. A tab waiting for the lock takes over when the
 * leader's tab closes (the browser releases a closed tab's locks). Only the leader's engine
 * ever flushes the outbox, so two tabs never send the same post.
 *
 * Messages on the channel:
 *   ask     follower → leader   an action (`op`, `args`), with a request id
 *   answer  leader → follower   its outcome (`error` said plainly, or none)
 *   status  leader → all        the connection, after each change and on `hello`
 *   hello   any → leader        asks for the status now
 *   leader  new leader → all    followers send their unanswered asks again
 */

export const ENGINE_LOCK = 'porchlight-engine'
export const CHANNEL = 'porchlight-tabs'

export interface TabStatus { connection: 'offline' | 'connecting' | 'connected', relaysConnected: number }

/** What a follower asks the leader to do; `args` are structured-cloneable. */
export interface TabAsk { op: string, args: unknown }

type Wire =
  | { t: 'ask', rid: string, op: string, args: unknown }
  | { t: 'answer', rid: string, error?: string }
  | { t: 'status', status: TabStatus }
  | { t: 'hello' }
  | { t: 'leader' }

/** The parts of the browser this needs (injected in tests of the logic). */
export interface TabsEnv {
  locks: Pick<LockManager, 'request'>
  channel: (name: string) => Pick<BroadcastChannel, 'postMessage' | 'close'> & { onmessage: ((ev: MessageEvent) => void) | null }
}

export class Tabs {
  private leadingNow = false
  private readonly channel: ReturnType<TabsEnv['channel']>
  private readonly pending = new Map<string, { ask: TabAsk, resolve: (error: string | undefined) => void }>()
  private handler: ((ask: TabAsk) => Promise<string | undefined>) | undefined
  private readonly statusListeners = new Set<(s: TabStatus) => void>()
  private lastStatus: TabStatus | undefined
  private release: (() => void) | undefined
  private readonly abort = new AbortController()

  constructor (private readonly env: TabsEnv = { locks: navigator.locks, channel: name => new BroadcastChannel(name) }) {
    this.channel = env.channel(CHANNEL)
    this.channel.onmessage = (ev) => { this.receive(ev.data as Wire) }
  }

  /** Whether this tab runs the engine. */
  get leading (): boolean { return this.leadingNow }

  /**
   * Waits for the engine lock (at once if no other tab holds it) and then runs `lead`; the
   * lock is held until this tab closes or `close()` is called.
   */
  lead (lead: () => Promise<void>): void {
    void this.env.locks.request(ENGINE_LOCK, { signal: this.abort.signal }, async () => {
      this.leadingNow = true
      this.post({ t: 'leader' })
      try {
        const led = lead()
        // What this tab asked while another led, unanswered: it is this tab's to do now.
        for (const [rid, p] of this.pending) {
          this.pending.delete(rid)
          void this.carryOut({ op: p.ask.op, args: p.ask.args }).then(p.resolve)
        }
        await led
      } finally {
        // Held until the tab goes: a failure to start is shown by the app, and a second tab
        // taking over would fail the same way.
        await new Promise<void>(resolve => { this.release = resolve })
      }
    }).catch(() => undefined)
  }

  /** The leader: how it carries out the other tabs' asks (returns an error to show, or none). */
  serve (handler: (ask: TabAsk) => Promise<string | undefined>): void { this.handler = handler }

  /** A follower: has the leader do `ask`; resolves with its error, if any, once it answered. */
  async ask (ask: TabAsk): Promise<string | undefined> {
    const rid = crypto.randomUUID()
    return await new Promise(resolve => {
      this.pending.set(rid, { ask, resolve })
      this.post({ t: 'ask', rid, op: ask.op, args: ask.args })
    })
  }

  /** The leader tells every tab how the engine is connected. */
  announce (status: TabStatus): void {
    this.lastStatus = status
    this.post({ t: 'status', status })
  }

  /** A follower hears the leader's connection status (now, if the leader answers `hello`). */
  onStatus (listener: (s: TabStatus) => void): () => void {
    this.statusListeners.add(listener)
    this.post({ t: 'hello' })
    return () => { this.statusListeners.delete(listener) }
  }

  close (): void {
    this.abort.abort()
    this.release?.()
    this.channel.close()
    this.leadingNow = false
  }

  private post (m: Wire): void { this.channel.postMessage(m) }

  private async carryOut (ask: TabAsk): Promise<string | undefined> {
    if (this.handler === undefined) return 'this tab cannot do that'
    return await this.handler(ask).catch((err: unknown) => (err as Error)?.message ?? String(err))
  }

  private receive (m: Wire): void {
    switch (m.t) {
      case 'ask':
        if (!this.leadingNow) return
        void this.carryOut({ op: m.op, args: m.args })
          .then(error => { this.post({ t: 'answer', rid: m.rid, ...(error !== undefined ? { error } : {}) }) })
        return
      case 'answer': {
        const p = this.pending.get(m.rid)
        if (p === undefined) return
        this.pending.delete(m.rid)
        p.resolve(m.error)
        return
      }
      case 'status':
        if (this.leadingNow) return
        for (const l of this.statusListeners) l(m.status)
        return
      case 'hello':
        if (this.leadingNow && this.lastStatus !== undefined) this.post({ t: 'status', status: this.lastStatus })
        return
      case 'leader':
        // The former leader may have closed before answering: ask the new one. (An ask the
        // former leader carried out but did not answer would be done twice; a tab closing
        // in the middle of a post is the only way to get there.)
        if (this.leadingNow) return
        for (const [rid, p] of this.pending) this.post({ t: 'ask', rid, op: p.ask.op, args: p.ask.args })
    }
  }
}
