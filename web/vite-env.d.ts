/** Vite's `?inline` CSS imports (a stylesheet as a string, for a shadow root). */
declare module '*.css?inline' {
  const css: string
  export default css
}
