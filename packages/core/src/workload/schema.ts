/**
 * The public workload file format (YAML or JSON), as zod schemas for each object of the file
 * after parameter substitution and `count` expansion. The loader (loader.ts) drives them, adds
 * the cross-reference checks and turns every problem into a one-line WorkloadError.
 * The format is documented field by field in docs/workloads.md.
 */
import { z } from 'zod';
import { HPAGE_SIZE } from '../model/constants.js';

/** Results an op may `expect` (what the model's system calls and accesses return). */
export const OP_RESULTS = ['ok', 'SIGBUS', 'ENOMEM', 'EINVAL', 'ENOSPC', 'EEXIST', 'EAGAIN', 'EBUSY', 'EFAULT', 'ENOENT', 'EIDRM'] as const;
export const OP_NAMES = ['touch', 'mmap', 'munmap', 'ftruncate', 'fallocate', 'mprotect', 'madvise', 'fork', 'exit', 'loop', 'assert', 'access', 'gup', 'pagewalk', 'mremap', 'shmat', 'shmdt', 'shmctl', 'migrate', 'hwpoison'] as const;
export type OpName = (typeof OP_NAMES)[number];
export const PLACEMENTS = ['same', 'fixed', 'random'] as const;

/** The user address space ends at 128 TiB on x86-64 with 4-level page tables (TASK_SIZE). */
export const TASK_SIZE = 2 ** 47;
/** Most processes (or threads) one `count` may expand to. */
export const MAX_COUNT = 4096;
/** Largest pool the loader accepts (32 TiB of 2 MiB pages). */
export const MAX_POOL_PAGES = 2 ** 24;

const KiB = 1024;
const UNITS: Record<string, number> = { b: 1, k: KiB, kib: KiB, m: KiB ** 2, mib: KiB ** 2, g: KiB ** 3, gib: KiB ** 3, t: KiB ** 4, tib: KiB ** 4 };

/**
 * A size in bytes: a whole number, a decimal or hex string ("0x40000000") or a number with a
 * binary unit ("4KiB", "2MiB", "1GiB", "250GiB", "1.5GiB", also "2M", "1G"). Returns the bytes or
 * an error message (no throw: the loader and parseSize() wrap it).
 */
export function sizeOrError(v: unknown): number | string {
  const bad = `expected a size (bytes, or a number with a unit like 2MiB, 1GiB, or hex like 0x200000), got ${show(v)}`;
  if (typeof v === 'number') {
    if (!Number.isSafeInteger(v) || v < 0) return bad;
    return v;
  }
  if (typeof v !== 'string') return bad;
  const s = v.trim();
  let n: number;
  if (/^0x[0-9a-f]+$/i.test(s)) n = Number.parseInt(s.slice(2), 16);
  else {
    const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(s);
    if (!m) return bad;
    const unit = m[2]!.toLowerCase();
    if (unit === 'kb' || unit === 'mb' || unit === 'gb' || unit === 'tb') return `ambiguous unit in ${show(v)}: write ${m[1]}${unit[0]!.toUpperCase()}iB (binary units only)`;
    const mul = unit === '' ? 1 : UNITS[unit];
    if (mul === undefined) return bad;
    n = Number(m[1]) * mul;
    if (!Number.isInteger(n)) return `${show(v)} is not a whole number of bytes`;
  }
  if (!Number.isSafeInteger(n)) return `${show(v)} is too large`;
  return n;
}

/** Bytes in the largest unit that divides them: 3145728 -> "3MiB". */
export function fmtSize(n: number): string {
  for (const [u, m] of [['TiB', KiB ** 4], ['GiB', KiB ** 3], ['MiB', KiB ** 2], ['KiB', KiB]] as const) if (n !== 0 && n % m === 0) return `${n / m}${u}`;
  return `${n}`;
}

/** A value for an error message, kept to one short line. */
export function show(v: unknown): string {
  if (v === undefined) return 'nothing';
  let s: string;
  try {
    s = typeof v === 'string' ? JSON.stringify(v) : typeof v === 'number' || typeof v === 'boolean' || v === null ? String(v) : Array.isArray(v) ? `a list` : typeof v === 'object' ? 'a mapping' : typeof v;
  } catch {
    s = typeof v;
  }
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function custom<T>(check: (v: unknown) => T | { error: string }) {
  return z.unknown().transform((v, ctx) => {
    const r = check(v);
    if (r !== null && typeof r === 'object' && 'error' in (r as object)) {
      ctx.addIssue({ code: 'custom', message: (r as { error: string }).error });
      return z.NEVER;
    }
    return r as T;
  });
}

const required = (v: unknown): { error: string } | null => (v === undefined ? { error: 'is required' } : null);

/** A name: letters, digits, `_ . -`; no spaces (names appear in traces and replay tokens). */
export const nameSchema = custom<string>((v) => required(v) ?? (typeof v === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(v) ? v : { error: `expected a name (letters, digits, _ . -), got ${show(v)}` }));
export const textSchema = custom<string>((v) => required(v) ?? (typeof v === 'string' ? v : { error: `expected text, got ${show(v)}` }));
export const boolSchema = custom<boolean>((v) => required(v) ?? (typeof v === 'boolean' ? v : v === 'true' ? true : v === 'false' ? false : { error: `expected true or false, got ${show(v)}` }));

/** A whole number in [min, max]; numeric strings (from a parameter) are accepted. */
export function intSchema(min: number, max: number = Number.MAX_SAFE_INTEGER) {
  return custom<number>((v) => {
    const r = required(v);
    if (r) return r;
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n)) return { error: `expected a whole number, got ${show(v)}` };
    if (n < min || n > max) return { error: `must be ${max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `between ${min} and ${max}`} (got ${n})` };
    return n;
  });
}

