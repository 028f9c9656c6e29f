// The kit's own run against the 5.6 baseline, through strategyConformance() with its defaults
// (core runs the same in packages/core/test/conformance.test.ts).
import { afterAll, expect } from 'vitest';
import { noneStrategy } from '@hugesync/core';
import { strategyConformance, PARTS } from '../src/index.js';

const results = strategyConformance(noneStrategy, { reportDir: false });

afterAll(() => {
  // Every part ran and left its result; the baseline leaves races open and closes none.
  expect(Object.keys(results).sort()).toEqual(['determinism', 'discipline', 'lockdep', 'raceReport', 'shape', 'strategy']);
  expect(PARTS.length).toBe(5);
  expect(results.raceReport!.rows.every((r) => r.closed.length === 0)).toBe(true);
  expect(results.raceReport!.rows.some((r) => r.open.length > 0)).toBe(true);
});
