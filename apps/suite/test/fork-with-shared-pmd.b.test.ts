import { raceMatrix } from './matrix.js';
raceMatrix('fork-with-shared-pmd', (names) => names.slice(Math.ceil(names.length / 2)));
