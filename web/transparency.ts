/**
 * The transparency page's entry (transparency.html?area=GEOHASH): the public record of agency
 * requests for an area, from the relay that served the page. Loads no identity, no IndexedDB
 * and no libp2p. The report is asked for first, while the component's code loads.
 */
import { areaFromLocation, loadReport, type Loaded } from './state/transparency.ts'

const first = areaFromLocation(location)
const firstReport: Promise<Loaded> | undefined = first !== undefined ? loadReport(fetch, first) : undefined
await import('./components/pl-transparency.ts')

const page = document.createElement('pl-transparency')
// Inside <main>: the page's one landmark.
const main = document.getElementById('main') ?? document.body
main.append(page)

async function show (area: string | undefined, report?: Promise<Loaded>): Promise<void> {
  page.area = area ?? ''
  page.loaded = undefined
  if (area === undefined) return
  document.title = `Agency requests for ${area} · Porchlight`
  const loaded = await (report ?? loadReport(fetch, area))
  if (page.area === area) page.loaded = loaded
}

page.addEventListener('pick-area', (e) => {
  const url = new URL(location.href)
  url.searchParams.set('area', e.detail.area)
  url.hash = ''
  history.pushState(null, '', url)
  void show(e.detail.area)
})
addEventListener('popstate', () => { void show(areaFromLocation(location)) })
void show(first, firstReport)
