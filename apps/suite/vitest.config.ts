import { project } from '../../vitest.shared.ts';
// Each cell's budget is fixed; the timeout only guards against a runaway (a loaded CI machine).
export default project('suite', { testTimeout: 300_000 });
