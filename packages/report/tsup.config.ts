import { packageConfig } from '../../tsup.base';
// shims: import.meta.url in the CommonJS build (the chart bundles are located from it).
export default packageConfig(['src/index.ts'], { shims: true });
