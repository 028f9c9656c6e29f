/**
 * The interleaving of a replayed schedule as columns, one per thread, one row per step, in the
 * spirit of the "Faulting thread / Unsharing thread" diagram of seed 002: each cell shows the
 * kernel function (when it changes) and the step. Long runs of one thread are shortened.
 */

export interface TraceStep {
  /** 1-based position in the schedule. */
  n: number;
  tid: number;
  thread: string;
  fn: string;
  label: string;
  /** Violation kinds detected at this step. */
  marks: string[];
}

export interface DiagramOptions {
  /** Total width (default 120). */
  width?: number;
  /** Runs longer than this are shortened to their head and tail (default 8). */
  maxRun?: number;
}

interface Line {
  /** Step number to show in the gutter ('' for a function header or an elision). */
  n: string;
  text: string;
  mark: boolean;
}

function clip(s: string, w: number): string {
  return s.length <= w ? s : `${s.slice(0, Math.max(0, w - 1))}…`;
}

/** Lines of one run of consecutive steps by one thread; `lastFn` carries each thread's current function. */
function runLines(run: TraceStep[], lastFn: Map<number, string>, maxRun: number): Line[] {
  const keep = new Set<number>();
  if (run.length <= maxRun) run.forEach((_, i) => keep.add(i));
  else {
    const head = Math.ceil((maxRun - 1) / 2);
    const tail = maxRun - 1 - head;
    for (let i = 0; i < head; i++) keep.add(i);
    for (let i = run.length - tail; i < run.length; i++) keep.add(i);
  }
  run.forEach((s, i) => {
    if (s.marks.length > 0) keep.add(i);
  });
  const out: Line[] = [];
  let skipped: TraceStep[] = [];
  const flush = () => {
    if (skipped.length === 0) return;
    const fns = [...new Set(skipped.map((s) => s.fn))];
    out.push({ n: '', text: `⋮ ${skipped.length} step${skipped.length === 1 ? '' : 's'} in ${fns.slice(0, 3).join(', ')}${fns.length > 3 ? ', …' : ''}`, mark: false });
    lastFn.set(skipped[0]!.tid, skipped[skipped.length - 1]!.fn);
    skipped = [];
  };
  run.forEach((s, i) => {
    if (!keep.has(i)) {
      skipped.push(s);
      return;
    }
    flush();
    if (lastFn.get(s.tid) !== s.fn) {
      out.push({ n: '', text: `${s.fn}()`, mark: false });
      lastFn.set(s.tid, s.fn);
    }
    out.push({ n: String(s.n), text: `  ${s.label}`, mark: s.marks.length > 0 });
    if (s.marks.length > 0) out.push({ n: '', text: `  ^ ${s.marks.join(', ')}`, mark: false });
  });
  flush();
  return out;
}

/** Render the trace; columns when they fit (at least 24 characters each), else one line per step with the thread name. */
export function renderInterleaving(steps: readonly TraceStep[], opts: DiagramOptions = {}): string {
  const width = opts.width ?? 120;
  const maxRun = Math.max(3, opts.maxRun ?? 8);
  if (steps.length === 0) return '(no steps)';
  const threads: Array<{ tid: number; name: string }> = [];
  for (const s of steps) if (!threads.some((t) => t.tid === s.tid)) threads.push({ tid: s.tid, name: s.thread });
  threads.sort((a, b) => a.tid - b.tid);
  const gutter = Math.max(5, String(steps[steps.length - 1]!.n).length + 4);
  const sep = ' │ ';
  const colW = Math.floor((width - gutter - sep.length * (threads.length - 1)) / threads.length);
  const runs: TraceStep[][] = [];
  for (const s of steps) {
    const last = runs[runs.length - 1];
    if (last && last[0]!.tid === s.tid) last.push(s);
    else runs.push([s]);
  }
  const lastFn = new Map<number, string>();
  const out: string[] = [];
  if (colW >= 24) {
    const col = new Map(threads.map((t, i) => [t.tid, i]));
    const row = (g: string, cells: string[]) => `${g.padStart(gutter - 1)} ${cells.map((c) => clip(c, colW).padEnd(colW)).join(sep)}`.trimEnd();
    out.push(row('step', threads.map((t) => t.name)));
    out.push(row('', threads.map(() => '─'.repeat(colW))));
    for (const r of runs) {
      const c = col.get(r[0]!.tid)!;
      for (const l of runLines(r, lastFn, maxRun)) {
        const cells = threads.map(() => '');
        cells[c] = l.text;
        out.push(row(l.mark ? `>> ${l.n}` : l.n, cells));
      }
    }
    return out.join('\n');
  }
  // Too many threads for columns: one line per row, thread name first.
  const nameW = Math.min(20, Math.max(...threads.map((t) => t.name.length)));
  for (const r of runs) {
    for (const l of runLines(r, lastFn, maxRun)) {
      const g = (l.mark ? `>> ${l.n}` : l.n).padStart(gutter - 1);
      out.push(`${g} ${clip(r[0]!.thread, nameW).padEnd(nameW)}  ${clip(l.text, Math.max(20, width - gutter - nameW - 2))}`.trimEnd());
    }
  }
  return out.join('\n');
}
