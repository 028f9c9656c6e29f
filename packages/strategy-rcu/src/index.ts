/** @hugesync/strategy-rcu: RCU-safe huge_pte_offset() walkers (seed 001) and the 6.3 hugetlb_walk() form. */
export * from './rcu.js';
