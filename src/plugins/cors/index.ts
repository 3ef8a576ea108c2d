/**
 * CORS with AWS HTTP API `corsConfiguration` semantics (docs/cors.md cites the AWS rules).
 *
 * - A preflight (OPTIONS with Origin and Access-Control-Request-Method) is answered by `onRequest`
 *   with 204 and no body, whatever the route's integration; the integration never sees it.
 * - Every answer of the route to a request with an Origin (integration answers, early answers,
 *   gateway errors) goes through `transformResponse`: the integration's own Access-Control-* headers
 *   are dropped (AWS ignores them when CORS is configured), then the configured ones are added if the
 *   origin is allowed. A preflight from a disallowed origin, method or header gets its 204 without any
 *   CORS header, which is what makes the browser refuse the actual request.
 * - A request without Origin costs one header lookup and nothing else.
 *
 * Everything is compiled once in create(): Sets for exact origins, methods and headers, one RegExp
 * for the wildcard origins, the constant header values.
 */
import type { EarlyResponse, PluginDefinition } from '../../pipeline/types.js';
import type { HeaderList } from '../../util/header-list.js';
import { type CorsConfig, schema } from './schema.js';

export type { CorsConfig } from './schema.js';

/** One problem with a CORS config; `path` is relative to the plugin's config object. */
export interface CorsProblem {
  path: (string | number)[];
  message: string;
}

/** A CORS config compiled for the hot path. */
export interface CompiledCors {
  /** `*` is among the origins: Access-Control-Allow-Origin is `*`. */
  readonly anyOrigin: boolean;
  /** Exact origins, lower-cased. */
  readonly origins: ReadonlySet<string>;
  /** All wildcard origins as one anchored RegExp, or undefined when there are none. */
  readonly wildcard: RegExp | undefined;
  readonly anyMethod: boolean;
  /** Upper-cased. */
  readonly methods: ReadonlySet<string>;
  /** Access-Control-Allow-Methods when the list is explicit. */
  readonly methodsValue: string | undefined;
  readonly anyHeader: boolean;
  /** Lower-cased. */
  readonly headers: ReadonlySet<string>;
  /** Access-Control-Allow-Headers when the list is explicit and not empty. */
  readonly headersValue: string | undefined;
  readonly exposeValue: string | undefined;
  readonly maxAgeValue: string | undefined;
  readonly credentials: boolean;
  /** Vary on answers to actual requests ('' when the answer does not depend on the origin). */
  readonly vary: string;
  /** Vary on preflight answers. */
  readonly preflightVary: string;
}

const SCHEME = '[a-z][a-z0-9+.-]*';
const EXACT_ORIGIN = new RegExp(`^${SCHEME}://[^/?#*\\s]+$`);
const SCHEME_WILDCARD = new RegExp(`^(${SCHEME})://\\*$`);
const SUBDOMAIN_WILDCARD = new RegExp(`^(${SCHEME})://\\*\\.([a-z0-9_-]+(?:\\.[a-z0-9_-]+)*)(?::(\\d{1,5}))?$`);
const HAS_PATH = new RegExp(`^${SCHEME}://[^/]+/`);

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every problem with a config (empty when it is usable). The schema checks types; this checks meaning. */
export function corsConfigProblems(config: CorsConfig): CorsProblem[] {
  const problems: CorsProblem[] = [];
  const origins = config.allowOrigins ?? [];
  origins.forEach((raw, i) => {
    const o = raw.toLowerCase();
    if (o === '*' || o === 'null' || EXACT_ORIGIN.test(o) || SCHEME_WILDCARD.test(o) || SUBDOMAIN_WILDCARD.test(o)) return;
    let message: string;
    if (HAS_PATH.test(o)) message = `origin "${raw}" has a path or a trailing slash: an origin is scheme://host[:port], e.g. "${raw.replace(/^([^:]+:\/\/[^/]+).*$/, '$1')}"`;
    else if (o.includes('*'))
      message = `wildcard origin "${raw}" is not understood: use "*", "https://*" (any https origin) or "https://*.example.com" (any subdomain)`;
    else message = `origin "${raw}" is not an origin: write scheme://host[:port], e.g. "https://app.example.com"`;
    problems.push({ path: ['allowOrigins', i], message });
  });
  if (config.allowCredentials === true && origins.includes('*')) {
    problems.push({
      path: ['allowCredentials'],
      message:
        'allowCredentials cannot be used with the "*" origin (browsers refuse credentialed answers with Access-Control-Allow-Origin: *); list the allowed origins instead ("https://*.example.com" style wildcards are fine)',
    });
  }
  return problems;
}

