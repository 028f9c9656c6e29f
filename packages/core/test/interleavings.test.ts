import { describe, it, expect } from 'vitest';
import { Kernel, countInterleavings, formatLog10, log10Multinomial, noneStrategy, stepsPerThread, execute, type DporTarget, type KGen } from '../src/index.js';

describe('plain-interleaving estimate', () => {
  it('is the multinomial coefficient of the per-thread step counts', () => {
    expect(10 ** log10Multinomial([1, 1])).toBeCloseTo(2, 9);
    expect(10 ** log10Multinomial([2, 2])).toBeCloseTo(6, 9);
    expect(10 ** log10Multinomial([3, 2, 1])).toBeCloseTo(60, 6);
    expect(stepsPerThread([0, 1, 0, 2, 2, 2])).toEqual([2, 1, 3]);
    expect(formatLog10(Math.log10(60))).toBe('~60');
    expect(formatLog10(851.5)).toBe('~3.2e+851');
  });
  it('equals the exact count when no thread ever blocks', () => {
    // Three threads of 3, 2 and 2 independent steps: 7!/(3!2!2!) = 210 interleavings.
    const lens = [3, 2, 2];
    const target: DporTarget = {
      run(sched) {
        const k = new Kernel(noneStrategy, { hugePages: 1 });
        lens.forEach((n, i) =>
          k.spawn(`T${i}`, '', () =>
            (function* (): KGen {
              for (let s = 0; s < n; s++) yield { fn: 'f', obj: '', access: 'none', label: 'x' };
            })(),
          ),
        );
        return execute(k, sched, {});
      },
    };
    const c = countInterleavings(target, 1_000_000);
    expect(c).toEqual({ count: 210, exact: true });
    expect(10 ** log10Multinomial(lens)).toBeCloseTo(210, 6);
  });
});
