/**
 * What the model finds on every (catalog workload x built-in strategy) cell, and why.
 * Filled from runs of the suite's plan (src/plan.ts) and checked against the seeds and the lock
 * map (/work/shared/docs/kernel-lock-map.md). `finding` marks a cell where the model disagrees
 * with what a seed claims; `modelBug` marks a cell where the model itself is believed wrong: the
 * verdict recorded is the kernel's, and the test is expected to fail until core is fixed.
 */
import type { ViolationKind } from '@hugesync/core';

export type Verdict = { clean: true; exhaustive: boolean } | { kinds: ViolationKind[] };

export interface RaceExpectation {
  workload: string;
  strategy: string;
  verdict: Verdict;
  /** Seed, kernel commit or discussion this comes from. */
  why: string;
  /** Where the model disagrees with a seed, and why. */
  finding?: string;
  /** The model gives another result, believed wrong; the verdict above is the kernel's. */
  modelBug?: string;
}

export type PerfMetric = 'faultsPerSec' | 'waits' | 'waitTimeMs' | 'maxFaultWaitUs';

export interface PerfExpectation {
  workload: string;
  metric: PerfMetric;
  /** metric(higher) >= metric(lower) x (1 - tolerance) at the suite's size (src/plan.ts). */
  higher: string;
  lower: string;
  why: string;
  finding?: string;
  /** A claim of "no (significant) cost" rather than "faster": the relative shortfall allowed (default 0). */
  tolerance?: number;
}

