import { describe, it, expect, beforeAll } from 'vitest';
import {
  explore,
  noneStrategy,
  runOnce,
  ReplayScheduler,
  attachTracer,
  toTraceJson,
  traceTid,
  lockTid,
  type Tracer,
  type TraceEvent,
  type Kernel,
  type Finding,
  type ExecResult,
  Mutex,
  lock,
  unlock,
  execute,
} from '../src/index.js';
import { pmdUnshareRace } from './fixtures.js';
import { kernel, spawn, sequential } from './model-helpers.js';

/** Per tid, sorted by start (longest first on ties): each X slice ends before the next starts or contains it. */
function nestingErrors(events: readonly TraceEvent[]): string[] {
  const byTid = new Map<string, TraceEvent[]>();
  for (const e of events) {
    if (e.ph !== 'X') continue;
    const key = `${e.pid}/${e.tid}`;
    byTid.set(key, [...(byTid.get(key) ?? []), e]);
  }
  const errors: string[] = [];
  for (const [key, list] of byTid) {
    list.sort((a, b) => a.ts - b.ts || b.dur! - a.dur!);
    const stack: TraceEvent[] = [];
    for (const e of list) {
      while (stack.length > 0 && stack[stack.length - 1]!.ts + stack[stack.length - 1]!.dur! <= e.ts) stack.pop();
      const top = stack[stack.length - 1];
      if (top && e.ts + e.dur! > top.ts + top.dur!) errors.push(`${key}: ${e.name}@${e.ts}+${e.dur} overlaps ${top.name}@${top.ts}+${top.dur}`);
      stack.push(e);
    }
  }
  return errors;
}

describe('perfetto trace of a violating schedule (none, pmd-unshare-race)', () => {
  const spec = pmdUnshareRace();
  let finding: Finding;
  let exec: ExecResult;
  let kernel: Kernel;
  let tracer: Tracer;
  let events: TraceEvent[];
  let parsed: { traceEvents: TraceEvent[]; displayTimeUnit: string; otherData: Record<string, unknown> };

  beforeAll(() => {
    const r = explore(spec, noneStrategy, { explorer: 'random', schedules: 2000, seed: 1 });
    finding = r.violations[0]!;
    expect(finding, 'random exploration finds the race').toBeDefined();
    const run = runOnce(spec, noneStrategy, new ReplayScheduler(finding.schedule), {
      seed: 1,
      onBuilt: (b) => {
        kernel = b.kernel;
        tracer = attachTracer(b.kernel, { pid: 7, processName: `none — ${spec.name}` });
      },
    });
    exec = run.exec;
    events = tracer.events();
    parsed = JSON.parse(toTraceJson(events, { strategy: 'none', workload: spec.name, replay: finding.replay }));
  });

  it('replays to the same violation and serialises to valid trace JSON', () => {
    expect(exec.violations.map((v) => v.kind)).toContain(finding.kind);
    expect(parsed.displayTimeUnit).toBe('ns');
    expect(parsed.otherData.replay).toBe(finding.replay);
    expect(parsed.traceEvents).toEqual(events);
    for (const e of parsed.traceEvents) {
      expect(e.pid).toBe(7);
      expect(typeof e.ts).toBe('number');
      expect(['X', 'b', 'e', 'i', 'C', 'M']).toContain(e.ph);
    }
    const proc = parsed.traceEvents.filter((e) => e.ph === 'M' && e.name === 'process_name');
    expect(proc.map((e) => e.args!.name)).toEqual(['none — pmd-unshare-race']);
  });

  it('names every simulated thread exactly once', () => {
    const names = parsed.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name');
    for (const t of kernel.threads) {
      const mine = names.filter((e) => e.tid === traceTid(t));
      expect(mine.map((e) => e.args!.name), t.name).toEqual([t.name]);
    }
    expect(new Set(names.map((e) => e.tid)).size).toBe(names.length);
    // Each workload thread that ran has kernel-function slices on its tid.
    for (const t of kernel.threads.filter((x) => x.steps > 0 && !x.daemon)) {
      expect(parsed.traceEvents.some((e) => e.ph === 'X' && e.cat === 'kernel' && e.tid === traceTid(t)), t.name).toBe(true);
    }
  });

  it('X slices nest per tid, and function slices cover every step exactly once', () => {
    expect(nestingErrors(parsed.traceEvents)).toEqual([]);
    const fnSlices = parsed.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'kernel');
    const steps = fnSlices.reduce((n, e) => n + (e.args!.steps as number), 0);
    expect(steps).toBe(exec.steps);
    // Untimed: one step = 1 µs; a slice spans its first to its last step (other threads may run in between).
    for (const e of fnSlices) expect(e.dur).toBeGreaterThanOrEqual(e.args!.steps as number);
    expect(fnSlices.some((e) => e.dur! > (e.args!.steps as number)), 'the replay interleaves threads inside functions').toBe(true);
    const ops = parsed.traceEvents.filter((e) => e.ph === 'X' && e.cat === 'op');
    expect(ops.length).toBeGreaterThan(0);
  });

  it('records lock holds on the lock tids and pairs every async begin with an end', () => {
    const holds = parsed.traceEvents.filter((e) => e.cat === 'lock');
    expect(holds.length).toBeGreaterThan(0);
    const lockTids = new Set(kernel.threads.map((t) => lockTid(t)));
    for (const h of holds) expect(lockTids.has(h.tid)).toBe(true);
    const open = new Map<string, TraceEvent>();
    for (const e of parsed.traceEvents) {
      if (e.ph === 'b') {
        expect(open.has(`${e.cat}/${e.id}`)).toBe(false);
        open.set(`${e.cat}/${e.id}`, e);
      } else if (e.ph === 'e') {
        const b = open.get(`${e.cat}/${e.id}`);
        expect(b, `end without begin: ${e.name}`).toBeDefined();
        expect(e.ts).toBeGreaterThanOrEqual(b!.ts);
        open.delete(`${e.cat}/${e.id}`);
      }
    }
    expect([...open.keys()]).toEqual([]);
  });

  it('marks the violation with a thread-scoped instant at its step', () => {
    const v = exec.violations.find((x) => x.kind === finding.kind)!;
    const inst = parsed.traceEvents.filter((e) => e.ph === 'i' && e.name === v.kind);
    expect(inst.length).toBeGreaterThan(0);
    expect(inst[0]!.s).toBe('t');
    expect(inst[0]!.ts).toBe(v.seq);
    expect(inst[0]!.args!.message).toBe(v.message);
    if (v.thread) expect(inst[0]!.tid).toBe(traceTid(kernel.threads.find((t) => t.name === v.thread)!));
  });

  it('emits free-huge-page and PMD share counters', () => {
    const free = parsed.traceEvents.filter((e) => e.ph === 'C' && e.name === 'free huge pages');
    expect(free.length).toBeGreaterThan(0);
    expect(free[free.length - 1]!.args!.free).toBe(kernel.hstate.free);
    const shares = parsed.traceEvents.filter((e) => e.ph === 'C' && e.name === 'pmd share count');
    expect(shares.length).toBeGreaterThan(0);
    // pmd-unshare-race starts with A and B sharing one PMD page: a share count of 2 shows.
    expect(shares.some((e) => Object.values(e.args!).some((v) => v === 2))).toBe(true);
  });
});

