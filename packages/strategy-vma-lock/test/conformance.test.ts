// The conformance kit every strategy runs (packages/testkit): shape, lock discipline, lockdep,
// determinism and the race report.
import { strategyConformance } from '@hugesync/testkit';
import { vmaLockStrategy } from '../src/index.js';

strategyConformance(vmaLockStrategy);
