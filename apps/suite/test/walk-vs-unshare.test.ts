import { raceMatrix } from './matrix.js';
// Issue 5 walkers (GUP, uffd, pagewalk, TLB): a small DPOR budget then random (src/plan.ts).
raceMatrix('walk-vs-unshare');
