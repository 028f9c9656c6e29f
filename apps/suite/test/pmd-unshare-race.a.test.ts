import { raceMatrix } from './matrix.js';
// The costliest workload (~3,100 steps per schedule): split over two files so both cores work.
raceMatrix('pmd-unshare-race', (names) => names.slice(0, Math.ceil(names.length / 2)));
