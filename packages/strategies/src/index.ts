/** @hugesync/strategies: every built-in strategy in one list, and --strategy argument resolution. */
export * from './builtins.js';
export * from './resolve.js';
export * from './validate.js';
export * from './errors.js';
export * from './suggest.js';
