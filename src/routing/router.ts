// Route table lookup: a hand-written segment trie with AWS API Gateway precedence.
//
// Why not find-my-way: one lookup here must answer "found", "path matched but
// the method did not (and which methods would)", or "nothing", while honouring
// AWS precedence, host buckets and header/query conditions. Full semantics live
// in docs/routing.md; the short version:
//
// * Paths arrive normalized by src/server/path.ts and are matched byte for byte
//   (case-sensitive, still percent-encoded). A trailing slash is significant:
//   '/users/' is the segment list ['users', ''] and does not match '/users'.
//   '/' is the single empty segment, so '/{id}' and '/{proxy+}' never match '/'.
// * Precedence per segment, left to right: literal > {param} > {proxy+}, with
//   backtracking when the more specific branch fails deeper. {param} matches one
//   non-empty segment; {proxy+} matches one or more segments (the rest of the
//   path, never empty). A method or condition miss also backtracks: the route
//   key is METHOD + path, as in AWS HTTP APIs, so `POST /a/b` reaches
//   `POST /a/{x}` when '/a/b' only declares GET.
// * On one node: exact method before ANY; inside one method, routes with more
//   conditions first, then declaration order. HEAD does not fall back to GET.
// * Hosts: exact bucket > longest wildcard suffix > host-less routes. The chosen
//   bucket is searched first, then host-less routes; then $default (bucket's,
//   then host-less). $default wins over 405.
// * 405 only when some node matched the path and no matched node declares the
//   method (or ANY); Allow is the sorted union of the methods declared on every
//   node that matched the path. If the method is declared but only behind
//   conditions that failed, the answer is 404.
//
// HOT PATH: `lookup` allocates nothing except, for routes with params, the
// params object and its value strings, plus the per-segment key substring used
// for the Map probe. Fully literal routes are answered by one Map.get on the
// whole path and return a pre-built frozen Match. Cost depends on the number of
// segments and on the branching at each segment, never on the number of routes.

import safeRegex from 'safe-regex2';
import type { Match, RouteDefinition, RouteLookup } from './types.js';

export type { Match, RouteDefinition, RouteLookup } from './types.js';

/** Thrown by the constructor; the message names the route (by index and key) and the fix. */
export class RouterBuildError extends Error {
  override readonly name = 'RouterBuildError';
  readonly code = 'ROUTER_BUILD_FAILED';
  /** Index of the offending route in the array given to the constructor. */
  readonly routeIndex: number;
  constructor(message: string, routeIndex: number) {
    super(message);
    this.routeIndex = routeIndex;
  }
}

interface Condition {
  readonly name: string;
  /** Exact expected value, or null when `regex` is used. */
  readonly exact: string | null;
  readonly regex: RegExp | null;
}

interface CompiledRoute<T> {
  readonly index: number;
  readonly value: T;
  /** Param names in capture order (the proxy name last, if any). */
  readonly paramNames: readonly string[];
  readonly headerConds: readonly Condition[];
  readonly queryConds: readonly Condition[];
  readonly condCount: number;
  /** Pre-built answer for routes without params (no allocation per lookup). */
  readonly staticMatch: Match<T> | null;
}

/** The routes that end at one trie position (or at a {proxy+} edge, or $default). */
class Terminal<T> {
  readonly byMethod = new Map<string, CompiledRoute<T>[]>();
  any: CompiledRoute<T>[] | null = null;
  /** Sorted declared methods (ANY excluded), for 405 answers. */
  allow: readonly string[] = [];

  select(
    method: string,
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawQuery: string,
  ): CompiledRoute<T> | null {
    const list = this.byMethod.get(method);
    if (list !== undefined) {
      const r = pick(list, headers, rawQuery);
      if (r !== null) return r;
    }
    return this.any === null ? null : pick(this.any, headers, rawQuery);
  }

  declares(method: string): boolean {
    return this.any !== null || this.byMethod.has(method);
  }
}

class Node<T> {
  statics: Map<string, Node<T>> | null = null;
  param: Node<T> | null = null;
  proxy: Terminal<T> | null = null;
  end: Terminal<T> | null = null;
}

