/** Turn a loaded workload into a Kernel with one task per workload thread. */
import { Kernel } from '../engine/kernel.js';
import type { KGen } from '../engine/step.js';
import type { Thread } from '../engine/thread.js';
import { Rng } from '../engine/random.js';
import type { SyncStrategy } from '../strategy.js';
import type { Ctx } from '../ops/ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import { HPAGE_SIZE, PUD_SIZE } from '../model/constants.js';
import { sysMmap, sysMunmap, sysTouch, sysFtruncate, sysFallocate, sysMprotect, sysFork, sysExit, sysMadviseDontneed, type OpResult } from '../ops/syscalls.js';
import type { MappingSpec, Op, WorkloadSpec } from './types.js';
import { sysMovePages } from '../ops/migrate.js';
import { sysMadviseHwpoison } from '../ops/hwpoison.js';

/** Where mappings go: 64 GiB apart from a PUD-aligned base, as in the upper user address space. */
const BASE = 0x7f00_0000_0000;

export interface BuildOptions {
  /** Seeds address randomisation (placement: random). */
  seed?: number;
  /** Run setup ops at once (explorers) — true by default. */
  runSetup?: boolean;
}

export interface Built {
  kernel: Kernel;
  threads: Thread[];
  /** Mapping addresses chosen per process. */
  addresses: Map<string, Map<string, number>>;
}

interface ProcState {
  mm: Mm;
  vmas: Map<string, Vma>;
  specs: Map<string, MappingSpec>;
  addrs: Map<string, number>;
}

export function placeMappings(spec: WorkloadSpec, seed: number): Map<string, Map<string, number>> {
  const rng = new Rng(seed ^ 0x5bd1e995);
  const out = new Map<string, Map<string, number>>();
  for (const p of spec.processes) {
    const m = new Map<string, number>();
    let slot = 0;
    for (const mp of p.mappings) {
      const slotSize = Math.max(64 * PUD_SIZE, Math.ceil((mp.length + PUD_SIZE) / PUD_SIZE) * PUD_SIZE);
      let addr: number;
      if (mp.placement === 'fixed' && mp.address !== undefined) addr = mp.address;
      else if (mp.placement === 'random') addr = BASE + slot + rng.int(PUD_SIZE / HPAGE_SIZE) * HPAGE_SIZE + rng.int(64) * PUD_SIZE * 0;
      else addr = BASE + slot;
      m.set(mp.name, addr);
      slot += slotSize;
    }
    out.set(p.name, m);
  }
  return out;
}

/** Pool counters compared with an assert op. */
function poolMismatch(k: Kernel, want: { total?: number; free?: number; reserved?: number; surplus?: number }): string | null {
  const h = k.hstate;
  const have = { total: h.nr, free: h.free, reserved: h.resv, surplus: h.surplus };
  const bad = (Object.keys(want) as Array<keyof typeof want>).filter((key) => want[key] !== undefined && want[key] !== have[key]);
  if (bad.length === 0) return null;
  return bad.map((b) => `${b} ${have[b]} (expected ${want[b]})`).join(', ');
}