export const RACE_EXPECTATIONS: RaceExpectation[] = [
  // ---- pmd-unshare-race: seed 002's diagram (fault in A, hole punch in C unshares A, B munmaps) ----
  {
    workload: 'pmd-unshare-race',
    strategy: 'none',
    verdict: { kinds: ['pte-stale-owner', 'pte-use-after-free', 'refcount'] },
    why: 'refcount is the downstream damage of the stale write (A installs its PTE into B\'s table, so a page\'s mapcount no longer matches the entries that map it); DPOR with `all` runs past the first violation. Seed 002 diagram: in 5.6 nothing keeps huge_pmd_unshare() (hugetlbfs_punch_hole -> hugetlb_vmdelete_list, i_mmap write) away from a fault that holds a pte pointer (lock map A.1 N: the lockless pointer is used as-is). Stale owner once C unshares; use-after-free once B, the last sharer, frees pmd1.',
  },
  {
    workload: 'pmd-unshare-race',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'c0d0381ade79 (seed 000/003, lock map A.1 I): the fault holds i_mmap read from before huge_pte_alloc() to the end and every unshare needs i_mmap write, so no stale owner. But the early lockless huge_pte_offset()+huge_ptep_get() migration/hwpoison check ("ptep could be stale") runs before i_mmap: seed 001 says exactly this walk can read a freed table.',
    finding: 'The strategy README (random 600) reported nothing; DPOR finds the seed 001 read-after-free in the lockless check.',
  },
  {
    workload: 'pmd-unshare-race',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-stale-owner', 'pte-use-after-free'] },
    why: 'Seed 004 (hinode RFC v2/PATCH): hugetlbfs_punch_hole takes no hinode_rwsem (lock map A.6 H), so C unshares A under the fault\'s hinode read; plus the seed 001 lockless early check.',
    finding: 'Seed 004 claims hinode_rwsem synchronizes pmd sharing; as posted, hole punch bypasses it (huge_pmd_unshare would assert hinode write).',
  },
  {
    workload: 'pmd-unshare-race',
    strategy: 'vma-lock',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Seed 002 as merged in 6.1 (lock map A.1 V): the vma lock closes the diagram (no stale owner), but the lockless early check in hugetlb_fault remains: seed 001\'s RFC 09/10 "Make hugetlb_fault() RCU-safe".',
  },
  {
    workload: 'pmd-unshare-race',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 001 (Peter Xu RFC v1): rcu_read_lock() around the lockless walk and table freeing after a grace period (tlb_remove_table -> call_rcu) close the read-after-free left by the vma lock. DPOR is exhaustive within the suite budget since the lock-aware reduction (~2,000 schedules).',
  },
  {
    workload: 'pmd-unshare-race',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 001 as merged (v6.3, lock map A.1 W): hugetlb_fault has no lockless walk; every walk is under the vma lock (hugetlb_walk()). DPOR is exhaustive within the suite budget (~1,500 schedules).',
  },
  // ---- fault-truncate-race: seed 000 problem 2, lock map C.3 ----
  {
    workload: 'fault-truncate-race',
    strategy: 'none',
    verdict: { kinds: ['data-race', 'page-beyond-eof', 'reserve-count'] },
    why: 'Seed 000 problem 2 / lock map C.3 (5.6): the fault passes i_size check #1, truncation removes the reservation before the page is in the page cache, HugePages_Rsvd goes -1 and the page stays beyond EOF. data-race: the fault\'s unlocked huge_ptep_get() in hugetlb_fault vs truncation\'s pte clear in __unmap_hugepage_range (lock map A.1 step 5, rechecked under the PTL).',
  },
  {
    workload: 'fault-truncate-race',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: '87bf91d39bb5 (seed 000, lock map C.3 "How each design prevents it: I"): truncation takes i_mmap write before i_size_write and the fault holds i_mmap read throughout, so the fault finishes first or sees the new size.',
  },
  {
    workload: 'fault-truncate-race',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race', 'reserve-count'] },
    why: 'Seed 004: hinode_lock_read() is taken only when vma_shareable() (the 4 MiB mapping cannot share), so truncation\'s hinode write does not exclude this fault; 4/4\'s backout deletes the page beyond EOF (no page-beyond-eof) but the reserve count still goes negative (lock map A.2 H backout).',
    finding: 'Seed 004 says 4/4 "handles page fault/truncate races"; the count underflow survives on non-shareable mappings.',
  },
  {
    workload: 'fault-truncate-race',
    strategy: 'vma-lock',
    verdict: { kinds: ['page-beyond-eof', 'reserve-count'] },
    why: 'Seed 002 patches 3/4 and 8, 6.1 (lock map A.5/A.7 V): hugetlb_vmdelete_list only trylocks the vma lock and skips, and remove_inode_hugepages waits only for folios already in the page cache, so the C.3 interleaving survives (lock map A.7 modelling note).',
    finding: 'Seed 002 / [ML-vl-v2-9] say truncation "will wait until the fault is finished, as it must obtain the vma lock in write mode"; in the model (and, as read, in 6.1) it does not for a fault past its i_size check whose page is not yet in the page cache.',
  },
  {
    workload: 'fault-truncate-race',
    strategy: 'rcu',
    verdict: { kinds: ['page-beyond-eof', 'reserve-count'] },
    why: 'Seed 001 changes only the lockless walkers; truncation is the vma lock\'s (lock map A.7 modelling note).',
    finding: 'As vma-lock: the vma lock does not close seed 000 problem 2 against truncation.',
  },
  {
    workload: 'fault-truncate-race',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['page-beyond-eof', 'reserve-count'] },
    why: 'v6.3 keeps 6.1\'s truncation (lock map A.5 "V (6.1) / W (6.3, same in 6.18)").',
    finding: 'As vma-lock.',
  },
  // ---- fault-punch-hole-race: seed 000 (hole punch is the other page-cache remover) ----
  {
    workload: 'fault-punch-hole-race',
    strategy: 'none',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.6/A.7 N: the punch takes the fault mutex per page, so page cache and reservations stay consistent (as the workload file expects); only the fault\'s unlocked pte read in hugetlb_fault (under the mutex, no PTL) races with the punch\'s pte clear in __unmap_hugepage_range (i_mmap write, PTL). The kernel rechecks under the PTL: a KCSAN-style report, not a corruption.',
  },
  {
    workload: 'fault-punch-hole-race',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'c0d0381ade79: the punch\'s vmdelete needs i_mmap write, which the fault holds for read throughout.',
  },
  {
    workload: 'fault-punch-hole-race',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race'] },
    why: 'Seed 004: hugetlbfs_punch_hole takes no hinode_rwsem (lock map A.6 H) and the 4 MiB vma is not shareable, so the race is the 5.6 one.',
    finding: 'Hole punch is not covered by hinode_rwsem as posted (also pmd-unshare-race).',
  },
  {
    workload: 'fault-punch-hole-race',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 002 patch 8 (6.1, lock map A.6/A.7 V): the punch\'s trylock on the faulting vma fails and remove_inode_single_folio -> hugetlb_unmap_file_folio waits for the vma lock in order; the page is already in the page cache, so the A.7 gap does not apply.',
  },
  {
    workload: 'fault-punch-hole-race',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (seed 001 changes only lockless walkers).',
  },
  {
    workload: 'fault-punch-hole-race',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (lock map A.6 V / W).',
  },
  // ---- Issue 5 walkers and the TLB model (small DPOR budget, then random: src/plan.ts) ----
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'none',
    verdict: { kinds: ['stale-tlb'] },
    why: 'Lock map B.5: __unmap_hugepage_range @ v5.6/v5.10 flushes nothing for an unshared PUD range (tlb_finish_mmu flushes only the entries A cleared: none), so A keeps its translation through the unshared table after i_mmap_rwsem is released and stores to page 2 once the punch freed it. CVE-2021-4002, fixed by a4a118f2eead (5.16).',
  },
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['stale-tlb'] },
    why: 'Lock map B.5: __unmap_hugepage_range @ v5.6/v5.10 flushes nothing for an unshared PUD range (tlb_finish_mmu flushes only the entries A cleared: none), so A keeps its translation through the unshared table after i_mmap_rwsem is released and stores to page 2 once the punch freed it. CVE-2021-4002, fixed by a4a118f2eead (5.16). 5.10.7 has the same __unmap_hugepage_range (the fix reached 5.10.y later).',
  },
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['stale-tlb'] },
    why: 'The hinode RFC is on 5.10-rc: the same missing flush after huge_pmd_unshare (lock map B.5, CVE-2021-4002).',
  },
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: false },
    why: "6.1 has a4a118f2eead: tlb_flush_pmd_range(PUD range) + force flush right after the unshare, before i_mmap_rwsem is released (features.flushOnUnshare); the IPI reaches A's CPU, whose next store walks and faults. DPOR 3,000 (CLI) is exhaustive and clean.",
  },
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: false },
    why: "6.1 has a4a118f2eead: tlb_flush_pmd_range(PUD range) + force flush right after the unshare, before i_mmap_rwsem is released (features.flushOnUnshare); the IPI reaches A's CPU, whose next store walks and faults. DPOR 3,000 (CLI) is exhaustive and clean.",
  },
  {
    workload: 'access-vs-unshare-tlb',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: false },
    why: "6.1 has a4a118f2eead: tlb_flush_pmd_range(PUD range) + force flush right after the unshare, before i_mmap_rwsem is released (features.flushOnUnshare); the IPI reaches A's CPU, whose next store walks and faults. DPOR 3,000 (CLI) is exhaustive and clean.",
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['pte-use-after-free'] },
    why: "Seed 001 / lock map A.12 N: follow_hugetlb_page takes the PTL through a lockless huge_pte_offset pointer with only mmap_lock; C unshares A's table and B, the last sharer, frees it under the walk.",
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.12 I: 5.7..6.0 hold i_mmap_rwsem across hugetlb_fault only; follow_hugetlb_page walks without it, FOLL_NOWAIT or not.',
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'The hinode RFC wraps the fault path only; GUP walks as in 5.10 (lock map A.12).',
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'vma-lock',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Seed 001 cover letter: the 6.1 vma lock is not taken by follow_hugetlb_page (lock map A.12 V, <= 6.2); RFC v1 07-08/10 are the fix.',
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: false },
    why: 'Seed 001 RFC v1 08/10: rcu_read_lock() around the walk and the PTL; the table is freed from call_rcu after A leaves.',
  },
  {
    workload: 'gup-nowait-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: false },
    why: "v6.3.8 follow_hugetlb_page takes hugetlb_vma_lock_read per iteration (FOLL_NOWAIT too): the punch's trylock in hugetlb_vmdelete_list fails on A's vma, so A is not unshared. CLI DPOR is exhaustive (1,989 schedules).",
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['pte-use-after-free'] },
    why: "Lock map A.16: GUP-fast relies on table freeing waiting for it. x86 bare metal (no MMU_GATHER_RCU_TABLE_FREE before 2025) frees after the freeing mm's TLB-flush IPIs, and B's flush does not reach A; without a4a118f2eead the unshare sends A no flush either, so B's teardown frees the table under A's interrupts-off walk.",
    finding: 'Seed 001 says fast-gup "is very safe regarding pmd unsharing even before vma lock, because fast-gup relies on RCU". That holds only with MMU_GATHER_RCU_TABLE_FREE (x86: paravirt only, until 2025). On bare metal GUP-fast relies on the TLB-flush IPI, and before a4a118f2eead the unshare sends the unsharing mm none.',
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: "Lock map A.16: GUP-fast relies on table freeing waiting for it. x86 bare metal (no MMU_GATHER_RCU_TABLE_FREE before 2025) frees after the freeing mm's TLB-flush IPIs, and B's flush does not reach A; without a4a118f2eead the unshare sends A no flush either, so B's teardown frees the table under A's interrupts-off walk. (5.10.7: no unshare flush yet.)",
    finding: 'Seed 001 says fast-gup "is very safe regarding pmd unsharing even before vma lock, because fast-gup relies on RCU". That holds only with MMU_GATHER_RCU_TABLE_FREE (x86: paravirt only, until 2025). On bare metal GUP-fast relies on the TLB-flush IPI, and before a4a118f2eead the unshare sends the unsharing mm none.',
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: "Lock map A.16: GUP-fast relies on table freeing waiting for it. x86 bare metal (no MMU_GATHER_RCU_TABLE_FREE before 2025) frees after the freeing mm's TLB-flush IPIs, and B's flush does not reach A; without a4a118f2eead the unshare sends A no flush either, so B's teardown frees the table under A's interrupts-off walk. (5.10-rc base.)",
    finding: 'Seed 001 says fast-gup "is very safe regarding pmd unsharing even before vma lock, because fast-gup relies on RCU". That holds only with MMU_GATHER_RCU_TABLE_FREE (x86: paravirt only, until 2025). On bare metal GUP-fast relies on the TLB-flush IPI, and before a4a118f2eead the unshare sends the unsharing mm none.',
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: false },
    why: "With a4a118f2eead the unshare flushes A's PUD range: its IPI waits until A's GUP-fast re-enables interrupts, so no A walk is left in the table when B frees it (lock map A.16). CLI DPOR 3,000 exhaustive, clean.",
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: false },
    why: 'Seed 001 relies on it: an interrupts-off section is an RCU read-side section (consolidated RCU, v5.0+), so the call_rcu table free waits for A; the unshare flush (6.1) waits too.',
  },
  {
    workload: 'gup-fast-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: false },
    why: "As vma-lock: the unshare flush IPI waits for A's interrupts-off section (lock map A.16). CLI DPOR 3,000 exhaustive, clean.",
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.15 (<= 6.2): walk_hugetlb_range -> mincore_hugetlb reads each entry through a lockless huge_pte_offset pointer under mmap_lock only; B frees the table after C unshared A.',
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.15: no i_mmap_rwsem in the pagewalk (5.7..6.0).',
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.15: the hinode RFC does not touch the pagewalk.',
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'vma-lock',
    verdict: { kinds: ['pte-use-after-free'] },
    why: "Seed 001 RFC v1 05/10: 6.1's walk_hugetlb_range takes no vma lock.",
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 001 RFC v1 05/10: the walk runs under rcu_read_lock(); the table is freed after a grace period. Exhaustive since the step of the RCU callback names the table it frees (engine/dpor.ts); before, the callback kthread conflicted with every step.',
  },
  {
    workload: 'walk-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: "v6.3.8 walk_hugetlb_range holds hugetlb_vma_lock_read across the loop: the punch's trylock skips A's vma. CLI DPOR is exhaustive (138 schedules).",
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['pte-stale-owner', 'pte-use-after-free', 'refcount'] },
    why: "The retried fault is seed 002's race (the 5.6 lockless pte used for the whole fault: stale owner, use-after-free, refcount damage, as on pmd-unshare-race); userfaultfd_huge_must_wait reads through its lockless pointer too (lock map A.13).",
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.13 I: hugetlb_no_page drops the fault mutex and i_mmap_rwsem before handle_userfault (5.7..6.0), so userfaultfd_huge_must_wait reads a table C unshared and B freed (found there, not in hugetlb_fault).',
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-stale-owner', 'pte-use-after-free'] },
    why: 'The stale owner is the hinode hole-punch bypass (seed 004, as on pmd-unshare-race); the use-after-free is in userfaultfd_huge_must_wait, which runs after hinode_rwsem and the mutex were dropped (lock map A.13).',
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'vma-lock',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Seed 001 RFC v1 04/10: 6.1 drops the vma lock and the fault mutex before handle_userfault (hugetlb_handle_userfault), so userfaultfd_huge_must_wait walks unprotected (lock map A.13 V).',
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: false },
    why: 'Seed 001 RFC v1 04/10: userfaultfd_huge_must_wait under rcu_read_lock(); tables freed after a grace period.',
  },
  {
    workload: 'uffd-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: false },
    why: 'v6.3.8 handle_userfault takes hugetlb_vma_lock_read before set_current_state and holds it over userfaultfd_huge_must_wait (lock map A.13 W).',
  },
  // ---- issue #5: split, mremap, fork, MADV_DONTNEED and SysV shm paths ----
  // split-vs-fault: A mprotects [0, 2 MiB) of a 1 GiB mapping whose PMD table B shares, while B faults through it.
  {
    workload: 'split-vs-fault',
    strategy: 'none',
    verdict: { clean: true, exhaustive: true },
    why: 'v5.6 hugetlb_vm_op_split() only checks huge-page alignment; hugetlb_change_protection() on the lower half then meets the shared table and unshares A\'s PUD under i_mmap write (lock map A.8). Unsharing only drops A\'s reference: B\'s pointer, and B\'s reference, stay valid; A\'s own faults are excluded by A\'s mmap_lock (write for mprotect).',
  },
  {
    workload: 'split-vs-fault',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'As 5.6; B\'s fault holds i_mmap read, so A\'s unshare (i_mmap write) and the fault are even ordered (lock map A.1 I, A.8).',
  },
  {
    workload: 'split-vs-fault',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 004 3/4: hugetlb_change_protection() takes hinode_lock_write(inode, vma, range.start) only when vma_shareable(); after the split the lower half is not, so the unshare runs under i_mmap write alone (lock map A.8 H). Harmless here: only A\'s PUD changes and A\'s faults are excluded by mmap_lock.',
  },
  {
    workload: 'split-vs-fault',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: true },
    why: 'v6.1.15 hugetlb_vm_op_split() -> hugetlb_unshare_pmds(): vma lock write -> i_mmap write -> unshare the PUD around the split address -> flush -> unlocks, before __split_vma() copies the vma (b30c14cd6102, lock map A.17); the new half gets its own vma lock (hugetlb_vm_op_open).',
  },
  {
    workload: 'split-vs-fault',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (the split path takes no lockless walk).',
  },
  {
    workload: 'split-vs-fault',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (6.3 did not change the split path; 6.18 moved the unshare into the split itself, 081056dc00a2, not modelled).',
  },
  // fork-with-shared-pmd: A forks (its 1 GiB mapping shares a PMD table with B) while C punches a hole and B munmaps.
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'none',
    verdict: { kinds: ['pte-stale-owner', 'pte-use-after-free'] },
    why: 'v5.6 copy_hugetlb_page_range() holds only the parent\'s mmap_lock across its huge_pte_offset() walk (lock map A.9 N). C\'s hugetlb_vmdelete_list() unshares the parent\'s (and the linked child\'s) PUD, B\'s munmap drops the last reference and frees the table, and the fork then takes the PTL through its stale src_pte (replay token in the strategy README). Found by the random fallback: DPOR does not finish on this workload (see the plan).',
  },
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: false },
    why: 'c0d0381ade79: i_mmap_lock_read() around the non-COW copy loop (lock map A.9 I) keeps every unshare (i_mmap write) out of the walk.',
  },
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: false },
    why: 'Seed 004 3/4: hinode_lock_read(inode, vma, 0) around the copy loop (the vma is shareable). Hole punch takes no hinode_rwsem (lock map A.6 H), so it can still unshare the parent\'s PUD under the walk, but B\'s munmap (unmap_single_vma: hinode_lock_write on a shareable vma) waits for the fork, so the table cannot be freed; while B maps it, the child\'s huge_pte_alloc() shares it again and the copy skips (dst_pte == src_pte).',
  },
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: false },
    why: 'v6.1.15 copy_page_range(): vma_needs_copy() is false for a shared vma without an anon_vma, so the page tables are not copied at all (the child faults); lock map A.9 V.',
  },
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: false },
    why: 'As vma-lock: v6.1 copy_page_range() skips the shared vma (vma_needs_copy).',
  },
  {
    workload: 'fork-with-shared-pmd',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: false },
    why: 'As vma-lock: v6.3.8 copy_page_range() skips the shared vma (vma_needs_copy).',
  },
  // mremap-vs-fault: A moves its 1 GiB mapping to another 1 GiB-aligned address while B's first fault may share A's table.
  {
    workload: 'mremap-vs-fault',
    strategy: 'none',
    verdict: { clean: true, exhaustive: true },
    why: 'v5.6 vma_to_resize() refuses hugetlb vmas: mremap returns -EINVAL (moving hugetlb arrived in 5.16, 550a7d60bd5e); only B\'s fault runs.',
  },
  {
    workload: 'mremap-vs-fault',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'v5.10.7: mremap of hugetlb is -EINVAL as in 5.6.',
  },
  {
    workload: 'mremap-vs-fault',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'Posted on 5.10-rc: mremap of hugetlb is -EINVAL.',
  },
  {
    workload: 'mremap-vs-fault',
    strategy: 'vma-lock',
    verdict: { kinds: ['deadlock'] },
    why: 'v6.1 move_hugetlb_page_tables(): hugetlb_vma_lock_write -> i_mmap_lock_write, then for a present entry in a table that is not shared, huge_pte_alloc(new_vma); the new vma is VM_MAYSHARE, has a vma lock (hugetlb_vm_op_open in copy_vma) and covers the whole destination PUD range, so huge_pte_alloc() calls huge_pmd_share(), which in 6.1 takes i_mmap_lock_read() itself (lock map B.2): recursive locking of i_mmap_rwsem. A alone reaches it (B\'s fault only avoids it when it shares A\'s table first: then A unshares instead of moving).',
    finding: 'A self-deadlock of mremap() on a 1 GiB-aligned shared hugetlb range in 6.1, from the model; seen in the 6.1.y sources (move_hugetlb_page_tables holds i_mmap_rwsem for write across huge_pte_alloc; huge_pmd_share takes it for read). Not checked against later kernels. 5.16..6.0 (huge_pmd_share relies on the caller\'s i_mmap_rwsem) would not deadlock here.',
  },
  {
    workload: 'mremap-vs-fault',
    strategy: 'rcu',
    verdict: { kinds: ['deadlock'] },
    why: 'As vma-lock: the RFC does not touch mremap or huge_pmd_share.',
    finding: 'As vma-lock.',
  },
  {
    workload: 'mremap-vs-fault',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['deadlock'] },
    why: 'As vma-lock: 6.3 still takes i_mmap_lock_read() in huge_pmd_share() (lock map B.2) and move_hugetlb_page_tables() still holds i_mmap write around huge_pte_alloc() (as read in 6.1.y; 6.3 assumed unchanged).',
    finding: 'As vma-lock.',
  },
  // shm-detach-vs-fault: B shmdts a removed SysV hugetlb segment whose PMD table it shares with A while A faults.
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'none',
    verdict: { clean: true, exhaustive: true },
    why: 'ipc/shm.c: a SHM_HUGETLB attach is a shared hugetlb vma (shm_vm_ops around hugetlb_vm_ops), so the detach is the munmap path: __unmap_hugepage_range_final() unshares B\'s PUD under i_mmap write; A keeps its reference and pointer. shm_close() leaves the removed segment alone while A is attached.',
  },
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'As none; the fault holds i_mmap read.',
  },
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'As none; the detach\'s unmap takes hinode_rwsem for write (shareable vma), the fault holds it for read.',
  },
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: true },
    why: 'The detach\'s final unmap takes B\'s vma lock (allocated by hugetlb_reserve_pages in hugetlbfs_file_mmap, under shm_mmap); A\'s fault holds A\'s.',
  },
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (the RFC changes only lockless walkers and table freeing).',
  },
  {
    workload: 'shm-detach-vs-fault',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (6.3 changes only the walkers: hugetlb_walk under the vma lock).',
  },
  // madvise-private-vs-fault: MADV_DONTNEED on a private 2 MiB mapping races a write fault at the same address, one-page pool.
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'none',
    verdict: { clean: true, exhaustive: true },
    why: 'v5.6: can_madv_lru_vma() excludes VM_HUGETLB, MADV_DONTNEED is -EINVAL (lock map A.4), the page stays mapped.',
  },
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'v5.10.7: -EINVAL as in 5.6.',
  },
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'On 5.10-rc: -EINVAL as in 5.6.',
  },
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'vma-lock',
    verdict: { kinds: ['data-race', 'unexpected-result'] },
    why: 'v6.1 zap_page_range_single() -> __unmap_hugepage_range_final(): a private vma has no vma lock, and the page goes back to the pool only at tlb_finish_mmu(), after the locks are dropped (lock map A.4 V). The racing write fault finds the entry gone, needs a page while the old one is still in the mmu_gather, and with a one-page pool gets SIGBUS (fixed in 6.7 by keeping the locks until the pages are freed: 2820b0f09be9). data-race: the fault\'s unlocked huge_ptep_get() after the mutex vs the zap\'s clear (revalidated under the PTL: a KCSAN-style report, as fault-punch-hole-race under none).',
  },
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'rcu',
    verdict: { kinds: ['data-race', 'unexpected-result'] },
    why: 'As vma-lock (the RFC does not touch MADV_DONTNEED).',
  },
  {
    workload: 'madvise-private-vs-fault',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['data-race', 'unexpected-result'] },
    why: 'As vma-lock (6.3 unchanged here; the fix is 6.7).',
  },
  // ---- issue #5: page migration and memory failure (lock map A.10/A.11; src/plan.ts caps DPOR for the migration workloads) ----
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'none',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 N: migration takes the page lock, then i_mmap_rwsem read in the rmap walk; the 5.6 fault takes the fault mutex then the page lock and holds no i_mmap_rwsem there: no cycle. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['data-race', 'lock-order'] },
    why: 'Seed 003 / lock map A.10 I (5.10.7) and D.1: the fault holds i_mmap_rwsem read when find_lock_page() sleeps on the page lock; migration trylocks i_mmap write (respecting the hugetlb order) but remove_migration_ptes() -> rmap_walk_file() takes i_mmap_rwsem read with the page locked: lock-order (a three-task deadlock once a writer queues). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'The hugetlb order i_mmap_rwsem -> page lock (mm/rmap.c @ v5.10.7) is broken by 5.10\'s own remove_migration_ptes(); the kernel\'s lockdep cannot see it (PG_locked is not a lockdep lock).',
  },
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race', 'deadlock', 'lock-order'] },
    why: 'Seed 004 withdrawal [ML-hinode-wd], lock map A.10 H: migration takes hinode_rwsem write with the page lock held, the fault (shareable 1 GiB vma) hinode read before lock_page: the ABBA, a two-task deadlock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'vma-lock',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 V (6.1.15): i_mmap write and the vma lock are only trylocked with the page lock held; the fault holds no i_mmap_rwsem when it sleeps on the page lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'rcu',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock (seed 001 changes only lockless walkers). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-file',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock (lock map A.10 W); the 6.3 fault waits on the migration entry under its vma lock and drops it in __migration_entry_wait_huge(). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'none',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 N: an anon page is walked through its anon_vma under anon_vma->rwsem read; no pmd sharing in a private mapping. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['data-race'] },
    why: '336bf30eb765 (5.10.7): anon pages skip hugetlb_page_mapping_lock_write() and take the normal anon_vma walk. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 H: anon pages take no hinode_rwsem. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'vma-lock',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 V: anon pages, normal anon_vma walk, no vma trylock (anon). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'rcu',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-fault-anon',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['data-race', 'pte-stale-owner'] },
    why: 'Lock map A.10 N: try_to_unmap_one() calls huge_pmd_unshare() with only i_mmap_rwsem read and the PTL, so A\'s fault, which uses its lockless pte pointer into the shared table (A.1 N), writes through it after A lost the table: seed 002\'s diagram with migration as the unsharer. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'Migration is an unsharer too: seed 002 names hole punch and munmap; 5.6 migration (017b1660df89\'s unshare in try_to_unmap_one) has the same stale-pointer race.',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 I: the unshare runs under i_mmap_rwsem write (trylocked with the page lock held, retried by migrate_pages), which A\'s fault holds for read. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 H: the unshare runs under hinode_rwsem write, which A\'s fault (shareable vma) holds for read. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'vma-lock',
    verdict: { kinds: ['data-race'] },
    why: 'Lock map A.10 V: try_to_migrate_one() only trylocks A\'s vma lock, which A\'s fault holds for read; the walk stops and the pass is retried. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'rcu',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'migrate-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['data-race'] },
    why: 'As vma-lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'none',
    verdict: { kinds: ['data-race', 'reserve-count'] },
    why: 'Lock map A.11 N; reserve-count: hugetlbfs_error_remove_page() deletes the page from the page cache before hugetlb_unreserve_pages() drops its region, without the fault mutex; a fault that saw the transient none entry (huge_ptep_clear_flush before the hwpoison entry) allocates against a reservation that is gone. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'Not a seed claim: a reservation race in memory failure\'s page-cache removal found by the model (fs/hugetlbfs/inode.c @ v5.6, same in 6.1).',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['hwpoison-mapped'] },
    why: 'Lock map A.11 I (5.10.7): hugetlb_page_mapping_lock_write() only trylocks i_mmap_rwsem write; a fault holding it for read makes memory_failure give up (\'could not lock mapping\', -EBUSY) with the poisoned page still mapped and cached. The fault\'s i_mmap read also closes the none-entry window (no reserve-count, no data-race).',
    finding: 'The seed 003/004 lock-order exception shows here as memory failure leaving a poisoned page mapped whenever a fault is in progress on the file.',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['data-race', 'reserve-count'] },
    why: 'Lock map A.11 H: the 4 MiB vma is not shareable, the fault takes no hinode_rwsem, memory failure behaves as 5.6 (reserve-count race in hugetlbfs_error_remove_page). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'vma-lock',
    verdict: { kinds: ['data-race', 'hwpoison-mapped', 'reserve-count'] },
    why: 'Lock map A.11 V (6.1.15): try_to_unmap_one() trylocks the vma lock, which any fault in the vma holds for read; the walk stops, memory_failure returns -EBUSY with the page mapped and cached (hwpoison-mapped). The 5.6 reserve race remains. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'A fault anywhere in the vma makes 6.1 memory failure fail to unmap a poisoned page.',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'rcu',
    verdict: { kinds: ['data-race', 'hwpoison-mapped', 'reserve-count'] },
    why: 'As vma-lock. data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'As vma-lock.',
  },
  {
    workload: 'hwpoison-vs-fault',
    strategy: 'vma-lock-6.3',
    verdict: { kinds: ['data-race', 'hwpoison-mapped', 'reserve-count'] },
    why: 'As vma-lock (6.3 handles hwpoison entries under the fault mutex and vma lock). data-race: the fault\'s entry read under the fault mutex without the PTL (lock map A.1 step 5) against the PTE update under the PTL (as fault-punch-hole-race × none; rechecked under the PTL in the kernel).',
    finding: 'As vma-lock.',
  },
  // ---- migrate-vs-fork-anon: seed 003, Hugh Dickins' anon_vma bug in 5.7 (only the 5.7 form has it) ----
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'none',
    verdict: { clean: true, exhaustive: true },
    why: 'Lock map A.10 N (5.6): try_to_unmap() and remove_migration_ptes() walk the anon page through rmap_walk_anon() under anon_vma_lock_read(), so the clone (anon_vma write) is ordered against both walks. A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive.',
  },
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'i-mmap-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: '336bf30eb765 (5.10.7, after seed 003): anon pages skip hugetlb_page_mapping_lock_write() and TTU_RMAP_LOCKED, so the walks take anon_vma_lock_read() as in 5.6. A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive. The 5.7 form (c0d0381ade79, not a built-in) reports data-race in anon_vma_clone / rmap_walk_anon here: Hugh Dickins\' bug (packages/strategy-i-mmap-rwsem/README.md).',
  },
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'hinode-rwsem',
    verdict: { clean: true, exhaustive: true },
    why: 'Lock map A.10 H: the hinode RFC (on 5.10-rc, after 336bf30eb765) takes hinode_rwsem for file pages only; anon pages take the anon_vma walk. A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive.',
  },
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'vma-lock',
    verdict: { clean: true, exhaustive: true },
    why: 'Lock map A.10 V (6.1.15): try_to_migrate() of an anon page walks the anon_vma under anon_vma_lock_read(); no vma trylock (anon pages are never in a shareable vma). A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive.',
  },
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (RFC v1 changes no rmap path). A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive.',
  },
  {
    workload: 'migrate-vs-fork-anon',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'As vma-lock (6.3.8 try_to_migrate_one / rmap_walk_anon). A forks while M migrates its anonymous page: dup_mmap() -> anon_vma_fork() -> anon_vma_clone() links the child vma into the page\'s anon_vma tree under anon_vma->rwsem for write, copy_hugetlb_page_range() copies the PTE or the migration entry (read-only for COW), and remove_migration_ptes() restores whatever the child copied. DPOR exhaustive.',
  },
  // ---- follow-page-vs-unshare: seed 001, follow_page() (follow_huge_pmd / hugetlb_follow_page_mask) ----
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'none',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Seed 001 / lock map A.12 N: follow_page_mask() -> follow_huge_pmd() (5.6) takes the PTL through a pmd pointer from a lockless walk with only mmap_lock; C unshares A\'s table and B, the last sharer, frees it under the walk (as gup-nowait-vs-unshare, through the non-GUP path).',
  },
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'i-mmap-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Lock map A.12 I: 5.7..6.0 hold i_mmap_rwsem across hugetlb_fault only; follow_page() walks without it (follow_huge_pmd, 6.0 follow_huge_pmd_pte).',
  },
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'hinode-rwsem',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'The hinode RFC wraps the fault path only; follow_page() walks as in 5.10 (lock map A.12).',
  },
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'vma-lock',
    verdict: { kinds: ['pte-use-after-free'] },
    why: 'Seed 001 cover letter: the 6.1 vma lock is not taken by follow_huge_pmd_pte() (lock map A.12 V: huge_pte_offset + PTL; 6.2 hugetlb_follow_page_mask takes no vma lock either); RFC v1 07/10 is the fix.',
  },
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'rcu',
    verdict: { clean: true, exhaustive: true },
    why: 'Seed 001 RFC v1 07/10 "Make hugetlb_follow_page_mask() RCU-safe": rcu_read_lock() around the walk and the PTL; the table is freed from call_rcu after A leaves.',
  },
  {
    workload: 'follow-page-vs-unshare',
    strategy: 'vma-lock-6.3',
    verdict: { clean: true, exhaustive: true },
    why: 'v6.3.8 hugetlb_follow_page_mask() (lock map A.12 W): hugetlb_vma_lock_read -> hugetlb_walk -> PTL -> try_grab_page -> unlocks; the punch\'s trylock in hugetlb_vmdelete_list fails on A\'s vma, so A is not unshared. DPOR exhaustive (240 schedules).',
  },
];

