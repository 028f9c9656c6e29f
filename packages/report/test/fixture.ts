import type { CompareReport } from '../src/index.js';

/** A small synthetic comparison: 2 strategies, 2 workloads (one race, one perf). Numbers are made up. */
export function sampleReport(): CompareReport {
  const lockStats = (scale: number) => [
    { name: 'i_mmap_rwsem', acquisitions: 12_000, contended: Math.round(900 * scale), waitTimeMs: 3.5 * scale, maxWaitUs: 41 * scale },
    { name: 'hugetlb_fault_mutex', acquisitions: 8_000, contended: Math.round(120 * scale), waitTimeMs: 0.8 * scale, maxWaitUs: 12 * scale },
  ];
  return {
    command: 'hugesync compare --strategies none,vma-lock --workloads pmd-unshare-race,fault-storm --seed 1',
    strategies: [
      { name: 'none', description: 'Linux 5.6: no synchronization of PMD unsharing <baseline>', seed: 1, package: '@hugesync/core' },
      { name: 'vma-lock', description: 'Linux 6.1: hugetlb vma lock & "i_mmap_rwsem"', seed: 1, package: '@hugesync/strategy-vma-lock' },
    ],
    workloads: [
      { name: 'pmd-unshare-race', tags: ['race'], description: 'fault racing with unshare and munmap' },
      { name: 'fault-storm', tags: ['perf'], description: 'many threads faulting on a shared mapping' },
    ],
    explore: [
      {
        strategy: 'none',
        workload: 'pmd-unshare-race',
        explorer: 'random',
        schedules: 37,
        exhaustive: false,
        elapsedMs: 120,
        violations: [{ kind: 'pte-stale-owner', message: 'A-fault writes through a pte of a PMD page B no longer shares <script>alert(1)</script>', replay: 'hs1.eyJ3IjoicG1kLXVuc2hhcmUtcmFjZSJ9', steps: 58 }],
      },
      { strategy: 'vma-lock', workload: 'pmd-unshare-race', explorer: 'dpor', schedules: 1432, exhaustive: true, elapsedMs: 900, interleavings: '~2.1e6', violations: [] },
      { strategy: 'none', workload: 'fault-storm', explorer: 'random', schedules: 300, exhaustive: false, elapsedMs: 400, violations: [] },
      { strategy: 'vma-lock', workload: 'fault-storm', explorer: 'random', schedules: 300, exhaustive: false, elapsedMs: 450, violations: [], timedOut: true },
    ],
    run: [
      { strategy: 'none', workload: 'fault-storm', cpus: 8, simulatedSeconds: 0.02, wallMs: 310, faultsPerSec: 1_850_000, waits: 420, waitTimeMs: 4.3, maxFaultWaitUs: 45, faultLatencyUs: { p50: 1.9, p99: 14, max: 47 }, locks: lockStats(1) },
      { strategy: 'vma-lock', workload: 'fault-storm', cpus: 8, simulatedSeconds: 0.02, wallMs: 350, faultsPerSec: 1_420_000, waits: 980, waitTimeMs: 9.6, maxFaultWaitUs: 88, faultLatencyUs: { p50: 2.4, p99: 31, max: 92 }, locks: lockStats(2.2) },
      { strategy: 'none', workload: 'pmd-unshare-race', cpus: 4, simulatedSeconds: 0.01, wallMs: 90, faultsPerSec: 640_000, waits: 35, waitTimeMs: 0.4, maxFaultWaitUs: 9, faultLatencyUs: { p50: 1.1, p99: 6, max: 10 }, locks: lockStats(0.1) },
      { strategy: 'vma-lock', workload: 'pmd-unshare-race', cpus: 4, simulatedSeconds: 0.01, wallMs: 95, faultsPerSec: 590_000, waits: 60, waitTimeMs: 0.9, maxFaultWaitUs: 14, faultLatencyUs: { p50: 1.3, p99: 8, max: 15 }, locks: lockStats(0.2) },
    ],
  };
}
