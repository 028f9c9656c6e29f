/**
 * A KCSAN-style data-race checker (kernel/kcsan/report.c @ v5.8+ for the report layout) driven by
 * happens-before rather than watchpoints: every task carries a vector clock; release -> acquire of
 * the same lock object, rcu_read_unlock -> the synchronize_rcu()/call_rcu() that waited for it,
 * and parent -> child at spawn (fork) order accesses. Two plain accesses to the same location
 * from different tasks, at least one a write, that are not ordered are reported as
 * "BUG: KCSAN: data-race in f1 / f2". Marked accesses (READ_ONCE, atomics, i_size_read) are not
 * checked, as KCSAN does not report races between marked accesses.
 *
 * Only objects whose declared protection is a lock are checked (DATA_RACE_DECLARATIONS).
 * Nothing is installed unless attachDataRaceChecker() is called.
 */
import type { Kernel } from '../engine/kernel.js';
import type { Thread, HoldMode } from '../engine/thread.js';
import type { PteAccessEvent } from '../engine/events.js';
import type { Lock } from '../kernel/locks.js';
import { pudIndex } from '../model/constants.js';

/** What protects a family of modelled objects (matched by the prefix of the object id). */
export interface ProtectionDecl {
  prefix: string;
  /** Lock class that protects plain accesses; null = not checked (marked accesses, lockless by design, or not modelled). */
  lock: string | null;
  note: string;
}

export const DATA_RACE_DECLARATIONS: readonly ProtectionDecl[] = [
  { prefix: 'pmd:', lock: 'ptlock', note: 'PMD-table entries: huge_pte_lock(), the split PMD lock of the table page (the same lock for every mm sharing it)' },
  { prefix: 'i_mmap:', lock: 'i_mmap_rwsem', note: 'mapping->i_mmap interval tree: i_mmap_rwsem (write to modify, read to walk)' },
  { prefix: 'anon_vma:', lock: 'anon_vma->rwsem', note: 'the anon_vma interval tree (anon_vma_chain): anon_vma_lock_write to link/unlink, anon_vma_lock_read to walk (rmap_walk_anon)' },
  { prefix: 'resv:', lock: 'resv_map->lock', note: 'resv_map region list and adds_in_progress' },
  { prefix: 'hstate', lock: 'hugetlb_lock', note: 'free/resv/surplus counters and the free lists' },
  { prefix: 'inode:', lock: 'i_lock', note: 'i_blocks, under inode->i_lock' },
  { prefix: 'mm:', lock: 'mmap_lock', note: 'the vma list (find_vma), under mmap_lock' },
  { prefix: 'vma:', lock: 'mmap_lock', note: 'vm_flags: written with mmap_lock held for write (and i_mmap_rwsem in __unmap_hugepage_range_final)' },
  { prefix: 'pagecache:', lock: null, note: 'page cache xarray: xa_lock and RCU lookups are not modelled' },
  { prefix: 'i_size:', lock: null, note: 'i_size_read()/i_size_write() are marked accesses' },
  { prefix: 'pud:', lock: null, note: 'PUD entries: lockless READ_ONCE walks (huge_pte_offset); populated under page_table_lock' },
  { prefix: 'page:', lock: null, note: 'struct page refcount/mapcount: atomics' },
  { prefix: 'rcu:', lock: null, note: 'RCU state: not memory the kernel paths share' },
];

/** The declaration for an object id, or null if none matches. */
export function protectionOf(obj: string): ProtectionDecl | null {
  for (const d of DATA_RACE_DECLARATIONS) if (obj.startsWith(d.prefix)) return d;
  return null;
}

type VC = number[];

function join(into: VC, from: VC): void {
  for (let i = 0; i < from.length; i++) if ((from[i] ?? 0) > (into[i] ?? 0)) into[i] = from[i]!;
}

