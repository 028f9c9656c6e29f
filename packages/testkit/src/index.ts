/**
 * @hugesync/testkit: the conformance kit every synchronization strategy runs, built-in or
 * third-party. One call in one vitest file: `strategyConformance(myStrategy)`.
 *
 * @module @hugesync/testkit
 */
export * from './suite.js';
export * from './checks.js';
export * from './shape.js';
