/** Race workloads that have a matrix test file (test/<name>*.test.ts); coverage.test.ts checks it is the whole catalog. */
export const COVERED_BY_FILES = ['pmd-unshare-race', 'fault-truncate-race', 'fault-punch-hole-race', 'migrate-vs-fault-file', 'migrate-vs-fault-anon', 'migrate-vs-unshare', 'hwpoison-vs-fault'];