class Bucket<T> {
  readonly root = new Node<T>();
  /** Whole path -> terminal, for routes made only of literal segments. */
  readonly staticPaths = new Map<string, Terminal<T>>();
  fallback: Terminal<T> | null = null;
  /** Duplicate detection: method + shape + conditions -> route index. Build time only. */
  readonly seen = new Map<string, number>();
  constructor(readonly label: string) {}
}

type Segment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  | { readonly kind: 'proxy'; readonly name: string };

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const NOT_FOUND: Match<never> = Object.freeze({ kind: 'not-found' });
const EMPTY_PARAMS: Record<string, string> = Object.freeze(Object.create(null) as Record<string, string>);
const HOST_CACHE_LIMIT = 1024;
const METHOD_TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Z]+$/;
const PARAM_NAME = /^[A-Za-z0-9_.$-]+$/;

export class Router<T> implements RouteLookup<T> {
  readonly size: number;
  readonly #anyHost = new Bucket<T>('any host');
  readonly #exactHosts = new Map<string, Bucket<T>>();
  /** Keyed by the suffix including its leading dot: '*.example.com' -> '.example.com'. */
  readonly #wildcardHosts = new Map<string, Bucket<T>>();
  readonly #hasHostBuckets: boolean;
  /** Raw Host header -> bucket (null = none). Bounded; cleared when full. */
  readonly #hostCache = new Map<string, Bucket<T> | null>();
  /** Capture offsets [start0, end0, start1, end1, ...]; lookup is synchronous, so one per router. */
  readonly #scratch: Int32Array;

  constructor(routes: readonly RouteDefinition<T>[]) {
    let maxParams = 0;
    for (let i = 0; i < routes.length; i++) {
      const def = routes[i];
      if (def === undefined) throw new RouterBuildError(`route #${i} is missing`, i);
      const n = this.#add(def, i);
      if (n > maxParams) maxParams = n;
    }
    for (const b of this.#allBuckets()) seal(b);
    this.#hasHostBuckets = this.#exactHosts.size > 0 || this.#wildcardHosts.size > 0;
    this.#scratch = new Int32Array(Math.max(2, maxParams * 2));
    this.size = routes.length;
  }

  lookup(method: string, host: string | undefined, path: string, headers: Headers, rawQuery: string): Match<T> {
    if (path.charCodeAt(0) !== 47 /* / */) return NOT_FOUND;
    const bucket = this.#hasHostBuckets && host !== undefined && host !== '' ? this.#bucketFor(host) : null;
    if (bucket !== null) {
      const m = this.#search(bucket, method, path, headers, rawQuery);
      if (m !== null) return m;
    }
    const m = this.#search(this.#anyHost, method, path, headers, rawQuery);
    if (m !== null) return m;
    // $default: only once no real route of either bucket matched.
    if (bucket !== null && bucket.fallback !== null) {
      const r = bucket.fallback.select(method, headers, rawQuery);
      if (r !== null) return r.staticMatch as Match<T>;
    }
    if (this.#anyHost.fallback !== null) {
      const r = this.#anyHost.fallback.select(method, headers, rawQuery);
      if (r !== null) return r.staticMatch as Match<T>;
    }
    return this.#miss(bucket, method, path);
  }

  // HOT PATH
  #search(b: Bucket<T>, method: string, path: string, headers: Headers, rawQuery: string): Match<T> | null {
    // A fully literal route is always the most specific match for its path, so
    // the whole-path probe is a valid first answer; on a method/condition miss
    // the trie walk below still backtracks into {param}/{proxy+} routes.
    const t = b.staticPaths.get(path);
    if (t !== undefined) {
      const r = t.select(method, headers, rawQuery);
      if (r !== null) return r.staticMatch as Match<T>;
    }
    const r = this.#walk(b.root, path, 1, 0, method, headers, rawQuery);
    if (r === null) return null;
    if (r.staticMatch !== null) return r.staticMatch;
    const names = r.paramNames;
    const s = this.#scratch;
    const params: Record<string, string> = {};
    for (let k = 0; k < names.length; k++) {
      params[names[k] as string] = path.slice(s[2 * k] as number, s[2 * k + 1] as number);
    }
    return { kind: 'found', value: r.value, params };
  }

