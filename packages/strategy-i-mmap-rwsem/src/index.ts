/** @hugesync/strategy-i-mmap-rwsem: i_mmap_rwsem held across hugetlb faults (5.7..6.0), modelled at v5.10.7. */
export * from './i-mmap-rwsem.js';
