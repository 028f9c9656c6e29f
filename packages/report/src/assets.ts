/**
 * The charting library, inlined into every report: d3's UMD bundle and Observable Plot's UMD
 * bundle (which finds d3 as a global). Both packages export only their entry points, so the files
 * are located through the package directories on the module search path.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const require = createRequire(import.meta.url);

function packageFile(pkg: string, file: string): string {
  for (const dir of require.resolve.paths(pkg) ?? []) {
    const f = join(dir, pkg, file);
    if (existsSync(f)) return f;
  }
  throw new Error(`@hugesync/report: cannot find ${pkg}/${file} (is ${pkg} installed?)`);
}

export interface ChartBundles {
  d3: string;
  plot: string;
  d3Version: string;
  plotVersion: string;
}

let cached: ChartBundles | null = null;

/** Make a script safe to put between <script> tags ("</script" and "<!--" cannot appear raw). */
export function scriptSafe(js: string): string {
  return js.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\x21--');
}

export function chartBundles(): ChartBundles {
  if (!cached) {
    const version = (pkg: string): string => (JSON.parse(readFileSync(packageFile(pkg, 'package.json'), 'utf8')) as { version: string }).version;
    cached = {
      d3: scriptSafe(readFileSync(packageFile('d3', 'dist/d3.min.js'), 'utf8')),
      plot: scriptSafe(readFileSync(packageFile('@observablehq/plot', 'dist/plot.umd.min.js'), 'utf8')),
      d3Version: version('d3'),
      plotVersion: version('@observablehq/plot'),
    };
  }
  return cached;
}
