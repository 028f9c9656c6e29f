/** @hugesync/strategy-vma-lock: the hugetlb VMA lock as merged in Linux 6.1 (seed 002). */
export * from './vma-lock.js';
