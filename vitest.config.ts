import { defineConfig } from 'vitest/config';

// One root run over every package (test.projects); each package also runs alone under turbo.
export default defineConfig({
  test: {
    projects: ['packages/*', 'apps/*'],
  },
});