  // HOT PATH. `pos` is the index of the first char of the current segment;
  // `slot` is the number of params captured before this segment. Offsets are
  // written on the way back up, only by the winning branch, so failed branches
  // never leave stale captures for the returned route.
  #walk(
    node: Node<T>,
    path: string,
    pos: number,
    slot: number,
    method: string,
    headers: Headers,
    rawQuery: string,
  ): CompiledRoute<T> | null {
    const len = path.length;
    let end = path.indexOf('/', pos);
    if (end === -1) end = len;
    if (node.statics !== null) {
      const child = node.statics.get(path.slice(pos, end));
      if (child !== undefined) {
        if (end === len) {
          if (child.end !== null) {
            const r = child.end.select(method, headers, rawQuery);
            if (r !== null) return r;
          }
        } else {
          const r = this.#walk(child, path, end + 1, slot, method, headers, rawQuery);
          if (r !== null) return r;
        }
      }
    }
    if (node.param !== null && end > pos) {
      const child = node.param;
      if (end === len) {
        if (child.end !== null) {
          const r = child.end.select(method, headers, rawQuery);
          if (r !== null) {
            this.#scratch[2 * slot] = pos;
            this.#scratch[2 * slot + 1] = end;
            return r;
          }
        }
      } else {
        const r = this.#walk(child, path, end + 1, slot + 1, method, headers, rawQuery);
        if (r !== null) {
          this.#scratch[2 * slot] = pos;
          this.#scratch[2 * slot + 1] = end;
          return r;
        }
      }
    }
    if (node.proxy !== null && pos < len) {
      const r = node.proxy.select(method, headers, rawQuery);
      if (r !== null) {
        this.#scratch[2 * slot] = pos;
        this.#scratch[2 * slot + 1] = len;
        return r;
      }
    }
    return null;
  }

  // Slow path (404/405 only): gather every terminal whose path matches.
  #miss(bucket: Bucket<T> | null, method: string, path: string): Match<T> {
    const hits: Terminal<T>[] = [];
    if (bucket !== null) collect(bucket, path, hits);
    collect(this.#anyHost, path, hits);
    if (hits.length === 0) return NOT_FOUND;
    const allow = new Set<string>();
    for (const t of hits) {
      // Declared here but every candidate's conditions failed: not a 405.
      if (t.declares(method)) return NOT_FOUND;
      for (const m of t.allow) allow.add(m);
    }
    return { kind: 'method-not-allowed', allow: [...allow].sort() };
  }

  #bucketFor(rawHost: string): Bucket<T> | null {
    const cached = this.#hostCache.get(rawHost);
    if (cached !== undefined) return cached;
    const b = this.#resolveHost(rawHost);
    if (this.#hostCache.size >= HOST_CACHE_LIMIT) this.#hostCache.clear();
    this.#hostCache.set(rawHost, b);
    return b;
  }

  #resolveHost(rawHost: string): Bucket<T> | null {
    let end = rawHost.length;
    if (rawHost.charCodeAt(0) === 91 /* [ IPv6 literal */) {
      const rb = rawHost.indexOf(']');
      if (rb !== -1) end = rb + 1;
    } else {
      const colon = rawHost.indexOf(':');
      if (colon !== -1) end = colon;
    }
    if (end > 0 && rawHost.charCodeAt(end - 1) === 46 /* trailing dot of an FQDN */) end--;
    const host = rawHost.slice(0, end).toLowerCase();
    const exact = this.#exactHosts.get(host);
    if (exact !== undefined) return exact;
    // Leftmost dot first = longest suffix first; a dot at index 0 would leave an
    // empty first label, which a wildcard never matches.
    for (let dot = host.indexOf('.', 1); dot !== -1; dot = host.indexOf('.', dot + 1)) {
      const w = this.#wildcardHosts.get(host.slice(dot));
      if (w !== undefined) return w;
    }
    return null;
  }

  *#allBuckets(): Iterable<Bucket<T>> {
    yield this.#anyHost;
    yield* this.#exactHosts.values();
    yield* this.#wildcardHosts.values();
  }

  // ---- build ----------------------------------------------------------------

  /** Adds one route; returns its param count. */
  #add(def: RouteDefinition<T>, index: number): number {
    const fail = (msg: string): never => {
      throw new RouterBuildError(`route #${index} (${describe(def)}): ${msg}`, index);
    };
    const methods = checkMethods(def.methods, fail);
    if (typeof def.path !== 'string') fail('path must be a string');
    const isDefault = def.path === '$default';
    const segments = isDefault ? [] : parseTemplate(def.path, fail);
    const paramNames: string[] = [];
    for (const s of segments) if (s.kind !== 'static') paramNames.push(s.name);
    const headerConds = compileConditions(def.headers, 'headers', true, fail);
    const queryConds = compileConditions(def.query, 'query', false, fail);
    const route: CompiledRoute<T> = {
      index,
      value: def.value,
      paramNames,
      headerConds,
      queryConds,
      condCount: headerConds.length + queryConds.length,
      staticMatch:
        paramNames.length === 0 ? Object.freeze({ kind: 'found', value: def.value, params: EMPTY_PARAMS }) : null,
    };
    const shape = isDefault ? '$default' : shapeOf(segments);
    const condKey = conditionKey(headerConds, queryConds);
    for (const bucket of this.#bucketsFor(def.hosts, fail)) {
      for (const m of methods) {
        const key = `${m} ${shape} ${condKey}`;
        const prev = bucket.seen.get(key);
        if (prev !== undefined) {
          fail(
            `duplicate of route #${prev}: same method ${m}, path shape '${shape}', conditions and host (${bucket.label}). ` +
              'Remove one, or add a header/query condition to tell them apart',
          );
        }
        bucket.seen.set(key, index);
      }
      if (isDefault) bucket.fallback ??= new Terminal<T>();
      const terminal = isDefault ? (bucket.fallback as Terminal<T>) : insert(bucket, segments);
      for (const m of methods) {
        if (m === 'ANY') {
          terminal.any ??= [];
          terminal.any.push(route);
        } else {
          const list = terminal.byMethod.get(m);
          if (list === undefined) terminal.byMethod.set(m, [route]);
          else list.push(route);
        }
      }
    }
    return paramNames.length;
  }

  #bucketsFor(hosts: readonly string[] | undefined, fail: (m: string) => never): Bucket<T>[] {
    if (hosts === undefined || hosts.length === 0) return [this.#anyHost];
    const out = new Set<Bucket<T>>();
    for (const raw of hosts) {
      if (typeof raw !== 'string' || raw === '') fail('hosts entries must be non-empty strings');
      const h = raw.toLowerCase();
      if (h.includes(':') && !h.startsWith('[')) {
        fail(`host '${raw}' has a port; ports are ignored when matching, write the host name only`);
      }
      const star = h.indexOf('*');
      if (star === -1) {
        if (h.endsWith('.')) fail(`host '${raw}' ends with a dot; write it without the trailing dot`);
        let b = this.#exactHosts.get(h);
        if (b === undefined) {
          b = new Bucket<T>(h);
          this.#exactHosts.set(h, b);
        }
        out.add(b);
      } else {
        if (star !== 0 || h.charCodeAt(1) !== 46 || h.length < 3 || h.indexOf('*', 1) !== -1 || h.endsWith('.')) {
          fail(`host '${raw}' is not a valid wildcard; only a leading '*.' label is allowed, e.g. '*.example.com'`);
        }
        const suffix = h.slice(1);
        let b = this.#wildcardHosts.get(suffix);
        if (b === undefined) {
          b = new Bucket<T>(h);
          this.#wildcardHosts.set(suffix, b);
        }
        out.add(b);
      }
    }
    return [...out];
  }
}

