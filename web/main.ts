/** The web app's entry: the browser home and engine, the invite from the link, the shell. */
import { PorchlightDb } from './engine/db.ts'
import { BrowserHome } from './engine/home.ts'
import { openBrowserPeer } from './engine/runtime.ts'
import { AppState } from './state/app-state.ts'
import { takeInviteFromLocation } from './state/invite-link.ts'
import { fetchPageRelay } from './state/relay-info.ts'
import './components/pl-app.ts'

const pageHost = location.hostname
const invite = takeInviteFromLocation(location, history)
const home = new BrowserHome(new PorchlightDb())
const pageRelay = await fetchPageRelay(fetch, pageHost)
const app = new AppState({
  home,
  origin: location.origin,
  ...(pageRelay !== undefined ? { pageRelay } : {}),
  openEngine: async () => await openBrowserPeer({ home, pageHost, ...(pageRelay !== undefined ? { pageRelay } : {}) })
})
const shell = document.createElement('pl-app')
shell.app = app
document.body.append(shell)
void app.init(invite)
