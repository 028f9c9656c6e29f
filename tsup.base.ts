// One small build config for every package (keep it small: a later move to tsdown should be easy).
import { defineConfig, type Options } from 'tsup';

export function packageConfig(entry: Record<string, string> | string[] = ['src/index.ts'], extra: Options = {}) {
  return defineConfig({
    entry,
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node20',
    outDir: 'dist',
    ...extra,
  });
}
