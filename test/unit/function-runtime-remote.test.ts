// RemoteFunction against a small Lambda Invoke API server (POST /2015-03-31/functions/{name}/invocations)
// on 127.0.0.1, including the X-Amz-Function-Error path.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RemoteFunction, type InvokeResult } from '../../src/integrations/function/runtime/index.js';

let server: Server;
let endpoint: string;
const seen: { method: string; url: string; contentType: string | undefined; body: unknown }[] = [];

function answer(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(typeof body === 'string' ? body : JSON.stringify(body));
}

async function onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  const event = text ? JSON.parse(text) : null;
  seen.push({ method: req.method ?? '', url: req.url ?? '', contentType: req.headers['content-type'], body: event });
  const m = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/.exec(req.url ?? '');
  if (req.method !== 'POST' || !m) return answer(res, 404, { Type: 'User', message: 'not found' });
  const name = decodeURIComponent(m[1] ?? '');
  switch (name) {
    case 'echo':
      return answer(res, 200, { echoed: event }, { 'x-amz-log-result': Buffer.from('START\nhello\n').toString('base64') });
    case 'nothing':
      return answer(res, 200, 'null');
    case 'fails':
      return answer(
        res,
        200,
        { errorType: 'ValidationError', errorMessage: 'name is required', trace: ['ValidationError: name is required', '    at handler (/var/task/index.js:3:9)'] },
        { 'x-amz-function-error': 'Unhandled' },
      );
    case 'handled':
      return answer(res, 200, { errorType: 'Error', errorMessage: 'old style', stackTrace: ['a', 'b'] }, { 'x-amz-function-error': 'Handled' });
    case 'times-out':
      return answer(
        res,
        200,
        { errorType: 'Sandbox.Timedout', errorMessage: 'RequestId: abc Error: Task timed out after 3.00 seconds' },
        { 'x-amz-function-error': 'Unhandled' },
      );
    case 'exits':
      return answer(res, 200, { errorType: 'Runtime.ExitError', errorMessage: 'RequestId: abc Error: Runtime exited with error: exit status 1' }, { 'x-amz-function-error': 'Unhandled' });
    case 'throttled':
      return answer(res, 429, { Type: 'User', message: 'Rate Exceeded.' }, { 'x-amzn-errortype': 'TooManyRequestsException' });
    case 'slow':
      await new Promise((r) => setTimeout(r, 1000));
      return answer(res, 200, { late: true });
    default:
      return answer(res, 404, { Type: 'User', message: `Function not found: ${name}` }, { 'x-amzn-errortype': 'ResourceNotFoundException' });
  }
}

before(async () => {
  server = createServer((req, res) => {
    onRequest(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const failed = (r: InvokeResult) => {
  assert.equal(r.ok, false, JSON.stringify(r));
  return r as Extract<InvokeResult, { ok: false }>;
};

describe('RemoteFunction', { timeout: 20_000 }, () => {
  it('posts the event as JSON to the Invoke API and returns the payload', async () => {
    const r = await new RemoteFunction(endpoint, 'echo').invoke({ a: [1, 2] });
    assert.equal(r.ok, true);
    assert.deepEqual((r as { payload: unknown }).payload, { echoed: { a: [1, 2] } });
    assert.equal((r as { logs?: string }).logs, 'START\nhello\n');
    const last = seen.at(-1);
    assert.equal(last?.method, 'POST');
    assert.equal(last?.url, '/2015-03-31/functions/echo/invocations');
    assert.equal(last?.contentType, 'application/json');
    assert.equal((await new RemoteFunction(endpoint, 'nothing').invoke(undefined)).ok, true);
    assert.equal(seen.at(-1)?.body, null);
  });

  it('maps X-Amz-Function-Error answers', async () => {
    const unhandled = failed(await new RemoteFunction(endpoint, 'fails').invoke({}));
    assert.equal(unhandled.kind, 'unhandled');
    assert.equal(unhandled.errorType, 'ValidationError');
    assert.equal(unhandled.errorMessage, 'name is required');
    assert.equal(unhandled.stack?.length, 2);
    const handled = failed(await new RemoteFunction(endpoint, 'handled').invoke({}));
    assert.equal(handled.kind, 'handled-error');
    assert.deepEqual(handled.stack, ['a', 'b']);
    assert.equal(failed(await new RemoteFunction(endpoint, 'times-out').invoke({})).kind, 'timeout');
    assert.equal(failed(await new RemoteFunction(endpoint, 'exits').invoke({})).kind, 'crash');
  });

  it('maps service errors: 429 is throttled, 404 an unknown function', async () => {
    const t = failed(await new RemoteFunction(endpoint, 'throttled').invoke({}));
    assert.equal(t.kind, 'throttled');
    assert.equal(t.errorType, 'TooManyRequestsException');
    const nf = failed(await new RemoteFunction(endpoint, 'nope').invoke({}));
    assert.equal(nf.kind, 'load-error');
    assert.equal(nf.errorType, 'ResourceNotFoundException');
  });

  it('times out on its own limit and on the caller deadline; aborts reject', async () => {
    const t0 = Date.now();
    const r = failed(await new RemoteFunction(endpoint, 'slow', { timeoutMs: 200 }).invoke({}));
    assert.equal(r.kind, 'timeout');
    assert.ok(Date.now() - t0 < 700);
    const d = failed(await new RemoteFunction(endpoint, 'slow').invoke({}, { deadlineMs: Date.now() + 150 }));
    assert.equal(d.kind, 'timeout');
    const ac = new AbortController();
    const p = new RemoteFunction(endpoint, 'slow').invoke({}, { signal: ac.signal });
    setTimeout(() => ac.abort(), 50);
    await assert.rejects(p, { name: 'AbortError' });
  });

  it('an unreachable endpoint is a crash, not an exception', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const port = (probe.address() as AddressInfo).port;
    await new Promise((r) => probe.close(r));
    const r = failed(await new RemoteFunction(`http://127.0.0.1:${port}`, 'echo').invoke({}));
    assert.equal(r.kind, 'crash');
    assert.equal(r.errorType, 'ECONNREFUSED');
  });
});
