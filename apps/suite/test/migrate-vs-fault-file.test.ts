import { raceMatrix } from './matrix.js';
// Issue #5 (migration / memory failure): see src/plan.ts for the budget.
raceMatrix('migrate-vs-fault-file');
