import type { Kernel } from '../engine/kernel.js';
import type { Thread } from '../engine/thread.js';
import { stepLabel } from '../engine/step.js';

/** Build the wait-for graph of blocked threads and describe its cycle (or the stuck waits). */
export function waitForCycle(k: Kernel): { message: string; report: string } {
  const blocked = k.threads.filter((t) => !t.done && !t.daemon);
  const waitsOn = (t: Thread): Thread[] => (t.waitingOn ? t.waitingOn.holders().filter((h) => h !== t) : []);
  const lines: string[] = [];
  for (const t of blocked) {
    const l = t.waitingOn;
    if (l) {
      const holders = l.holders().map((h) => h.name);
      lines.push(`  ${t.name} waits for ${l.cls} (${l.id}) in ${t.pending?.fn ?? '?'}, held by ${holders.join(', ') || '(nobody; queued behind waiters)'}`);
    } else lines.push(`  ${t.name} is blocked in ${t.pending?.fn ?? '?'}: ${t.pending ? stepLabel(t.pending) : ''}`);
  }
  // Find a cycle.
  for (const start of blocked) {
    const path: Thread[] = [];
    let cur: Thread | undefined = start;
    const seen = new Set<Thread>();
    while (cur && !seen.has(cur)) {
      seen.add(cur);
      path.push(cur);
      cur = waitsOn(cur)[0];
    }
    if (cur && path.includes(cur)) {
      const cyc = path.slice(path.indexOf(cur));
      const desc = cyc.map((t) => `${t.name} -[${t.waitingOn?.cls}]->`).join(' ') + ` ${cur.name}`;
      return { message: `deadlock: every live thread is blocked; wait-for cycle ${desc}`, report: ['Wait-for graph:', ...lines].join('\n') };
    }
  }
  return { message: `deadlock: every live thread is blocked (${blocked.map((t) => t.name).join(', ')})`, report: ['Wait-for graph:', ...lines].join('\n') };
}
