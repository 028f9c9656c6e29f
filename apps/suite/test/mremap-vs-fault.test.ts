import { raceMatrix } from './matrix.js';
raceMatrix('mremap-vs-fault');
