// The 5.7 form of the i_mmap_rwsem design (c0d0381ade79, before 336bf30eb765) as a strategy module
// for the CLI, which loads a path's strategy exports: it is not a built-in (the suite's matrix runs
// the default 5.10.7 form). After `npm run build`:
//   npx hugesync explore -w migrate-vs-fork-anon -s ./packages/strategy-i-mmap-rwsem/i-mmap-rwsem-5.7.mjs -e dpor --all
//   npx hugesync replay --strategy ./packages/strategy-i-mmap-rwsem/i-mmap-rwsem-5.7.mjs <token>
import { createIMmapRwsemStrategy } from './dist/index.js';

export default createIMmapRwsemStrategy({ form: '5.7' });
