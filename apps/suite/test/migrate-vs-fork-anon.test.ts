import { raceMatrix } from './matrix.js';
// Issue #5 / seed 003 (Hugh Dickins' anon_vma bug in 5.7): exhaustive DPOR within the default plan.
raceMatrix('migrate-vs-fork-anon');
