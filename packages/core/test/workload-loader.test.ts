import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parse as yamlParse } from 'yaml';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WorkloadError, loadWorkloadText, loadWorkloadObject, loadWorkloadFile, parseSize, buildKernel, noneStrategy } from '../src/index.js';
import { pmdUnshareRace, faultTruncateRace } from './fixtures.js';

const MiB = 2 ** 20;
const GiB = 2 ** 30;

const PMD_YAML = `
name: pmd-unshare-race
description: test fixture
pool: { hugePages: 520 }
files: [{ name: f, size: 1GiB }]
processes:
  - { name: A, mappings: [{ name: m, file: f, length: 1GiB }] }
  - { name: B, mappings: [{ name: m, file: f }] }
  - { name: C }
setup:
  - { process: A, touch: { mapping: m, offset: 0 } }
  - { process: B, touch: { mapping: m }, expect: ok }
threads:
  - { name: A-fault, process: A, ops: [{ touch: { mapping: m, offset: 2MiB } }] }
  - { name: C-punch, process: C, ops: [{ fallocate: { file: f, offset: 4MiB, length: 2MiB, punchHole: true } }] }
  - { name: B-munmap, process: B, ops: [{ munmap: { mapping: m } }] }
`;

/** A small valid workload used as the base of the error cases. */
function base(): Record<string, any> {
  return {
    name: 'x',
    params: { n: 2, size: '4MiB' },
    files: [{ name: 'f', size: '${size}' }],
    processes: [
      { name: 'A', mappings: [{ name: 'm', file: 'f' }] },
      { name: 'p${i}', count: '${n}', mappings: [{ name: 'm', file: 'f', length: '2MiB' }] },
    ],
    threads: [
      { name: 't', process: 'A', ops: [{ touch: { mapping: 'm', offset: '2MiB' } }] },
      { name: 'u${i}', process: 'p${i}', count: '${n}', ops: [{ munmap: { mapping: 'm' } }] },
    ],
  };
}

function errorOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError);
    const m = (e as Error).message;
    expect(m).not.toMatch(/\n/);
    return m;
  }
  throw new Error('expected a WorkloadError');
}

const mutate = (f: (w: Record<string, any>) => void, set?: Record<string, string>) => () => {
  const w = base();
  f(w);
  return loadWorkloadObject(w, { set });
};

describe('parseSize', () => {
  it('reads bytes, units and hex', () => {
    expect(parseSize(4096)).toBe(4096);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('4KiB')).toBe(4096);
    expect(parseSize('2MiB')).toBe(2 * MiB);
    expect(parseSize('1GiB')).toBe(GiB);
    expect(parseSize('250GiB')).toBe(250 * GiB);
    expect(parseSize('1.5GiB')).toBe(1.5 * GiB);
    expect(parseSize('2M')).toBe(2 * MiB);
    expect(parseSize('0x40000000')).toBe(GiB);
  });
  it('refuses what is not a size', () => {
    for (const bad of ['', 'abc', '-1', '2 parsecs', '1.3B', '0x', 1.5, -2, '2GB']) expect(() => parseSize(bad as string)).toThrow(WorkloadError);
    expect(errorOf(() => parseSize('2GB'))).toMatch(/2GiB/);
  });
});