describe('perfetto trace with a virtual clock', () => {
  it('uses timeNs for ts (fractional µs) and keeps slices nested', () => {
    const spec = pmdUnshareRace();
    let tracer!: Tracer;
    let now = 0;
    const { exec } = runOnce(
      spec,
      noneStrategy,
      {
        pick: (r) => {
          now += 250; // a step every 250 ns of virtual time
          return r[0]!;
        },
      },
      { seed: 1, onBuilt: (b) => (tracer = attachTracer(b.kernel, { processName: 'none — clocked', timeNs: () => now })) },
    );
    expect(exec.completed).toBe(true);
    const ev = tracer.events();
    const fn = ev.filter((e) => e.ph === 'X' && e.cat === 'kernel');
    expect(fn.length).toBeGreaterThan(0);
    expect(fn.some((e) => !Number.isInteger(e.ts))).toBe(true);
    expect(Math.max(...fn.map((e) => e.ts + e.dur!))).toBeLessThanOrEqual(now / 1000);
    expect(nestingErrors(ev)).toEqual([]);
  });
});

describe('perfetto trace of lock holds and waits', () => {
  it('hand-over-hand holds become async lock events; a contended acquisition becomes a wait', () => {
    const k = kernel(1);
    const a = new Mutex('mutex:a', 'lock_a');
    const b = new Mutex('mutex:b', 'lock_b');
    const t1 = spawn(k, 'T1', function* (c) {
      yield* lock(k, c.t, a, 'write', 'f1');
      yield* lock(k, c.t, b, 'write', 'f1');
      yield* unlock(k, c.t, a, 'write', 'f2'); // a is released while b is held: the holds cross
      yield* unlock(k, c.t, b, 'write', 'f2');
    });
    const t2 = spawn(k, 'T2', function* (c) {
      yield* lock(k, c.t, b, 'write', 'g');
      yield* unlock(k, c.t, b, 'write', 'g');
    });
    const tracer = attachTracer(k, { processName: 'locks' });
    // T1 takes a and b, T2 queues on b, then T1 finishes (handing b to T2), then T2.
    for (const t of [t1, t1, t2, t1, t1]) k.stepThread(t);
    execute(k, sequential);
    const ev = tracer.events();
    expect(nestingErrors(ev)).toEqual([]);
    const onT1 = ev.filter((e) => e.cat === 'lock' && e.tid === lockTid(t1));
    // One of the two crossing holds stays an X slice, the other is an async b/e pair with an id.
    expect(onT1.filter((e) => e.ph === 'X').length).toBe(1);
    const asyncHold = onT1.filter((e) => e.ph === 'b' || e.ph === 'e');
    expect(asyncHold.map((e) => e.ph)).toEqual(['b', 'e']);
    expect(asyncHold[0]!.id).toBeDefined();
    expect(asyncHold[0]!.id).toBe(asyncHold[1]!.id);
    const wait = ev.filter((e) => e.cat === 'wait' && e.tid === traceTid(t2));
    expect(wait.map((e) => e.ph)).toEqual(['b', 'e']);
    expect(wait[0]!.args).toMatchObject({ lock: 'mutex:b', fn: 'g' });
    // The wait starts at T2's attempt (step 3) and ends when T1's unlock of b hands it over (step 5).
    expect([wait[0]!.ts, wait[1]!.ts]).toEqual([3, 5]);
    const t2Hold = ev.find((e) => e.cat === 'lock' && e.tid === lockTid(t2))!;
    expect(t2Hold.ts).toBe(5);
    const names = ev.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => e.args!.name);
    expect(names).toEqual(['T1', 'T1 locks', 'T2', 'T2 locks']);
  });
});
