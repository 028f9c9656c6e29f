/** @hugesync/report: the self-contained HTML report of a strategy comparison. */
export * from './types.js';
export { renderHtmlReport, writeHtmlReport, esc, fmtNumber, type RenderOptions } from './render.js';
export { chartBundles, type ChartBundles } from './assets.js';