describe('loading good workloads', () => {
  it('YAML gives the same spec as the TS fixture', () => {
    const w = loadWorkloadText(PMD_YAML);
    expect(w).toEqual({ ...pmdUnshareRace(), repeat: false });
  });
  it('JSON works too', () => {
    const f = faultTruncateRace();
    const json = JSON.stringify({
      name: f.name,
      description: f.description,
      pool: { hugePages: 4 },
      files: [{ name: 'f', size: '4MiB' }],
      processes: [{ name: 'A', mappings: [{ name: 'm', file: 'f' }] }, { name: 'T' }],
      threads: [
        { name: 'A-fault', process: 'A', ops: [{ touch: { mapping: 'm', offset: '2MiB' } }] },
        { name: 'T-truncate', process: 'T', ops: [{ ftruncate: { file: 'f', size: '2MiB' } }] },
        { name: 'A-fault0', process: 'A', ops: [{ touch: { mapping: 'm' } }] },
      ],
    });
    expect(loadWorkloadText(json)).toEqual({ ...f, repeat: false });
  });
  it('expands count with ${i}, substitutes params and applies --set', () => {
    const w = loadWorkloadObject(base(), { set: { n: '3', size: '8MiB' } });
    expect(w.params).toEqual({ n: 3, size: '8MiB' });
    expect(w.files).toEqual([{ name: 'f', size: 8 * MiB }]);
    expect(w.processes.map((p) => p.name)).toEqual(['A', 'p0', 'p1', 'p2']);
    expect(w.processes[0]!.mappings[0]!.length).toBe(8 * MiB);
    expect(w.threads.map((t) => [t.name, t.process])).toEqual([['t', 'A'], ['u0', 'p0'], ['u1', 'p1'], ['u2', 'p2']]);
    expect(w.pool).toEqual({ hugePages: 4, overcommit: 0 }); // auto: the 8 MiB file
    expect(w.faultMutexes).toBe(64);
  });
  it('fills defaults: mapping flags, touch, fallocate keepSize, setup expect ok', () => {
    const w = loadWorkloadText(PMD_YAML);
    expect(w.processes[1]!.mappings[0]).toEqual({ name: 'm', file: 'f', offset: 0, length: GiB, shared: true, write: true, placement: 'same', mapAtStart: true });
    expect(w.setup[0]!.op).toEqual({ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'ok' });
    expect(w.threads[1]!.ops[0]).toEqual({ op: 'fallocate', file: 'f', offset: 4 * MiB, length: 2 * MiB, punchHole: true, keepSize: true });
  });
  it('reads every op, nested ops, expectations and pool asserts', () => {
    const w = base();
    w.threads[0].ops = [
      { mmap: { mapping: 'm' }, expect: 'EEXIST' },
      { touch: { mapping: 'm', offset: '1MiB', length: '2MiB', write: false } },
      { mprotect: { mapping: 'm', write: false } },
      { ftruncate: { file: 'f', size: 0 } },
      { fallocate: { file: 'f', offset: 0, length: '4MiB' }, expect: 'ENOSPC' },
      { loop: { count: 3, ops: [{ touch: { mapping: 'm' } }] } },
      { fork: { child: 'kid', ops: [{ touch: { mapping: 'm' }, expect: 'SIGBUS' }, { exit: {} }] } },
      { assert: { pool: { free: 0, reserved: 1 } } },
      { exit: null },
    ];
    const ops = loadWorkloadObject(w).threads[0]!.ops;
    expect(ops).toEqual([
      { op: 'mmap', mapping: 'm', expect: 'EEXIST' },
      // [1MiB, 3MiB) overlaps huge pages 0 and 1: the length covers both from offset.
      { op: 'touch', mapping: 'm', offset: MiB, length: 4 * MiB, write: false },
      { op: 'mprotect', mapping: 'm', write: false },
      { op: 'ftruncate', file: 'f', size: 0 },
      { op: 'fallocate', file: 'f', offset: 0, length: 4 * MiB, punchHole: false, keepSize: false, expect: 'ENOSPC' },
      { op: 'loop', count: 3, ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true }] },
      { op: 'fork', child: 'kid', ops: [{ op: 'touch', mapping: 'm', offset: 0, length: 0, write: true, expect: 'SIGBUS' }, { op: 'exit' }] },
      { op: 'assert', pool: { free: 0, reserved: 1 } },
      { op: 'exit' },
    ]);
  });
  it('placement fixed with an address, private mappings counted by pool auto', () => {
    const w = base();
    w.processes[0].mappings = [
      { name: 'm', file: 'f', placement: 'fixed', address: '0x40000000' },
      { name: 'priv', file: 'f', shared: false, length: '2MiB' },
    ];
    const s = loadWorkloadObject(w);
    expect(s.processes[0]!.mappings[0]!.address).toBe(GiB);
    expect(s.pool.hugePages).toBe(2 + 1);
  });
  it('loads a file, and a loaded spec builds into a kernel', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hs-wl-'));
    const p = join(dir, 'w.yaml');
    writeFileSync(p, PMD_YAML);
    const w = loadWorkloadFile(p);
    const b = buildKernel(w, noneStrategy);
    expect(b.threads.map((t) => t.name)).toEqual(['A-fault', 'C-punch', 'B-munmap']);
  });
});

