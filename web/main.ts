/** The web app's entry: the browser home and engine, the invite from the link, the shell. */
import { PorchlightDb } from './engine/db.ts'
import { BrowserHome } from './engine/home.ts'
import { Tabs } from './engine/leader.ts'
import { watchStore } from './engine/outbox-view.ts'
import { AppState } from './state/app-state.ts'
import { takeInviteFromLocation } from './state/invite-link.ts'
import { fetchRelayInfo, pickRelayAddr } from './state/relay-info.ts'
import './components/pl-app.ts'
import { SettingsStore } from './state/settings.ts'
import { browserNotifyEnv, notifyPost } from './state/notifications.ts'

const pageHost = location.hostname
const invite = takeInviteFromLocation(location, history)
const db = new PorchlightDb()
const home = new BrowserHome(db)
// Asked while the page draws from IndexedDB; the engine and a new neighborhood wait for it.
const relayInfo = fetchRelayInfo(fetch)
const pageRelay = relayInfo.then(info => info === undefined ? undefined : pickRelayAddr(info, pageHost))
const app = new AppState({
  home,
  origin: location.origin,
  // One engine per origin: this tab runs it, or shows IndexedDB and hands its posts to the tab that does.
  ...('locks' in navigator && typeof BroadcastChannel === 'function' ? { tabs: new Tabs() } : {}),
  watchStore: (onChange, onError) => watchStore(db, onChange, onError),
  pageRelay,
  // The next frame drawn, then a task: what the state holds so far is on screen.
  afterPaint: async () => { await new Promise<void>(resolve => { requestAnimationFrame(() => { setTimeout(resolve, 0) }) }) },
  // libp2p and the engine load only once there is a neighborhood to connect to, after the first paint.
  openEngine: async () => {
    const relay = await pageRelay
    return await (await import('./engine/runtime.ts')).openBrowserPeer({ home, pageHost, ...(relay !== undefined ? { pageRelay: relay } : {}) })
  }
})
const shell = document.createElement('pl-app')
shell.app = app
// A link to the map (…/#map) opens it; an invite link's fragment was taken above.
if (location.hash === '#map') shell.view = 'map'
// A street map under the map, if the relay offers one (each resident turns it on).
void relayInfo.then(info => { if (info?.mapTiles !== undefined) shell.mapTiles = info.mapTiles })
// Agency mode (an agency identity): its own engine on the same storage, the page's relay to follow areas through.
shell.agency = {
  home,
  pageRelay,
  openEngine: async () => {
    const relay = await pageRelay
    return await (await import('./engine/runtime.ts')).openBrowserPeer({ home, pageHost, ...(relay !== undefined ? { pageRelay: relay } : {}) })
  }
}
const settings = new SettingsStore(localStorage)
shell.settings = settings
// A post that arrives while the tab is hidden: a notification (if the resident turned them on in Settings).
const notifyEnv = browserNotifyEnv(() => settings.prefs, () => app.snapshot.showRequests !== false)
app.addEventListener('post', e => {
  const post = (e as CustomEvent<import('../protocol/peer/resident.ts').FeedPost>).detail
  notifyPost(post, post.hood, notifyEnv)
})
document.body.append(shell)
void app.init(invite)
addEventListener('hashchange', () => {
  const later = takeInviteFromLocation(location, history)
  if (later !== undefined) app.offerInvite(later)
})

// The app shell from the cache when the relay's HTTP is unreachable (sw.js, built by vite.config.ts).
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch(() => undefined)
}
