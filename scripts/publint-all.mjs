#!/usr/bin/env node
// Check what users will install: publint --strict and `attw --pack --profile node16` on every
// non-private workspace package (run after `npm run build`). One line per package; exit 1 if any
// package has a problem (the tools' own output follows for those).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const bin = (name) => join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${name}.cmd` : name);
const rootPkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/** Workspace package directories (the "packages/*" and "apps/*" globs of the root package.json). */
function workspaceDirs() {
  const out = [];
  for (const pattern of rootPkg.workspaces ?? []) {
    if (!pattern.endsWith('/*')) {
      out.push(join(root, pattern));
      continue;
    }
    const base = join(root, pattern.slice(0, -2));
    if (!existsSync(base)) continue;
    for (const e of readdirSync(base, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) if (e.isDirectory()) out.push(join(base, e.name));
  }
  return out.filter((d) => existsSync(join(d, 'package.json')));
}

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0', NO_COLOR: '1' } });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim(), error: r.error };
}

const only = process.argv.slice(2);
let failed = 0;
let checked = 0;
for (const dir of workspaceDirs()) {
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  if (pkg.private) continue;
  if (only.length && !only.includes(pkg.name) && !only.includes(relative(root, dir))) continue;
  checked++;
  const where = relative(root, dir);
  if (!existsSync(join(dir, 'dist'))) {
    console.log(`FAIL ${pkg.name} (${where}): not built (no dist/); run npm run build first`);
    failed++;
    continue;
  }
  const publint = run(bin('publint'), ['--strict'], dir);
  // A CLI-only ESM package (bin, no require branch) is checked with the esm-only profile.
  const hasRequire = JSON.stringify(pkg.exports ?? {}).includes('"require"') || (typeof pkg.main === 'string' && pkg.main.endsWith('.cjs'));
  const profile = hasRequire ? 'node16' : 'esm-only';
  const attw = run(bin('attw'), ['--pack', '.', '--profile', profile, '--format', 'table-flipped', '--no-emoji'], dir);
  const problems = [];
  // publint --strict exits non-zero on warnings too; "All good!" is its clean verdict.
  if (!publint.ok || !/All good/i.test(publint.out)) problems.push('publint');
  if (!attw.ok) problems.push(`attw (${profile})`);
  if (problems.length === 0) console.log(`ok   ${pkg.name} (${where}): publint --strict, attw --profile ${profile}`);
  else {
    failed++;
    console.log(`FAIL ${pkg.name} (${where}): ${problems.join(', ')}`);
    if (problems.includes('publint')) console.log(publint.out.replace(/^/gm, '     '));
    if (problems.some((p) => p.startsWith('attw'))) console.log(attw.out.replace(/^/gm, '     '));
  }
}
if (checked === 0) {
  console.log(only.length ? `no public workspace package matches ${only.join(', ')}` : 'no public workspace packages');
  process.exit(only.length ? 2 : 0);
}
console.log(failed ? `${failed} of ${checked} packages have publishing problems` : `all ${checked} public packages pass publint and attw`);
process.exit(failed ? 1 : 0);