// ---- lookup helpers (hot) ---------------------------------------------------

function pick<T>(list: readonly CompiledRoute<T>[], headers: Headers, rawQuery: string): CompiledRoute<T> | null {
  for (let i = 0; i < list.length; i++) {
    const r = list[i] as CompiledRoute<T>;
    if (r.condCount === 0 || conditionsPass(r, headers, rawQuery)) return r;
  }
  return null;
}

function conditionsPass<T>(r: CompiledRoute<T>, headers: Headers, rawQuery: string): boolean {
  for (let i = 0; i < r.headerConds.length; i++) {
    const c = r.headerConds[i] as Condition;
    const raw = headers[c.name];
    // Node gives string[] only for headers that may repeat (e.g. set-cookie): first value, as for query.
    const v = typeof raw === 'string' ? raw : raw === undefined ? undefined : raw[0];
    if (v === undefined) return false;
    if (c.regex !== null ? !c.regex.test(v) : v !== c.exact) return false;
  }
  for (let i = 0; i < r.queryConds.length; i++) {
    if (!queryConditionPasses(r.queryConds[i] as Condition, rawQuery)) return false;
  }
  return true;
}

/**
 * Finds the first parameter named `c.name` in an application/x-www-form-urlencoded
 * query and tests its value. Only the first occurrence counts; a missing
 * parameter fails. Compares in place when no decoding is needed.
 */