describe('one-line errors naming the field', () => {
  const cases: Array<[string, () => unknown, RegExp]> = [
    ['missing file', () => loadWorkloadFile('/nonexistent/w.yaml'), /^workload \/nonexistent\/w\.yaml: no such file$/],
    ['YAML syntax', () => loadWorkloadText('name: x\nfiles: [a, b\nthreads: {', { source: 'w.yaml' }), /^workload w\.yaml: line \d+, column \d+: /],
    ['duplicate YAML key', () => loadWorkloadText('name: x\nname: y\n'), /^workload: line 2, column 1: Map keys must be unique$/],
    ['not a mapping', () => loadWorkloadText('- 1\n- 2\n'), /^workload: expected a mapping/],
    ['missing name', mutate((w) => delete w.name), /^workload: name: is required$/],
    ['unknown top-level field', mutate((w) => (w.thread = [])), /^workload "x": thread: unknown field \(did you mean "threads"\?\)/],
    ['unaligned mapping length', mutate((w) => (w.processes[1].mappings[0].length = '3MiB')), /^workload "x": processes\[1\]\(i=0\)\.mappings\[0\]\.length: must be a multiple of 2MiB \(got 3MiB\)$/],
    ['unaligned mapping offset', mutate((w) => (w.processes[0].mappings[0].offset = 4096)), /processes\[0\]\.mappings\[0\]\.offset: must be a multiple of 2MiB \(got 4KiB\)/],
    ['unaligned file size', mutate(() => {}, { size: '3MiB' }), /files\[0\]\.size: must be a multiple of 2MiB \(got 3MiB\) \(value from parameter "size"\)/],
    ['unaligned ftruncate', mutate((w) => (w.threads[0].ops = [{ ftruncate: { file: 'f', size: '1MiB' } }])), /threads\[0\]\.ops\[0\]\.ftruncate\.size: must be a multiple of 2MiB/],
    ['bad size', mutate((w) => (w.files[0].size = 'big')), /files\[0\]\.size: expected a size .*got "big"/],
    ['wrong type', mutate((w) => (w.processes[0].mappings[0].shared = 'yes')), /processes\[0\]\.mappings\[0\]\.shared: expected true or false, got "yes"/],
    ['unknown mapping field', mutate((w) => (w.processes[0].mappings[0].lenght = '2MiB')), /processes\[0\]\.mappings\[0\]\.lenght: unknown field \(did you mean "length"\?\)/],
    ['unknown file', mutate((w) => (w.processes[0].mappings[0].file = 'g')), /processes\[0\]\.mappings\[0\]\.file: no file "g"/],
    ['unknown process', mutate((w) => (w.threads[0].process = 'B')), /threads\[0\]\.process: no process "B"/],
    ['unknown mapping in op', mutate((w) => (w.threads[0].ops = [{ munmap: { mapping: 'n' } }])), /threads\[0\]\.ops\[0\]\.munmap\.mapping: no mapping "n" in process "A" \(did you mean "m"\?\)/],
    ['unknown op', mutate((w) => (w.threads[0].ops = [{ tuch: { mapping: 'm' } }])), /threads\[0\]\.ops\[0\]\.tuch: unknown op \(did you mean "touch"\?\)/],
    ['two ops in one item', mutate((w) => (w.threads[0].ops = [{ mmap: { mapping: 'm' }, munmap: { mapping: 'm' } }])), /threads\[0\]\.ops\[0\]: one op per item, got mmap and munmap/],
    ['bad expect', mutate((w) => (w.threads[0].ops[0].expect = 'EPERM')), /threads\[0\]\.ops\[0\]\.expect: expected one of ok, SIGBUS/],
    ['expect on loop', mutate((w) => (w.threads[0].ops = [{ loop: { count: 2, ops: [{ exit: {} }] }, expect: 'ok' }])), /ops\[0\]\.expect: loop has no result/],
    ['touch past the mapping', mutate((w) => (w.threads[0].ops = [{ touch: { mapping: 'm', offset: '4MiB' } }])), /threads\[0\]\.ops\[0\]\.touch\.offset: touches past the end of mapping "m"/],
    ['duplicate process', mutate((w) => (w.processes[1].name = 'A${i}', w.processes.push({ name: 'A1' }))), /processes\[2\]\.name: duplicate process name "A1"/],
    ['duplicate thread', mutate((w) => (w.threads[1].name = 't')), /threads\[1\]\.name: must contain "\$\{i\}" when count is given/],
    ['count without ${i}', mutate((w) => (w.processes[0].count = 2)), /processes\[0\]\.name: must contain "\$\{i\}"/],
    ['${i} without count', mutate((w) => (w.threads[0].name = 't${i}')), /threads\[0\]\.name: "\$\{i\}" is only defined inside a process or thread with count/],
    ['bad count', mutate((w) => (w.processes[1].count = 0)), /processes\[1\]\.count: must be between 1 and 4096 \(got 0\)/],
    ['unknown param reference', mutate((w) => (w.files[0].size = '${sise}')), /files\[0\]\.size: unknown parameter "\$\{sise\}" \(did you mean "size"\?\)/],
    ['unknown --set key', mutate(() => {}, { m: '3' }), /^workload "x": --set m: unknown parameter \(did you mean "n"\?\) \(known: n, size\)$/],
    ['bad --set value', mutate(() => {}, { n: 'many' }), /processes\[1\]\.count: expected a whole number, got "many" \(value from parameter "n"\)/],
    ['fixed without address', mutate((w) => (w.processes[0].mappings[0].placement = 'fixed')), /processes\[0\]\.mappings\[0\]\.address: is required with placement: fixed/],
    ['address without fixed', mutate((w) => (w.processes[0].mappings[0].address = '1GiB')), /address: only goes with placement: fixed/],
    ['bad placement', mutate((w) => (w.processes[0].mappings[0].placement = 'near')), /placement: expected one of same, fixed, random, got "near"/],
    ['faultMutexes not a power of two', mutate((w) => (w.faultMutexes = 48)), /^workload "x": faultMutexes: must be a power of two/],
    ['punch without keepSize', mutate((w) => (w.threads[0].ops = [{ fallocate: { file: 'f', offset: 0, length: '2MiB', punchHole: true, keepSize: false } }])), /fallocate\.keepSize: punchHole requires keepSize/],
    ['fork in setup', mutate((w) => (w.setup = [{ process: 'A', fork: { child: 'k' } }])), /setup\[0\]\.fork: fork is not allowed in setup/],
    ['setup process missing', mutate((w) => (w.setup = [{ touch: { mapping: 'm' } }])), /setup\[0\]\.process: is required/],
    ['fork child clashes with a process', mutate((w) => (w.threads[0].ops = [{ fork: { child: 'A' } }])), /fork\.child: "A" is already a process name/],
    ['empty assert', mutate((w) => (w.threads[0].ops = [{ assert: { pool: {} } }])), /assert\.pool: needs at least one of total, free, reserved, surplus/],
    ['no threads', mutate((w) => (w.threads = [])), /^workload "x": threads: needs at least one thread$/],
    ['overlapping fixed mappings', mutate((w) => (w.processes[0].mappings = [{ name: 'm', file: 'f', placement: 'fixed', address: '1GiB' }, { name: 'b', file: 'f', placement: 'fixed', address: '1026MiB' }])), /processes\[0\]\.mappings\[1\]: mapping "b" overlaps mapping "m"/],
    ['nested op error path', mutate((w) => (w.threads[0].ops = [{ loop: { count: 2, ops: [{ fork: { child: 'k', ops: [{ touch: { mapping: 'q' } }] } }] } }])), /threads\[0\]\.ops\[0\]\.loop\.ops\[0\]\.fork\.ops\[0\]\.touch\.mapping: no mapping "q"/],
  ];
  for (const [what, f, re] of cases) it(what, () => expect(errorOf(f)).toMatch(re));
});

