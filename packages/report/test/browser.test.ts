/**
 * Opens a rendered report in headless Chromium (playwright-core, the system /usr/bin/chromium)
 * and checks that every chart was drawn. Without Chromium the test is skipped, except under
 * CI=true, where it fails with a message saying how to install it.
 */
import { describe, it, expect } from 'vitest';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeHtmlReport } from '../src/index.js';
import { sampleReport } from './fixture.js';

const CHROMIUM = process.env.HUGESYNC_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = fileURLToPath(new URL('../../../artifacts/', import.meta.url));
const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI === 'true';
const CHARTS = ['chart-verdicts', 'chart-throughput', 'chart-wait', 'chart-latency'];

if (!haveChromium && !ci) console.warn(`report browser test skipped: ${CHROMIUM} not found (apt-get install -y chromium)`);

describe('HTML report in headless Chromium', () => {
  it.runIf(!haveChromium && ci)('needs Chromium under CI', () => {
    throw new Error(`${CHROMIUM} not found: CI must install Chromium (apt-get install -y chromium) for the report browser test`);
  });

  it.runIf(haveChromium)('draws every chart', async () => {
    const { chromium } = await import('playwright-core');
    mkdirSync(ARTIFACTS, { recursive: true });
    const file = join(ARTIFACTS, 'report-test.html');
    writeHtmlReport(sampleReport(), file);
    // chromium.launch() starts Chromium with a fresh, empty user-data-dir of its own (it refuses a
    // --user-data-dir argument) and removes it on close.
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
      const errors: string[] = [];
      const requests: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => {
        if (m.type() === 'error') errors.push(m.text());
      });
      page.on('request', (r) => {
        if (!r.url().startsWith('file:')) requests.push(r.url());
      });
      await page.goto(pathToFileURL(file).href);
      await page.waitForSelector('body[data-charts-drawn]', { timeout: 20_000 });
      expect(errors).toEqual([]);
      expect(requests, 'the report must not touch the network').toEqual([]);
      expect(await page.evaluate(() => document.body.dataset.chartsDrawn)).toBe(String(CHARTS.length));
      for (const id of CHARTS) {
        const marks = await page.evaluate((cid) => {
          const el = document.getElementById(cid)!;
          // The chart itself is the largest svg (legend swatches are small ones).
          const svg = [...el.querySelectorAll('svg')].sort((a, b) => b.getBoundingClientRect().height - a.getBoundingClientRect().height)[0];
          return {
            drawn: el.getAttribute('data-drawn'),
            svgs: el.querySelectorAll('svg').length,
            rect: el.querySelectorAll('svg rect').length,
            circle: el.querySelectorAll('svg circle').length,
            path: el.querySelectorAll('svg path').length,
            text: svg ? svg.querySelectorAll('text').length : 0,
          };
        }, id);
        expect(marks.drawn, id).toBe('true');
        expect(marks.svgs, id).toBeGreaterThan(0);
        expect(marks.rect + marks.circle + marks.path, id).toBeGreaterThan(0);
        expect(marks.text, `${id} has axis or label text`).toBeGreaterThan(0);
      }
      // Bars: one per (strategy, perf workload) run in each bar chart; the verdict grid: one cell per (workload, strategy).
      const data = sampleReport();
      const barCount = (id: string) => page.evaluate((cid) => document.querySelectorAll(`#${cid} svg g[aria-label="bar"] rect`).length, id);
      expect(await barCount('chart-throughput')).toBe(data.run.length);
      expect(await barCount('chart-wait')).toBe(data.run.length);
      expect(await page.evaluate(() => document.querySelectorAll('#chart-verdicts svg g[aria-label="cell"] rect').length)).toBe(data.explore.length);
      expect(await page.evaluate(() => document.querySelectorAll('#chart-latency svg g[aria-label="dot"] path').length)).toBe(data.run.length * 3);
      await page.screenshot({ path: join(ARTIFACTS, 'report-screenshot.png'), fullPage: true });
    } finally {
      await browser.close();
    }
  });
});