/** A size in bytes; `align` = must be a multiple of 2 MiB (the kernel refuses otherwise); `positive` = not 0. */
export function sizeSchema(opts: { align?: boolean; positive?: boolean; max?: number } = {}) {
  return custom<number>((v) => {
    const r = required(v);
    if (r) return r;
    const n = sizeOrError(v);
    if (typeof n === 'string') return { error: n };
    if (opts.positive && n === 0) return { error: 'must not be 0' };
    if (opts.align && n % HPAGE_SIZE !== 0) return { error: `must be a multiple of 2MiB (got ${fmtSize(n)})` };
    if (opts.max !== undefined && n > opts.max) return { error: `must be at most ${fmtSize(opts.max)} (got ${fmtSize(n)})` };
    return n;
  });
}

export function enumSchema<T extends string>(values: readonly T[]) {
  return custom<T>((v) => required(v) ?? ((values as readonly unknown[]).includes(v) ? (v as T) : { error: `expected one of ${values.join(', ')}, got ${show(v)}` }));
}

/** A strict object: an unknown field is an error that lists the known ones. */
export function strict<S extends z.core.$ZodLooseShape>(shape: S) {
  const known = Object.keys(shape).join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code === 'unrecognized_keys') return `unknown field (known: ${known})`;
      if (iss.code === 'invalid_type') return iss.input === undefined ? 'is required' : `expected a mapping with ${known}, got ${show(iss.input)}`;
      return undefined;
    },
  });
}

/** A list; a single missing list is reported as required. */
export function listSchema<T extends z.ZodType>(item: T) {
  return z.array(item, { error: (iss) => (iss.code === 'invalid_type' ? (iss.input === undefined ? 'is required' : `expected a list, got ${show(iss.input)}`) : undefined) });
}

export const resultSchema = enumSchema(OP_RESULTS);

export const poolSchema = strict({
  hugePages: custom<number | 'auto'>((v) => {
    if (v === 'auto') return 'auto';
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) return { error: `expected a number of huge pages or "auto", got ${show(v)}` };
    if (n > MAX_POOL_PAGES) return { error: `must be at most ${MAX_POOL_PAGES} (got ${n})` };
    return n;
  }).default('auto'),
  overcommit: intSchema(0, MAX_POOL_PAGES).default(0),
});

export const fileSchema = strict({
  name: nameSchema,
  /** ftruncate()d to this size at start: a multiple of 2 MiB (hugetlbfs_setattr refuses other sizes). */
  size: sizeSchema({ align: true, max: TASK_SIZE }),
  /** A SysV shm segment (shmget SHM_HUGETLB at start) instead of a hugetlbfs file: mapped with shmat/shmdt. */
  shm: boolSchema.default(false),
});

export const mappingSchema = strict({
  name: nameSchema,
  file: nameSchema,
  offset: sizeSchema({ align: true, max: TASK_SIZE }).default(0),
  /** Default: the rest of the file from `offset` (filled in by the loader). */
  length: sizeSchema({ align: true, positive: true, max: TASK_SIZE }).optional(),
  shared: boolSchema.default(true),
  write: boolSchema.default(true),
  placement: enumSchema(PLACEMENTS).default('same'),
  address: sizeSchema({ align: true, max: TASK_SIZE }).optional(),
  mapAtStart: boolSchema.default(true),
  /** Registered with userfaultfd (UFFDIO_REGISTER_MODE_MISSING) once mapped. */
  userfaultfd: boolSchema.default(false),
});

export const processSchema = strict({
  name: nameSchema,
  mappings: listSchema(z.unknown()).default([]),
});

export const threadSchema = strict({
  name: nameSchema,
  process: nameSchema,
  ops: listSchema(z.unknown()),
});

