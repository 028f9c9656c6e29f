/** Exit statuses (also in every --help and docs/cli.md). */
export const EXIT = { OK: 0, VIOLATIONS: 1, USAGE: 2, INTERNAL: 3 } as const;

export const EXIT_HELP = `Exit status:
  0  success; no violation found (replay: the violation did not reproduce)
  1  violations found (replay: the violation reproduced)
  2  bad input: unknown option, strategy or workload, bad value, bad token, unreadable file
  3  internal error (set HUGESYNC_DEBUG=1 for the stack trace)`;
