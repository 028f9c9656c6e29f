import type { Step } from './step.js';
import type { Thread, HoldMode, HeldLock } from './thread.js';
import type { Lock } from '../kernel/locks.js';
import type { Mm } from '../model/mm.js';
import type { PtePtr } from '../model/pgtable.js';
import type { TlbEntry } from '../model/tlb.js';

/** Stable identifiers of the checkers; used in every output. */
export type ViolationKind =
  | 'pte-use-after-free'
  | 'pte-stale-owner'
  | 'reserve-count'
  | 'page-beyond-eof'
  | 'page-leak'
  | 'refcount'
  | 'pmd-share-invalid'
  | 'data-race'
  | 'unexpected-result'
  | 'deadlock'
  | 'lock-order'
  | 'sleep-in-atomic'
  | 'lock-imbalance'
  | 'livelock'
  | 'stale-tlb'
  | 'strategy-error'
  | 'migration-entry-leak'
  | 'hwpoison-mapped';

export interface Violation {
  kind: ViolationKind;
  /** One line a kernel developer recognises. */
  message: string;
  /** Multi-line report (lockdep splat, KCSAN-style race, wait-for cycle), when there is one. */
  report?: string;
  thread?: string;
  /** Global step number at which it was detected. */
  seq: number;
  fn?: string;
}

export interface AcquireEvent {
  t: Thread;
  lock: Lock;
  mode: HoldMode;
  fn: string;
  trylock: boolean;
  /** Locks held before this acquisition (outermost first). */
  held: readonly HeldLock[];
}

export interface PteAccessEvent {
  t: Thread;
  ptep: PtePtr;
  write: boolean;
  fn: string;
  /** Locking the PTL through the pointer counts as a dereference too. */
  what: 'read' | 'write' | 'ptl';
  /** A lockless read whose value is only a hint, checked again under locks ("ptep could be stale"). */
  speculative?: boolean;
}

export interface KernelEvents {
  step: (t: Thread, s: Step, seq: number) => void;
  'lock:attempt': (e: AcquireEvent) => void;
  'lock:acquired': (t: Thread, l: Lock, mode: HoldMode, fn: string, waited: number) => void;
  'lock:contended': (t: Thread, l: Lock, mode: HoldMode, fn: string) => void;
  'lock:released': (t: Thread, l: Lock, mode: HoldMode, fn: string, ok: boolean) => void;
  'pte:access': (e: PteAccessEvent) => void;
  /** Access to a modelled shared structure, for the data-race checker. */
  'mem:access': (t: Thread, obj: string, write: boolean, fn: string) => void;
  'op:begin': (t: Thread, op: string) => void;
  'op:end': (t: Thread, op: string, result: string) => void;
  'fault:begin': (t: Thread, mm: Mm, addr: number) => void;
  'fault:end': (t: Thread, mm: Mm, addr: number, result: string) => void;
  'thread:end': (t: Thread) => void;
  violation: (v: Violation) => void;
  rcu: (t: Thread, what: 'lock' | 'unlock') => void;
  /** A user access served by a cached translation (no page-table walk), for the stale-tlb checker. */
  'tlb:access': (e: TlbAccessEvent) => void;
}

export interface TlbAccessEvent {
  t: Thread;
  entry: TlbEntry;
  write: boolean;
  /** 'table': the paging-structure cache entry is used; 'page': the load or store reaches the page. */
  what: 'table' | 'page';
}
