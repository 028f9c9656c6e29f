import { listWorkloads } from '@hugesync/workloads';
import { raceMatrix } from './matrix.js';
import { COVERED_BY_FILES } from './covered.js';

// Race workloads added to the catalog after the dedicated files were written run here (their
// cells fail until src/expectations.ts has entries for them). Empty today.
for (const w of listWorkloads()) if (w.tags.includes('race') && !COVERED_BY_FILES.includes(w.name)) raceMatrix(w.name);
