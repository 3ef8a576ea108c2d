/** Helpers for the edge-safety integration tests (test/integration/edge-*.test.ts). */
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { RunningGateway } from './gateway.js';
import { type RawResponse, rawGet, rawRequest } from './raw-http.js';

export interface Arrival {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  rawHeaders: string[];
  bodyBytes: number;
  /** The whole request body arrived (the request ended cleanly). */
  complete: boolean;
}

export interface RecordingUpstream {
  url: string;
  port: number;
  /** Every request, recorded the moment its headers arrive (so aborted ones are seen too). */
  arrivals: Arrival[];
  close(): Promise<void>;
}

/** An upstream that records each request as soon as its headers arrive, then echoes {url, headers, bodyBytes} as JSON. */
export async function startRecordingUpstream(): Promise<RecordingUpstream> {
  const arrivals: Arrival[] = [];
  const server = http.createServer((req, res) => {
    const a: Arrival = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, rawHeaders: req.rawHeaders, bodyBytes: 0, complete: false };
    arrivals.push(a);
    req.on('data', (c: Buffer) => {
      a.bodyBytes += c.length;
    });
    req.on('error', () => {});
    req.on('end', () => {
      a.complete = !req.readableAborted;
      const text = JSON.stringify({ url: a.url, headers: req.headers, bodyBytes: a.bodyBytes });
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  server.on('clientError', (_e, s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    arrivals,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

export interface ErrorBody {
  message: string;
  code: string;
  requestId: string;
}

/**
 * Asserts a gateway error answer: the status, a JSON body with `code` and `requestId`,
 * and an x-request-id header equal to the body's requestId.
 */
export function assertJsonError(res: RawResponse, status: number, code?: string | RegExp): ErrorBody {
  assert.equal(res.status, status, `expected ${status}, got ${res.status} (${res.outcome}): ${res.raw.toString('latin1').slice(0, 300)}`);
  assert.match(res.headers['content-type'] ?? '', /^application\/json/);
  const body = JSON.parse(res.body) as ErrorBody;
  if (typeof code === 'string') assert.equal(body.code, code);
  else if (code !== undefined) assert.match(body.code, code);
  else assert.equal(typeof body.code, 'string');
  assert.equal(typeof body.requestId, 'string');
  assert.ok(body.requestId.length > 0);
  assert.equal(res.headers['x-request-id'], body.requestId);
  return body;
}

/** The process is still the same and still serves a normal request on a fresh connection. */
export async function assertAlive(gw: RunningGateway, pid: number | undefined, okPath = '/ok'): Promise<void> {
  assert.equal(gw.proc.exitCode, null, `gateway exited: ${gw.stderr().slice(-1000)}`);
  assert.equal(gw.proc.pid, pid);
  const res = await rawRequest(gw.port, rawGet(okPath), { timeoutMs: 3_000 });
  assert.equal(res.status, 200, `health request failed: ${res.outcome} ${res.raw.toString('latin1').slice(0, 200)}`);
}
