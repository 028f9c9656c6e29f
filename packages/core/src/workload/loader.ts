/**
 * Loads a workload file (YAML or JSON, format in docs/workloads.md) into a WorkloadSpec:
 * parameters substituted (defaults, then `--set` overrides), sizes turned into bytes, `count`
 * expanded, every cross reference checked. Bad input only ever throws WorkloadError, whose
 * message is one line naming the field path.
 */
import { readFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { HPAGE_SIZE, PUD_SIZE } from '../model/constants.js';
import { placeMappings } from './build.js';
import type { MappingSpec, Op, ProcessSpec, ThreadSpec, WorkloadSpec } from './types.js';
import {
  MAX_COUNT,
  MAX_POOL_PAGES,
  OP_NAMES,
  TASK_SIZE,
  fmtSize,
  intSchema,
  mappingSchema,
  opBodySchemas,
  processSchema,
  resultSchema,
  show,
  sizeOrError,
  threadSchema,
  workloadSchema,
  type OpName,
} from './schema.js';

export { OP_NAMES, OP_RESULTS, PLACEMENTS, fmtSize } from './schema.js';

export class WorkloadError extends Error {
  override readonly name = 'WorkloadError';
  constructor(
    message: string,
    /** Field path of the problem (e.g. `processes[1].mappings[0].length`), when there is one. */
    readonly path?: string,
    /** Name of the workload, when known. */
    readonly workload?: string,
  ) {
    super(oneLine(message));
  }
}

export interface LoadOptions {
  /** Parameter overrides (`--set key=value`); an unknown key is an error. */
  set?: Record<string, string>;
  /** Where the text came from (a path), used in messages when the workload has no name yet. */
  source?: string;
}

function oneLine(s: string): string {
  return s.replace(/\s*[\r\n]+\s*/g, ' ').trim();
}

/** A size in bytes from a number or a string such as "2MiB", "1GiB", "0x40000000". Throws WorkloadError. */
export function parseSize(s: string | number): number {
  const r = sizeOrError(s);
  if (typeof r === 'string') throw new WorkloadError(`bad size: ${r}`);
  return r;
}

/** Parse YAML or JSON text and load it. */
export function loadWorkloadText(text: string, opts: LoadOptions = {}): WorkloadSpec {
  const where = opts.source ? `workload ${opts.source}` : 'workload';
  if (typeof text !== 'string') throw new WorkloadError(`${where}: expected text, got ${show(text)}`);
  let obj: unknown;
  try {
    const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
    const err = doc.errors[0];
    if (err) {
      const pos = err.linePos?.[0];
      const at = pos ? `line ${pos.line}, column ${pos.col}: ` : '';
      const what = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new WorkloadError(`${where}: ${at}${what}`);
    }
    obj = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    if (e instanceof WorkloadError) throw e;
    throw new WorkloadError(`${where}: cannot parse: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}`);
  }
  return loadWorkloadObject(obj, opts);
}

/** Load a workload file (.yaml, .yml or .json). A missing or unreadable file is a WorkloadError. */
export function loadWorkloadFile(path: string, opts: LoadOptions = {}): WorkloadSpec {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new WorkloadError(`workload ${path}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : `cannot read (${code ?? String(e)})`}`);
  }
  return loadWorkloadText(text, { ...opts, source: opts.source ?? path });
}

/** Load an already parsed workload (the object form of the file). */
export function loadWorkloadObject(obj: unknown, opts: LoadOptions = {}): WorkloadSpec {
  try {
    return new Loader(obj, opts).load();
  } catch (e) {
    if (e instanceof RangeError) throw new WorkloadError(`${opts.source ? `workload ${opts.source}` : 'workload'}: input too deeply nested or too large (${e.message})`);
    throw e;
  }
}

const PARAM_RE = /\$\{([^}]*)\}/g;
const WHOLE_PARAM_RE = /^\$\{([^}]*)\}$/;
const PARAM_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

