/** Errors the CLI turns into "one line on stderr, exit 2". */
import { UsageError } from '@hugesync/strategies';

export { UsageError };

/** Bad input: our UsageError, core's WorkloadError (by name: it may come from another copy of core). */
export function isUserError(e: unknown): e is Error {
  return e instanceof UsageError || (e instanceof Error && (e.name === 'UsageError' || e.name === 'WorkloadError'));
}

export function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return (m.split('\n').find((l) => l.trim() !== '') ?? m).trim();
}