describe('property: malformed input only ever gives a one-line WorkloadError', () => {
  const tally = { loaded: 0, refused: 0 };
  const check = (f: () => unknown): boolean => {
    try {
      f();
      tally.loaded++;
      return true;
    } catch (e) {
      if (!(e instanceof WorkloadError)) throw e;
      tally.refused++;
      if (/[\r\n]/.test(e.message) || e.message.length === 0) throw new Error(`multi-line or empty message: ${JSON.stringify(e.message)}`);
      return true;
    }
  };

  it('random JSON values', () => {
    fc.assert(fc.property(fc.jsonValue(), (v) => check(() => loadWorkloadObject(v))), { numRuns: 1500, seed: 1 });
  });

  it('random text as YAML', () => {
    fc.assert(fc.property(fc.string({ maxLength: 200 }), (s) => check(() => loadWorkloadText(s))), { numRuns: 1500, seed: 2 });
    // Text that looks like a workload file, with random lines dropped or swapped.
    const lines = PMD_YAML.split('\n');
    fc.assert(
      fc.property(fc.array(fc.nat(lines.length - 1), { maxLength: lines.length }), (idx) => check(() => loadWorkloadText(idx.map((i) => lines[i]).join('\n')))),
      { numRuns: 800, seed: 3 },
    );
  });

  // Mutations of a valid workload: set a random path to a random (often wrong) value or delete it.
  const values = fc.oneof(
    fc.constantFrom<unknown>(undefined, null, true, 0, -1, 1.5, 3, 2 ** 60, '', 'x', 'm', 'f', 'A', 'p0', '2MiB', '3MiB', '1GiB', '${n}', '${i}', '${nope}', 'p${i}', 'fixed', 'random', 'auto', [], {}, [{}], { touch: {} }, { mapping: 'm' }),
    fc.jsonValue({ maxDepth: 2 }),
  );
  function paths(v: unknown, at: Array<string | number> = [], out: Array<Array<string | number>> = []): Array<Array<string | number>> {
    out.push(at);
    if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...at, i], out));
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...at, k], out);
    return out;
  }
  const KEYS = ['name', 'file', 'offset', 'length', 'count', 'ops', 'process', 'mapping', 'size', 'expect', 'pool', 'hugePages', 'placement', 'address', 'child', 'touch', 'fork', 'loop', 'extra'];
  function mutated(seedObj: Record<string, any>, muts: Array<{ p: number; v: unknown; del: boolean; key: number }>): unknown {
    const w = structuredClone(seedObj);
    for (const m of muts) {
      const all = paths(w);
      const p = all[m.p % all.length]!;
      if (p.length === 0) continue;
      let parent: any = w;
      for (const k of p.slice(0, -1)) parent = parent[k];
      if (parent === null || typeof parent !== 'object') continue;
      const last = p[p.length - 1]!;
      if (m.del && !Array.isArray(parent)) delete parent[last];
      else if (m.key % 4 === 0 && !Array.isArray(parent)) parent[KEYS[m.key % KEYS.length]!] = m.v;
      else parent[last] = m.v;
    }
    return w;
  }
  const richBase = (): Record<string, any> => {
    const w = base();
    w.setup = [{ process: 'A', touch: { mapping: 'm' } }];
    w.threads[0].ops.push({ fork: { child: 'k', ops: [{ loop: { count: 2, ops: [{ touch: { mapping: 'm' }, expect: 'ok' }] } }] } }, { assert: { pool: { free: 1 } } });
    return w;
  };
  const mutation = fc.record({ p: fc.nat(), v: values, del: fc.boolean(), key: fc.nat() });

  it('mutated valid workloads', () => {
    tally.loaded = tally.refused = 0;
    const seeds = [richBase(), yamlParse(PMD_YAML) as Record<string, any>];
    fc.assert(
      fc.property(fc.nat(seeds.length - 1), fc.array(mutation, { minLength: 1, maxLength: 3 }), fc.constantFrom<Record<string, string>>({}, {}, {}, { n: '3' }, { size: '8MiB' }, { n: '0' }, { n: '5000' }, { size: '3MiB' }, { zz: '1' }, { n: '${n}' }), (s, muts, set) =>
        check(() => loadWorkloadObject(mutated(seeds[s]!, muts), { set })),
      ),
      { numRuns: 6000, seed: 4 },
    );
    // The mutations reach both sides: some still load, most are refused.
    expect(tally.loaded).toBeGreaterThan(30);
    expect(tally.refused).toBeGreaterThan(3000);
    console.log('mutated workloads', tally);
  });
});
