/**
 * The time a view counts relative times from ("5 min ago"): set at each update, and ticked
 * every TICK_MS while the view is connected so the times redraw.
 */
import type { ReactiveController, ReactiveControllerHost } from 'lit'

/** Relative times are redrawn this often. */
export const TICK_MS = 30_000

export class NowController implements ReactiveController {
  value = Date.now()
  private timer: ReturnType<typeof setInterval> | undefined

  constructor (private readonly host: ReactiveControllerHost) { host.addController(this) }

  hostConnected (): void {
    this.timer = setInterval(() => { this.value = Date.now(); this.host.requestUpdate() }, TICK_MS)
  }

  hostDisconnected (): void { clearInterval(this.timer) }

  hostUpdate (): void { this.value = Date.now() }
}
