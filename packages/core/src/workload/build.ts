/** Turn a loaded workload into a Kernel with one task per workload thread. */
import { EventEmitter } from 'eventemitter3';
import { Kernel, KERNEL_FRESH_FIELDS, KERNEL_MODEL_FIELDS } from '../engine/kernel.js';
import { GraphCopier, NotCopyable } from '../engine/snapshot.js';
import type { KGen } from '../engine/step.js';
import { Thread } from '../engine/thread.js';
import { Rng } from '../engine/random.js';
import type { SyncStrategy } from '../strategy.js';
import type { Ctx } from '../ops/ctx.js';
import type { Mm, Vma } from '../model/mm.js';
import { HPAGE_SIZE, PUD_SIZE } from '../model/constants.js';
import { sysMmap, sysMunmap, touchAfterMiss, sysFtruncate, sysFallocate, sysMprotect, sysFork, sysExit, sysMadviseDontneed, type OpResult } from '../ops/syscalls.js';
import type { MappingSpec, Op, WorkloadSpec } from './types.js';
import { sysAccess } from '../ops/tlb.js';
import { MmuWalk } from '../ops/fault.js';
import { sysGup } from '../ops/gup.js';
import { sysPagewalk } from '../ops/walk.js';
import { uffdRegister } from '../ops/uffd.js';
import { sysMunmapRange, sysMprotectRange } from '../ops/split.js';
import { sysMremap } from '../ops/mremap.js';
import { sysShmget, sysShmat, sysShmdt, sysShmctlRmid, shmSegmentOf, shmRunTaskWork } from '../ops/shm.js';
import { sysMovePages, sysMovePagesStat } from '../ops/migrate.js';
import { sysMadviseHwpoison } from '../ops/hwpoison.js';

/** Where mappings go: 64 GiB apart from a PUD-aligned base, as in the upper user address space. */
const BASE = 0x7f00_0000_0000;

export interface BuildOptions {
  /** Seeds address randomisation (placement: random). */
  seed?: number;
  /** Run setup ops at once (explorers) — true by default. */
  runSetup?: boolean;
  /** Copy this machine (made for the same spec, strategy and seed) instead of building one. */
  template?: MachineTemplate;
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

/** A machine under construction: the kernel and, per process, its mm, VMAs and mapping addresses. */
interface Machine {
  k: Kernel;
  spec: WorkloadSpec;
  procs: Map<string, ProcState>;
  /** Children forked so far per name (a second fork of "c" is named "c.2"). */
  forks: Map<string, number>;
  addresses: Map<string, Map<string, number>>;
}

/** Whether a task running these ops makes a cached access (reads its CPU's TLB): 'access', here or nested. */
function usesCachedAccess(ops: readonly Op[]): boolean {
  return ops.some((o) => o.op === 'access' || ((o.op === 'loop' || o.op === 'fork') && usesCachedAccess(o.ops)));
}

/**
 * Run ops in order, all over again while `repeat` (a timed run's loop): a task's body. Ops are
 * labelled `label` in reports, or `label#i` by their index when `indexed` (a workload thread's
 * own list, whose index the task records). A workload thread's generator is this one, and touch
 * (the hottest op: every page of a timed run's passes) runs in this frame: each step of a page's
 * MMU walk resumes one generator, and a fault's steps two fewer than through runOp/doOp/sysTouch.
 */
function* runOps(m: Machine, c: Ctx, ps: ProcState, ops: readonly Op[], label: string, indexed: boolean, repeat: boolean): KGen<void> {
  const k = m.k;
  do {
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (indexed) c.t.opIndex = i;
      const at = indexed ? `${label}#${i}` : label;
      if (op.op === 'loop') {
        for (let n = 0; n < op.count; n++) yield* runOps(m, c, ps, op.ops, at, false, false);
        continue;
      }
      if (op.op === 'assert') {
        yield { fn: 'meminfo', obj: 'hstate', access: 'read', label: 'read /proc/meminfo' };
        const bad = poolMismatch(k, op.pool);
        if (bad) k.report({ kind: 'unexpected-result', message: `${c.t.name}: /proc/meminfo ${bad} at ${at}`, thread: c.t.name });
        continue;
      }
      c.t.op = `${at}:${op.op}`;
      k.bus.emit('op:begin', c.t, op.op);
      let r: OpResult = 'ok';
      if (op.op === 'touch') {
        // A user access to every page of the range: sysTouch per page, its first MMU walk's steps
        // (hardwareWalk) yielded here.
        const ms = ps.specs.get(op.mapping)!;
        const base = ps.addrs.get(ms.name)!;
        const len = Math.max(op.length, HPAGE_SIZE);
        for (let off = op.offset; off < op.offset + len; off += HPAGE_SIZE) {
          const walk = new MmuWalk(c, ps.mm, base + off, op.write);
          yield walk.pudStep();
          const pmd = walk.pmdStep();
          if (pmd) yield pmd;
          if (walk.ok) continue;
          r = yield* touchAfterMiss(c, ps.mm, base + off, op.write);
          if (r !== 'ok') break;
        }
      } else r = yield* doOp(m, c, ps, op);
      k.bus.emit('op:end', c.t, op.op, r);
      if (op.expect !== undefined && op.expect !== r) {
        k.report({ kind: 'unexpected-result', message: `${c.t.name}: ${describeOp(op)} returned ${r}, the workload expects ${op.expect}`, thread: c.t.name });
      }
    }
  } while (repeat);
}

