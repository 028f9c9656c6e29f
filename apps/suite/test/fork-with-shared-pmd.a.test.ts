import { raceMatrix } from './matrix.js';
// ~3,000 steps per schedule (see src/plan.ts): split over two files so both cores work.
raceMatrix('fork-with-shared-pmd', (names) => names.slice(0, Math.ceil(names.length / 2)));