const child = (path: string, key: string | number): string => (typeof key === 'number' ? `${path}[${key}]` : path ? `${path}.${key}` : key);

/** Set an own property even for a key like "__proto__". */
function setOwn(o: Record<string, unknown>, k: string, v: unknown): void {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Edit distance, for "did you mean". */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0]!;
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = d[j]!;
      d[j] = Math.min(d[j]! + 1, d[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return d[b.length]!;
}

/** The nearest candidate by edit distance, if within `maxDistance` (default: near enough to be a likely typo). */
export function nearestName(word: string, names: Iterable<string>, maxDistance?: number): string | undefined {
  const candidates = [...names];
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) {
      bestD = dist;
      best = c;
    }
  }
  if (best !== undefined && bestD <= (maxDistance ?? Math.max(2, Math.floor(word.length / 3)))) return best;
  // An abbreviation ("procs" for "processes") is a likely slip too.
  const w = word.toLowerCase();
  if (w.length >= 3) for (const c of candidates) if (c.toLowerCase().startsWith(w.slice(0, 3)) && [...w].every((ch) => c.toLowerCase().includes(ch))) return c;
  return undefined;
}

const didYouMean = (word: string, candidates: Iterable<string>): string => {
  const n = nearestName(word, candidates);
  return n ? ` (did you mean "${n}"?)` : '';
};

interface ProcInfo {
  spec: ProcessSpec;
  path: string;
  mappings: Map<string, MappingSpec>;
}

class Loader {
  private name: string | undefined;
  private params = new Map<string, number | string>();
  /** Field paths whose value came from a parameter, for messages. */
  private fromParam = new Map<string, string>();
  private files = new Map<string, number>();
  /** Files that are SysV shm segments (files[].shm). */
  private shmFiles = new Set<string>();
  private procs = new Map<string, ProcInfo>();
  private threadNames = new Set<string>();
  private forkChildren = new Map<string, string>();

  constructor(
    private readonly raw: unknown,
    private readonly opts: LoadOptions,
  ) {}

  private fail(path: string, message: string): never {
    const who = this.name !== undefined ? `workload "${this.name}"` : this.opts.source ? `workload ${this.opts.source}` : 'workload';
    const param = this.fromParam.get(path.replace(/\(i=\d+\)/g, ''));
    const note = param !== undefined ? ` (value from parameter "${param}")` : '';
    throw new WorkloadError(`${who}: ${path ? `${path}: ` : ''}${message}${note}`, path || undefined, this.name);
  }

