// The conformance kit every strategy runs (packages/testkit): shape, lock discipline, lockdep,
// determinism and the race report, for both kernel forms this package exports.
import { strategyConformance } from '@hugesync/testkit';
import { iMmapRwsemStrategy, createIMmapRwsemStrategy } from '../src/index.js';

strategyConformance(iMmapRwsemStrategy);
strategyConformance(createIMmapRwsemStrategy({ form: '5.7' }), { skip: ['race report'] });
