/**
 * The street map under the neighborhood map (Leaflet), loaded only when a resident turns it on
 * and the relay offers tiles: the cells drawn over the tiles, at the precision each post has.
 */
import L from 'leaflet'
import leafletCss from 'leaflet/dist/leaflet.css?inline'
import type { MapTiles } from '../../protocol/map-tiles.ts'
import type { MapView } from '../state/map-view.ts'
import { cellWords } from '../state/map-view.ts'

/** Leaflet's stylesheet, for the shadow root the map is drawn in. */
export const STREET_MAP_CSS = leafletCss

export interface StreetMap {
  draw: (view: MapView) => void
  destroy: () => void
}

export function streetMap (container: HTMLElement, tiles: MapTiles): StreetMap {
  const map = L.map(container, { attributionControl: true, zoomControl: true })
  L.tileLayer(tiles.url, { maxZoom: 19, ...(tiles.attribution !== undefined ? { attribution: escapeText(tiles.attribution) } : {}) }).addTo(map)
  const cells = L.layerGroup().addTo(map)
  let framed = false
  return {
    draw (view) {
      cells.clearLayers()
      const most = Math.max(1, ...view.cells.map(c => c.count))
      for (const c of view.cells) {
        const whole = c.geohash === view.area
        L.rectangle([[c.bounds.south, c.bounds.west], [c.bounds.north, c.bounds.east]], {
          color: '#7b241c', weight: 1, fillColor: '#c0392b', fillOpacity: (whole ? 0.08 : 0.25) + (whole ? 0.15 : 0.6) * c.count / most
        }).bindTooltip(`${c.geohash}: ${cellWords(c)}`).addTo(cells)
      }
      if (!framed) {
        map.fitBounds([[view.frame.south, view.frame.west], [view.frame.north, view.frame.east]])
        framed = true
      }
    },
    destroy () { map.remove() }
  }
}

/** Leaflet puts the attribution in as HTML: the relay's text goes in as text. */
function escapeText (s: string): string {
  return s.replace(/[&<>"']/g, c => `&#${c.charCodeAt(0)};`)
}
