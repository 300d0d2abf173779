/**
 * Loggers of the peer components. Each component makes its own, once, from the libp2p node's
 * `logger.forComponent('porchlight:<name>')`: it prints only when debugging is on
 * (DEBUG=porchlight:* in Node, localStorage.debug in a browser). What an operator or a user
 * must see is not logged here: it goes to the relay's log, or comes back as a Result.
 */
import type { Logger } from '@libp2p/interface'

const nothing = (): void => {}

/** A logger that prints nothing: for a component before it has a libp2p node. */
export const SILENT_LOGGER: Logger = Object.assign(nothing, {
  error: nothing,
  trace: nothing,
  enabled: false,
  newScope: (): Logger => SILENT_LOGGER
})
