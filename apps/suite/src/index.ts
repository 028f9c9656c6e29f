/** @hugesync/suite: the catalog x strategy matrix, its plan and its expectations (private). */
export * from './plan.js';
export * from './run.js';
export * from './expectations.js';
