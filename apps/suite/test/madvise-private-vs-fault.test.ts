import { raceMatrix } from './matrix.js';
raceMatrix('madvise-private-vs-fault');