export class CorsConfigError extends Error {
  readonly problems: readonly CorsProblem[];
  constructor(problems: readonly CorsProblem[], scope?: string) {
    const where = scope === undefined ? 'cors' : `cors (${scope})`;
    super(problems.map((p) => `${where} ${p.path.join('.')}: ${p.message}`).join('\n'));
    this.name = 'CorsConfigError';
    this.problems = problems;
  }
}

/** Compiles a config; throws CorsConfigError when corsConfigProblems() finds anything. */
export function compileCors(config: CorsConfig, scope?: string): CompiledCors {
  const problems = corsConfigProblems(config);
  if (problems.length > 0) throw new CorsConfigError(problems, scope);

  let anyOrigin = false;
  const origins = new Set<string>();
  const patterns: string[] = [];
  for (const raw of config.allowOrigins ?? []) {
    const o = raw.toLowerCase();
    if (o === '*') {
      anyOrigin = true;
      continue;
    }
    const scheme = SCHEME_WILDCARD.exec(o);
    if (scheme) {
      // AWS: "https://*" allows any origin that begins with https://
      patterns.push(`${escapeRegExp(scheme[1] as string)}://.+`);
      continue;
    }
    const sub = SUBDOMAIN_WILDCARD.exec(o);
    if (sub) {
      const port = sub[3] === undefined ? '' : `:${sub[3]}`;
      patterns.push(`${escapeRegExp(sub[1] as string)}://[a-z0-9_-]+(?:\\.[a-z0-9_-]+)*\\.${escapeRegExp(sub[2] as string)}${escapeRegExp(port)}`);
      continue;
    }
    origins.add(o);
  }
  const wildcard = !anyOrigin && patterns.length > 0 ? new RegExp(`^(?:${patterns.join('|')})$`) : undefined;

  const methodList = (config.allowMethods ?? []).map((m) => m.toUpperCase());
  const anyMethod = methodList.includes('*');
  const headerList = (config.allowHeaders ?? []).map((h) => h.toLowerCase());
  const anyHeader = headerList.includes('*');
  const expose = config.exposeHeaders ?? [];

  const preflightVary: string[] = [];
  if (!anyOrigin) preflightVary.push('Origin');
  if (anyMethod) preflightVary.push('Access-Control-Request-Method');
  if (anyHeader) preflightVary.push('Access-Control-Request-Headers');

  return Object.freeze({
    anyOrigin,
    origins,
    wildcard,
    anyMethod,
    methods: new Set(methodList),
    methodsValue: anyMethod || methodList.length === 0 ? undefined : [...new Set(methodList)].join(','),
    anyHeader,
    headers: new Set(headerList),
    headersValue: anyHeader || headerList.length === 0 ? undefined : [...new Set(headerList)].join(','),
    exposeValue: expose.length === 0 ? undefined : [...new Set(expose.map((h) => h.toLowerCase()))].join(','),
    maxAgeValue: config.maxAge === undefined ? undefined : String(config.maxAge),
    credentials: config.allowCredentials === true,
    vary: anyOrigin ? '' : 'Origin',
    preflightVary: preflightVary.join(', '),
  });
}

/** Whether `origin` (as the browser sent it) may read answers. */
export function originAllowed(c: CompiledCors, origin: string): boolean {
  if (c.anyOrigin || c.origins.has(origin)) return true;
  if (c.origins.size === 0 && c.wildcard === undefined) return false;
  // Browsers send origins lower-case; a hand-written client may not.
  const lower = origin.toLowerCase();
  return c.origins.has(lower) || c.wildcard?.test(lower) === true;
}

/** Drops every Access-Control-* response header (the integration's own: AWS ignores them). One pass. */
export function stripCorsHeaders(h: HeaderList): void {
  const l = h.list;
  let w = 0;
  for (let r = 0; r < l.length; r += 2) {
    const name = l[r] as string;
    if (name.length > 15 && name.charCodeAt(0) === 97 /* a */ && name.startsWith('access-control-')) continue;
    if (w !== r) {
      l[w] = name;
      l[w + 1] = l[r + 1] as string;
    }
    w += 2;
  }
  l.length = w;
}

