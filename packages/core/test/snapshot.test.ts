import { describe, it, expect } from 'vitest';
import { Hstate, LockGraph, MachineTemplate, buildKernel, checkQuiescence, makeScheduler, noneStrategy, runOnce, type SyncStrategy } from '../src/index.js';
import { GraphCopier, NotCopyable } from '../src/engine/snapshot.js';
import { faultTruncateRace, pmdUnshareRace } from './fixtures.js';

describe('lazy hugetlb pool', () => {
  it('hands out pages in the order of an eagerly built LIFO free list', () => {
    const h = new Hstate(4);
    expect([h.nr, h.free, h.untouched]).toEqual([4, 4, 4]);
    expect(h.pages.filter((p) => p !== undefined)).toHaveLength(0);
    const a = h.dequeue()!;
    const b = h.dequeue()!;
    expect([a.id, b.id]).toEqual([4, 3]);
    h.enqueue(a);
    expect(h.dequeue()!.id).toBe(4); // freed pages go on top of the untouched ones
    expect([h.dequeue()!.id, h.dequeue()!.id, h.dequeue()]).toEqual([2, 1, null]);
    expect([h.free, h.untouched]).toEqual([0, 0]);
    expect(h.page(3)).toBe(b);
  });

  it('numbers surplus pages after the whole pool, and the quiescence check counts untouched pages as free', () => {
    const h = new Hstate(3, 1);
    expect(h.addPage(true).id).toBe(4);
    const built = buildKernel(faultTruncateRace(), noneStrategy);
    expect(built.kernel.hstate.untouched).toBe(4);
    expect(checkQuiescence(built.kernel)).toEqual([]);
  });
});

describe('GraphCopier', () => {
  class Box {
    constructor(
      public v: number,
      public next: Box | null = null,
    ) {}
    twice(): number {
      return this.v * 2;
    }
  }

  it('keeps prototypes, sharing, cycles, holes, Map/Set order and typed-array contents', () => {
    const a = new Box(1);
    const b = new Box(2, a);
    a.next = b;
    const sparse: number[] = [];
    sparse[3] = 7;
    const src = { a, b, m: new Map([['y', a], ['x', b]]), s: new Set([b, a]), t: new Int32Array([5, 6]), sparse };
    const c = new GraphCopier(true).copy(src);
    expect(c.a).not.toBe(a);
    expect(c.a).toBeInstanceOf(Box);
    expect(c.a.twice()).toBe(2);
    expect(c.a.next).toBe(c.b);
    expect(c.b.next).toBe(c.a);
    expect([...c.m.keys()]).toEqual(['y', 'x']);
    expect(c.m.get('y')).toBe(c.a);
    expect([...c.s]).toEqual([c.b, c.a]);
    expect(Array.from(c.t)).toEqual([5, 6]);
    c.t[0] = 9;
    expect(src.t[0]).toBe(5);
    expect(2 in c.sparse).toBe(false);
    expect(c.sparse).toHaveLength(4);
  });

  it('refuses, in the strict pass, what a copy could not reproduce', () => {
    expect(() => new GraphCopier(true).copy({ f: () => 1 })).toThrow(NotCopyable);
    expect(() => new GraphCopier(true).copy({ w: new WeakMap() })).toThrow(NotCopyable);
    expect(() => new GraphCopier(true).copy({ g: (function* () {})() })).toThrow(NotCopyable);
    expect(() => new GraphCopier(true).copy({ o: Object.freeze({ x: 1 }) })).toThrow(NotCopyable);
  });
});

describe('MachineTemplate', () => {
  it('a copy of the machine after setup runs every schedule exactly as a fresh build does', () => {
    const spec = pmdUnshareRace();
    const template = new MachineTemplate(spec, noneStrategy, 1);
    expect(template.copyable).toBe(true);
    const g1 = new LockGraph();
    const g2 = new LockGraph();
    let violations = 0;
    for (let i = 0; i < 12; i++) {
      const fresh = runOnce(spec, noneStrategy, makeScheduler(i % 2 ? 'pct' : 'random', 3, i, 3, 400), { seed: 1, graph: g1, stopOnViolation: false }).exec;
      const copied = runOnce(spec, noneStrategy, makeScheduler(i % 2 ? 'pct' : 'random', 3, i, 3, 400), { seed: 1, graph: g2, stopOnViolation: false, template }).exec;
      expect(copied).toEqual(fresh);
      violations += fresh.violations.length;
    }
    expect(violations).toBeGreaterThan(0); // the schedules reach the race, so the comparison covers reports too
  });

  it('falls back to building afresh when the model holds something it cannot copy', () => {
    const strategy: SyncStrategy = {
      ...noneStrategy,
      name: 'closure-in-ext',
      initInode: (_k, ino) => {
        ino.ext.hook = () => ino.name;
      },
    };
    const spec = faultTruncateRace();
    const template = new MachineTemplate(spec, strategy, 1);
    expect(template.copyable).toBe(false);
    expect(template.reason).toMatch(/function/);
    const sched = () => makeScheduler('random', 1, 0, 3, 200);
    const a = runOnce(spec, strategy, sched(), { seed: 1, template }).exec;
    const b = runOnce(spec, strategy, sched(), { seed: 1 }).exec;
    expect(a).toEqual(b);
  });
});
