// The conformance kit (packages/testkit) on the 5.6 baseline. Imported by path, not as
// "@hugesync/testkit": the testkit depends on core, so a devDependency back on it would make the
// workspace graph (and turbo's task graph) cyclic.
import { strategyConformance } from '../../testkit/src/index.js';
import { noneStrategy } from '../src/index.js';

strategyConformance(noneStrategy);