  /** Parse `value` at `path` with a schema; the first problem becomes a WorkloadError. */
  private parse<T extends z.ZodType>(schema: T, value: unknown, path: string): z.output<T> {
    const r = schema.safeParse(value, { error: (iss) => (iss.code === 'invalid_type' && iss.input === undefined ? 'is required' : undefined) });
    if (r.success) return r.data;
    // An unknown field explains a "required" one next to it (a typo), so it goes first.
    const issues = [...r.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
    const iss = issues[0]!;
    let p = path;
    for (const k of iss.path) p = child(p, typeof k === 'number' ? k : String(k));
    if (iss.code === 'unrecognized_keys') {
      const key = iss.keys[0]!;
      const known = /\(known: (.*)\)$/.exec(iss.message)?.[1]?.split(', ') ?? [];
      this.fail(child(p, key), `unknown field${didYouMean(key, known)}${known.length ? ` (known: ${known.join(', ')})` : ''}`);
    }
    this.fail(p, iss.message);
  }

  load(): WorkloadSpec {
    const raw = this.raw;
    if (!isPlainObject(raw)) this.fail('', `expected a mapping with name, files, processes, threads..., got ${show(raw)}`);
    if (typeof raw.name === 'string' && /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(raw.name)) this.name = raw.name;
    this.loadParams(raw.params);
    // Substitute parameters everywhere but in `params` itself; `${i}` waits for `count`.
    const subst: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) setOwn(subst, k, k === 'params' ? v : this.substitute(v, k));
    const top = this.parse(workloadSchema, subst, '');
    this.name = top.name;

    for (const [i, f] of top.files.entries()) {
      if (this.files.has(f.name)) this.fail(`files[${i}].name`, `duplicate file name "${f.name}"`);
      this.files.set(f.name, f.size);
      if (f.shm) this.shmFiles.add(f.name);
    }

    const processes: ProcessSpec[] = [];
    for (const { value, path } of this.expand(top.processes, 'processes')) {
      const p = this.parse(processSchema, value, path);
      if (this.procs.has(p.name)) this.fail(child(path, 'name'), `duplicate process name "${p.name}"`);
      const info: ProcInfo = { spec: { name: p.name, mappings: [] }, path, mappings: new Map() };
      for (const [j, m] of p.mappings.entries()) {
        const ms = this.loadMapping(m, child(child(path, 'mappings'), j));
        if (info.mappings.has(ms.name)) this.fail(child(child(child(path, 'mappings'), j), 'name'), `duplicate mapping name "${ms.name}" in process "${p.name}"`);
        info.mappings.set(ms.name, ms);
        info.spec.mappings.push(ms);
      }
      this.procs.set(p.name, info);
      processes.push(info.spec);
    }
    if (processes.length === 0) this.fail('processes', 'needs at least one process');

    const threadItems = this.expand(top.threads, 'threads').map(({ value, path }) => ({ t: this.parse(threadSchema, value, path), path }));
    for (const { t, path } of threadItems) {
      if (this.threadNames.has(t.name)) this.fail(child(path, 'name'), `duplicate thread name "${t.name}"`);
      if (t.name === 'setup') this.fail(child(path, 'name'), '"setup" is reserved for the setup task');
      this.threadNames.add(t.name);
    }
    if (threadItems.length === 0) this.fail('threads', 'needs at least one thread');

    const setup: WorkloadSpec['setup'] = [];
    for (const [i, item] of top.setup.entries()) {
      const path = `setup[${i}]`;
      this.noIndexVar(item, path);
      if (!isPlainObject(item)) this.fail(path, `expected {process: <name>, <op>: {...}}, got ${show(item)}`);
      const { process, ...rest } = item;
      if (process === undefined) this.fail(child(path, 'process'), 'is required');
      if (typeof process !== 'string') this.fail(child(path, 'process'), `expected a process name, got ${show(process)}`);
      const info = this.procs.get(process);
      if (!info) this.fail(child(path, 'process'), `no process "${process}"${didYouMean(process, this.procs.keys())}`);
      const op = this.loadOp(rest, path, info, true);
      if (op.op === 'fork') this.fail(child(path, 'fork'), 'fork is not allowed in setup (setup runs as one task; fork in a thread)');
      if (op.op !== 'loop' && op.op !== 'assert' && op.expect === undefined) op.expect = 'ok';
      setup.push({ process, op });
    }

    const threads: ThreadSpec[] = [];
    for (const { t, path } of threadItems) {
      const info = this.procs.get(t.process);
      if (!info) this.fail(child(path, 'process'), `no process "${t.process}"${didYouMean(t.process, this.procs.keys())}`);
      if (t.ops.length === 0) this.fail(child(path, 'ops'), 'needs at least one op');
      const ops = t.ops.map((o, j) => this.loadOp(o, child(child(path, 'ops'), j), info, false));
      threads.push({ name: t.name, process: t.process, ops });
    }

    const spec: WorkloadSpec = {
      name: top.name,
      description: top.description,
      tags: top.tags,
      params: Object.fromEntries(this.params),
      pool: { hugePages: 0, overcommit: top.pool.overcommit },
      faultMutexes: top.faultMutexes,
      files: [...this.files].map(([name, size]) => (this.shmFiles.has(name) ? { name, size, shm: true } : { name, size })),
      processes,
      setup,
      threads,
      repeat: top.repeat,
    };
    spec.pool.hugePages = top.pool.hugePages === 'auto' ? this.autoPool(spec) : top.pool.hugePages;
    this.checkAddresses(spec);
    return spec;
  }

