/**
 * Counterexample minimisation: shrink a schedule that shows a violation to one with fewer
 * preemptions and fewer steps that still shows a violation of the same kind.
 *
 * A schedule is seen as blocks (thread, run length). Candidate edits: run the threads in id order
 * (the empty list), delete a block, move a block to after the next block of its thread (or to the
 * end), pull a thread's next block forward to join this one, and split a block moving its tail
 * later. Every candidate list is replayed the way a replay token is (ReplayScheduler: entries whose
 * thread cannot run are skipped, after the list the lowest runnable id runs); the schedule the run
 * actually took, which stops at the violating step, is kept when it is no worse in preemptions,
 * context switches and steps, and better in one of them. The work is capped by a replay budget.
 */
import type { SyncStrategy } from '../strategy.js';
import type { WorkloadSpec } from '../workload/types.js';
import type { ViolationKind } from './events.js';
import type { Thread } from './thread.js';
import { ReplayScheduler, type Scheduler } from './executor.js';
import { countPreemptions, runOnce, setMinimizer } from './explore.js';
import { MachineTemplate } from '../workload/build.js';

/** Replays the minimiser may spend on one counterexample. */
export const MINIMIZE_REPLAYS = 300;

export interface ScheduleCost {
  /** Switches away from a thread that could have run on. */
  preemptions: number;
  /** All switches between threads (what Finding.preemptions counts). */
  switches: number;
  steps: number;
}

interface Tried extends ScheduleCost {
  reproduces: boolean;
  /** The schedule the run took (ends at the violating step). */
  schedule: number[];
}

/** Replay `list` as a token would and measure the schedule it produced. */
export function replayCost(spec: WorkloadSpec, strategy: SyncStrategy, list: readonly number[], kind: ViolationKind, seed: number, maxSteps?: number, template?: MachineTemplate): Tried {
  const inner = new ReplayScheduler(list);
  let preemptions = 0;
  let last = -1;
  const sched: Scheduler = {
    pick(runnable: readonly Thread[]): Thread {
      const t = inner.pick(runnable);
      if (last >= 0 && t.id !== last && runnable.some((r) => r.id === last)) preemptions++;
      last = t.id;
      return t;
    },
  };
  const { exec } = runOnce(spec, strategy, sched, { seed, maxSteps, template });
  return {
    reproduces: exec.violations.some((v) => v.kind === kind),
    schedule: exec.schedule,
    preemptions,
    switches: countPreemptions(exec.schedule),
    steps: exec.schedule.length,
  };
}

interface Block {
  t: number;
  start: number;
  len: number;
}

function blocksOf(s: readonly number[]): Block[] {
  const out: Block[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out.push({ t: s[i]!, start: i, len: j - i });
    i = j;
  }
  return out;
}

const better = (a: ScheduleCost, b: ScheduleCost): boolean =>
  a.preemptions <= b.preemptions && a.switches <= b.switches && a.steps <= b.steps && (a.preemptions < b.preemptions || a.switches < b.switches || a.steps < b.steps);

/** Candidate lists derived from schedule s, most promising first. */
function* candidates(s: readonly number[]): Generator<number[]> {
  const bl = blocksOf(s);
  const cut = (b: Block) => s.slice(b.start, b.start + b.len);
  const nextOf = (k: number): number => {
    for (let m = k + 1; m < bl.length; m++) if (bl[m]!.t === bl[k]!.t) return m;
    return -1;
  };
  const assemble = (order: Array<number[]>): number[] => order.flat();
  yield [];
  // Delete a block (its steps run later, where the thread's next entries or the id order put them).
  for (let k = bl.length - 1; k >= 0; k--) yield assemble(bl.filter((_, i) => i !== k).map(cut));
  // Delay a block to join the thread's next block (or to the end).
  for (let k = bl.length - 1; k >= 0; k--) {
    const m = nextOf(k);
    const parts = bl.map(cut);
    const moved = parts[k]!;
    parts[k] = [];
    if (m >= 0) parts[m] = [...moved, ...parts[m]!];
    else parts.push(moved);
    yield assemble(parts);
  }
  // Pull the thread's next block forward to run right after this one.
  for (let k = 0; k < bl.length; k++) {
    const m = nextOf(k);
    if (m < 0) continue;
    const parts = bl.map(cut);
    parts[k] = [...parts[k]!, ...parts[m]!];
    parts[m] = [];
    yield assemble(parts);
  }
  // Split a block: its second half runs after the thread's next block (or at the end).
  for (let k = bl.length - 1; k >= 0; k--) {
    const b = bl[k]!;
    if (b.len < 2) continue;
    const keep = b.len >> 1;
    const parts = bl.map(cut);
    const tail = parts[k]!.slice(keep);
    parts[k] = parts[k]!.slice(0, keep);
    const m = nextOf(k);
    if (m >= 0) parts[m] = [...tail, ...parts[m]!];
    else parts.push(tail);
    yield assemble(parts);
  }
}

/**
 * Shrink `schedule` (a run showing a `kind` violation) to one with no more preemptions and steps
 * that still shows a `kind` violation when replayed. Returns the input if it does not reproduce.
 */
export function minimizeSchedule(spec: WorkloadSpec, strategy: SyncStrategy, schedule: number[], kind: ViolationKind, seed: number, maxSteps?: number, budget = MINIMIZE_REPLAYS): number[] {
  let replays = 1;
  const template = new MachineTemplate(spec, strategy, seed);
  let cur = replayCost(spec, strategy, schedule, kind, seed, maxSteps, template);
  if (!cur.reproduces) return schedule;
  const tried = new Set<string>();
  let improved = true;
  // After a success, resume near the same kind of edit instead of starting over (budget goes further).
  let at = 0;
  while (improved && replays < budget) {
    improved = false;
    const all = [...candidates(cur.schedule)];
    for (let n = 0; n < all.length; n++) {
      const idx = (at + n) % all.length;
      const list = all[idx]!;
      const key = list.join(',');
      if (tried.has(key)) continue;
      tried.add(key);
      if (replays >= budget) break;
      replays++;
      const r = replayCost(spec, strategy, list, kind, seed, maxSteps, template);
      if (r.reproduces && better(r, cur)) {
        cur = r;
        improved = true;
        at = idx;
        break;
      }
    }
  }
  // Never hand back something longer or with more switches than we were given.
  return cur.switches <= countPreemptions(schedule) && cur.steps <= schedule.length ? cur.schedule : schedule;
}

setMinimizer((spec, strategy, schedule, kind, seed, maxSteps) => minimizeSchedule(spec, strategy, schedule, kind, seed, maxSteps));
