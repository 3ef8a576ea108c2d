/**
 * Helpers for the ip-restriction and WAF unit tests: a request context with just the fields those
 * hooks read (no sockets), a logger whose lines are kept, and a quick way to build a plugin instance.
 */
import { Writable } from 'node:stream';
import client from 'prom-client';
import pino from 'pino';
import type { RequestContext } from '../../src/pipeline/context.js';
import { ERRORS, errorBody, isDenial } from '../../src/errors/catalogue.js';
import type { Static, TObject } from '@sinclair/typebox';
import type { EarlyResponse, PluginDefinition, PluginHooks } from '../../src/pipeline/types.js';
import { instantiate } from './plugin-deps.js';

export interface FakeRequest {
  method?: string;
  path?: string;
  rawQuery?: string;
  /** Raw target; defaults to path + ?query. */
  url?: string;
  headers?: [string, string][];
  body?: string | Buffer;
  /** Send the body chunked (content length unknown). */
  chunked?: boolean;
  clientIp?: string;
}

export function fakeCtx(r: FakeRequest, registry = new client.Registry()) {
  const raw: string[] = [];
  const headers: Record<string, string> = {};
  for (const [k, v] of r.headers ?? []) {
    raw.push(k, v);
    headers[k.toLowerCase()] = v;
  }
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
  let reads = 0;
  const ctx = {
    id: 'req-test-1',
    method: r.method ?? 'GET',
    path: r.path ?? '/',
    rawQuery: r.rawQuery ?? '',
    clientIp: r.clientIp ?? '192.0.2.10',
    peerIp: r.clientIp ?? '192.0.2.10',
    req: { rawHeaders: raw, headers, url: r.url ?? `${r.path ?? '/'}${r.rawQuery ? `?${r.rawQuery}` : ''}` },
    table: { metrics: { registry } },
    route: { id: 'a/r' },
    body: undefined as Buffer | undefined,
    contentLength: body === undefined ? -1 : r.chunked ? -2 : body.length,
    errorCode: undefined as string | undefined,
    readBody() {
      reads++;
      ctx.body = body ?? Buffer.alloc(0);
      return Promise.resolve(ctx.body);
    },
    get bodyReads() {
      return reads;
    },
  };
  return ctx;
}

export function captureLogger(level = 'debug') {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

/** Builds a plugin instance the way compile does. */
export function instance<S extends TObject>(def: PluginDefinition<S>, config: Static<S>, logger = pino({ level: 'silent' })): PluginHooks {
  return instantiate(def, config, { logger });
}

/** Runs the onRequest hook against a fake request; a denial is rendered as the native dialect renders it. */
export async function run(hooks: PluginHooks, r: FakeRequest | ReturnType<typeof fakeCtx>): Promise<EarlyResponse | undefined> {
  const ctx = 'readBody' in r ? r : fakeCtx(r);
  const out = (await hooks.onRequest?.(ctx as unknown as RequestContext)) ?? undefined;
  if (out === undefined || !isDenial(out)) return out;
  const id = (ctx as { id: string }).id;
  return { status: ERRORS[out.deny].status, headers: { 'content-type': 'application/json', ...out.headers }, body: errorBody(out.deny, id, out.message) };
}

/** The `problems` a create() call throws, as "path: message" strings. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (e) {
    const p = (e as { problems?: { path: (string | number)[]; message: string }[] }).problems;
    if (p) return p.map((x) => `${x.path.join('.')}: ${x.message}`);
    throw e;
  }
  return [];
}

/** The rule the WAF logs block on (its id must appear in the log, never in the answer). */
export const SECRET_RULE = 'block-private-7f3a';

/** The ip-restriction + WAF gateway both tiers test (test/inject/ip-waf.test.ts, test/integration/ip-waf.test.ts). */
export function ipWafConfig(upstreamUrl: string): string {
  return `
server:
  trustedProxies: [127.0.0.1/32]
upstreams:
  app: { targets: [{ url: ${upstreamUrl} }] }
apis:
  - name: ip
    basePath: /ip
    plugins:
      ip-restriction: { allow: [10.0.0.0/8, 2001:db8::/32], deny: [10.6.6.0/24] }
    routes:
      - { path: '/{proxy+}', integration: { type: http, upstream: app } }
      - path: /open
        integration: { type: http, upstream: app }
        plugins: { ip-restriction: { enabled: false } }
  - name: w
    basePath: /waf
    plugins:
      waf:
        managed: [sqli, xss, traversal, scanners]
        rules:
          - { id: allow-office, action: allow, when: [{ field: ip, operator: ip-in, value: [10.9.0.0/16] }] }
          - { id: ${SECRET_RULE}, action: block, when: [{ field: path, operator: starts-with, value: /waf/private }] }
          - { id: count-posts, action: count, when: [{ field: method, operator: equals, value: POST }] }
          - { id: no-eval-in-body, action: block, when: [{ field: body, operator: contains, value: 'eval(' }] }
          - { id: too-many-args, action: block, when: [{ field: query, operator: count-gt, value: 20 }] }
    routes:
      - { path: '/{proxy+}', integration: { type: http, upstream: app } }
`;
}
