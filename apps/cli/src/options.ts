/** Option value parsers: each rejects bad input with a one-line message (commander prints it, exit 2). */
import { InvalidArgumentError } from 'commander';

export function intArg(what: string, min = 0): (v: string) => number {
  return (v) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${what} must be an integer >= ${min}, got "${v}".`);
    return n;
  };
}

export function numArg(what: string, opts: { min?: number; positive?: boolean } = {}): (v: string) => number {
  return (v) => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || (opts.positive && n <= 0) || (opts.min !== undefined && n < opts.min)) {
      throw new InvalidArgumentError(`${what} must be a ${opts.positive ? 'positive ' : ''}number, got "${v}".`);
    }
    return n;
  };
}

export function choiceArg<T extends string>(what: string, choices: readonly T[]): (v: string) => T {
  return (v) => {
    if (!(choices as readonly string[]).includes(v)) throw new InvalidArgumentError(`${what} must be one of ${choices.join(', ')}, got "${v}".`);
    return v as T;
  };
}

/** --set key=value, repeatable (a later value for the same key wins). */
export function collectSet(v: string, prev: Record<string, string> | undefined): Record<string, string> {
  const m = /^([A-Za-z_][\w.-]*)=(.*)$/s.exec(v);
  if (!m) throw new InvalidArgumentError(`expected key=value, got "${v}".`);
  return { ...prev, [m[1]!]: m[2]! };
}

export function listArg(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
