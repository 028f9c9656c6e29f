/** Output files are written whole or not at all: a temporary file next to the target, then rename. */
import { accessSync, constants, existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, basename, join } from 'node:path';
import { UsageError } from './errors.js';

export function writeFileAtomic(file: string, data: string): void {
  const tmp = join(dirname(file), `.${basename(file)}.${process.pid}.${Date.now().toString(36)}.tmp`);
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    const code = (e as { code?: string }).code;
    throw new UsageError(`cannot write ${file}${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
}

/** Fail early (before a long run) when `file` cannot be written: its directory is missing or read-only, or it is a directory. */
export function checkWritable(file: string): void {
  const fail = (code: string, why: string): never => {
    throw new UsageError(`cannot write ${file} (${code}): ${why}`);
  };
  let st;
  try {
    st = statSync(dirname(file));
  } catch {
    return fail('ENOENT', `no directory ${dirname(file)}`);
  }
  if (!st.isDirectory()) fail('ENOTDIR', `${dirname(file)} is not a directory`);
  if (existsSync(file) && statSync(file).isDirectory()) fail('EISDIR', 'it is a directory');
  try {
    accessSync(dirname(file), constants.W_OK);
  } catch {
    fail('EACCES', `${dirname(file)} is not writable`);
  }
}
