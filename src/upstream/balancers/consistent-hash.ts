import type { Balancer, BalancerTarget, PickContext, UpMask } from './types.js';

export type HashOn = { kind: 'header' | 'cookie'; name: string } | { kind: 'ip' | 'path' };

/** Parses `header:NAME`, `cookie:NAME`, `ip` or `path`; undefined when malformed. */
export function parseHashOn(spec: string): HashOn | undefined {
  if (spec === 'ip' || spec === 'path') return { kind: spec };
  const m = /^(header|cookie):(.+)$/.exec(spec);
  if (m === null) return undefined;
  return m[1] === 'header' ? { kind: 'header', name: (m[2] as string).toLowerCase() } : { kind: 'cookie', name: m[2] as string };
}

/** 32-bit FNV-1a over the UTF-16 code units, then a murmur3 finalizer for spread. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  let i = 0;
  while (i < header.length) {
    while (header.charCodeAt(i) === 32) i++;
    const end = header.indexOf(';', i);
    const stop = end < 0 ? header.length : end;
    if (header.startsWith(name, i) && header.charCodeAt(i + name.length) === 61 /* '=' */) return header.slice(i + name.length + 1, stop);
    i = stop + 1;
  }
  return undefined;
}

/** Virtual nodes per unit of weight. */
export const VNODES = 160;

/**
 * A hash ring with `VNODES * weight` points per target, keyed by the target's `key` (its URL), so a
 * target keeps its points when others come and go: removing 1 of N targets remaps about 1/N of keys.
 * A request without the key (no such header/cookie) hashes the empty string (one consistent target).
 */
export class ConsistentHashBalancer<T extends BalancerTarget & { readonly key: string }> implements Balancer<T> {
  readonly #points: Uint32Array;
  readonly #owners: T[];
  readonly #ownerIndex: Int32Array;
  readonly #on: HashOn;
  readonly #up: UpMask;

  constructor(targets: readonly T[], on: HashOn, up?: UpMask) {
    this.#on = on;
    this.#up = up;
    const pts: { h: number; t: T; i: number }[] = [];
    targets.forEach((t, i) => {
      for (let v = 0; v < VNODES * Math.max(0, t.weight); v++) pts.push({ h: hash32(`${t.key}#${v}`), t, i });
    });
    pts.sort((a, b) => a.h - b.h);
    this.#points = Uint32Array.from(pts, (p) => p.h);
    this.#owners = pts.map((p) => p.t);
    this.#ownerIndex = Int32Array.from(pts, (p) => p.i);
  }

  key(ctx: PickContext | undefined): string {
    if (ctx === undefined) return '';
    const on = this.#on;
    switch (on.kind) {
      case 'ip':
        return ctx.clientIp;
      case 'path':
        return ctx.path;
      case 'header':
        return ctx.upstreamHeaders.get(on.name) ?? '';
      case 'cookie':
        return cookieValue(ctx.upstreamHeaders.get('cookie'), on.name) ?? '';
    }
  }

  pick(ctx: PickContext | undefined): T | undefined {
    return this.pickKey(this.key(ctx));
  }

  /** The first ring point at or after the key's hash (wrapping). */
  pickKey(key: string): T | undefined {
    const pts = this.#points;
    if (pts.length === 0) return undefined;
    const h = hash32(key);
    let lo = 0;
    let hi = pts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((pts[mid] as number) < h) lo = mid + 1;
      else hi = mid;
    }
    let at = lo === pts.length ? 0 : lo;
    const up = this.#up;
    if (up === undefined) return this.#owners[at];
    // An ejected target's keys go to the next healthy point clockwise, as if it were removed.
    for (let k = 0; k < pts.length; k++) {
      if (up[this.#ownerIndex[at] as number] === 1) return this.#owners[at];
      at = at + 1 === pts.length ? 0 : at + 1;
    }
    return undefined;
  }
}
