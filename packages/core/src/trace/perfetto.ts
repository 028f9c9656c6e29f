/**
 * Chrome trace-event JSON (the format the Perfetto UI and chrome://tracing open) for one run of
 * the model. Mapping:
 * - one pid per strategy run (`process_name` metadata names it, e.g. "none — pmd-unshare-race");
 * - per simulated thread two tids: `traceTid(t)` carries the workload op and kernel-function
 *   slices (`X`, nested per tid), `lockTid(t)` ("<thread> locks") carries lock holds: `X` where
 *   holds nest, async `b`/`e` (cat "lock", unique id) where they overlap without nesting;
 * - lock waits are async `b`/`e` events (cat "wait");
 * - a violation is an instant event (`i`, "s": "t") named after its kind;
 * - counters (`C`): free huge pages and the share count (page refcount) of every PMD table page.
 *
 * Time: without a timed simulator, step number n spans [n-1, n] µs and lock and violation events
 * inside it are at n (so a violation's ts is its `seq`). With one, `timeNs()` read while a step
 * runs is its start time in virtual ns (sim/simulate.ts runs a step's effect at its start); a step
 * lasts until the same thread's next step starts (its wait and preemption included), a thread's
 * last step has no duration.
 */
import type { Kernel } from '../engine/kernel.js';
import type { Thread, HoldMode } from '../engine/thread.js';
import { stepLabel, type Step } from '../engine/step.js';
import type { Lock } from '../kernel/locks.js';
import type { Violation } from '../engine/events.js';

export type TracePhase = 'X' | 'b' | 'e' | 'i' | 'C' | 'M';

