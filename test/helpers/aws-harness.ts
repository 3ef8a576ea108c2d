/**
 * A tiny in-process gateway for one AWS non-proxy integration: a real node:http server whose handler
 * builds a real RequestContext (as src/server/gateway.ts does), reads the body, matches the resource
 * path template for path parameters and calls integration.invoke(ctx). Plus a raw HTTP client that
 * sends exactly the headers it is given, and a fake Lambda Invoker (it stands for the runtime, which
 * has its own tests).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import type { Integration, RouteTable } from '../../src/compile/types.js';
import type { Invoker } from '../../src/integrations/function/index.js';
import type { InvokeResult } from '../../src/integrations/function/runtime/types.js';
import { RequestContext } from '../../src/pipeline/context.js';

export const silentLogger = pino({ level: 'silent' });

export interface Harness {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Matches `/pets/{petId}` (and `{proxy+}`) against a request path; raw (still encoded) values as API Gateway keeps them. */
export function matchResource(template: string, path: string): Record<string, string> | undefined {
  const t = template.split('/').filter(Boolean);
  const p = path.split('/').filter(Boolean);
  const params: Record<string, string> = {};
  for (let i = 0; i < t.length; i++) {
    const seg = t[i] as string;
    const greedy = /^\{(.+)\+\}$/.exec(seg);
    if (greedy) {
      if (i >= p.length) return undefined;
      params[greedy[1] as string] = p.slice(i).join('/');
      return params;
    }
    const m = /^\{(.+)\}$/.exec(seg);
    if (i >= p.length) return undefined;
    if (m) params[m[1] as string] = p[i] as string;
    else if (seg !== p[i]) return undefined;
  }
  return t.length === p.length ? params : undefined;
}

/** Serves `integration` for requests whose path matches `resourcePath` (404 otherwise). */
export async function startAwsHarness(integration: Integration, resourcePath: string): Promise<Harness> {
  const table = {
    limits: { bodyBytes: 10 * 1024 * 1024 },
    logger: silentLogger,
  } as unknown as RouteTable;
  let seq = 0;
  const server = http.createServer((req, res) => {
    const ctx = new RequestContext(req, res, table, `req-${++seq}`, performance.now(), 'http');
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    ctx.path = q === -1 ? url : url.slice(0, q);
    ctx.rawQuery = q === -1 ? '' : url.slice(q + 1);
    ctx.host = String(req.headers.host ?? '');
    const params = matchResource(resourcePath, ctx.path);
    if (params === undefined) {
      res.writeHead(404).end();
      return;
    }
    ctx.params = params;
    res.once('close', () => {
      if (!res.writableFinished) ctx.abort(new Error('client closed the connection'));
    });
    ctx
      .readBody()
      .then(() => integration.invoke(ctx))
      .catch((err: unknown) => {
        if (!res.headersSent) res.writeHead(599, { 'content-type': 'text/plain' }).end(String(err));
      });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends exactly these headers (plus Host and Content-Length when a body is given). */
export function call(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const headers: Record<string, string> = { ...(opts.headers ?? {}) };
    if (opts.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(opts.body));
    const req = http.request(
      { host: u.hostname, port: u.port, path: `${u.pathname}${u.search}`, method: opts.method ?? 'GET', headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** A stand-in for the Lambda runtime: `handle(event)` returns what the function returned, or throws like a handler would. */
export function fakeInvoker(handle: (event: unknown) => unknown | Promise<unknown>, opts: { delayMs?: number } = {}): Invoker & { events: unknown[] } {
  const events: unknown[] = [];
  return {
    events,
    async invoke(event: unknown): Promise<InvokeResult> {
      events.push(event);
      if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
      try {
        const payload = await handle(event);
        return { ok: true, payload, durationMs: 1 };
      } catch (err) {
        const e = err as Error;
        return {
          ok: false,
          kind: 'unhandled',
          errorType: e.name || 'Error',
          errorMessage: e.message,
          stack: String(e.stack ?? '').split('\n'),
          durationMs: 1,
        };
      }
    },
  };
}
