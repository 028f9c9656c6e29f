import { packageConfig } from '../../tsup.base';

// ESM only: a command-line program (bin.js gets its shebang from the source and is made executable by tsup).
export default packageConfig({ bin: 'src/bin.ts', main: 'src/main.ts' }, { format: ['esm'] });
