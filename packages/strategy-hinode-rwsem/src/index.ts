/** @hugesync/strategy-hinode-rwsem: the hugetlbfs hinode_rwsem RFC (seed 004, Nov 2020, withdrawn). */
export * from './hinode-rwsem.js';
