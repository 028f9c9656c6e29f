import { raceMatrix } from './matrix.js';
raceMatrix('split-vs-fault');
