import { packageConfig } from '../../tsup.base';

// ESM only: a command-line program (bin.js gets its shebang from the source and is made executable by tsup).
// sim-worker.js is what `hugesync run` loads into its worker threads (src/sim-worker.ts).
export default packageConfig({ bin: 'src/bin.ts', main: 'src/main.ts', 'sim-worker': 'src/sim-worker.ts' }, { format: ['esm'] });
