/** Race workloads that have a matrix test file (test/<name>*.test.ts); coverage.test.ts checks it is the whole catalog. */
export const COVERED_BY_FILES = [
  'pmd-unshare-race',
  'fault-truncate-race',
  'fault-punch-hole-race',
  // issue #5: split, mremap, fork, MADV_DONTNEED, SysV shm
  'split-vs-fault',
  'fork-with-shared-pmd',
  'mremap-vs-fault',
  'shm-detach-vs-fault',
  'madvise-private-vs-fault',
  // issue #5: walkers, GUP, userfaultfd, TLB
  'access-vs-unshare-tlb',
  'gup-nowait-vs-unshare',
  'gup-fast-vs-unshare',
  'walk-vs-unshare',
  'uffd-vs-unshare',
  // issue #5: migration and memory failure
  'migrate-vs-fault-file',
  'migrate-vs-fault-anon',
  'migrate-vs-unshare',
  'hwpoison-vs-fault',
  'migrate-vs-fork-anon',
  // issue #5: follow_page (follow_huge_pmd / hugetlb_follow_page_mask)
  'follow-page-vs-unshare',
];
