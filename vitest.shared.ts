import { defineProject } from 'vitest/config';

/** Per-package vitest project: resolve workspace packages to their TypeScript sources. */
export function project(name: string, extra: { testTimeout?: number; include?: string[] } = {}) {
  return defineProject({
    resolve: { conditions: ['@hugesync/source'] },
    ssr: { resolve: { conditions: ['@hugesync/source'] } },
    test: {
      name,
      include: extra.include ?? ['src/**/*.test.ts', 'test/**/*.test.ts'],
      testTimeout: extra.testTimeout ?? 60_000,
    },
  });
}