function queryConditionPasses(c: Condition, q: string): boolean {
  const len = q.length;
  const name = c.name;
  let start = 0;
  while (start < len) {
    let amp = q.indexOf('&', start);
    if (amp === -1) amp = len;
    let eq = q.indexOf('=', start);
    if (eq === -1 || eq > amp) eq = amp;
    let hit = eq - start === name.length && q.startsWith(name, start);
    if (!hit && eq > start && needsDecoding(q, start, eq)) hit = decodeQuery(q.slice(start, eq)) === name;
    if (hit) {
      const vs = eq < amp ? eq + 1 : amp;
      if (c.regex === null && !needsDecoding(q, vs, amp)) {
        const exact = c.exact as string;
        return amp - vs === exact.length && q.startsWith(exact, vs);
      }
      const value = decodeQuery(q.slice(vs, amp));
      return c.regex !== null ? c.regex.test(value) : value === c.exact;
    }
    start = amp + 1;
  }
  return false;
}

function needsDecoding(s: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i);
    if (c === 37 /* % */ || c === 43 /* + */) return true;
  }
  return false;
}

function decodeQuery(s: string): string {
  const plus = s.includes('+') ? s.replace(/\+/g, ' ') : s;
  try {
    return decodeURIComponent(plus);
  } catch {
    return plus;
  }
}

// ---- slow-path helpers --------------------------------------------------------

function collect<T>(b: Bucket<T>, path: string, out: Terminal<T>[]): void {
  collectFrom(b.root, path, 1, out);
}

function collectFrom<T>(node: Node<T>, path: string, pos: number, out: Terminal<T>[]): void {
  const len = path.length;
  let end = path.indexOf('/', pos);
  if (end === -1) end = len;
  const child = node.statics?.get(path.slice(pos, end));
  if (child !== undefined) {
    if (end === len) {
      if (child.end !== null) out.push(child.end);
    } else collectFrom(child, path, end + 1, out);
  }
  if (node.param !== null && end > pos) {
    if (end === len) {
      if (node.param.end !== null) out.push(node.param.end);
    } else collectFrom(node.param, path, end + 1, out);
  }
  if (node.proxy !== null && pos < len) out.push(node.proxy);
}

// ---- build helpers --------------------------------------------------------------

function insert<T>(b: Bucket<T>, segments: readonly Segment[]): Terminal<T> {
  let node = b.root;
  let literal = true;
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i] as Segment;
    if (s.kind === 'static') {
      node.statics ??= new Map();
      let next = node.statics.get(s.text);
      if (next === undefined) {
        next = new Node<T>();
        node.statics.set(s.text, next);
      }
      node = next;
    } else if (s.kind === 'param') {
      literal = false;
      node.param ??= new Node<T>();
      node = node.param;
    } else {
      // {proxy+} is always last (checked by parseTemplate).
      node.proxy ??= new Terminal<T>();
      return node.proxy;
    }
  }
  node.end ??= new Terminal<T>();
  const t = node.end;
  if (literal) {
    let p = '';
    for (const s of segments) p += `/${(s as { text: string }).text}`;
    b.staticPaths.set(p, t);
  }
  return t;
}

