import { describe, it, expect } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtmlReport, writeHtmlReport, fmtNumber } from '../src/index.js';
import { sampleReport } from './fixture.js';

describe('renderHtmlReport (static HTML)', () => {
  const data = sampleReport();
  const html = renderHtmlReport(data);

  it('is deterministic and self-contained (no network references)', () => {
    expect(renderHtmlReport(sampleReport())).toBe(html);
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+href=/i);
    expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org)[^"'\s)]*\.(js|css)\b/);
    expect(html).toContain('Plot=');
    expect(html).not.toMatch(/generated /);
    expect(renderHtmlReport({ ...data, generatedAt: '2025-01-02T03:04:05Z' })).toContain('generated 2025-01-02T03:04:05Z');
  });

  it('escapes all text, and the embedded JSON cannot close its script element', () => {
    expect(html).not.toContain('<script>alert(1)</script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('&amp; &quot;i_mmap_rwsem&quot;');
    const json = html.match(/<script type="application\/json" id="hs-data">([\s\S]*?)<\/script>/)![1]!;
    expect(JSON.parse(json)).toEqual(data);
    // Exactly the four script elements: data, d3, plot, drawing code.
    expect(html.match(/<script\b/g)!.length).toBe(4);
    expect(html.match(/<\/script>/g)!.length).toBe(4);
  });

  it('has the chart containers, the command, the verdicts and the replay tokens', () => {
    for (const id of ['chart-verdicts', 'chart-throughput', 'chart-wait', 'chart-latency']) expect(html).toContain(`id="${id}"`);
    expect(html).toContain('hugesync compare --strategies none,vma-lock');
    expect(html).toContain('hugesync replay hs1.eyJ3IjoicG1kLXVuc2hhcmUtcmFjZSJ9');
    expect(html).toMatch(/<td class="v-bad">pte-stale-owner<\/td>/);
    expect(html).toMatch(/<td class="v-exh">clean \(exhaustive, 1\u202f432 schedules\)<\/td>/);
    expect(html).toMatch(/<td class="v-bnd">clean \(300 schedules, time limit\)<\/td>/);
    expect(html).toContain(`<td class="num">${fmtNumber(1_850_000)}</td>`);
  });

  it('writes atomically (no temporary file left) and reports an unwritable path in one line', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hs-report-'));
    try {
      const f = join(dir, 'r.html');
      writeHtmlReport(data, f);
      expect(readFileSync(f, 'utf8')).toBe(html);
      expect(readdirSync(dir)).toEqual(['r.html']);
      expect(() => writeHtmlReport(data, join(dir, 'missing', 'r.html'))).toThrow(/^cannot write .*missing.*\(ENOENT\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
