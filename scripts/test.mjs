#!/usr/bin/env node
// The test command: build every package, typecheck, run all vitest projects once, and end with
// the plain summary line "N passed, N failed" that CI reads.
import { spawnSync } from 'node:child_process';
import { readFileSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

function run(cmd, args) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  return r.status ?? 1;
}

let code = run('npx', ['turbo', 'run', 'build', 'typecheck', '--output-logs=errors-only']);
if (code !== 0) {
  console.log('0 passed, 1 failed');
  process.exit(code);
}
mkdirSync('artifacts', { recursive: true });
const out = join('artifacts', 'vitest-results.json');
rmSync(out, { force: true });
code = run('npx', ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${out}`, ...process.argv.slice(2)]);
let passed = 0;
let failed = 0;
try {
  const j = JSON.parse(readFileSync(out, 'utf8'));
  passed = j.numPassedTests ?? 0;
  failed = (j.numFailedTests ?? 0) + (j.numFailedTestSuites ?? 0);
} catch {
  failed = 1;
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(code !== 0 ? code : failed > 0 ? 1 : passed === 0 ? 1 : 0);