  private loadParams(raw: unknown): void {
    if (raw !== undefined && raw !== null) {
      if (!isPlainObject(raw)) this.fail('params', `expected a mapping of name: default, got ${show(raw)}`);
      for (const [k, v] of Object.entries(raw)) {
        const path = child('params', k);
        if (!PARAM_NAME_RE.test(k)) this.fail(path, 'a parameter name is letters, digits and _ (not starting with a digit)');
        if (k === 'i') this.fail(path, '"i" is reserved for the index of a process or thread with count');
        if (typeof v !== 'number' && typeof v !== 'string') this.fail(path, `a parameter's default is a number or a string, got ${show(v)}`);
        if (typeof v === 'number' && !Number.isFinite(v)) this.fail(path, `expected a finite number, got ${show(v)}`);
        if (typeof v === 'string' && v.includes('${')) this.fail(path, "a parameter's default cannot refer to another parameter");
        this.params.set(k, v);
      }
    }
    for (const [k, v] of Object.entries(this.opts.set ?? {})) {
      if (!this.params.has(k)) {
        const known = [...this.params.keys()];
        this.fail('', `--set ${k}: unknown parameter${didYouMean(k, known)} (${known.length ? `known: ${known.join(', ')}` : 'this workload has no params'})`);
      }
      if (typeof v !== 'string') this.fail('', `--set ${k}: expected a string value, got ${show(v)}`);
      if (v.includes('${')) this.fail('', `--set ${k}: a value cannot refer to a parameter`);
      this.params.set(k, /^-?\d+(\.\d+)?$/.test(v.trim()) ? Number(v) : v);
    }
  }

  /** Replace `${param}` in every string below `v`; a whole-value reference keeps the param's type. */
  private substitute(v: unknown, path: string): unknown {
    if (typeof v === 'string') {
      if (!v.includes('${')) return v;
      const whole = WHOLE_PARAM_RE.exec(v);
      if (whole && whole[1] !== 'i') {
        const val = this.param(whole[1]!, path);
        this.fromParam.set(path, whole[1]!);
        return val;
      }
      return v.replace(PARAM_RE, (m, name: string) => {
        if (name === 'i') return m;
        const val = this.param(name, path);
        this.fromParam.set(path, name);
        return String(val);
      });
    }
    if (Array.isArray(v)) return v.map((x, i) => this.substitute(x, child(path, i)));
    if (isPlainObject(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) setOwn(out, k, this.substitute(x, child(path, k)));
      return out;
    }
    return v;
  }

  private param(name: string, path: string): number | string {
    const val = this.params.get(name);
    if (val === undefined) {
      const known = [...this.params.keys()];
      this.fail(path, `unknown parameter "\${${name}}"${didYouMean(name, known)} (${known.length ? `params: ${known.join(', ')}` : 'the workload has no params'})`);
    }
    return val;
  }

  /** Expand items with `count: N` into N copies with `${i}` = 0..N-1; the path names the item and i. */
  private expand(items: unknown[], section: string): Array<{ value: unknown; path: string }> {
    const out: Array<{ value: unknown; path: string }> = [];
    for (const [k, item] of items.entries()) {
      const path = `${section}[${k}]`;
      if (!isPlainObject(item) || item.count === undefined) {
        this.noIndexVar(item, path);
        out.push({ value: item, path });
        continue;
      }
      const { count: rawCount, ...rest } = item;
      const count = this.parse(intSchema(1, MAX_COUNT), rawCount, child(path, 'count'));
      if (typeof rest.name !== 'string' || !rest.name.includes('${i}')) {
        this.fail(child(path, 'name'), `must contain "\${i}" when count is given (got ${show(rest.name)})`);
      }
      if (out.length + count > MAX_COUNT) this.fail(child(path, 'count'), `${section} would number more than ${MAX_COUNT}`);
      for (let i = 0; i < count; i++) out.push({ value: replaceIndex(rest, i), path: `${path}(i=${i})` });
    }
    return out;
  }

