/** hugesync command line: `main(argv, io)` runs one command and returns its exit status. */
import { Command, CommanderError } from 'commander';
import { makeCtx, type CliIo, type Ctx } from './io.js';
import { firstLine, isUserError } from './errors.js';
import { EXIT, EXIT_HELP } from './exit.js';
import { registerList } from './commands/list.js';
import { registerExplore } from './commands/explore.js';
import { registerReplay } from './commands/replay.js';
import { registerRun } from './commands/run.js';
import { registerCompare } from './commands/compare.js';
import { registerTrace } from './commands/trace.js';
import { registerNewStrategy } from './commands/new-strategy.js';

export type { CliIo, Out } from './io.js';
export { writeHtmlReport, toCompareReport, commandLine } from './html.js';
export type { CompareData } from './commands/compare.js';

export { EXIT, EXIT_HELP };

/** State shared by the command actions of one main() call. */
export interface Run {
  ctx: Ctx;
  code: number;
  /** The user's arguments (argv without node and the script), for reports that show the command line. */
  argv: string[];
}

export function buildProgram(run: Run): Command {
  const { ctx } = run;
  const program = new Command('hugesync');
  program
    .description('Explore, replay and simulate the synchronization designs of Linux hugetlb PMD sharing.')
    .version('0.1.0', '-V, --version')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => void ctx.out.write(s),
      writeErr: (s) => void ctx.err.write(s),
      // One line: "hugesync: error: unknown option '--x' (Did you mean --y?)".
      outputError: (s, write) =>
        write(
          `hugesync: ${s
            .split('\n')
            .map((l) => l.trim())
            .filter((l) => l !== '')
            .join(' ')}\n`,
        ),
      getOutHelpWidth: () => Math.min(ctx.width, 120),
      getErrHelpWidth: () => Math.min(ctx.width, 120),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ hugesync list
  $ hugesync explore --workload pmd-unshare-race --strategy none,vma-lock
  $ hugesync replay hs1.eyJ2Ijox...
  $ hugesync run --workload map-fault-unmap --strategy all --cpus 8
  $ hugesync compare --html hugesync-report.html
  $ hugesync trace hs1.eyJ2Ijox... --out race.json

${EXIT_HELP}`,
    );
  registerList(program, run);
  registerExplore(program, run);
  registerReplay(program, run);
  registerRun(program, run);
  registerCompare(program, run);
  registerTrace(program, run);
  registerNewStrategy(program, run);
  return program;
}

/**
 * Run the command line `argv` (as process.argv: node, script, args...). Output goes to io
 * (default: the process streams). Never throws; returns the exit status.
 */
export async function main(argv: readonly string[], io: Partial<CliIo> = {}): Promise<number> {
  const ctx = makeCtx(io);
  const run: Run = { ctx, code: EXIT.OK, argv: argv.slice(2) };
  const program = buildProgram(run);
  // Every subcommand reports its errors through the same output and exit override.
  for (const c of program.commands) {
    c.exitOverride().configureOutput(program.configureOutput()).showSuggestionAfterError(true);
  }
  try {
    await program.parseAsync(argv.slice(), { from: 'node' });
    return run.code;
  } catch (e) {
    if (e instanceof CommanderError) {
      // --help and --version end with exit status 0; a missing command prints the help to stderr.
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version') return EXIT.OK;
      if (e.code === 'commander.help' || e.code === 'commander.executeSubCommandAsync') return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
      return EXIT.USAGE;
    }
    if (isUserError(e)) {
      ctx.err.write(`hugesync: error: ${firstLine(e)}\n`);
      if (ctx.env.HUGESYNC_DEBUG && e.stack) ctx.err.write(`${e.stack}\n`);
      return EXIT.USAGE;
    }
    ctx.err.write(`hugesync: internal error: ${firstLine(e)}${ctx.env.HUGESYNC_DEBUG ? '' : ' (set HUGESYNC_DEBUG=1 for the stack trace)'}\n`);
    if (ctx.env.HUGESYNC_DEBUG && e instanceof Error && e.stack) ctx.err.write(`${e.stack}\n`);
    return EXIT.INTERNAL;
  }
}