/** Every op but loop, assert and touch (runOps runs those itself). */
function* doOp(m: Machine, c: Ctx, ps: ProcState, op: Op): KGen<OpResult> {
  const k = m.k;
  const mm = ps.mm;
  switch (op.op) {
    case 'mmap': {
      const ms = ps.specs.get(op.mapping)!;
      const inode = k.inodes.get(ms.file)!;
      // A mapping of a SysV shm segment (mapAtStart) is attached with shmat.
      if (shmSegmentOf(inode)) return yield* doOp(m, c, ps, { op: 'shmat', mapping: op.mapping });
      const r = yield* sysMmap(c, mm, inode, ps.addrs.get(ms.name)!, ms.length, ms.offset, ms.shared, ms.write);
      if (r.vma) ps.vmas.set(ms.name, r.vma);
      if (r.vma && ms.userfaultfd) uffdRegister(r.vma);
      return r.result;
    }
    case 'munmap': {
      const ms = ps.specs.get(op.mapping)!;
      if (op.offset !== undefined || op.length !== undefined) {
        const r = yield* sysMunmapRange(c, mm, ps.addrs.get(ms.name)! + (op.offset ?? 0), op.length ?? ms.length);
        yield* shmRunTaskWork(c);
        return r;
      }
      const r = yield* sysMunmap(c, mm, ps.addrs.get(ms.name)!, ms.length);
      yield* shmRunTaskWork(c);
      ps.vmas.delete(ms.name);
      return r;
    }
    case 'ftruncate':
      return yield* sysFtruncate(c, k.inodes.get(op.file)!, op.size);
    case 'fallocate':
      return yield* sysFallocate(c, k.inodes.get(op.file)!, op.offset, op.length, op.punchHole, op.keepSize);
    case 'mprotect': {
      const ms = ps.specs.get(op.mapping)!;
      if (op.offset !== undefined || op.length !== undefined) return yield* sysMprotectRange(c, mm, ps.addrs.get(ms.name)! + (op.offset ?? 0), op.length ?? ms.length, op.write);
      return yield* sysMprotect(c, mm, ps.addrs.get(ms.name)!, ms.length, op.write);
    }
    case 'mremap': {
      const ms = ps.specs.get(op.mapping)!;
      const to = ps.specs.get(op.to)!;
      const r = yield* sysMremap(c, mm, ps.addrs.get(ms.name)!, ms.length, ps.addrs.get(to.name)!, to.length);
      if (r.vma) {
        ps.vmas.delete(ms.name);
        ps.vmas.set(to.name, r.vma);
      }
      return r.result;
    }
    case 'shmat': {
      const ms = ps.specs.get(op.mapping)!;
      const r = yield* sysShmat(c, mm, k.inodes.get(ms.file)!, ps.addrs.get(ms.name)!, ms.write);
      if (r.vma) ps.vmas.set(ms.name, r.vma);
      return r.result;
    }
    case 'shmdt': {
      const ms = ps.specs.get(op.mapping)!;
      const r = yield* sysShmdt(c, mm, ps.addrs.get(ms.name)!);
      ps.vmas.delete(ms.name);
      return r;
    }
    case 'shmctl':
      return yield* sysShmctlRmid(c, k.inodes.get(op.file)!);
    case 'madvise': {
      const ms = ps.specs.get(op.mapping)!;
      return yield* sysMadviseDontneed(c, mm, ps.addrs.get(ms.name)!, ms.length);
    }
    case 'fork': {
      const n = (m.forks.get(op.child) ?? 0) + 1;
      m.forks.set(op.child, n);
      const childName = n === 1 ? op.child : `${op.child}.${n}`;
      const r = yield* sysFork(c, mm, childName);
      const childState: ProcState = { mm: r.child, vmas: new Map(), specs: ps.specs, addrs: ps.addrs };
      for (const [name, v] of ps.vmas) {
        const cv = r.child.vmas.find((x) => x.start === v.start);
        if (cv) childState.vmas.set(name, cv);
      }
      m.procs.set(childName, childState);
      const child = op.ops;
      // exit: false with no ops: the child only sleeps; no task to schedule.
      if (op.exit === false && child.length === 0) return r.result;
      k.spawn(childName, childName, (self) => {
        self.cachesTranslations = usesCachedAccess(child);
        return (function* () {
          const c2: Ctx = { k, t: self };
          yield* runOps(m, c2, childState, child, childName, false, false);
          if (op.exit !== false) yield* sysExit(c2, r.child);
        })();
      });
      return r.result;
    }
    case 'exit': {
      const r = yield* sysExit(c, mm);
      yield* shmRunTaskWork(c);
      return r;
    }
    case 'migrate':
    case 'hwpoison': {
      const addr = ps.addrs.get(op.mapping)! + op.offset;
      if (op.op === 'migrate' && op.stat) return yield* sysMovePagesStat(c, mm, addr);
      return op.op === 'migrate' ? yield* sysMovePages(c, mm, addr) : yield* sysMadviseHwpoison(c, mm, addr);
    }
    case 'access': {
      const ms = ps.specs.get(op.mapping)!;
      return yield* sysAccess(c, mm, ps.addrs.get(ms.name)! + op.offset, op.write);
    }
    case 'gup': {
      const ms = ps.specs.get(op.mapping)!;
      return yield* sysGup(c, mm, ps.addrs.get(ms.name)! + op.offset, op.length, op.write, { nowait: op.nowait, fast: op.fast });
    }
    case 'pagewalk': {
      const ms = ps.specs.get(op.mapping)!;
      return yield* sysPagewalk(c, mm, ps.addrs.get(ms.name)! + op.offset, op.length, op.walker);
    }
  }
  return 'ok';
}

