import { raceMatrix } from './matrix.js';
raceMatrix('shm-detach-vs-fault');
