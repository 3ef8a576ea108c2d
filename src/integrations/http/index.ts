import type { CompiledRoute, Integration } from '../../compile/types.js';
import type { HeaderOpsConfig, QueryOpsConfig } from '../../schemas/http-fields.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { Upstream, UpstreamTimeouts } from '../../upstream/upstream.js';
import { UpstreamLimits } from '../../upstream/timeouts.js';
import { PacedBody } from './paced-body.js';
import { ProxyHandler } from './proxy.js';
import { RetryState } from './retry.js';
import type { IntegrationConfig } from '../types.js';
import type { HttpIntegrationSchema } from './schema.js';
import { proxyUpgrade, writeRawError } from './websocket.js';

/** The route's config with the schema's defaults applied (compile did it). */
type HttpIntegrationConfig = IntegrationConfig<typeof HttpIntegrationSchema>;

type PathBuilder = (ctx: RequestContext) => string;

/** Compiles a forward-path template like /v2/users/{id}/{proxy+} into a builder over the route params. */
export function compilePathTemplate(template: string): PathBuilder {
  const parts: (string | { param: string })[] = [];
  const re = /\{([A-Za-z0-9_.-]+)\+?\}/g;
  let last = 0;
  for (let m = re.exec(template); m !== null; m = re.exec(template)) {
    if (m.index > last) parts.push(template.slice(last, m.index));
    parts.push({ param: m[1] as string });
    last = m.index + m[0].length;
  }
  if (last < template.length) parts.push(template.slice(last));
  if (parts.every((p) => typeof p === 'string')) return () => template;
  return (ctx) => {
    const params = ctx.params;
    let out = '';
    for (const p of parts) out += typeof p === 'string' ? p : (params?.[p.param] ?? '');
    return out;
  };
}

function compileRewrite(cfg: HttpIntegrationConfig, routeTemplate: string): PathBuilder {
  let build: PathBuilder = cfg.path !== undefined ? compilePathTemplate(cfg.path) : (ctx) => ctx.path;
  void routeTemplate;
  const strip = cfg.rewrite?.stripPrefix?.replace(/\/+$/, '');
  if (strip) {
    const inner = build;
    build = (ctx) => {
      const p = inner(ctx);
      if (p === strip) return '/';
      if (p.startsWith(strip) && p.charCodeAt(strip.length) === 47 /* '/' */) return p.slice(strip.length);
      return p;
    };
  }
  const rx = cfg.rewrite?.regex;
  if (rx) {
    const re = new RegExp(rx.pattern);
    const inner = build;
    build = (ctx) => {
      const p = inner(ctx).replace(re, rx.replacement);
      return p.startsWith('/') ? p : `/${p}`;
    };
  }
  return build;
}

type HeaderOp = (headers: import('../../util/header-list.js').HeaderList) => void;

