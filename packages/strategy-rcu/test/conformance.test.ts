// The conformance kit every strategy runs (packages/testkit): shape, lock discipline, lockdep,
// determinism and the race report, for both strategies this package exports.
import { strategyConformance } from '@hugesync/testkit';
import { rcuStrategy, hugetlbWalkStrategy } from '../src/index.js';

strategyConformance(rcuStrategy);
strategyConformance(hugetlbWalkStrategy);
