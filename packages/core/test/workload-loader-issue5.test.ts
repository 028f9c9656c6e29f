/** The workload format of the issue #5 ops: partial munmap/mprotect, mremap, shm files and shmat/shmdt/shmctl. */
import { describe, it, expect } from 'vitest';
import { WorkloadError, loadWorkloadObject } from '../src/index.js';

const MiB = 2 ** 20;

function base(): Record<string, any> {
  return {
    name: 'x',
    files: [
      { name: 'f', size: '4MiB' },
      { name: 'seg', size: '4MiB', shm: true },
    ],
    processes: [
      {
        name: 'A',
        mappings: [
          { name: 'm', file: 'f' },
          { name: 'to', file: 'f', mapAtStart: false },
          { name: 's', file: 'seg' },
        ],
      },
    ],
    threads: [{ name: 't', process: 'A', ops: [{ touch: { mapping: 'm' } }] }],
  };
}

function withOps(ops: unknown[]): Record<string, any> {
  const w = base();
  w.threads[0].ops = ops;
  return w;
}

const error = (w: unknown): string => {
  try {
    loadWorkloadObject(w);
  } catch (e) {
    expect(e).toBeInstanceOf(WorkloadError);
    return (e as Error).message;
  }
  throw new Error('loaded without error');
};

describe('workload format: issue #5 ops', () => {
  it('loads partial munmap/mprotect, mremap and the shm ops', () => {
    const spec = loadWorkloadObject(
      withOps([
        { mprotect: { mapping: 'm', write: false, offset: '2MiB' } },
        { munmap: { mapping: 'm', length: '2MiB' } },
        { mremap: { mapping: 'm', to: 'to' }, expect: 'EINVAL' },
        { shmdt: { mapping: 's' } },
        { shmat: { mapping: 's' }, expect: 'EIDRM' },
        { shmctl: { file: 'seg' } },
      ]),
    );
    expect(spec.files).toEqual([
      { name: 'f', size: 4 * MiB },
      { name: 'seg', size: 4 * MiB, shm: true },
    ]);
    expect(spec.threads[0]!.ops).toEqual([
      { op: 'mprotect', mapping: 'm', write: false, offset: 2 * MiB, length: 2 * MiB },
      { op: 'munmap', mapping: 'm', offset: 0, length: 2 * MiB },
      { op: 'mremap', mapping: 'm', to: 'to', expect: 'EINVAL' },
      { op: 'shmdt', mapping: 's' },
      { op: 'shmat', mapping: 's', expect: 'EIDRM' },
      { op: 'shmctl', file: 'seg', cmd: 'rmid' },
    ]);
  });

  it('a whole-mapping munmap stays a whole-mapping op (no offset/length)', () => {
    expect(loadWorkloadObject(withOps([{ munmap: { mapping: 'm' } }])).threads[0]!.ops[0]).toEqual({ op: 'munmap', mapping: 'm' });
  });

  it('rejects a partial range past the mapping or not 2 MiB aligned', () => {
    expect(error(withOps([{ munmap: { mapping: 'm', offset: '2MiB', length: '4MiB' } }]))).toMatch(/threads\[0\]\.ops\[0\]\.munmap\.length: range past the end of mapping "m"/);
    expect(error(withOps([{ mprotect: { mapping: 'm', write: true, offset: '1MiB' } }]))).toMatch(/mprotect\.offset: must be a multiple of 2MiB/);
  });

  it('mremap needs a destination of the same file and offset that is not mapped at start', () => {
    expect(error(withOps([{ mremap: { mapping: 'm', to: 'm' } }]))).toMatch(/mremap\.to: must name another mapping/);
    expect(error(withOps([{ mremap: { mapping: 'm', to: 's' } }]))).toMatch(/mremap\.to: mapping "s" must map the same file/);
    const w = withOps([{ mremap: { mapping: 'to', to: 'm' } }]);
    expect(error(w)).toMatch(/mapping "m" is the destination: give it mapAtStart: false/);
  });

  it('shm segments are attached with shmat only, and their mappings cover the whole segment', () => {
    expect(error(withOps([{ mmap: { mapping: 's' } }]))).toMatch(/mmap\.mapping: mapping "s" is of shm segment "seg": attach it with shmat/);
    expect(error(withOps([{ shmat: { mapping: 'm' } }]))).toMatch(/shmat\.mapping: mapping "m" maps "f", which is not a shm segment/);
    expect(error(withOps([{ shmctl: { file: 'f' } }]))).toMatch(/shmctl\.file: "f" is not a shm segment/);
    const w = base();
    w.processes[0].mappings[2] = { name: 's', file: 'seg', length: '2MiB' };
    expect(error(w)).toMatch(/must be shared and cover the whole segment/);
  });
});
