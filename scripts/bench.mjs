#!/usr/bin/env node
// Benchmarks of exploration and simulation speed: `npm run bench -- <name> [--quick]`.
// Runs against the built dist of @hugesync/core and @hugesync/workloads (imported by package
// name). Every figure is measured side by side in one process, so compare ratios, not absolute
// times: the machine is small (2 cores) and noisy. See docs/performance.md.
const BENCHES = ['explore', 'first-bug', 'dpor', 'workers', 'sim'];
const args = process.argv.slice(2);
const names = args.filter((a) => !a.startsWith('--'));
const quick = args.includes('--quick');
if (names.length === 0 || names.some((n) => n !== 'all' && !BENCHES.includes(n))) {
  const bad = names.find((n) => n !== 'all' && !BENCHES.includes(n));
  console.error(bad ? `unknown benchmark "${bad}" (one of: ${BENCHES.join(', ')}, all)` : `usage: npm run bench -- <${BENCHES.join('|')}|all> [--quick]`);
  process.exit(2);
}
const run = names.includes('all') ? BENCHES : names;
for (const name of run) {
  const mod = await import(`./bench/${name}.mjs`);
  await mod.default({ quick });
}