function seal<T>(b: Bucket<T>): void {
  const visit = (t: Terminal<T> | null): void => {
    if (t === null) return;
    // Stable sort: more conditions first, declaration order within a count.
    for (const list of t.byMethod.values()) list.sort((x, y) => y.condCount - x.condCount);
    t.any?.sort((x, y) => y.condCount - x.condCount);
    t.allow = Object.freeze([...t.byMethod.keys()].sort());
  };
  const walk = (n: Node<T>): void => {
    visit(n.end);
    visit(n.proxy);
    if (n.statics !== null) for (const c of n.statics.values()) walk(c);
    if (n.param !== null) walk(n.param);
  };
  walk(b.root);
  visit(b.fallback);
  b.seen.clear();
}

function checkMethods(methods: readonly string[], fail: (m: string) => never): string[] {
  if (!Array.isArray(methods) || methods.length === 0) fail("methods must be a non-empty array, e.g. ['GET'] or ['ANY']");
  const out = new Set<string>();
  for (const m of methods) {
    if (typeof m !== 'string' || !METHOD_TOKEN.test(m)) {
      fail(`method '${String(m)}' is not an upper-case HTTP method token (write e.g. 'GET')`);
    }
    out.add(m);
  }
  if (out.has('ANY') && out.size > 1) fail("'ANY' must be the only entry of methods (it already means every method)");
  return [...out];
}

function parseTemplate(path: string, fail: (m: string) => never): Segment[] {
  if (path.charCodeAt(0) !== 47) fail(`path '${path}' must start with '/' (or be '$default')`);
  const parts = path.slice(1).split('/');
  const out: Segment[] = [];
  const names = new Set<string>();
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as string;
    const last = i === parts.length - 1;
    if (part === '' && !last) fail(`path '${path}' has an empty segment ('//'); request paths never contain one`);
    const open = part.indexOf('{');
    const close = part.indexOf('}');
    if (open === -1 && close === -1) {
      out.push({ kind: 'static', text: canonicalLiteral(part, path, fail) });
      continue;
    }
    if (open !== 0 || close !== part.length - 1 || part.indexOf('{', 1) !== -1 || part.indexOf('}') !== close) {
      fail(
        `path '${path}': segment '${part}' has unbalanced braces or mixes text with a parameter; ` +
          "a parameter must be a whole segment: '{name}' or '{name+}'",
      );
    }
    let name = part.slice(1, -1);
    const greedy = name.endsWith('+');
    if (greedy) name = name.slice(0, -1);
    if (name === '') fail(`path '${path}': empty parameter name in '${part}'`);
    if (!PARAM_NAME.test(name) || name === '__proto__') {
      fail(`path '${path}': parameter name '${name}' may only use letters, digits, '_', '.', '$' and '-'`);
    }
    if (names.has(name)) fail(`path '${path}': duplicate parameter name '${name}'`);
    names.add(name);
    if (greedy && !last) fail(`path '${path}': '{${name}+}' must be the last segment`);
    out.push(greedy ? { kind: 'proxy', name } : { kind: 'param', name });
  }
  return out;
}