/** The kernel with the workload's files and processes, and (runSetup) its setup run to completion. */
function setupMachine(spec: WorkloadSpec, strategy: SyncStrategy, seed: number, runSetup: boolean): Machine {
  const k = new Kernel(strategy, { hugePages: spec.pool.hugePages, overcommit: spec.pool.overcommit, faultMutexes: spec.faultMutexes });
  for (const f of spec.files) k.addInode(f.name, f.size);
  const addresses = placeMappings(spec, seed);
  const m: Machine = { k, spec, procs: new Map(), forks: new Map(), addresses };
  for (const p of spec.processes) {
    const mm = k.addMm(p.name);
    m.procs.set(p.name, { mm, vmas: new Map(), specs: new Map(p.mappings.map((x) => [x.name, x])), addrs: addresses.get(p.name)! });
  }

  // Setup: map every mapAtStart mapping, then the setup ops, in one task run to completion first.
  const setupOps: Array<{ ps: ProcState; op: Op }> = [];
  for (const p of spec.processes) for (const x of p.mappings) if (x.mapAtStart) setupOps.push({ ps: m.procs.get(p.name)!, op: { op: 'mmap', mapping: x.name, expect: 'ok' } });
  for (const s of spec.setup) setupOps.push({ ps: m.procs.get(s.process)!, op: s.op });
  const shmFiles = spec.files.filter((f) => f.shm).map((f) => k.inodes.get(f.name)!);
  if (setupOps.length > 0 || shmFiles.length > 0) {
    const st = k.spawn('setup', '', (self) => {
      self.cachesTranslations = usesCachedAccess(setupOps.map((x) => x.op));
      return (function* () {
        // shmget(SHM_HUGETLB) of every shm segment before anything attaches it.
        for (const inode of shmFiles) {
          const r = yield* sysShmget({ k, t: self }, inode);
          if (r !== 'ok') k.report({ kind: 'unexpected-result', message: `setup: shmget(${inode.name}, SHM_HUGETLB) returned ${r}`, thread: self.name });
        }
        for (const { ps, op } of setupOps) yield* runOps(m, { k, t: self }, ps, [op], 'setup', false, false);
      })();
    });
    if (runSetup) {
      while (!st.done) {
        if (!st.runnable) throw new Error('workload setup blocked');
        k.stepThread(st);
      }
      k.threads.splice(k.threads.indexOf(st), 1);
    }
  }
  return m;
}

/** Start one task per workload thread; renumber task ids from 0. */
function spawnThreads(m: Machine): Built {
  const { k, spec } = m;
  const threads: Thread[] = [];
  for (const ts of spec.threads) {
    const ps = m.procs.get(ts.process)!;
    const t = k.spawn(ts.name, ts.process, (self) => {
      self.cachesTranslations = usesCachedAccess(ts.ops);
      return runOps(m, { k, t: self }, ps, ts.ops, ts.name, true, spec.repeat === true);
    });
    threads.push(t);
  }
  // Renumber thread ids so that replays do not depend on setup.
  k.threads.forEach((t, i) => ((t as { id: number }).id = i));
  return { kernel: k, threads, addresses: m.addresses };
}

