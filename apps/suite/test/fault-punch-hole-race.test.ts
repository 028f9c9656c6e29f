import { raceMatrix } from './matrix.js';
raceMatrix('fault-punch-hole-race');
