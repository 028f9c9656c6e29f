// The conformance kit every strategy runs (packages/testkit): shape, lock discipline, lockdep,
// determinism and the race report.
import { strategyConformance } from '@hugesync/testkit';
import { hinodeRwsemStrategy } from '../src/index.js';

strategyConformance(hinodeRwsemStrategy, {
  allow: [
    {
      kind: 'lock-order',
      match: /hinode_rwsem .*page_lock|page_lock .*hinode_rwsem/,
      reason:
        'the ABBA the series was withdrawn for ([ML-hinode-wd], lock map A.10/A.11 H): migration and memory failure take hinode_rwsem write with the page lock held, faults take hinode_rwsem read before lock_page (README "Migration and memory failure")',
    },
  ],
});
