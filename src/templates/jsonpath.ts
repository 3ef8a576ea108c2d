/**
 * JSONPath for $input.path / $input.json. Simple definite paths ($, $.a.b,
 * $.a[0], $['a b'], $.a[-1]) are walked directly; anything else goes to
 * jsonpath-plus with its non-eval "safe" script interpreter.
 *
 * Jayway semantics (what AWS runs): a definite path yields the value or
 * nothing; an indefinite path (wildcards, deep scan, filters, unions, slices)
 * yields a list of the matches.
 */
import { JSONPath } from 'jsonpath-plus';

type Segment = string | number;

const SIMPLE = /^\$(?:\.[A-Za-z_$][\w$-]*|\[-?\d+\]|\['[^'\\]*'\]|\["[^"\\]*"\])*$/;
const SEGMENT = /\.([A-Za-z_$][\w$-]*)|\[(-?\d+)\]|\['([^'\\]*)'\]|\["([^"\\]*)"\]/g;

const compiled = new Map<string, Segment[] | null>();
const COMPILED_MAX = 2048;

/** Returns the segments of a simple path, or null when the path needs the full engine. */
export function simplePath(path: string): Segment[] | null {
  let segs = compiled.get(path);
  if (segs !== undefined) return segs;
  segs = null;
  if (SIMPLE.test(path)) {
    segs = [];
    for (const m of path.slice(1).matchAll(SEGMENT)) {
      if (m[1] !== undefined) segs.push(m[1]);
      else if (m[2] !== undefined) segs.push(Number(m[2]));
      else segs.push((m[3] ?? m[4]) as string);
    }
  }
  if (compiled.size >= COMPILED_MAX) compiled.clear();
  compiled.set(path, segs);
  return segs;
}

const INDEFINITE = /\.\.|\*|\?\(|\[[^\]]*[,:][^\]]*\]/;

let slowPaths = 0;
const SLOW_PATHS_MAX = 1024;

export interface PathResult {
  found: boolean;
  value: unknown;
}

const NOT_FOUND: PathResult = { found: false, value: undefined };

function own(obj: object, key: string): boolean {
  return Object.hasOwn(obj, key);
}

/** Evaluates a JSONPath against a parsed JSON root. Never throws. */
export function evaluatePath(root: unknown, rawPath: string): PathResult {
  const path = rawPath.trim();
  const segs = simplePath(path === '' ? '$' : path);
  if (segs) {
    let cur: unknown = root;
    for (const seg of segs) {
      if (cur === null || typeof cur !== 'object') return NOT_FOUND;
      if (Array.isArray(cur)) {
        if (typeof seg !== 'number') return NOT_FOUND;
        const idx = seg < 0 ? cur.length + seg : seg;
        if (idx < 0 || idx >= cur.length) return NOT_FOUND;
        cur = cur[idx];
      } else {
        const key = String(seg);
        if (!own(cur, key)) return NOT_FOUND;
        cur = (cur as Record<string, unknown>)[key];
      }
    }
    return { found: true, value: cur };
  }
  if (!path.startsWith('$')) return NOT_FOUND;
  if (root === null || typeof root !== 'object') return NOT_FOUND;
  // jsonpath-plus caches every path and script it sees in module-level objects;
  // templates can build paths from request data, so keep those caches bounded.
  if (++slowPaths > SLOW_PATHS_MAX) {
    slowPaths = 0;
    (JSONPath as unknown as { cache: Record<string, unknown> }).cache = {};
  }
  let matches: unknown[];
  try {
    matches = JSONPath({ path, json: root as object, wrap: true, eval: 'safe', ignoreEvalErrors: true }) as unknown[];
  } catch {
    return NOT_FOUND;
  }
  if (!Array.isArray(matches)) return NOT_FOUND;
  if (INDEFINITE.test(path)) return { found: true, value: matches };
  if (matches.length === 0) return NOT_FOUND;
  return { found: true, value: matches[0] };
}
