import { raceMatrix } from './matrix.js';
// Issue #5 / seed 001: follow_page() of a shared hugetlb address (see src/plan.ts for the budget).
raceMatrix('follow-page-vs-unshare');