export function buildKernel(spec: WorkloadSpec, strategy: SyncStrategy, opts: BuildOptions = {}): Built {
  const k = new Kernel(strategy, { hugePages: spec.pool.hugePages, overcommit: spec.pool.overcommit, faultMutexes: spec.faultMutexes });
  for (const f of spec.files) k.addInode(f.name, f.size);
  const addresses = placeMappings(spec, opts.seed ?? 1);
  const procs = new Map<string, ProcState>();
  const forks = new Map<string, number>();
  for (const p of spec.processes) {
    const mm = k.addMm(p.name);
    procs.set(p.name, { mm, vmas: new Map(), specs: new Map(p.mappings.map((m) => [m.name, m])), addrs: addresses.get(p.name)! });
  }

  function* runOp(c: Ctx, ps: ProcState, op: Op, label: string): KGen<void> {
    if (op.op === 'loop') {
      for (let i = 0; i < op.count; i++) for (const o of op.ops) yield* runOp(c, ps, o, label);
      return;
    }
    if (op.op === 'assert') {
      yield { fn: 'meminfo', obj: 'hstate', access: 'read', label: 'read /proc/meminfo' };
      const bad = poolMismatch(k, op.pool);
      if (bad) k.report({ kind: 'unexpected-result', message: `${c.t.name}: /proc/meminfo ${bad} at ${label}`, thread: c.t.name });
      return;
    }
    c.t.op = `${label}:${op.op}`;
    k.bus.emit('op:begin', c.t, op.op);
    const r = yield* doOp(c, ps, op);
    k.bus.emit('op:end', c.t, op.op, r);
    if (op.expect !== undefined && op.expect !== r) {
      k.report({ kind: 'unexpected-result', message: `${c.t.name}: ${describeOp(op)} returned ${r}, the workload expects ${op.expect}`, thread: c.t.name });
    }
  }

  function* doOp(c: Ctx, ps: ProcState, op: Op): KGen<OpResult> {
    const mm = ps.mm;
    switch (op.op) {
      case 'mmap': {
        const ms = ps.specs.get(op.mapping)!;
        const inode = k.inodes.get(ms.file)!;
        const r = yield* sysMmap(c, mm, inode, ps.addrs.get(ms.name)!, ms.length, ms.offset, ms.shared, ms.write);
        if (r.vma) ps.vmas.set(ms.name, r.vma);
        return r.result;
      }
      case 'munmap': {
        const ms = ps.specs.get(op.mapping)!;
        const r = yield* sysMunmap(c, mm, ps.addrs.get(ms.name)!, ms.length);
        ps.vmas.delete(ms.name);
        return r;
      }
      case 'touch': {
        const ms = ps.specs.get(op.mapping)!;
        const base = ps.addrs.get(ms.name)!;
        const len = Math.max(op.length, HPAGE_SIZE);
        let res: OpResult = 'ok';
        for (let off = op.offset; off < op.offset + len; off += HPAGE_SIZE) {
          const r = yield* sysTouch(c, mm, base + off, op.write);
          if (r !== 'ok') {
            res = r;
            break;
          }
        }
        return res;
      }
      case 'ftruncate':
        return yield* sysFtruncate(c, k.inodes.get(op.file)!, op.size);
      case 'fallocate':
        return yield* sysFallocate(c, k.inodes.get(op.file)!, op.offset, op.length, op.punchHole, op.keepSize);
      case 'mprotect': {
        const ms = ps.specs.get(op.mapping)!;
        return yield* sysMprotect(c, mm, ps.addrs.get(ms.name)!, ms.length, op.write);
      }
      case 'madvise': {
        const ms = ps.specs.get(op.mapping)!;
        return yield* sysMadviseDontneed(c, mm, ps.addrs.get(ms.name)!, ms.length);
      }
      case 'fork': {
        const n = (forks.get(op.child) ?? 0) + 1;
        forks.set(op.child, n);
        const childName = n === 1 ? op.child : `${op.child}.${n}`;
        const r = yield* sysFork(c, mm, childName);
        const childState: ProcState = { mm: r.child, vmas: new Map(), specs: ps.specs, addrs: ps.addrs };
        for (const [name, v] of ps.vmas) {
          const cv = r.child.vmas.find((x) => x.start === v.start);
          if (cv) childState.vmas.set(name, cv);
        }
        procs.set(childName, childState);
        const child = op.ops;
        k.spawn(childName, childName, (self) =>
          (function* () {
            const c2: Ctx = { k, t: self };
            for (const o of child) yield* runOp(c2, childState, o, childName);
            yield* sysExit(c2, r.child);
          })(),
        );
        return r.result;
      }
      case 'exit':
        return yield* sysExit(c, mm);
      case 'migrate':
      case 'hwpoison': {
        const addr = ps.addrs.get(op.mapping)! + op.offset;
        return op.op === 'migrate' ? yield* sysMovePages(c, mm, addr) : yield* sysMadviseHwpoison(c, mm, addr);
      }
    }
    return 'ok';
  }

  // Setup: map every mapAtStart mapping, then the setup ops, in one task run to completion first.
  const setupOps: Array<{ ps: ProcState; op: Op }> = [];
  for (const p of spec.processes) for (const m of p.mappings) if (m.mapAtStart) setupOps.push({ ps: procs.get(p.name)!, op: { op: 'mmap', mapping: m.name, expect: 'ok' } });
  for (const s of spec.setup) setupOps.push({ ps: procs.get(s.process)!, op: s.op });
  if (setupOps.length > 0) {
    const st = k.spawn('setup', '', (self) =>
      (function* () {
        for (const { ps, op } of setupOps) yield* runOp({ k, t: self }, ps, op, 'setup');
      })(),
    );
    if (opts.runSetup !== false) {
      while (!st.done) {
        if (!st.runnable) throw new Error('workload setup blocked');
        k.stepThread(st);
      }
      k.threads.splice(k.threads.indexOf(st), 1);
    }
  }

  const threads: Thread[] = [];
  for (const ts of spec.threads) {
    const ps = procs.get(ts.process)!;
    const t = k.spawn(ts.name, ts.process, (self) =>
      (function* (): KGen<void> {
        const c: Ctx = { k, t: self };
        do {
          for (let i = 0; i < ts.ops.length; i++) {
            self.opIndex = i;
            yield* runOp(c, ps, ts.ops[i]!, `${ts.name}#${i}`);
          }
        } while (spec.repeat);
      })(),
    );
    threads.push(t);
  }
  // Renumber thread ids so that replays do not depend on setup.
  k.threads.forEach((t, i) => ((t as { id: number }).id = i));
  return { kernel: k, threads, addresses };
}

export function describeOp(op: Op): string {
  switch (op.op) {
    case 'touch':
      return `${op.write ? 'write' : 'read'} ${op.mapping}+0x${op.offset.toString(16)}`;
    case 'mmap':
    case 'munmap':
      return `${op.op}(${op.mapping})`;
    case 'ftruncate':
      return `ftruncate(${op.file}, ${op.size})`;
    case 'fallocate':
      return `fallocate(${op.file}, ${op.punchHole ? 'PUNCH_HOLE, ' : ''}${op.offset}, ${op.length})`;
    case 'mprotect':
      return `mprotect(${op.mapping}, ${op.write ? 'RW' : 'RO'})`;
    case 'madvise':
      return `madvise(${op.mapping}, MADV_DONTNEED)`;
    case 'fork':
      return `fork() -> ${op.child}`;
    case 'exit':
      return 'exit()';
    case 'migrate':
      return `move_pages(${op.mapping}+0x${op.offset.toString(16)})`;
    case 'hwpoison':
      return `madvise(${op.mapping}+0x${op.offset.toString(16)}, MADV_HWPOISON)`;
    default:
      return op.op;
  }
}