  /** `${i}` outside an item with count. */
  private noIndexVar(v: unknown, path: string): void {
    if (typeof v === 'string') {
      if (v.includes('${i}')) this.fail(path, '"${i}" is only defined inside a process or thread with count');
    } else if (Array.isArray(v)) v.forEach((x, i) => this.noIndexVar(x, child(path, i)));
    else if (isPlainObject(v)) for (const [k, x] of Object.entries(v)) this.noIndexVar(x, child(path, k));
  }

  private loadMapping(raw: unknown, path: string): MappingSpec {
    const m = this.parse(mappingSchema, raw, path);
    const fileSize = this.files.get(m.file);
    if (fileSize === undefined) this.fail(child(path, 'file'), `no file "${m.file}"${didYouMean(m.file, this.files.keys())}`);
    let length = m.length;
    if (length === undefined) {
      if (fileSize <= m.offset) this.fail(child(path, 'length'), `is required: file "${m.file}" (${fmtSize(fileSize)}) has nothing past offset ${fmtSize(m.offset)}`);
      length = fileSize - m.offset;
    }
    if (m.placement === 'fixed' && m.address === undefined) this.fail(child(path, 'address'), 'is required with placement: fixed');
    if (m.placement !== 'fixed' && m.address !== undefined) this.fail(child(path, 'address'), `only goes with placement: fixed (placement is ${m.placement})`);
    if (m.address !== undefined && m.address + length > TASK_SIZE) this.fail(child(path, 'address'), `mapping ends at 0x${(m.address + length).toString(16)}, past the user address space (0x${TASK_SIZE.toString(16)})`);
    if (this.shmFiles.has(m.file) && (m.offset !== 0 || length !== fileSize || !m.shared)) this.fail(path, `mapping "${m.name}" of shm segment "${m.file}" must be shared and cover the whole segment (shmat maps all of it)`);
    const ms: MappingSpec = { name: m.name, file: m.file, offset: m.offset, length, shared: m.shared, write: m.write, placement: m.placement, mapAtStart: m.mapAtStart };
    if (m.userfaultfd) ms.userfaultfd = true;
    if (m.address !== undefined) ms.address = m.address;
    return ms;
  }