export function compileHeaderOps(ops: HeaderOpsConfig | undefined): HeaderOp | undefined {
  if (!ops) return undefined;
  const remove = (ops.remove ?? []).map((n) => n.toLowerCase());
  const set = Object.entries(ops.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
  const add = Object.entries(ops.add ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
  if (remove.length + set.length + add.length === 0) return undefined;
  return (h) => {
    for (const n of remove) h.delete(n);
    for (const [k, v] of set) h.set(k, v);
    for (const [k, v] of add) h.append(k, v);
  };
}

/**
 * Query add/set/remove, done on the raw query string: parameters the ops do not name are forwarded
 * byte for byte (a URLSearchParams round trip would re-encode them: '%20' -> '+', 'flag' -> 'flag=').
 * Names are compared decoded, as URLSearchParams would; `set` replaces the first occurrence in place
 * and drops the others (appended when absent); `add` appends. Values the ops write are percent-encoded.
 * Only routes that configure query ops pay for this.
 */
export function compileQueryOps(ops: QueryOpsConfig | undefined): ((raw: string) => string) | undefined {
  if (!ops) return undefined;
  const remove = ops.remove ?? [];
  const setNames = Object.keys(ops.set ?? {});
  const setParts = Object.entries(ops.set ?? {}).map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`);
  let addParts = '';
  for (const [k, v] of Object.entries(ops.add ?? {})) addParts += `${addParts ? '&' : ''}${encodeURIComponent(k)}=${encodeURIComponent(v)}`;
  if (remove.length + setNames.length + addParts.length === 0) return undefined;
  return (raw) => {
    let out = '';
    const setDone = setParts.length > 0 ? new Uint8Array(setParts.length) : undefined;
    if (raw.length > 0) {
      for (const part of raw.split('&')) {
        if (part === '') continue;
        const eq = part.indexOf('=');
        const name = decodeQueryName(eq < 0 ? part : part.slice(0, eq));
        if (remove.includes(name)) continue;
        const si = setNames.indexOf(name);
        if (si >= 0) {
          if ((setDone as Uint8Array)[si] === 0) {
            (setDone as Uint8Array)[si] = 1;
            out += `${out ? '&' : ''}${setParts[si] as string}`;
          }
          continue;
        }
        out += `${out ? '&' : ''}${part}`;
      }
    }
    for (let i = 0; i < setParts.length; i++) if ((setDone as Uint8Array)[i] === 0) out += `${out ? '&' : ''}${setParts[i] as string}`;
    if (addParts) out += `${out ? '&' : ''}${addParts}`;
    return out;
  };
}

/** application/x-www-form-urlencoded name decoding ('+' is a space); a malformed escape stays as is. */
function decodeQueryName(raw: string): string {
  if (!raw.includes('%') && !raw.includes('+')) return raw;
  const s = raw.replaceAll('+', ' ');
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

export class HttpIntegration implements Integration {
  readonly type = 'http';
  readonly #upstream: Upstream;
  readonly #timeouts: UpstreamTimeouts;
  readonly #limits: UpstreamLimits;
  readonly #buildPath: PathBuilder;
  readonly #requestHeaders: HeaderOp | undefined;
  readonly #query: ((raw: string) => string) | undefined;
  readonly #preserveHost: boolean;
  readonly #config: HttpIntegrationConfig;
  readonly #maxBody: number;
  /** Set after the route is compiled (the route holds the integration, the integration needs the route's body limit). */
  route: CompiledRoute | undefined;

  constructor(config: HttpIntegrationConfig, upstream: Upstream, routePath: string, maxBodyBytes: number) {
    this.#config = config;
    this.#upstream = upstream;
    this.#timeouts = { ...upstream.timeouts, ...config.timeouts };
    this.#limits = new UpstreamLimits(this.#timeouts);
    this.#buildPath = compileRewrite(config, routePath);
    this.#requestHeaders = compileHeaderOps(config.requestHeaders);
    this.#query = compileQueryOps(config.query);
    this.#preserveHost = config.preserveHost;
    this.#maxBody = maxBodyBytes;
  }

  get upstreamName(): string {
    return this.#upstream.name;
  }

  describe(): Record<string, unknown> {
    const { type: _t, ...rest } = this.#config;
    const up = this.#upstream;
    // Health per target on the admin port's /routes (only upstreams with healthCheck).
    const health = up.health !== undefined ? { health: up.describeHealth() } : {};
    const circuit = up.describeCircuit();
    const dns = up.describeDns();
    return {
      type: 'http',
      upstream: up.name,
      targets: up.targets.map((t) => t.origin + t.basePath),
      ...health,
      ...(circuit !== undefined ? { circuit } : {}),
      ...(dns !== undefined ? { dns } : {}),
      ...rest,
    };
  }

  invoke(ctx: RequestContext): void {
    const upstream = this.#upstream;
    const target = upstream.pick(ctx);
    if (target === undefined) {
      ctx.sendError('SERVICE_UNAVAILABLE');
      return;
    }
    let rel = this.#buildPath(ctx);
    const query = this.#query !== undefined ? this.#query(ctx.rawQuery) : ctx.rawQuery;
    if (query.length > 0) rel += `?${query}`;
    const headers = ctx.upstreamHeaders;
    if (this.#requestHeaders !== undefined) this.#requestHeaders(headers);
    if (this.#preserveHost && ctx.host) headers.set('host', ctx.host);
    ctx.upstreamTarget = target.origin;

    let body: Buffer | import('node:stream').Readable | null = null;
    if (ctx.body !== undefined) {
      body = ctx.body;
      headers.set('content-length', String(ctx.body.length));
      headers.delete('transfer-encoding');
    } else if (ctx.contentLength > 0) {
      // The parser enforces the declared length; the body is paced, not counted.
      body = new PacedBody(ctx, ctx.req, Number.POSITIVE_INFINITY, false);
      ctx.bytesIn = ctx.contentLength;
    } else if (ctx.contentLength === -2) {
      // chunked: stream it, counting against the limit
      body = new PacedBody(ctx, ctx.req, this.#maxBody, true);
    }

    const policy = upstream.retry;
    if (policy !== undefined) {
      policy.budget.onRequest();
      new RetryState(ctx, upstream, policy, rel, body, this.#limits, this.#config.retryNonIdempotent).dispatch(target);
      return;
    }
    const path = target.basePath + rel;
    const handler = new ProxyHandler(ctx, this.#limits);
    if (body !== null && !Buffer.isBuffer(body)) handler.body = body;
    if (upstream.tracksInflight) {
      // least-connections / p2c: count the exchange in flight until the handler finishes.
      upstream.onStart(target);
      handler.upstream = upstream;
      handler.target = target;
    }
    // No headersTimeout/bodyTimeout: the pool has undici's off, the handler's deadlines bound the exchange.
    target.pool.dispatch({ origin: target.origin, method: ctx.method, path, headers: headers.list, body }, handler);
    handler.sending = false;
  }

  upgrade(ctx: RequestContext, socket: import('node:stream').Duplex, head: Buffer): void {
    const target = this.#upstream.pick(ctx);
    if (target === undefined) {
      writeRawError(socket, 'SERVICE_UNAVAILABLE', ctx.id);
      return;
    }
    if (this.#upstream.breaker !== undefined) this.#upstream.unpick(target);
    let path = target.basePath + this.#buildPath(ctx);
    if (ctx.rawQuery.length > 0) path += `?${ctx.rawQuery}`;
    if (this.#requestHeaders !== undefined) this.#requestHeaders(ctx.upstreamHeaders);
    if (this.#preserveHost && ctx.host) ctx.upstreamHeaders.set('host', ctx.host);
    proxyUpgrade(ctx, target, path, socket, head, this.#timeouts);
  }
}
