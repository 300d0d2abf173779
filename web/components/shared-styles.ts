/** Styles every component shares: phone-sized first, large touch targets, visible focus. */
import { css } from 'lit'

export const shared = css`
  :host { display: block; font: 16px/1.4 system-ui, sans-serif; color: #1b1b1b; }
  label { display: block; font-weight: 600; margin: 0.6rem 0 0.2rem; }
  input[type=text], textarea, select { box-sizing: border-box; width: 100%; font: inherit; padding: 0.6rem; border: 1px solid #777; border-radius: 6px; }
  textarea { min-height: 5rem; }
  button { font: inherit; min-height: 44px; padding: 0.5rem 1rem; margin-top: 0.8rem; border-radius: 6px; border: 1px solid #444; background: #234; color: #fff; }
  button[disabled] { opacity: 0.6; }
  :focus-visible { outline: 3px solid #f90; outline-offset: 2px; }
  .note { font-size: 0.9rem; color: #444; }
  .row { display: flex; gap: 0.5rem; align-items: center; }
  .row label { display: inline; font-weight: 400; margin: 0; }
`