/** The body of each op (the value under its one key). Lists of nested ops stay unknown here. */
export const opBodySchemas = {
  touch: strict({
    mapping: nameSchema,
    /** Byte offset inside the mapping (any byte of the huge page to touch). */
    offset: sizeSchema({ max: TASK_SIZE }).default(0),
    /** Bytes from offset; every huge page overlapping [offset, offset+length) is touched; 0 = one page. */
    length: sizeSchema({ max: TASK_SIZE }).default(0),
    write: boolSchema.default(true),
  }),
  mmap: strict({ mapping: nameSchema }),
  munmap: strict({
    mapping: nameSchema,
    /** Part of the mapping (bytes from its start, 2 MiB aligned): a partial munmap splits the vma. */
    offset: sizeSchema({ align: true, max: TASK_SIZE }).optional(),
    length: sizeSchema({ align: true, positive: true, max: TASK_SIZE }).optional(),
  }),
  ftruncate: strict({ file: nameSchema, size: sizeSchema({ align: true, max: TASK_SIZE }) }),
  fallocate: strict({
    file: nameSchema,
    offset: sizeSchema({ max: TASK_SIZE }),
    length: sizeSchema({ positive: true, max: TASK_SIZE }),
    punchHole: boolSchema.default(false),
    keepSize: boolSchema.optional(),
  }),
  mprotect: strict({
    mapping: nameSchema,
    write: boolSchema,
    /** Part of the mapping (bytes from its start, 2 MiB aligned): a partial mprotect splits the vma. */
    offset: sizeSchema({ align: true, max: TASK_SIZE }).optional(),
    length: sizeSchema({ align: true, positive: true, max: TASK_SIZE }).optional(),
  }),
  madvise: strict({ mapping: nameSchema, advice: enumSchema(['dontneed'] as const).default('dontneed') }),
  /** exit: false leaves the child alive (a task that sleeps) after its ops instead of exiting. */
  fork: strict({ child: nameSchema, ops: listSchema(z.unknown()).default([]), exit: boolSchema.default(true) }),
  exit: strict({}),
  loop: strict({ count: intSchema(1, 1_000_000), ops: listSchema(z.unknown()) }),
  /** mremap(MREMAP_MAYMOVE | MREMAP_FIXED) of the whole mapping to the address (and length) of mapping `to` (same file and offset). */
  mremap: strict({ mapping: nameSchema, to: nameSchema }),
  /** shmat() of a shm file's segment at the mapping's address (the mapping covers the whole segment). */
  shmat: strict({ mapping: nameSchema }),
  /** shmdt() of the segment attached at the mapping's address. */
  shmdt: strict({ mapping: nameSchema }),
  /** shmctl(IPC_RMID) of a shm file's segment: destroyed at the last detach. */
  shmctl: strict({ file: nameSchema, cmd: enumSchema(['rmid'] as const).default('rmid') }),
  assert: strict({
    pool: strict({
      total: intSchema(0).optional(),
      free: intSchema(0).optional(),
      reserved: intSchema(0).optional(),
      surplus: intSchema(0).optional(),
    }),
  }),
  /** A user load/store that uses the CPU's cached translation when there is one (the TLB model). */
  access: strict({
    mapping: nameSchema,
    offset: sizeSchema({ max: TASK_SIZE }).default(0),
    write: boolSchema.default(true),
  }),
  /** get_user_pages on [offset, offset+length) (one huge page when length is 0), then put_page. */
  gup: strict({
    mapping: nameSchema,
    offset: sizeSchema({ max: TASK_SIZE }).default(0),
    length: sizeSchema({ max: TASK_SIZE }).default(0),
    write: boolSchema.default(false),
    /** FOLL_NOWAIT: a fault that would wait returns at once (EAGAIN). */
    nowait: boolSchema.default(false),
    /** get_user_pages_fast: the lockless walk with interrupts off first. */
    fast: boolSchema.default(false),
  }),
  /** A page-table walk of the mapping by walk_hugetlb_range(): mincore(2) or /proc/<pid>/smaps. */
  pagewalk: strict({
    mapping: nameSchema,
    walker: enumSchema(['mincore', 'smaps'] as const).default('mincore'),
    offset: sizeSchema({ max: TASK_SIZE }).default(0),
    length: sizeSchema({ max: TASK_SIZE }).default(0),
  }),
  /** move_pages() of the huge page at `offset` of the mapping (issue #5). */
  /** stat: true is move_pages() with nodes == NULL (do_pages_stat: follow_page only, no migration). */
  migrate: strict({ mapping: nameSchema, offset: sizeSchema({ max: TASK_SIZE }).default(0), stat: boolSchema.default(false) }),
  /** madvise(MADV_HWPOISON) of the huge page at `offset`: memory failure on it (issue #5). */
  hwpoison: strict({ mapping: nameSchema, offset: sizeSchema({ max: TASK_SIZE }).default(0) }),
} satisfies Record<OpName, z.ZodType>;

/** The top level, with the sections the loader walks itself left as unknown. */
export const workloadSchema = strict({
  name: nameSchema,
  description: textSchema.default(''),
  tags: listSchema(nameSchema).default([]),
  params: z.unknown().optional(),
  pool: poolSchema.default({ hugePages: 'auto', overcommit: 0 }),
  faultMutexes: custom<number>((v) => {
    const n = typeof v === 'string' && /^\d+$/.test(v.trim()) ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1 || n > 65536 || (n & (n - 1)) !== 0) return { error: `must be a power of two between 1 and 65536, got ${show(v)}` };
    return n;
  }).default(64),
  files: listSchema(fileSchema),
  processes: listSchema(z.unknown()),
  setup: listSchema(z.unknown()).default([]),
  threads: listSchema(z.unknown()),
  repeat: boolSchema.default(false),
});
