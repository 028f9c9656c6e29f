/** Race workloads that have a dedicated test file. */
export const COVERED_BY_FILES = ['pmd-unshare-race', 'fault-truncate-race', 'fault-punch-hole-race'];
