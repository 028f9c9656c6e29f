import { raceMatrix } from './matrix.js';
raceMatrix('pmd-unshare-race', (names) => names.slice(Math.ceil(names.length / 2)));