/**
 * Adds the answer headers for an actual (non-preflight) request from `origin`.
 * `h` should already be free of the integration's CORS headers (stripCorsHeaders).
 */
export function addActualHeaders(c: CompiledCors, origin: string, h: HeaderList): void {
  if (c.vary !== '') h.append('vary', c.vary);
  if (!originAllowed(c, origin)) return;
  h.append('access-control-allow-origin', c.anyOrigin ? '*' : origin);
  if (c.credentials) h.append('access-control-allow-credentials', 'true');
  if (c.exposeValue !== undefined) h.append('access-control-expose-headers', c.exposeValue);
}

/**
 * Adds the answer headers for a preflight. Returns false (and adds nothing but Vary) when the
 * origin, the requested method or one of the requested headers is not allowed.
 */
export function addPreflightHeaders(c: CompiledCors, origin: string, method: string, requestHeaders: string | undefined, h: HeaderList): boolean {
  if (c.preflightVary !== '') h.append('vary', c.preflightVary);
  if (!originAllowed(c, origin)) return false;
  const m = method.trim();
  if (!c.anyMethod && !c.methods.has(m) && !c.methods.has(m.toUpperCase())) return false;
  let requested: string | undefined;
  if (requestHeaders !== undefined) {
    requested = requestHeaders.trim();
    if (requested === '') requested = undefined;
    else if (!c.anyHeader) {
      for (const part of requested.split(',')) {
        const name = part.trim().toLowerCase();
        if (name !== '' && !c.headers.has(name)) return false;
      }
    }
  }
  h.append('access-control-allow-origin', c.anyOrigin ? '*' : origin);
  if (c.credentials) h.append('access-control-allow-credentials', 'true');
  // "*" is echoed as what was asked for: a literal "*" means nothing to a credentialed request (Fetch).
  const methods = c.anyMethod ? m : c.methodsValue;
  if (methods !== undefined) h.append('access-control-allow-methods', methods);
  const headers = c.anyHeader ? requested : c.headersValue;
  if (headers !== undefined) h.append('access-control-allow-headers', headers);
  if (c.maxAgeValue !== undefined) h.append('access-control-max-age', c.maxAgeValue);
  return true;
}

/** A request header from Node's rawHeaders (names as sent), first value; undefined when absent. */
export function rawHeader(raw: readonly string[], lowerName: string): string | undefined {
  const len = lowerName.length;
  for (let i = 0; i < raw.length; i += 2) {
    const n = raw[i] as string;
    if (n.length === len && (n === lowerName || n.toLowerCase() === lowerName)) return raw[i + 1];
  }
  return undefined;
}

/** The early answer to every preflight; its headers are added by transformResponse like any other answer's. */
const PREFLIGHT_ANSWER: EarlyResponse = Object.freeze({ status: 204 });

export const cors: PluginDefinition<typeof schema> = {
  name: 'cors',
  priority: 1000,
  phases: ['onRequest', 'transformResponse'],
  description: 'CORS as AWS HTTP APIs do it: answers preflights, adds Access-Control-* headers to every answer.',
  configSchema: schema,
  create(config, deps) {
    const c = compileCors(config, deps.scope);
    return {
      onRequest(ctx) {
        if (ctx.method !== 'OPTIONS') return undefined;
        const raw = ctx.req.rawHeaders;
        if (rawHeader(raw, 'origin') === undefined || rawHeader(raw, 'access-control-request-method') === undefined) return undefined;
        return PREFLIGHT_ANSWER;
      },
      transformResponse(ctx) {
        const raw = ctx.req.rawHeaders;
        const origin = rawHeader(raw, 'origin');
        if (origin === undefined) return;
        const h = ctx.response.headers;
        stripCorsHeaders(h);
        if (ctx.method === 'OPTIONS') {
          const method = rawHeader(raw, 'access-control-request-method');
          if (method !== undefined) {
            addPreflightHeaders(c, origin, method, rawHeader(raw, 'access-control-request-headers'), h);
            return;
          }
        }
        addActualHeaders(c, origin, h);
      },
    };
  },
};