export interface TraceEvent {
  name: string;
  cat?: string;
  ph: TracePhase;
  /** Microseconds (fractional allowed). */
  ts: number;
  dur?: number;
  pid: number;
  tid: number;
  /** Async events: pairs a `b` with its `e`. */
  id?: string;
  /** Instant event scope. */
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

export interface TracerOptions {
  /** One pid per strategy run (default 1). */
  pid?: number;
  /** process_name metadata, e.g. "none — pmd-unshare-race". */
  processName: string;
  /** Virtual time in ns from a timed simulator; without it ts = step number in µs. */
  timeNs?: () => number;
}

export interface Tracer {
  /** Everything recorded so far; slices still open are closed at the current time. Can be called repeatedly. */
  events(): TraceEvent[];
}

/** The tid carrying a thread's op and kernel-function slices (tid 0 is avoided: it means the idle task). */
export function traceTid(t: Pick<Thread, 'id'>): number {
  return 2 * t.id + 2;
}
/** The tid carrying a thread's lock holds. */
export function lockTid(t: Pick<Thread, 'id'>): number {
  return 2 * t.id + 3;
}

interface Run {
  key: string;
  name: string;
  start: number;
  end: number;
  steps: number;
  first: string;
  last: string;
}

interface Interval {
  t: Thread;
  lock: Lock;
  mode: HoldMode;
  fn: string;
  start: number;
  end: number | null;
  releasedIn?: string;
}

interface PerThread {
  cursor: number;
  opGen: number;
  op: Run | null;
  fn: Run | null;
}

function lockOp(l: Lock, mode: HoldMode): string {
  if (l.kind === 'rwsem') return mode === 'read' ? 'down_read' : 'down_write';
  if (l.kind === 'pagelock') return 'lock_page';
  return l.kind === 'spinlock' ? 'spin_lock' : 'mutex_lock';
}

/** Record a Chrome/Perfetto trace of everything the kernel does from now on. */
export function attachTracer(k: Kernel, opts: TracerOptions): Tracer {
  const pid = opts.pid ?? 1;
  const timeNs = opts.timeNs;
  const nowUs = (): number => (timeNs ? Math.round(timeNs()) / 1000 : k.seq);
  k.stepListeners = true;

  const closed: TraceEvent[] = [];
  const per = new Map<Thread, PerThread>();
  const holds: Interval[] = [];
  const waits: Interval[] = [];
  const openHolds: Interval[] = [];
  const openWaits: Interval[] = [];
  let asyncId = 0;
  let lastThread: Thread | null = null;
  const startUs = nowUs();

  const state = (t: Thread): PerThread => {
    let p = per.get(t);
    if (!p) {
      p = { cursor: startUs, opGen: 0, op: null, fn: null };
      per.set(t, p);
    }
    return p;
  };

  const flushFn = (t: Thread, p: PerThread): void => {
    const r = p.fn;
    if (!r) return;
    closed.push({ name: r.name, cat: 'kernel', ph: 'X', ts: r.start, dur: r.end - r.start, pid, tid: traceTid(t), args: { steps: r.steps, first: r.first, last: r.last } });
    p.fn = null;
  };
  const flushOp = (t: Thread, p: PerThread): void => {
    const r = p.op;
    if (!r) return;
    closed.push({ name: r.name, cat: 'op', ph: 'X', ts: r.start, dur: r.end - r.start, pid, tid: traceTid(t), args: { op: r.key.replace(/@\d+$/, ''), steps: r.steps } });
    p.op = null;
  };

  // Counters: free huge pages, and the share count of each PMD table page (0 when free).
  let lastFree = -1;
  let lastShares = '';
  const sampleCounters = (ts: number): void => {
    const free = k.hstate.free;
    if (free !== lastFree) {
      lastFree = free;
      closed.push({ name: 'free huge pages', cat: 'counter', ph: 'C', ts, pid, tid: 0, args: { free } });
    }
    const shares: Record<string, number> = {};
    let sig = '';
    for (const tb of k.tables.all) {
      const v = tb.free ? 0 : tb.refcount;
      shares[tb.objId] = v;
      sig += `${v},`;
    }
    if (sig !== lastShares) {
      lastShares = sig;
      if (k.tables.all.length > 0) closed.push({ name: 'pmd share count', cat: 'counter', ph: 'C', ts, pid, tid: 0, args: shares });
    }
  };
  sampleCounters(startUs);

  k.bus.on('op:begin', (t) => {
    state(t).opGen++;
  });

  k.bus.on('step', (t: Thread, s: Step, seq: number) => {
    const p = state(t);
    lastThread = t;
    let start: number;
    let end: number;
    if (timeNs) {
      // The simulator runs a step's effect at its start time: the thread's previous step lasts until now.
      start = Math.max(nowUs(), p.cursor);
      end = start;
      if (p.fn) p.fn.end = start;
      if (p.op) p.op.end = start;
    } else {
      start = seq - 1;
      end = seq;
    }
    p.cursor = end;
    const opKey = t.op ? `${t.op}@${p.opGen}` : '';
    if (p.op && p.op.key !== opKey) {
      flushFn(t, p);
      flushOp(t, p);
    }
    if (opKey && !p.op) p.op = { key: opKey, name: t.op.replace(/^.*:/, ''), start, end, steps: 0, first: stepLabel(s), last: stepLabel(s) };
    if (p.op) {
      p.op.end = Math.max(p.op.end, end);
      p.op.steps++;
    }
    if (p.fn && p.fn.key !== s.fn) flushFn(t, p);
    if (!p.fn) p.fn = { key: s.fn, name: s.fn, start, end, steps: 0, first: stepLabel(s), last: stepLabel(s) };
    p.fn.end = Math.max(p.fn.end, end);
    p.fn.steps++;
    p.fn.last = stepLabel(s);
    sampleCounters(end);
  });

  k.bus.on('lock:contended', (t, l, mode, fn) => {
    const w: Interval = { t, lock: l, mode, fn, start: nowUs(), end: null };
    waits.push(w);
    openWaits.push(w);
  });
  k.bus.on('lock:acquired', (t, l, mode, fn) => {
    const now = nowUs();
    const wi = openWaits.findIndex((w) => w.t === t && w.lock === l);
    if (wi >= 0) {
      openWaits[wi]!.end = now;
      openWaits.splice(wi, 1);
    }
    const h: Interval = { t, lock: l, mode, fn, start: now, end: null };
    holds.push(h);
    openHolds.push(h);
  });
  k.bus.on('lock:released', (t, l, mode, fn, ok) => {
    if (!ok) return;
    for (let i = openHolds.length - 1; i >= 0; i--) {
      const h = openHolds[i]!;
      if (h.t === t && h.lock === l && h.mode === mode) {
        h.end = nowUs();
        h.releasedIn = fn;
        openHolds.splice(i, 1);
        break;
      }
    }
  });

  const violations: Array<{ v: Violation; ts: number; t: Thread | null }> = [];
  k.bus.on('violation', (v) => {
    const t = (v.thread ? k.threads.find((x) => x.name === v.thread) : undefined) ?? lastThread;
    violations.push({ v, ts: nowUs(), t });
  });

  const nextId = (): string => `0x${(pid * 0x100000 + ++asyncId).toString(16)}`;

  return {
    events(): TraceEvent[] {
      const now = nowUs();
      const out: TraceEvent[] = closed.slice();
      // Close the slices still open (a run stopped at a violation or a deadlock).
      for (const [t, p] of per) {
        if (p.fn) out.push({ name: p.fn.name, cat: 'kernel', ph: 'X', ts: p.fn.start, dur: p.fn.end - p.fn.start, pid, tid: traceTid(t), args: { steps: p.fn.steps, first: p.fn.first, last: p.fn.last } });
        if (p.op) out.push({ name: p.op.name, cat: 'op', ph: 'X', ts: p.op.start, dur: p.op.end - p.op.start, pid, tid: traceTid(t), args: { op: p.op.key.replace(/@\d+$/, ''), steps: p.op.steps, unfinished: true } });
      }
      asyncId = 0;
      // Lock holds: X where they nest on the thread's lock tid, async b/e where they cross.
      const byThread = new Map<Thread, Interval[]>();
      for (const h of holds) {
        const list = byThread.get(h.t) ?? [];
        list.push(h);
        byThread.set(h.t, list);
      }
      const lockThreads = new Set<Thread>();
      for (const [t, list] of byThread) {
        lockThreads.add(t);
        const sorted = list
          .map((h, i) => ({ h, i, end: h.end ?? now }))
          .sort((a, b) => a.h.start - b.h.start || b.end - a.end || a.i - b.i);
        const stack: number[] = [];
        for (const { h, end } of sorted) {
          while (stack.length > 0 && stack[stack.length - 1]! <= h.start) stack.pop();
          const name = `${h.lock.cls} (${h.mode})`;
          const args: Record<string, unknown> = { lock: h.lock.id, op: `${lockOp(h.lock, h.mode)}(${h.lock.cls})`, acquiredIn: h.fn };
          if (h.releasedIn) args.releasedIn = h.releasedIn;
          if (h.end === null) args.unreleased = true;
          const nests = stack.length === 0 || stack[stack.length - 1]! >= end;
          if (nests) {
            stack.push(end);
            out.push({ name, cat: 'lock', ph: 'X', ts: h.start, dur: end - h.start, pid, tid: lockTid(t), args });
          } else {
            const id = nextId();
            out.push({ name, cat: 'lock', ph: 'b', ts: h.start, pid, tid: lockTid(t), id, args });
            out.push({ name, cat: 'lock', ph: 'e', ts: end, pid, tid: lockTid(t), id });
          }
        }
      }
      for (const w of waits) {
        const id = nextId();
        const end = w.end ?? now;
        const name = `wait ${lockOp(w.lock, w.mode)}(${w.lock.cls})`;
        const args: Record<string, unknown> = { lock: w.lock.id, mode: w.mode, fn: w.fn };
        if (w.end === null) args.unfinished = true;
        out.push({ name, cat: 'wait', ph: 'b', ts: w.start, pid, tid: traceTid(w.t), id, args });
        out.push({ name, cat: 'wait', ph: 'e', ts: end, pid, tid: traceTid(w.t), id });
      }
      for (const { v, ts, t } of violations) {
        const args: Record<string, unknown> = { message: v.message, seq: v.seq };
        if (v.thread) args.thread = v.thread;
        if (v.fn) args.fn = v.fn;
        if (v.report) args.report = v.report;
        out.push({ name: v.kind, cat: 'violation', ph: 'i', s: 't', ts, pid, tid: t ? traceTid(t) : 1, args });
      }
      out.sort(compareEvents);
      const meta: TraceEvent[] = [{ name: 'process_name', ph: 'M', ts: 0, pid, tid: 0, args: { name: opts.processName } }];
      const seen = new Set<Thread>();
      for (const t of [...k.threads, ...per.keys()]) {
        if (seen.has(t)) continue;
        seen.add(t);
        meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: traceTid(t), args: { name: t.name } });
        meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid: traceTid(t), args: { sort_index: traceTid(t) } });
        if (lockThreads.has(t)) {
          meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: lockTid(t), args: { name: `${t.name} locks` } });
          meta.push({ name: 'thread_sort_index', ph: 'M', ts: 0, pid, tid: lockTid(t), args: { sort_index: lockTid(t) } });
        }
      }
      if (violations.some((x) => x.t === null)) meta.push({ name: 'thread_name', ph: 'M', ts: 0, pid, tid: 1, args: { name: 'kernel' } });
      return [...meta, ...out];
    },
  };
}

const PHASE_ORDER: Record<TracePhase, number> = { M: 0, e: 1, X: 2, b: 3, C: 4, i: 5 };

/** By time; at one time, ends first, then enclosing slices before the ones they contain. */
function compareEvents(a: TraceEvent, b: TraceEvent): number {
  return a.ts - b.ts || PHASE_ORDER[a.ph] - PHASE_ORDER[b.ph] || (b.dur ?? 0) - (a.dur ?? 0) || a.tid - b.tid;
}

/**
 * Serialise events (of one or more runs, one pid each) as a trace file Perfetto opens:
 * `{"traceEvents": [...], "displayTimeUnit": "ns", "otherData": {...}}`, one event per line.
 */
export function toTraceJson(events: readonly TraceEvent[], meta: Record<string, unknown> = {}): string {
  const lines = events.map((e) => JSON.stringify(e));
  return `{"traceEvents":[\n${lines.join(',\n')}\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(meta)}}\n`;
}
