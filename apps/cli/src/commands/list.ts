/** hugesync list: the strategies and the workload catalog. */
import type { Command } from 'commander';
import { builtinStrategies, builtinPackageOf } from '@hugesync/strategies';
import type { Run } from '../main.js';
import { EXIT_HELP } from '../exit.js';
import { listWorkloads, formatParams } from '../catalog.js';
import { table } from '../format.js';

export interface ListJson {
  strategies: Array<{ name: string; package: string; seed: string; description: string }>;
  workloads: Array<{ name: string; tags: string[]; description: string; params: unknown }>;
}

export async function listData(): Promise<ListJson> {
  const strategies = builtinStrategies().map((s) => ({ name: s.name, package: builtinPackageOf(s), seed: s.seed ?? '', description: s.description ?? '' }));
  const workloads = (await listWorkloads()).map((w) => ({ name: w.name, tags: [...w.tags], description: w.description, params: w.params ?? {} }));
  return { strategies, workloads };
}

function clip(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length <= n ? one : `${one.slice(0, Math.max(1, n - 1))}…`;
}

export function registerList(program: Command, run: Run): void {
  program
    .command('list')
    .description('List the built-in strategies and the catalog workloads.')
    .option('--json', 'machine-readable output: {strategies:[{name, package, seed, description}], workloads:[{name, tags, description, params}]}')
    .addHelpText(
      'after',
      `
Examples:
  $ hugesync list
  $ hugesync list --json | jq '.workloads[].name'

${EXIT_HELP}`,
    )
    .action(async (opts: { json?: boolean }) => {
      const { ctx } = run;
      const data = await listData();
      if (opts.json) {
        ctx.print(JSON.stringify(data, null, 2));
        return;
      }
      const w = ctx.width;
      ctx.print('Strategies (--strategy NAME, a comma list, "all", or a path/package of your own):');
      // The seed (posting) and description columns share what the name and package columns leave (list --json has them whole).
      const snw = Math.max(4, ...data.strategies.map((s) => s.name.length));
      const pw = Math.max(7, ...data.strategies.map((s) => s.package.length));
      const rest = Math.max(60, w - snw - pw - 6);
      const seedW = Math.min(Math.max(4, ...data.strategies.map((s) => s.seed.length)), Math.floor(rest * 0.45));
      ctx.print(table(['name', 'package', 'seed', 'description'], data.strategies.map((s) => [s.name, s.package, clip(s.seed, seedW), clip(s.description, Math.max(20, rest - seedW - 2))])));
      ctx.print();
      ctx.print('Workloads (--workload NAME or a workload file; --set k=v overrides a parameter):');
      const nw = Math.max(4, ...data.workloads.map((x) => x.name.length));
      const tw = Math.max(4, ...data.workloads.map((x) => x.tags.join(',').length));
      ctx.print(
        table(
          ['name', 'tags', 'description'],
          data.workloads.map((x) => [x.name, x.tags.join(','), clip(x.description, Math.max(30, w - nw - tw - 4))]),
        ),
      );
      const withParams = data.workloads.filter((x) => formatParams(x.params) !== '');
      if (withParams.length > 0) {
        ctx.print();
        ctx.print('Parameters (defaults):');
        for (const x of withParams) ctx.print(`  ${x.name}: ${formatParams(x.params)}`);
      }
    });
}
