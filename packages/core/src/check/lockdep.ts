/**
 * A lockdep-style lock-order checker on lock classes: every blocking acquisition adds edges from
 * the classes held to the new one; an edge that closes a cycle is reported in the layout of
 * kernel/locking/lockdep.c "possible circular locking dependency detected", even when no
 * deadlock happened in this run.
 */
import type { Kernel } from '../engine/kernel.js';
import type { AcquireEvent } from '../engine/events.js';

interface Edge {
  from: string;
  to: string;
  /** Where the dependency was first seen. */
  task: string;
  heldFn: string;
  newFn: string;
  heldMode: string;
  newMode: string;
}

/** The class graph outlives one run: explorers share it across schedules, like lockdep across a boot. */
export class LockGraph {
  readonly edges = new Map<string, Map<string, Edge>>();
  readonly reported = new Set<string>();

  path(from: string, to: string): Edge[] | null {
    const prev = new Map<string, Edge>();
    const q = [from];
    const seen = new Set([from]);
    while (q.length) {
      const cur = q.shift()!;
      if (cur === to) {
        const p: Edge[] = [];
        let n = to;
        while (n !== from) {
          const e = prev.get(n)!;
          p.unshift(e);
          n = e.from;
        }
        return p;
      }
      for (const e of this.edges.get(cur)?.values() ?? []) {
        if (!seen.has(e.to)) {
          seen.add(e.to);
          prev.set(e.to, e);
          q.push(e.to);
        }
      }
    }
    return null;
  }
}

const mode = (m: string, kind: string) => (kind === 'rwsem' ? (m === 'read' ? 'read' : 'write') : '');

export function attachLockdep(k: Kernel, graph = new LockGraph()): LockGraph {
  k.bus.on('lock:attempt', (e: AcquireEvent) => {
    if (e.trylock) return;
    const to = e.lock.cls;
    for (const h of e.held) {
      const from = h.lock.cls;
      if (from === to) continue; // same-class nesting is annotated in the kernel (spin_lock_nested, mmap_lock of parent and child)
      let m = graph.edges.get(from);
      if (!m) graph.edges.set(from, (m = new Map()));
      if (m.has(to)) continue;
      const edge: Edge = { from, to, task: e.t.name, heldFn: h.fn, newFn: e.fn, heldMode: mode(h.mode, h.lock.kind), newMode: mode(e.mode, e.lock.kind) };
      // Does the new lock already (transitively) depend on a held one?
      const back = graph.path(to, from);
      m.set(to, edge);
      if (back) {
        const key = [from, to].sort().join('|');
        if (graph.reported.has(key)) continue;
        graph.reported.add(key);
        k.report({
          kind: 'lock-order',
          message: `possible circular locking dependency: ${e.t.name} acquires ${to} in ${e.fn} while holding ${from} (taken in ${h.fn}); elsewhere ${back.map((b) => `${b.from} -> ${b.to} (${b.task}: ${b.newFn})`).join(', ')}`,
          report: splat(e, edge, back),
          thread: e.t.name,
          fn: e.fn,
        });
      }
    }
  });
  return graph;
}

function lk(cls: string, m: string): string {
  return m === 'read' ? `rlock(${cls});` : `lock(${cls});`;
}

/**
 * kernel/locking/lockdep.c print_circular_bug() @ v5.6. `back` is the existing path from the new
 * lock's class (source) to the held lock's class (target): source -> x1 -> ... -> target.
 * The chain is printed from the target back to the source: "-> #n" for each class with the stack
 * that recorded the dependency leading to it, "-> #0" for the source with the current stack.
 * The scenario uses the class just before the target on the path (lockdep's first parent).
 */
function splat(e: AcquireEvent, edge: Edge, back: Edge[]): string {
  const L: string[] = [];
  const bar = '='.repeat(54);
  L.push(bar, 'WARNING: possible circular locking dependency detected', '-'.repeat(54));
  L.push(`${e.t.name} is trying to acquire lock:`);
  L.push(`  (${edge.to}){${edge.newMode || 'excl'}}, at: ${edge.newFn}`, '');
  L.push('but task is already holding lock:');
  L.push(`  (${edge.from}){${edge.heldMode || 'excl'}}, at: ${edge.heldFn}`, '');
  L.push('which lock already depends on the new lock.', '', 'the existing dependency chain (in reverse order) is:', '');
  for (let i = back.length - 1; i >= 0; i--) {
    const b = back[i]!;
    L.push(`-> #${i + 1} (${b.to}):`, `       ${b.heldFn} (holding ${b.from})`, `       ${b.newFn} (acquiring ${b.to}) by ${b.task}`, '');
  }
  L.push(`-> #0 (${edge.to}):`, `       ${edge.heldFn} (holding ${edge.from})`, `       ${edge.newFn} (acquiring ${edge.to}) by ${e.t.name}`, '');
  L.push('other info that might help us debug this:', '');
  const source = edge.to;
  const target = edge.from;
  const parent = back[back.length - 1]!.from;
  if (parent !== source) L.push('Chain exists of:', `  ${source} --> ${parent} --> ${target}`, '');
  L.push(' Possible unsafe locking scenario:', '');
  L.push('       CPU0                    CPU1', '       ----                    ----');
  const pad = ' '.repeat(31);
  L.push(`  ${lk(target, edge.heldMode)}`);
  L.push(`${pad}${lk(parent, back[back.length - 1]!.heldMode)}`);
  L.push(`${pad}${lk(target, back[back.length - 1]!.newMode)}`);
  L.push(`  ${lk(source, edge.newMode)}`, '', ' *** DEADLOCK ***', '');
  L.push(`${e.held.length} lock${e.held.length === 1 ? '' : 's'} held by ${e.t.name}:`);
  e.held.forEach((h, i) => L.push(` #${i}: (${h.lock.cls}){${h.mode}}, at: ${h.fn}`));
  return L.join('\n');
}
