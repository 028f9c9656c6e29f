/**
 * Replay tokens: one short string carrying the workload (name, params, hash), the strategy, the
 * explorer, the seed and the schedule. Format: "hs1." + base64url(JSON), the schedule run-length
 * encoded as "thread*count" pairs.
 */
export interface TokenData {
  workload: string;
  params: Record<string, number | string>;
  strategy: string;
  explorer: string;
  seed: number;
  schedule: number[];
  specHash: string;
}

export function rle(s: readonly number[]): string {
  const out: string[] = [];
  for (let i = 0; i < s.length; ) {
    let j = i;
    while (j < s.length && s[j] === s[i]) j++;
    out.push(j - i > 1 ? `${s[i]}*${j - i}` : `${s[i]}`);
    i = j;
  }
  return out.join(',');
}

export function unrle(s: string): number[] {
  if (!s) return [];
  const out: number[] = [];
  for (const part of s.split(',')) {
    const [a, b] = part.split('*');
    const t = Number(a);
    const n = b === undefined ? 1 : Number(b);
    if (!Number.isInteger(t) || !Number.isInteger(n) || t < 0 || n < 1) throw new Error(`bad schedule entry "${part}"`);
    for (let i = 0; i < n; i++) out.push(t);
  }
  return out;
}

export function encodeToken(d: TokenData): string {
  const json = JSON.stringify({ v: 1, w: d.workload, p: d.params, s: d.strategy, e: d.explorer, r: d.seed, h: d.specHash, x: rle(d.schedule) });
  return `hs1.${Buffer.from(json, 'utf8').toString('base64url')}`;
}

/** Decode a token; throws an Error with a one-line message on anything malformed. */
export function decodeToken(tok: string): TokenData {
  const t = tok.trim();
  if (!t.startsWith('hs1.')) throw new Error('not a hugesync replay token (expected it to start with "hs1.")');
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(Buffer.from(t.slice(4), 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new Error('replay token is corrupt (not base64url JSON)');
  }
  if (typeof o.w !== 'string' || typeof o.s !== 'string' || typeof o.x !== 'string' || typeof o.r !== 'number') throw new Error('replay token is missing fields');
  return {
    workload: o.w,
    params: (o.p ?? {}) as Record<string, number | string>,
    strategy: o.s,
    explorer: String(o.e ?? 'random'),
    seed: o.r,
    schedule: unrle(o.x),
    specHash: String(o.h ?? ''),
  };
}
