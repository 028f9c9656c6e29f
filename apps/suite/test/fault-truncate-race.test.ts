import { raceMatrix } from './matrix.js';
raceMatrix('fault-truncate-race');
