/**
 * The fast tier's gateway: the same config a process test would serve, run in this process through
 * `createGateway().inject()` (src/gateway.ts), with a `fetch`-shaped front so a converted test keeps
 * its assertions word for word. Only the gateway moves in-process: upstreams, key servers and
 * function modules stay real (test/helpers/upstream.ts).
 *
 * Keep the real process (test/helpers/gateway.ts) for what only a process shows: listeners, signals,
 * workers, reload, TLS, raw-socket parsing, CLI output.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import type { PluginClock } from '../../src/pipeline/types.js';
import { describeTable } from '../../src/server/describe.js';

/** What `url` holds: a converted test may keep writing `${gw.url}/path`. */
export const INJECT_ORIGIN = 'http://turnpike.inject';
/** What `adminUrl` holds: `${gw.adminUrl}/metrics` and `/routes` answer as the admin listener does. */
export const INJECT_ADMIN = 'http://turnpike.admin.inject';

export interface InjectedGateway {
  gateway: EmbeddedGateway;
  url: string;
  adminUrl: string;
  /** The port a request appears to arrive on (light-my-request's socket has none: the gateway says 80). */
  port: number;
  dir: string;
  file: string;
  /** Every JSON log line so far, access-log lines included (the logger writes to memory, not stdout). */
  logs: Record<string, unknown>[];
  /** Resolves when a log line matching the predicate appears (or rejects after timeoutMs). */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Nothing is written to a stderr in-process; kept so a "nothing leaks to the output" check reads the same. */
  stderr(): string;
  /** `fetch` semantics over inject(): a path or `${url}/path`; `remoteAddress` sets the client address. */
  fetch(target: string, init?: InjectInit): Promise<Response>;
  /**
   * Sends exactly this method, target and headers (no fetch normalisation, no default headers): the
   * in-process twin of aws-iam.ts's `send`, for signed requests.
   */
  send(s: RawRequest, override?: Partial<RawRequest>): Promise<RawAnswer>;
  close(): Promise<void>;
}

export interface RawRequest {
  method: string;
  target: string;
  headers: Record<string, string>;
  body?: string | undefined;
}

export interface RawAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface InjectInit {
  method?: string;
  headers?: ConstructorParameters<typeof Headers>[0];
  body?: string | Uint8Array | URLSearchParams;
  remoteAddress?: string;
}

export interface InjectOptions {
  /** Write the config into this directory (e.g. beside copied fixtures) instead of a new temp dir. */
  dir?: string;
  fileName?: string;
  /** Set in this process's environment before the config is read (what `${env:...}` interpolation sees). */
  env?: Record<string, string>;
  /** Default info, so access-log lines are collected as the process would print them. */
  logLevel?: string;
  /** The plugins' clock (GatewayOptions.clock): a test moves it through cache windows (movableClock in test/helpers/jwt.ts). */
  clock?: PluginClock;
}

export async function injectGateway(configText: string, opts: InjectOptions = {}): Promise<InjectedGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'turnpike-inject-'));
  const file = join(dir, opts.fileName ?? 'gateway.yaml');
  writeFileSync(file, configText);
  Object.assign(process.env, opts.env);
  const logs: Record<string, unknown>[] = [];
  // pino writes each line synchronously to a plain { write } destination.
  const dest = {
    write(line: string) {
      for (const l of line.split('\n')) {
        if (l === '') continue;
        try {
          logs.push(JSON.parse(l) as Record<string, unknown>);
        } catch {
          logs.push({ raw: l });
        }
      }
      return true;
    },
  };
  const logger = pino({ level: opts.logLevel ?? 'info', messageKey: 'msg', formatters: { level: (label) => ({ level: label }) } }, dest);
  const gateway = await createGateway({ source: { file }, logger, ...(opts.clock !== undefined ? { clock: opts.clock } : {}) });
  return {
    gateway,
    url: INJECT_ORIGIN,
    adminUrl: INJECT_ADMIN,
    port: 80,
    dir,
    file,
    logs,
    async waitForLog(pred, timeoutMs = 10_000) {
      // Lines arrive synchronously; poll briefly for ones written after a response (the log phase).
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const found = logs.find(pred);
        if (found !== undefined) return found;
        if (Date.now() > deadline) throw new Error('timed out waiting for log line');
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    stderr: () => '',
    fetch: (target, init) => injectFetch(gateway, target, init),
    async send(req, override = {}) {
      const m = { ...req, ...override };
      const res = await gateway.inject({ method: m.method, url: m.target, headers: m.headers, ...(m.body !== undefined ? { body: m.body } : {}) });
      return { status: res.status, headers: res.headers, body: res.text() };
    },
    close: () => gateway.close(),
  };
}

/** No body is allowed on these statuses in a WHATWG Response. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

export async function injectFetch(gateway: EmbeddedGateway, target: string, init: InjectInit = {}): Promise<Response> {
  if (target.startsWith(INJECT_ADMIN)) {
    const path = target.slice(INJECT_ADMIN.length);
    if (path === '/metrics') return new Response(await gateway.metrics(), { status: 200, headers: { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' } });
    // The same body the admin listener builds for /routes (src/server/describe.ts).
    if (path === '/routes') return Response.json(describeTable(gateway.table));
    throw new Error(`only /metrics and /routes of the admin listener are available in-process (asked for ${path})`);
  }
  const url = target.startsWith(INJECT_ORIGIN) ? target.slice(INJECT_ORIGIN.length) || '/' : target;
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((v, k) => {
    headers[k] = v;
  });
  let body: string | Buffer | undefined;
  if (typeof init.body === 'string') {
    body = init.body;
    // fetch labels a string body so; a test written against fetch may rely on it.
    headers['content-type'] ??= 'text/plain;charset=UTF-8';
  } else if (init.body instanceof URLSearchParams) {
    body = init.body.toString();
    headers['content-type'] ??= 'application/x-www-form-urlencoded;charset=UTF-8';
  } else if (init.body !== undefined) {
    body = Buffer.from(init.body);
  }
  const method = (init.method ?? 'GET').toUpperCase();
  const res = await gateway.inject({ method, url, headers, ...(body !== undefined ? { body } : {}), ...(init.remoteAddress ? { remoteAddress: init.remoteAddress } : {}) });
  const out = new Headers();
  for (const [k, v] of Object.entries(res.headers)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const one of v) out.append(k, one);
    else out.append(k, String(v));
  }
  const payload = NULL_BODY.has(res.status) || method === 'HEAD' ? null : res.body;
  return new Response(payload, { status: res.status, headers: out });
}
