/**
 * The map: the neighborhood's posts as the cells their authors chose to share, over a plain
 * grid of the area (it needs no internet and no tile server), with the same cells listed in
 * words beside it (the picture's text alternative).
 */
import { LitElement, html, css, svg, nothing, unsafeCSS, type PropertyValues } from 'lit'
import { customElement, property, query, state } from 'lit/decorators.js'
import { tileHost, type MapTiles } from '../../protocol/map-tiles.ts'
import type { StreetMap } from './street-map.ts'
import type { FeedPost } from '../../protocol/peer/resident.ts'
import { cellWords, mapView, pictureHeight, place, type MapCell } from '../state/map-view.ts'
import { shared } from './shared-styles.ts'

const WIDTH = 360

@customElement('pl-map')
export class PlMap extends LitElement {
  static override styles = [shared, css`
    figure { margin: 0.5rem 0; }
    svg { display: block; width: 100%; height: auto; max-height: 55vh; background: #f6f6f2; border: 1px solid #999; border-radius: 6px; }
    .grid { fill: none; stroke: #ccc; stroke-width: 0.5; }
    .area { fill: none; stroke: #234; stroke-width: 1.5; }
    .cell { fill: #c0392b; stroke: #7b241c; stroke-width: 0.8; }
    table { border-collapse: collapse; width: 100%; font-size: 0.9rem; }
    th, td { text-align: left; padding: 0.3rem; border-bottom: 1px solid #ddd; vertical-align: top; }
    code { font-size: 0.85rem; }
    #street { height: 55vh; min-height: 16rem; border: 1px solid #999; border-radius: 6px; }
  `]

  @property({ attribute: false }) posts: readonly FeedPost[] = []
  @property() area = ''
  @property() hood = ''
  /** Street map tiles the relay offers; shown only once the resident turns them on. */
  @property({ attribute: false }) tiles: MapTiles | undefined
  @state() private street = false
  @state() private streetCss = ''
  @query('#street') private streetBox!: HTMLElement | null
  private streetMap: StreetMap | undefined

  override render () {
    if (this.area === '') return nothing
    const view = mapView(this.posts, this.area)
    const height = pictureHeight(view.frame, WIDTH)
    const most = Math.max(1, ...view.cells.map(c => c.count))
    const box = (b: Parameters<typeof place>[0]) => place(b, view.frame, WIDTH)
    const area = box(view.frame)
    return html`
      <h2>Map</h2>
      ${this.tiles !== undefined ? this.streetSwitch(this.tiles) : nothing}
      ${this.street ? html`<style>${unsafeCSS(this.streetCss)}</style><section id="street" aria-label="Street map of ${this.hood} with the same cells (listed below)"></section>` : nothing}
      <figure ?hidden=${this.street}>
        <svg viewBox="0 0 ${WIDTH} ${height.toFixed(1)}" role="img" aria-labelledby="caption">
          ${view.grid.map(g => { const r = box(g); return svg`<rect class="grid" x=${r.x} y=${r.y} width=${r.width} height=${r.height}></rect>` })}
          <rect class="area" x=${area.x} y=${area.y} width=${area.width} height=${area.height}></rect>
          ${view.cells.map(c => this.cell(c, box(c.bounds), most, c.geohash === this.area))}
        </svg>
        <figcaption id="caption" class="note">Posts in ${this.hood}, each drawn as the area its author chose to share
          (never a more exact point); darker cells hold more posts. The same cells are listed below.</figcaption>
      </figure>
      <table>
        <caption class="note">Posts by shared area</caption>
        <thead><tr><th scope="col">Area</th><th scope="col">Size</th><th scope="col">Posts</th></tr></thead>
        <tbody>
          ${view.cells.length === 0
            ? html`<tr><td colspan="3">No posts to show.</td></tr>`
            : view.cells.map(c => html`<tr data-geohash=${c.geohash}><td><code>${c.geohash}</code>${c.geohash === this.area ? ' (the whole neighborhood)' : ''}</td><td>${c.size}</td><td>${cellWords(c)}</td></tr>`)}
        </tbody>
      </table>
      <p class="note"><a href=${`./transparency.html?area=${encodeURIComponent(this.area)}`}>Agency requests for this area, on the record</a>: every request relays know of, who vouched for each agency, and the public replies.</p>`
  }

  private streetSwitch (tiles: MapTiles) {
    return html`<div class="row"><input type="checkbox" id="street-on" .checked=${this.street} @change=${(e: Event) => { this.street = (e.target as HTMLInputElement).checked }}>
      <label for="street-on">Street map from ${tileHost(tiles)}</label></div>
      <p class="note">Off by default: when on, ${tileHost(tiles)} serves the map's pictures and so learns your address on the internet and which area you are looking at (not the posts).</p>`
  }

  override async updated (changed: PropertyValues<this>): Promise<void> {
    if (!this.street || this.tiles === undefined) {
      this.streetMap?.destroy()
      this.streetMap = undefined
      return
    }
    if (this.streetMap === undefined) {
      const { streetMap, STREET_MAP_CSS } = await import('./street-map.ts')
      if (this.streetCss === '') { this.streetCss = STREET_MAP_CSS; await this.updateComplete }
      if (!this.street || this.streetBox === null || this.streetMap !== undefined) return
      this.streetMap = streetMap(this.streetBox, this.tiles)
      this.streetMap.draw(mapView(this.posts, this.area))
    } else if (changed.has('posts') || changed.has('area')) {
      this.streetMap.draw(mapView(this.posts, this.area))
    }
  }

  override disconnectedCallback (): void {
    this.streetMap?.destroy()
    this.streetMap = undefined
    super.disconnectedCallback()
  }

  /** A cell; posts that share only the whole neighborhood tint it lightly, so the finer cells show over them. */
  private cell (c: MapCell, r: ReturnType<typeof place>, most: number, whole: boolean) {
    // At least a few units across, so a 20 m cell is still visible on a neighborhood's map.
    const min = 3
    const w = Math.max(min, r.width)
    const h = Math.max(min, r.height)
    return svg`<rect class="cell" data-geohash=${c.geohash} x=${r.x - (w - r.width) / 2} y=${r.y - (h - r.height) / 2} width=${w} height=${h}
      fill-opacity=${((whole ? 0.08 : 0.25) + (whole ? 0.15 : 0.6) * c.count / most).toFixed(2)}><title>${c.geohash}: ${cellWords(c)}</title></rect>`
  }
}

declare global {
  interface HTMLElementTagNameMap { 'pl-map': PlMap }
}