interface Access {
  t: Thread;
  slot: number;
  epoch: number;
  write: boolean;
  fn: string;
  /** Location as printed ("pmd:3[1]"). */
  where: string;
  /** What the access was ("plain read"); '' for a PTE access, whose label is built from the
   * three fields below only when a race is reported. */
  label: string;
  /** PTE access: the mm and address the pointer was derived for, and whether it was stale. */
  pteMm: string;
  pteAddr: number;
  pteStale: boolean;
  /** Lock classes held, outermost first (shared between accesses while the held locks do not change). */
  held: readonly string[];
  seq: number;
}

/** The label of an access, as the report shows it. */
function accessLabel(a: Access): string {
  if (a.label !== '') return a.label;
  return `${a.write ? 'pte write' : 'pte read'} for ${a.pteMm} 0x${a.pteAddr.toString(16)}${a.pteStale ? ' through a stale pointer' : ''}`;
}

interface Shadow {
  lastWrite: Access | null;
  /** Reads since the last write, one per task. */
  reads: Map<Thread, Access>;
}

export interface DataRaceChecker {
  /** Locations checked so far (for tests and statistics). */
  readonly locations: () => number;
  /** Stop listening and restore the wrapped kernel methods. */
  detach(): void;
}

/** Install the data-race checker on k. Costs nothing unless called. */
export function attachDataRaceChecker(k: Kernel): DataRaceChecker {
  const slots = new Map<Thread, number>();
  const clocks = new Map<Thread, VC>();
  const lockClocks = new Map<Lock, { w: VC; r: VC }>();
  /** Per task: the clock at each outermost rcu_read_unlock, by its exit number. */
  const rcuExit = new Map<Thread, Map<number, VC>>();
  const shadow = new Map<string, Shadow>();
  /** Slot locations seen per whole object ("pmd:3" -> {"pmd:3[1]", ...}). */
  const parts = new Map<string, Set<string>>();
  const reported = new Set<string>();
  let current: Thread | null = null;
  /** protectionOf() per object id (the same few ids come back at every step). */
  const decls = new Map<string, ProtectionDecl | null>();
  /** Per table object: the printed location of each slot ("pmd:3[1]"), built once. */
  const slotNames = new Map<string, string[]>();
  /** Per task: the lock classes it holds, rebuilt after it acquires or releases a lock. */
  const heldClasses = new Map<Thread, readonly string[]>();

  const slotOf = (t: Thread): number => {
    let s = slots.get(t);
    if (s === undefined) {
      s = slots.size;
      slots.set(t, s);
    }
    return s;
  };
  const vc = (t: Thread): VC => {
    let c = clocks.get(t);
    if (!c) {
      c = [];
      c[slotOf(t)] = 1;
      clocks.set(t, c);
    }
    return c;
  };
  const tick = (t: Thread): void => {
    const c = vc(t);
    const s = slotOf(t);
    c[s] = (c[s] ?? 0) + 1;
  };
  const lc = (l: Lock) => {
    let x = lockClocks.get(l);
    if (!x) lockClocks.set(l, (x = { w: [], r: [] }));
    return x;
  };
  /** Join the clocks the readers in a grace-period snapshot had at their first outermost unlock after it. */
  const joinReaders = (into: VC, readers: ReadonlyArray<readonly [Thread, number]>): void => {
    for (const [r, exits] of readers) {
      const at = rcuExit.get(r)?.get(exits + 1);
      if (at) join(into, at);
    }
  };

  // ---- synchronisation edges ----
  const onAcquired = (t: Thread, l: Lock, mode: HoldMode): void => {
    heldClasses.delete(t);
    const x = lc(l);
    const c = vc(t);
    join(c, x.w);
    if (mode === 'write') join(c, x.r);
  };
  const onReleased = (t: Thread, l: Lock, mode: HoldMode, _fn: string, ok: boolean): void => {
    if (!ok) return;
    heldClasses.delete(t);
    const x = lc(l);
    join(mode === 'write' ? x.w : x.r, vc(t));
    tick(t);
  };
  const onRcu = (t: Thread, what: 'lock' | 'unlock'): void => {
    if (what !== 'unlock' || t.rcuDepth !== 0) return;
    let m = rcuExit.get(t);
    if (!m) rcuExit.set(t, (m = new Map()));
    m.set(t.rcuExits, vc(t).slice());
    tick(t);
  };

  // ---- accesses ----
  const declOf = (obj: string): ProtectionDecl | null => {
    let d = decls.get(obj);
    if (d === undefined) decls.set(obj, (d = protectionOf(obj)));
    return d;
  };
  const heldOf = (t: Thread): readonly string[] => {
    let h = heldClasses.get(t);
    if (!h) heldClasses.set(t, (h = t.held.map((x) => x.lock.cls)));
    return h;
  };
  /** Report `other` if it races with `me` (neither happens-before the other). */
  const checkOne = (other: Access, me: Access, c: VC, decl: ProtectionDecl): void => {
    if (other.t !== me.t && (c[other.slot] ?? 0) < other.epoch) race(other, me, decl);
  };
  const check = (sh: Shadow, me: Access, c: VC, decl: ProtectionDecl): void => {
    const w = sh.lastWrite;
    if (w) checkOne(w, me, c, decl);
    if (me.write) for (const r of sh.reads.values()) checkOne(r, me, c, decl);
  };
  const access = (t: Thread, obj: string, where: string, write: boolean, fn: string, label: string, pteMm: string, pteAddr: number, pteStale: boolean): void => {
    const decl = declOf(obj);
    if (!decl || decl.lock === null) return;
    const c = vc(t);
    const slot = slotOf(t);
    const me: Access = { t, slot, epoch: c[slot]!, write, fn, where, label, pteMm, pteAddr, pteStale, held: heldOf(t), seq: k.seq };
    const sh = shadowOf(where);
    check(sh, me, c, decl);
    if (where !== obj) {
      // A slot of a table: an access to the whole table (pmd_free) overlaps it.
      const whole = shadow.get(obj);
      if (whole) check(whole, me, c, decl);
      let set = parts.get(obj);
      if (!set) parts.set(obj, (set = new Set()));
      set.add(where);
    } else {
      // The whole object: every slot accessed so far overlaps it.
      const ps = parts.get(obj);
      if (ps) for (const p of ps) check(shadow.get(p)!, me, c, decl);
    }
    if (write) {
      sh.lastWrite = me;
      if (sh.reads.size > 0) sh.reads.clear();
    } else sh.reads.set(t, me);
  };
  const shadowOf = (where: string): Shadow => {
    let sh = shadow.get(where);
    if (!sh) shadow.set(where, (sh = { lastWrite: null, reads: new Map() }));
    return sh;
  };
  const slotName = (obj: string, index: number): string => {
    let names = slotNames.get(obj);
    if (!names) slotNames.set(obj, (names = []));
    return (names[index] ??= `${obj}[${index}]`);
  };

  const describe = (a: Access): string[] => [
    `${a.write ? 'write' : 'read'} to ${a.where} of 8 bytes by task ${a.t.name}${a.t.proc ? ` (${a.t.proc})` : ''}:`,
    ` ${a.fn}: ${accessLabel(a)}`,
    `  locks held: ${a.held.length ? a.held.join(', ') : '(none)'}`,
  ];

  const race = (other: Access, me: Access, decl: ProtectionDecl): void => {
    const [f1, f2] = [other.fn, me.fn].sort();
    const key = `${me.where}|${f1}|${f2}`;
    if (reported.has(key)) return;
    reported.add(key);
    const bar = '='.repeat(66);
    k.report({
      kind: 'data-race',
      message: `data-race in ${f1} / ${f2}`,
      report: [
        bar,
        `BUG: KCSAN: data-race in ${f1} / ${f2}`,
        '',
        ...describe(other),
        '',
        ...describe(me),
        '',
        `${me.where} is declared protected by ${decl.lock} (${decl.note}); neither access happens-before the other.`,
        bar,
      ].join('\n'),
      thread: me.t.name,
      fn: me.fn,
    });
  };

  const onMem = (t: Thread, obj: string, write: boolean, fn: string): void => {
    access(current ?? t, obj, obj, write, fn, write ? 'plain write' : 'plain read', '', 0, false);
  };
  const onPte = (e: PteAccessEvent): void => {
    // 'ptl' is pmd_lockptr() address arithmetic (and get_page's atomic): not an access; speculative reads are marked.
    if (e.what === 'ptl' || e.speculative) return;
    const p = e.ptep;
    const obj = p.table.objId;
    const decl = declOf(obj);
    if (!decl || decl.lock === null) return;
    const stale = p.table.gen !== p.gen || p.mm.pud.get(pudIndex(p.addr)) !== p.table;
    access(current ?? e.t, obj, slotName(obj, p.index), e.write, e.fn, '', p.mm.name, p.addr, stale);
  };

  k.bus.on('lock:acquired', onAcquired);
  k.bus.on('lock:released', onReleased);
  k.bus.on('rcu', onRcu);
  k.bus.on('mem:access', onMem);
  k.bus.on('pte:access', onPte);

  // ---- wrapped kernel entry points: the running task, spawn edges, grace periods ----
  const origStep = k.stepThread;
  const origSpawn = k.spawn;
  const rcu = k.rcu;
  const origSnapshot = rcu.snapshot;
  const origPush = rcu.callbacks.push;
  /** Tasks inside synchronize_rcu(): the snapshot they wait on, taken at the given step count. */
  const syncWait = new Map<Thread, { readers: Array<[Thread, number]>; taken: number }>();
  let lastSnap: { readers: Array<[Thread, number]> } | null = null;

  k.stepThread = function (t: Thread) {
    const prev = current;
    current = t;
    const before = t.steps;
    const pendingSync = syncWait.get(t);
    lastSnap = null;
    try {
      const s = origStep.call(k, t);
      if (pendingSync && pendingSync.taken < before) {
        // This was the "grace period ended" step: the readers it waited for happen-before the return.
        joinReaders(vc(t), pendingSync.readers);
        syncWait.delete(t);
      } else if (lastSnap) {
        const snap: { readers: Array<[Thread, number]> } = lastSnap;
        if (!rcu.callbacks.some((cb) => (cb as { snap: unknown }).snap === snap)) syncWait.set(t, { readers: snap.readers, taken: before });
      }
      return s;
    } finally {
      current = prev;
    }
  };
  k.spawn = function (...args: Parameters<Kernel['spawn']>) {
    const parent = current;
    const child = origSpawn.apply(k, args);
    if (parent) {
      clocks.set(child, vc(parent).slice());
      vc(child)[slotOf(child)] = 1;
      tick(parent);
    }
    return child;
  };
  rcu.snapshot = function (kk: Kernel) {
    const s = origSnapshot.call(rcu, kk);
    lastSnap = s as { readers: Array<[Thread, number]> };
    return s;
  };
  rcu.callbacks.push = function (...cbs: Array<{ snap: { readers: Array<[Thread, number]> }; fn: () => void; label: string }>) {
    for (const cb of cbs) {
      const caller = current;
      const at = caller ? vc(caller).slice() : [];
      if (caller) tick(caller);
      const fn = cb.fn;
      cb.fn = () => {
        const runner = current;
        if (runner) {
          join(vc(runner), at);
          joinReaders(vc(runner), cb.snap.readers);
        }
        fn();
      };
    }
    return origPush.apply(rcu.callbacks, cbs as never[]);
  } as typeof rcu.callbacks.push;

  return {
    locations: () => shadow.size,
    detach() {
      k.bus.off('lock:acquired', onAcquired);
      k.bus.off('lock:released', onReleased);
      k.bus.off('rcu', onRcu);
      k.bus.off('mem:access', onMem);
      k.bus.off('pte:access', onPte);
      k.stepThread = origStep;
      k.spawn = origSpawn;
      rcu.snapshot = origSnapshot;
      rcu.callbacks.push = origPush;
    },
  };
}