export function buildKernel(spec: WorkloadSpec, strategy: SyncStrategy, opts: BuildOptions = {}): Built {
  const tpl = opts.template;
  if (tpl && tpl.spec === spec && tpl.strategy === strategy && tpl.seed === (opts.seed ?? 1) && opts.runSetup !== false) {
    const m = tpl.instantiate();
    if (m) return spawnThreads(m);
  }
  return spawnThreads(setupMachine(spec, strategy, opts.seed ?? 1, opts.runSetup !== false));
}

/**
 * A workload's machine as it stands after setup, built once and copied for every run
 * (buildKernel with `template`): setup is deterministic, so a copy of its result is the machine
 * a fresh build would have made, minus the work. Explorers use it for every schedule.
 *
 * The copy takes the Kernel's model fields (KERNEL_MODEL_FIELDS) and the processes' mms and VMAs,
 * with everything reachable from them (strategy state in `ext` included). It is used only if the
 * one-time strict check passes: no task left after setup (an RCU callback thread, say), no
 * function, task, generator or weak collection in the model state, no unknown Kernel field.
 * Otherwise `copyable` is false and every run builds afresh. State a strategy keeps outside the
 * model (a module-level map keyed by a model object) is not copied; the built-in strategies keep
 * per-task records only, which start empty with every run either way.
 */
export class MachineTemplate {
  private readonly machine: Machine | null;
  /** Why the machine cannot be copied ('' if it can). */
  readonly reason: string;
  constructor(
    readonly spec: WorkloadSpec,
    readonly strategy: SyncStrategy,
    readonly seed: number,
  ) {
    const m = setupMachine(spec, strategy, seed, true);
    let reason = '';
    try {
      const k = m.k as unknown as Record<string, unknown>;
      const unknownField = Object.keys(k).find((f) => !KERNEL_MODEL_FIELDS.includes(f) && !KERNEL_FRESH_FIELDS.includes(f));
      if (unknownField) throw new NotCopyable(`unknown Kernel field ${unknownField}`);
      if (m.k.threads.length > 0) throw new NotCopyable('tasks left after setup');
      if (m.k.stepListeners) throw new NotCopyable('step listeners');
      this.copy(m, true); // the strict pass: throws on anything a copy would not reproduce
    } catch (e) {
      if (!(e instanceof NotCopyable)) throw e;
      reason = e.message || 'not copyable';
    }
    this.machine = reason ? null : m;
    this.reason = reason;
  }
  get copyable(): boolean {
    return this.machine !== null;
  }
  /** A fresh copy of the machine after setup, or null if it cannot be copied. */
  instantiate(): Machine | null {
    return this.machine ? this.copy(this.machine, false) : null;
  }
  private copy(m: Machine, strict: boolean): Machine {
    const k = new Kernel(this.strategy, m.k.config);
    const c = new GraphCopier(strict, (x) => x instanceof Thread || x instanceof Kernel || x instanceof EventEmitter);
    c.memo.set(m.k, k);
    c.memo.set(m.k.bus, k.bus);
    c.memo.set(this.strategy, this.strategy);
    const from = m.k as unknown as Record<string, unknown>;
    const to = k as unknown as Record<string, unknown>;
    for (const f of KERNEL_MODEL_FIELDS) to[f] = c.copy(from[f]);
    const procs = new Map<string, ProcState>();
    for (const [name, ps] of m.procs) procs.set(name, { mm: c.copy(ps.mm), vmas: c.copy(ps.vmas), specs: ps.specs, addrs: ps.addrs });
    return { k, spec: m.spec, procs, forks: new Map(m.forks), addresses: m.addresses };
  }
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
    case 'mremap':
      return `mremap(${op.mapping} -> ${op.to})`;
    case 'shmat':
    case 'shmdt':
      return `${op.op}(${op.mapping})`;
    case 'shmctl':
      return `shmctl(${op.file}, IPC_RMID)`;
    case 'migrate':
      return `move_pages(${op.mapping}+0x${op.offset.toString(16)}${op.stat ? ', nodes = NULL' : ''})`;
    case 'hwpoison':
      return `madvise(${op.mapping}+0x${op.offset.toString(16)}, MADV_HWPOISON)`;
    case 'access':
      return `${op.write ? 'store' : 'load'} ${op.mapping}+0x${op.offset.toString(16)} (TLB)`;
    case 'gup':
      return `get_user_pages${op.fast ? '_fast' : ''}(${op.mapping}+0x${op.offset.toString(16)}${op.nowait ? ', FOLL_NOWAIT' : ''})`;
    case 'pagewalk':
      return `${op.walker}(${op.mapping}+0x${op.offset.toString(16)})`;
    default:
      return op.op;
  }
}