  private loadOp(raw: unknown, path: string, proc: ProcInfo, inSetup: boolean, depth = 0): Op {
    if (depth > 32) this.fail(path, 'ops nested more than 32 deep');
    if (!isPlainObject(raw)) this.fail(path, `expected an op like {touch: {mapping: m, offset: 0}}, got ${show(raw)}`);
    const { expect: rawExpect, ...rest } = raw;
    const keys = Object.keys(rest);
    const known = inSetup ? `process, ${OP_NAMES.join(', ')}` : OP_NAMES.join(', ');
    if (keys.length === 0) this.fail(path, `missing the op (one of ${OP_NAMES.join(', ')})`);
    const unknown = keys.find((k) => !(OP_NAMES as readonly string[]).includes(k));
    if (unknown !== undefined) this.fail(child(path, unknown), `unknown op${didYouMean(unknown, inSetup ? ['process', ...OP_NAMES, 'expect'] : [...OP_NAMES, 'expect'])} (known: ${known}, expect)`);
    if (keys.length > 1) this.fail(path, `one op per item, got ${keys.join(' and ')}`);
    const kind = keys[0] as OpName;
    const bpath = child(path, kind);
    const body = rest[kind] === null && (kind === 'exit' || kind === 'fork') ? {} : rest[kind];
    let expect: string | undefined;
    if (rawExpect !== undefined) {
      if (kind === 'loop' || kind === 'assert') this.fail(child(path, 'expect'), `${kind} has no result to expect`);
      expect = this.parse(resultSchema, rawExpect, child(path, 'expect'));
    }
    const withExpect = <T extends Op>(op: T): T => (expect !== undefined ? { ...op, expect } : op);
    const mapping = (name: string, at: string): MappingSpec => {
      const ms = proc.mappings.get(name);
      if (!ms) {
        const have = [...proc.mappings.keys()];
        this.fail(at, `no mapping "${name}" in process "${proc.spec.name}"${didYouMean(name, have)}${have.length ? ` (it has ${have.join(', ')})` : ' (it has no mappings)'}`);
      }
      return ms;
    };
    const file = (name: string, at: string): string => {
      if (!this.files.has(name)) this.fail(at, `no file "${name}"${didYouMean(name, this.files.keys())}`);
      return name;
    };
    switch (kind) {
      case 'touch': {
        const b = this.parse(opBodySchemas.touch, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        const end = b.offset + Math.max(b.length, 1);
        if (end > ms.length) this.fail(child(bpath, b.length > 0 ? 'length' : 'offset'), `touches past the end of mapping "${ms.name}" (length ${fmtSize(ms.length)}; offset ${fmtSize(b.offset)}, length ${fmtSize(b.length)})`);
        // Cover every huge page overlapping [offset, offset+length): build.ts steps 2 MiB from offset.
        const length = b.length === 0 ? 0 : Math.ceil(end / HPAGE_SIZE) * HPAGE_SIZE - Math.floor(b.offset / HPAGE_SIZE) * HPAGE_SIZE;
        return withExpect({ op: 'touch', mapping: b.mapping, offset: b.offset, length, write: b.write });
      }
      case 'mmap': {
        const b = this.parse(opBodySchemas[kind], body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        if (this.shmFiles.has(ms.file)) this.fail(child(bpath, 'mapping'), `mapping "${ms.name}" is of shm segment "${ms.file}": attach it with shmat`);
        return withExpect({ op: kind, mapping: b.mapping });
      }
      case 'munmap': {
        const b = this.parse(opBodySchemas.munmap, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        return withExpect({ op: 'munmap', mapping: b.mapping, ...this.part(ms, b.offset, b.length, bpath) });
      }
      case 'mprotect': {
        const b = this.parse(opBodySchemas.mprotect, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        return withExpect({ op: 'mprotect', mapping: b.mapping, write: b.write, ...this.part(ms, b.offset, b.length, bpath) });
      }
      case 'mremap': {
        const b = this.parse(opBodySchemas.mremap, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        const to = mapping(b.to, child(bpath, 'to'));
        if (to === ms) this.fail(child(bpath, 'to'), 'must name another mapping (the destination)');
        if (to.file !== ms.file || to.offset !== ms.offset || to.shared !== ms.shared || to.write !== ms.write) this.fail(child(bpath, 'to'), `mapping "${to.name}" must map the same file at the same offset with the same shared/write flags as "${ms.name}"`);
        if (to.mapAtStart) this.fail(child(bpath, 'to'), `mapping "${to.name}" is the destination: give it mapAtStart: false`);
        return withExpect({ op: 'mremap', mapping: b.mapping, to: b.to });
      }
      case 'shmat':
      case 'shmdt': {
        const b = this.parse(opBodySchemas[kind], body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        if (!this.shmFiles.has(ms.file)) this.fail(child(bpath, 'mapping'), `mapping "${ms.name}" maps "${ms.file}", which is not a shm segment (files[].shm: true)`);
        return withExpect({ op: kind, mapping: b.mapping });
      }
      case 'shmctl': {
        const b = this.parse(opBodySchemas.shmctl, body, bpath);
        const f = file(b.file, child(bpath, 'file'));
        if (!this.shmFiles.has(f)) this.fail(child(bpath, 'file'), `"${f}" is not a shm segment (files[].shm: true)`);
        return withExpect({ op: 'shmctl', file: f, cmd: b.cmd });
      }
      case 'madvise': {
        const b = this.parse(opBodySchemas.madvise, body, bpath);
        mapping(b.mapping, child(bpath, 'mapping'));
        return withExpect({ op: 'madvise', mapping: b.mapping, advice: b.advice });
      }
      case 'migrate':
      case 'hwpoison': {
        const b = this.parse(opBodySchemas[kind], body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        if (b.offset >= ms.length) this.fail(child(bpath, 'offset'), `is past the end of mapping "${ms.name}" (length ${fmtSize(ms.length)})`);
        if (kind === 'migrate' && 'stat' in b && b.stat) return withExpect({ op: kind, mapping: b.mapping, offset: b.offset, stat: true as const });
        return withExpect({ op: kind, mapping: b.mapping, offset: b.offset });
      }
      case 'ftruncate': {
        const b = this.parse(opBodySchemas.ftruncate, body, bpath);
        return withExpect({ op: 'ftruncate', file: file(b.file, child(bpath, 'file')), size: b.size });
      }
      case 'fallocate': {
        const b = this.parse(opBodySchemas.fallocate, body, bpath);
        file(b.file, child(bpath, 'file'));
        if (b.offset + b.length > TASK_SIZE) this.fail(child(bpath, 'length'), `range ends past ${fmtSize(TASK_SIZE)}`);
        // FALLOC_FL_PUNCH_HOLE is only accepted together with FALLOC_FL_KEEP_SIZE.
        if (b.punchHole && b.keepSize === false) this.fail(child(bpath, 'keepSize'), 'punchHole requires keepSize (the kernel refuses FALLOC_FL_PUNCH_HOLE without FALLOC_FL_KEEP_SIZE)');
        return withExpect({ op: 'fallocate', file: b.file, offset: b.offset, length: b.length, punchHole: b.punchHole, keepSize: b.keepSize ?? b.punchHole });
      }
      case 'fork': {
        const b = this.parse(opBodySchemas.fork, body, bpath);
        const cpath = child(bpath, 'child');
        if (this.procs.has(b.child)) this.fail(cpath, `"${b.child}" is already a process name`);
        if (this.threadNames.has(b.child)) this.fail(cpath, `"${b.child}" is already a thread name`);
        const prev = this.forkChildren.get(b.child);
        if (prev !== undefined) this.fail(cpath, `"${b.child}" is already the child of ${prev}`);
        this.forkChildren.set(b.child, bpath);
        // The child runs its ops on a copy of the parent's mappings, then exits (unless exit: false).
        const ops = b.ops.map((o, j) => this.loadOp(o, child(child(bpath, 'ops'), j), proc, inSetup, depth + 1));
        return withExpect({ op: 'fork', child: b.child, ops, ...(b.exit ? {} : { exit: false as const }) });
      }
      case 'access': {
        const b = this.parse(opBodySchemas.access, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        if (b.offset >= ms.length) this.fail(child(bpath, 'offset'), `is past the end of mapping "${ms.name}" (length ${fmtSize(ms.length)})`);
        return withExpect({ op: 'access', mapping: b.mapping, offset: b.offset, write: b.write });
      }
      case 'gup':
      case 'pagewalk': {
        const b = kind === 'gup' ? this.parse(opBodySchemas.gup, body, bpath) : this.parse(opBodySchemas.pagewalk, body, bpath);
        const ms = mapping(b.mapping, child(bpath, 'mapping'));
        if (b.offset + Math.max(b.length, 1) > ms.length) this.fail(child(bpath, b.length > 0 ? 'length' : 'offset'), `goes past the end of mapping "${ms.name}" (length ${fmtSize(ms.length)})`);
        if ('walker' in b) return withExpect({ op: 'pagewalk', mapping: b.mapping, walker: b.walker, offset: b.offset, length: b.length });
        return withExpect({ op: 'gup', mapping: b.mapping, offset: b.offset, length: b.length, write: b.write, nowait: b.nowait, fast: b.fast });
      }
      case 'exit':
        this.parse(opBodySchemas.exit, body, bpath);
        return withExpect({ op: 'exit' });
      case 'loop': {
        const b = this.parse(opBodySchemas.loop, body, bpath);
        if (b.ops.length === 0) this.fail(child(bpath, 'ops'), 'needs at least one op');
        const ops = b.ops.map((o, j) => this.loadOp(o, child(child(bpath, 'ops'), j), proc, inSetup, depth + 1));
        if (inSetup && ops.some((o) => o.op === 'fork')) this.fail(child(bpath, 'ops'), 'fork is not allowed in setup');
        return { op: 'loop', count: b.count, ops };
      }
      case 'assert': {
        const b = this.parse(opBodySchemas.assert, body, bpath);
        const pool = Object.fromEntries(Object.entries(b.pool).filter(([, v]) => v !== undefined));
        if (Object.keys(pool).length === 0) this.fail(child(bpath, 'pool'), 'needs at least one of total, free, reserved, surplus');
        return { op: 'assert', pool };
      }
    }
  }

  /** The optional offset/length of a partial munmap or mprotect, checked against the mapping. */
  private part(ms: MappingSpec, offset: number | undefined, length: number | undefined, at: string): { offset?: number; length?: number } {
    if (offset === undefined && length === undefined) return {};
    const off = offset ?? 0;
    const len = length ?? ms.length - off;
    if (len <= 0 || off + len > ms.length) this.fail(child(at, length !== undefined ? 'length' : 'offset'), `range past the end of mapping "${ms.name}" (length ${fmtSize(ms.length)}; offset ${fmtSize(off)}, length ${fmtSize(len)})`);
    return { offset: off, length: len };
  }

  /** pool.hugePages: auto = every file's pages, plus every private writable mapping's own pages. */
  private autoPool(spec: WorkloadSpec): number {
    let pages = 0;
    for (const f of spec.files) pages += Math.ceil(f.size / HPAGE_SIZE);
    for (const p of spec.processes) for (const m of p.mappings) if (!m.shared && m.write) pages += m.length / HPAGE_SIZE;
    if (pages > MAX_POOL_PAGES) this.fail('pool.hugePages', `auto would need ${pages} huge pages, more than ${MAX_POOL_PAGES}`);
    return pages;
  }

  /** Mappings mapped at start must fit in the address space and not overlap inside one process. */
  private checkAddresses(spec: WorkloadSpec): void {
    const placed = placeMappings(spec, 1);
    for (const p of spec.processes) {
      const info = this.procs.get(p.name)!;
      const addrs = placed.get(p.name)!;
      const ranges: Array<{ name: string; start: number; end: number; j: number }> = [];
      p.mappings.forEach((m, j) => {
        const at = addrs.get(m.name)!;
        // A random placement may land anywhere in the first 1 GiB of its slot.
        const start = m.placement === 'random' ? Math.floor(at / PUD_SIZE) * PUD_SIZE : at;
        const end = m.placement === 'random' ? start + PUD_SIZE + m.length : at + m.length;
        if (end > TASK_SIZE) this.fail(child(child(info.path, 'mappings'), j), `mapping "${m.name}" does not fit in the user address space (the mappings of process "${p.name}" need more than ${fmtSize(TASK_SIZE - 0x7f00_0000_0000)} above 0x7f0000000000)`);
        if (m.mapAtStart) ranges.push({ name: m.name, start, end, j });
      });
      for (const a of ranges)
        for (const b of ranges)
          if (a.j < b.j && a.start < b.end && b.start < a.end)
            this.fail(child(child(info.path, 'mappings'), b.j), `mapping "${b.name}" overlaps mapping "${a.name}" in process "${p.name}" (both mapped at start)`);
    }
  }
}

function replaceIndex(v: unknown, i: number): unknown {
  if (typeof v === 'string') return v === '${i}' ? i : v.split('${i}').join(String(i));
  if (Array.isArray(v)) return v.map((x) => replaceIndex(x, i));
  if (isPlainObject(v)) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, replaceIndex(x, i));
    return out;
  }
  return v;
}