export const PERF_EXPECTATIONS: PerfExpectation[] = [
  {
    workload: 'map-fault-unmap',
    metric: 'faultsPerSec',
    higher: 'none',
    lower: 'i-mmap-rwsem',
    why: 'Seed 002 ref [2]: c0d0381ade79 (i_mmap_rwsem read in every fault, 5.7) regressed hugetlb fault throughput against 5.6.',
  },
  {
    workload: 'map-fault-unmap',
    metric: 'faultsPerSec',
    higher: 'i-mmap-rwsem',
    lower: 'vma-lock',
    why: 'Seed 002 reports 1,161,818 (next-20220506, i_mmap_rwsem) vs 1,476,668 faults/s (vma lock) on 48 CPUs, 250 GB.',
    finding: 'At 4 CPUs / 2 GiB the model has the vma lock ~10% below i_mmap_rwsem: all processes fault the same index in step, and in 6.1 huge_pmd_share() takes i_mmap read while the fault mutex is held, so a munmap\'s i_mmap write holds up every faulter of that index (hugetlb_fault_mutex is the top contended lock for every design). Seed 002\'s gain is a 48-CPU effect (i_mmap_rwsem reader cache-line traffic) the small run does not reach.',
  },
  {
    workload: 'map-fault-unmap',
    metric: 'waitTimeMs',
    higher: 'vma-lock',
    lower: 'i-mmap-rwsem',
    why: 'Seed 002 Wait_debug: 233,225 ms (i_mmap_rwsem) vs 18,144 ms (vma lock) per 10 s interval.',
    finding: 'Not reproduced at 4 CPUs: fault-path wait time is about equal, slightly higher with the vma lock (see faultsPerSec above).',
  },
  {
    workload: 'map-fault-unmap',
    metric: 'faultsPerSec',
    higher: 'rcu',
    lower: 'vma-lock',
    tolerance: 0.01,
    why: 'Seed 001: rcu_read_lock() around the lockless walk adds no sleeping lock and no contention to the fault path: at most the cost of its two rcu steps per walk (1,009,000 vs 1,011,550 faults/s at the suite size, 0.25% apart).',
  },
  {
    workload: 'fork-and-fault',
    metric: 'faultsPerSec',
    higher: 'none',
    lower: 'i-mmap-rwsem',
    why: 'The 2022 report behind seed 002 ([1]): with c0d0381ade79 every fault takes i_mmap_rwsem for read and queues behind fork()/exit writers of the same i_mmap tree.',
  },
];

export function raceExpectation(workload: string, strategy: string): RaceExpectation | undefined {
  return RACE_EXPECTATIONS.find((e) => e.workload === workload && e.strategy === strategy);
}

/** "clean (exhaustive)", "clean (not exhaustive)" or the kinds, comma separated. */
export function verdictText(v: Verdict): string {
  return 'clean' in v ? `clean (${v.exhaustive ? 'exhaustive' : 'not exhaustive'})` : v.kinds.join(', ');
}
