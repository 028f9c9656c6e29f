/**
 * Copies of a machine's model state. Explorers run a workload's setup once per exploration and
 * give every schedule a copy of the machine as it stood after setup (workload/build.ts
 * MachineTemplate), instead of building the machine and running setup again per schedule.
 *
 * A copy is exact for what it copies: every object reachable from the copied roots is copied once
 * (shared references stay shared, cycles stay cycles) with its prototype, own fields, Map and Set
 * entries in order, and typed-array contents. The strict pass, made once on the template, refuses
 * what a copy could not reproduce (functions and closures, generators, tasks, kernels and event
 * buses other than the ones mapped, weak collections, objects with hidden or symbol-keyed fields);
 * the caller then falls back to building every machine afresh.
 */

/** Thrown by a strict copy that met something it cannot copy exactly. */
export class NotCopyable extends Error {}

const PLAIN_TAG = '[object Object]';

/** Copies object graphs; one instance per copy, so that sharing is kept within it. */
export class GraphCopier {
  /** Original -> copy; seed it with objects that must map to given ones (the new kernel, its bus). */
  readonly memo = new Map<object, unknown>();
  constructor(
    /** Check everything (the one-time pass on a template); the per-run copies skip the checks. */
    private readonly strict: boolean,
    /** Strict pass: objects that must not be reached unless seeded in memo (tasks, kernels, buses). */
    private readonly refuse: (x: object) => boolean = () => false,
  ) {}

  copy<T>(x: T): T {
    if (typeof x !== 'object' || x === null) {
      if (this.strict && (typeof x === 'function' || typeof x === 'symbol')) throw new NotCopyable(`a ${typeof x}`);
      return x;
    }
    const seen = this.memo.get(x);
    if (seen !== undefined) return seen as T;
    if (Array.isArray(x)) return this.array(x) as T;
    if (x instanceof Map) {
      const m = new Map<unknown, unknown>();
      this.memo.set(x, m);
      for (const [key, v] of x) m.set(this.copy(key), this.copy(v));
      return m as T;
    }
    if (x instanceof Set) {
      const s = new Set<unknown>();
      this.memo.set(x, s);
      for (const v of x) s.add(this.copy(v));
      return s as T;
    }
    if (ArrayBuffer.isView(x)) {
      if (this.strict && (x instanceof DataView || x.byteOffset !== 0 || x.byteLength !== x.buffer.byteLength)) throw new NotCopyable('a view into a shared buffer');
      const c = (x as unknown as Uint8Array).slice();
      this.memo.set(x, c);
      return c as T;
    }
    if (this.strict) this.check(x);
    const o = Object.create(Object.getPrototypeOf(x)) as Record<string, unknown>;
    this.memo.set(x, o);
    const src = x as Record<string, unknown>;
    for (const key of Object.keys(src)) o[key] = this.copy(src[key]);
    return o as T;
  }

  private array(x: unknown[]): unknown[] {
    const a: unknown[] = [];
    this.memo.set(x, a);
    const n = x.length;
    for (let i = 0; i < n; i++) if (i in x) a[i] = this.copy(x[i]); // holes stay holes
    if (a.length !== n) a.length = n;
    if (this.strict && Object.keys(x).some((key) => !/^\d+$/.test(key))) throw new NotCopyable('an array with extra fields');
    return a;
  }

  private check(x: object): void {
    if (this.refuse(x)) throw new NotCopyable(`a ${x.constructor?.name ?? 'object'} that must not be copied`);
    if (Object.prototype.toString.call(x) !== PLAIN_TAG) throw new NotCopyable(`a built-in object (${Object.prototype.toString.call(x)})`);
    if (!Object.isExtensible(x)) throw new NotCopyable('a frozen or sealed object');
    const keys = Reflect.ownKeys(x);
    for (const key of keys) {
      if (typeof key === 'symbol') throw new NotCopyable('a symbol-keyed field');
      const d = Object.getOwnPropertyDescriptor(x, key)!;
      if (!d.enumerable || d.get || d.set || !d.writable) throw new NotCopyable(`a hidden, accessor or read-only field (${key})`);
    }
  }
}
