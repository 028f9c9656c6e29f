/** Where the CLI writes, and whether it may draw progress bars. */
import { SingleBar, Presets } from 'cli-progress';

export interface Out {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface CliIo {
  stdout: Out;
  stderr: Out;
  /** Environment (CI, HUGESYNC_DEBUG); default process.env. */
  env?: Record<string, string | undefined>;
  /** Directory paths are resolved from; default process.cwd(). */
  cwd?: string;
}

export interface Ctx {
  out: Out;
  err: Out;
  env: Record<string, string | undefined>;
  cwd: string;
  /** Print a line to stdout. */
  print(s?: string): void;
  /** Print a warning line to stderr. */
  warn(s: string): void;
  /** Output width for tables and diagrams. */
  width: number;
}

export function makeCtx(io: Partial<CliIo>): Ctx {
  const out = io.stdout ?? process.stdout;
  const err = io.stderr ?? process.stderr;
  const env = io.env ?? process.env;
  const width = Math.max(80, Math.min(out.isTTY && out.columns ? out.columns : 120, 200));
  return {
    out,
    err,
    env,
    cwd: io.cwd ?? process.cwd(),
    print: (s = '') => void out.write(`${s}\n`),
    warn: (s) => void err.write(`hugesync: warning: ${s}\n`),
    width,
  };
}

export interface Progress {
  start(total: number, label: string): void;
  update(done: number): void;
  stop(): void;
}

const NO_PROGRESS: Progress = { start() {}, update() {}, stop() {} };

/** A progress bar on stderr when it is a terminal, not in --json mode and not under CI. */
export function progress(ctx: Ctx, json: boolean): Progress {
  if (json || !ctx.err.isTTY || (ctx.env.CI !== undefined && ctx.env.CI !== '' && ctx.env.CI !== 'false')) return NO_PROGRESS;
  let bar: SingleBar | null = null;
  let last = 0;
  return {
    start(total, label) {
      bar?.stop();
      bar = new SingleBar(
        { format: `${label.padEnd(28).slice(0, 28)} [{bar}] {value}/{total} {duration_formatted}`, stream: ctx.err as NodeJS.WritableStream, clearOnComplete: true, hideCursor: true, etaBuffer: 20 },
        Presets.shades_classic,
      );
      bar.start(Math.max(1, total), 0);
      last = 0;
    },
    update(done) {
      // Redraw at most every 1% of the bar (the explorers report every schedule).
      if (bar && (done - last >= Math.max(1, bar.getTotal() / 100) || done >= bar.getTotal())) {
        bar.update(Math.min(done, bar.getTotal()));
        last = done;
      }
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