const UNRESERVED = (c: number): boolean =>
  (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
const HEX = '0123456789ABCDEF';
const hexVal = (c: number): number =>
  c >= 0x30 && c <= 0x39 ? c - 0x30 : c >= 0x41 && c <= 0x46 ? c - 0x37 : c >= 0x61 && c <= 0x66 ? c - 0x57 : -1;

/**
 * Brings a literal segment of a route template into the form src/server/path.ts
 * gives request paths (unreserved escapes decoded, other escapes upper-case,
 * non-ASCII as UTF-8 escapes), so that a route written '/caf%c3%a9' or '/café'
 * matches the request '/caf%C3%A9'. Characters a normalized path can never
 * contain are rejected rather than silently never matching.
 */
function canonicalLiteral(seg: string, path: string, fail: (m: string) => never): string {
  if (seg === '.' || seg === '..') fail(`path '${path}' has a dot segment; request paths never contain one`);
  let out = '';
  for (let i = 0; i < seg.length; i++) {
    const c = seg.charCodeAt(i);
    if (c === 37) {
      const h = hexVal(seg.charCodeAt(i + 1));
      const l = hexVal(seg.charCodeAt(i + 2));
      if (h < 0 || l < 0) fail(`path '${path}': malformed percent escape in '${seg}'`);
      const b = h * 16 + l;
      if (b < 0x20 || b === 0x7f) fail(`path '${path}': encoded control character in '${seg}'`);
      out += UNRESERVED(b) ? String.fromCharCode(b) : `%${HEX[h]}${HEX[l]}`;
      i += 2;
    } else if (c < 0x20 || c === 0x7f || c === 0x5c || c === 0x3f || c === 0x23) {
      fail(`path '${path}': segment '${seg}' contains a control character, '\\', '?' or '#'`);
    } else if (c > 0x7e || c === 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x5b || c === 0x5d || c === 0x5e || c === 0x60 || c === 0x7c) {
      const cp = seg.codePointAt(i) as number;
      if (cp >= 0xd800 && cp <= 0xdfff) fail(`path '${path}': lone surrogate in '${seg}'`);
      out += encodeURIComponent(String.fromCodePoint(cp));
      if (cp > 0xffff) i++;
    } else {
      out += seg[i];
    }
  }
  return out;
}

function shapeOf(segments: readonly Segment[]): string {
  let s = '';
  for (const seg of segments) s += seg.kind === 'static' ? `/${seg.text}` : seg.kind === 'param' ? '/{}' : '/{+}';
  return s;
}

function compileConditions(
  spec: Readonly<Record<string, string>> | undefined,
  what: 'headers' | 'query',
  lowerCase: boolean,
  fail: (m: string) => never,
): Condition[] {
  if (spec === undefined) return [];
  if (spec === null || typeof spec !== 'object') fail(`${what} must be an object of name -> value`);
  const out: Condition[] = [];
  const seen = new Set<string>();
  for (const [rawName, value] of Object.entries(spec)) {
    const name = lowerCase ? rawName.toLowerCase() : rawName;
    if (name === '') fail(`${what}: empty name`);
    if (seen.has(name)) fail(`${what}: '${rawName}' is given twice (header names are case-insensitive)`);
    seen.add(name);
    if (typeof value !== 'string') fail(`${what}.${rawName} must be a string`);
    if (value.startsWith('~')) {
      const src = value.slice(1);
      let regex: RegExp;
      try {
        regex = new RegExp(src);
      } catch (err) {
        return fail(`${what}.${rawName}: invalid regex /${src}/: ${(err as Error).message}`);
      }
      if (!safeRegex(src)) {
        fail(
          `${what}.${rawName}: regex /${src}/ may backtrack catastrophically (nested quantifiers); ` +
            'rewrite it without a repeated group that itself repeats, e.g. (a+)+ -> a+',
        );
      }
      out.push({ name, exact: null, regex });
    } else {
      out.push({ name, exact: value, regex: null });
    }
  }
  out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

function conditionKey(h: readonly Condition[], q: readonly Condition[]): string {
  const part = (cs: readonly Condition[]): string[][] =>
    cs.map((c) => [c.name, c.regex !== null ? `~${c.regex.source}` : (c.exact as string)]);
  return JSON.stringify([part(h), part(q)]);
}

function describe(def: RouteDefinition<unknown>): string {
  const methods = Array.isArray(def.methods) ? def.methods.join(',') : '?';
  const hosts = def.hosts && def.hosts.length > 0 ? ` hosts=${def.hosts.join(',')}` : '';
  return `${methods} ${String(def.path)}${hosts}`;
}
