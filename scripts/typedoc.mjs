#!/usr/bin/env node
// API reference for the public entry points strategy authors use: @hugesync/core and
// @hugesync/testkit, from their TypeScript sources, into docs/api/ (generated on demand and
// git-ignored; `npm run docs:api`). Exit 1 on errors (warnings are printed).
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Application } from 'typedoc';

const root = fileURLToPath(new URL('..', import.meta.url));
const out = join(root, 'docs', 'api');

const app = await Application.bootstrap({
  name: 'hugesync API (core, testkit)',
  entryPoints: [join(root, 'packages/core/src/index.ts'), join(root, 'packages/testkit/src/index.ts')],
  entryPointStrategy: 'resolve',
  // testkit's tsconfig takes in core through the "@hugesync/source" condition of tsconfig.base.json.
  tsconfig: join(root, 'packages/testkit/tsconfig.json'),
  readme: 'none',
  excludePrivate: true,
  excludeInternal: true,
  // Types from node_modules (vitest, eventemitter3, ...) are referenced, not documented.
  excludeExternals: true,
  skipErrorChecking: true,
  disableSources: true,
  validation: { notExported: false, invalidLink: true, notDocumented: false },
  logLevel: 'Warn',
});
const project = await app.convert();
if (!project) {
  console.error('typedoc: conversion failed');
  process.exit(1);
}
rmSync(out, { recursive: true, force: true });
await app.generateDocs(project, out);
if (app.logger.hasErrors()) process.exit(1);
console.log(`typedoc: ${project.children?.length ?? 0} modules -> ${out.replace(root, '')}/index.html`);
