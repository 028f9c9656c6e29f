import { main } from '../src/main.js';

export interface Captured {
  code: number;
  out: string;
  err: string;
}

/** Run the CLI in-process with captured output (no TTY: no progress bars). */
export async function cli(args: string[], opts: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<Captured> {
  let out = '';
  let err = '';
  const code = await main(['node', 'hugesync', ...args], {
    stdout: { write: (s: string) => (out += s), isTTY: false },
    stderr: { write: (s: string) => (err += s), isTTY: false },
    env: opts.env ?? {},
    cwd: opts.cwd,
  });
  return { code, out, err };
}
