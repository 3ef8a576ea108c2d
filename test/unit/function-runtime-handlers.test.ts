// FunctionPool: handler styles, context, environment, errors, logs, in-place module resolution.
// Real function processes running the handler modules under test/fixtures/functions.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { FunctionPool, type FunctionLogRecord, type FunctionSpec, type InvokeResult } from '../../src/integrations/function/runtime/index.js';

const fixture = (f: string): string => fileURLToPath(new URL(`../../../test/fixtures/functions/${f}`, import.meta.url));
const pools: FunctionPool[] = [];
function pool(spec: Partial<FunctionSpec> & { module: string }, logs?: FunctionLogRecord[]): FunctionPool {
  const p = new FunctionPool({ name: 'fn', ...spec }, { log: (r) => logs?.push(r) });
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function ok(r: InvokeResult): unknown {
  assert.equal(r.ok, true, `expected success, got ${JSON.stringify(r)}`);
  return (r as { payload: unknown }).payload;
}
function failed(r: InvokeResult) {
  assert.equal(r.ok, false, `expected failure, got ${JSON.stringify(r)}`);
  return r as Extract<InvokeResult, { ok: false }>;
}

describe('warm workers', { timeout: 20_000 }, () => {
  it('module state persists across warm invocations of one worker', async () => {
    const p = pool({ module: fixture('counter.mjs') });
    const a = ok(await p.invoke({})) as { count: number; pid: number; loadedAt: number };
    const b = ok(await p.invoke({})) as typeof a;
    const c = ok(await p.invoke({})) as typeof a;
    assert.deepEqual([a.count, b.count, c.count], [1, 2, 3]);
    assert.equal(a.pid, c.pid);
    assert.notEqual(a.pid, process.pid, 'the handler runs in a process of its own');
    assert.equal(a.loadedAt, c.loadedAt);
    assert.equal(p.stats.warm, 1);
    assert.equal(p.stats.busy, 0);
    assert.equal(p.stats.invocations, 3);
  });

  it('concurrent invocations get separate workers, each with its own module state', async () => {
    const p = pool({ module: fixture('counter.mjs'), concurrency: 3 });
    const rs = (await Promise.all([1, 2, 3].map(() => p.invoke({ sleepMs: 100 })))).map(ok) as { count: number; pid: number }[];
    assert.equal(new Set(rs.map((r) => r.pid)).size, 3);
    assert.deepEqual(
      rs.map((r) => r.count),
      [1, 1, 1],
    );
    assert.equal(p.stats.warm, 3);
  });
});

describe('handler styles', { timeout: 20_000 }, () => {
  it('ESM async handler; undefined result is null; payload goes through JSON like Lambda', async () => {
    const p = pool({ module: fixture('modes.mjs') });
    assert.deepEqual(ok(await p.invoke({ mode: 'ok', echo: [1, 'x'] })), { ok: true, echo: [1, 'x'] });
    assert.equal(ok(await p.invoke({ mode: 'undefined' })), null);
    assert.deepEqual(ok(await p.invoke({ mode: 'date' })), { when: '1970-01-01T00:00:00.000Z' });
  });

  it('CommonJS handler exported through module.exports', async () => {
    const p = pool({ module: fixture('echo.cjs') });
    const r = ok(await p.invoke({ a: 1 }, { requestId: 'req-cjs' }));
    assert.deepEqual(r, { kind: 'cjs', event: { a: 1 }, file: 'echo.cjs', requestId: 'req-cjs' });
  });

  it('callback style: callback(null, result) and callback(err)', async () => {
    const p = pool({ module: fixture('callback.cjs') });
    assert.deepEqual(ok(await p.invoke({ value: 7 })), { kind: 'callback', value: 7 });
    const e = failed(await p.invoke({ fail: 'x' }));
    assert.equal(e.kind, 'unhandled');
    assert.equal(e.errorType, 'TypeError');
    assert.equal(e.errorMessage, 'bad input: x');
    assert.match(e.stack?.[0] ?? '', /^TypeError: bad input: x/);
  });

  it('legacy context.succeed / context.fail', async () => {
    const p = pool({ module: fixture('callback.cjs'), export: 'legacy' });
    assert.deepEqual(ok(await p.invoke({ value: 'v' })), { kind: 'legacy', value: 'v' });
    const e = failed(await p.invoke({ fail: 'nope' }));
    assert.equal(e.kind, 'unhandled');
    assert.equal(e.errorType, 'Error');
    assert.equal(e.errorMessage, 'nope');
  });

  it('callbackWaitsForEmptyEventLoop: true waits for pending timers, false answers at once', async () => {
    const p = pool({ module: fixture('callback.cjs'), export: 'waits' });
    const t1 = Date.now();
    ok(await p.invoke({ wait: true }));
    assert.ok(Date.now() - t1 >= 280, 'the answer waited for the 300 ms timer');
    const t2 = Date.now();
    ok(await p.invoke({ wait: false }));
    assert.ok(Date.now() - t2 < 250, 'the answer did not wait for the timer');
  });

  it('synchronous handlers, and dotted export paths', async () => {
    assert.deepEqual(ok(await pool({ module: fixture('sync.mjs'), export: 'returnsValue' }).invoke({ n: 2 })), { sync: true, n: 2 });
    assert.equal(ok(await pool({ module: fixture('sync.mjs'), export: 'returnsNothing' }).invoke({})), null);
    assert.equal(ok(await pool({ module: fixture('sync.mjs'), export: 'nested.deeper.handler' }).invoke({})), 'nested');
  });
});

describe('errors', { timeout: 20_000 }, () => {
  it('thrown and rejected errors are formatted like the Lambda Node.js runtime', async () => {
    const p = pool({ module: fixture('modes.mjs') });
    const thrown = failed(await p.invoke({ mode: 'throw' }));
    assert.equal(thrown.kind, 'unhandled');
    assert.equal(thrown.errorType, 'ValidationError');
    assert.equal(thrown.errorMessage, 'name is required');
    assert.match(thrown.stack?.[0] ?? '', /^ValidationError: name is required/);
    assert.ok((thrown.stack ?? []).some((l) => l.includes('modes.mjs')));
    const rejected = failed(await p.invoke({ mode: 'reject' }));
    assert.equal(rejected.errorType, 'RangeError');
    const str = failed(await p.invoke({ mode: 'throw-string' }));
    assert.equal(str.errorType, 'string');
    assert.equal(str.errorMessage, 'plain string');
    // errors do not cost the warm worker
    assert.deepEqual(ok(await p.invoke({ mode: 'ok' })), { ok: true, echo: null });
    assert.equal(p.stats.warm, 1);
    assert.equal(p.stats.crashes, 0);
  });

  it('an unserialisable result is an error', async () => {
    const e = failed(await pool({ module: fixture('modes.mjs') }).invoke({ mode: 'circular' }));
    assert.equal(e.kind, 'unhandled');
    assert.equal(e.errorType, 'TypeError');
  });

  it('load errors: missing file, missing export, throwing module', async () => {
    const missing = failed(await pool({ module: fixture('does-not-exist.mjs') }).invoke({}));
    assert.equal(missing.kind, 'load-error');
    assert.equal(missing.errorType, 'Runtime.ImportModuleError');
    const noExport = failed(await pool({ module: fixture('no-handler.mjs') }).invoke({}));
    assert.equal(noExport.kind, 'load-error');
    assert.equal(noExport.errorType, 'Runtime.HandlerNotFound');
    assert.equal(noExport.errorMessage, 'no-handler.handler is undefined or not exported');
    const p = pool({ module: fixture('init-throws.mjs') });
    const throws = failed(await p.invoke({}));
    assert.equal(throws.kind, 'load-error');
    assert.equal(throws.errorType, 'Error');
    assert.match(throws.errorMessage, /init failed/);
    assert.equal(p.stats.warm, 0, 'a worker whose init failed is not kept');
  });
});

describe('context and environment', { timeout: 20_000 }, () => {
  it('context fields match Lambda; getRemainingTimeInMillis counts down', async () => {
    const p = pool({ name: 'orders-api', module: fixture('context.mjs'), timeoutMs: 2000, memoryMb: 256, region: 'eu-west-1', accountId: '123456789012' });
    const r = ok(await p.invoke({ sleepMs: 100 }, { requestId: 'rid-1' })) as {
      context: Record<string, unknown>;
      before: number;
      after: number;
    };
    assert.deepEqual({ ...r.context, logStreamName: undefined }, {
      awsRequestId: 'rid-1',
      functionName: 'orders-api',
      functionVersion: '$LATEST',
      memoryLimitInMB: '256',
      invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:orders-api',
      logGroupName: '/aws/lambda/orders-api',
      logStreamName: undefined,
      callbackWaitsForEmptyEventLoop: true,
      hasIdentity: true,
      identity: null,
      clientContext: null,
    });
    assert.match(String(r.context.logStreamName), /^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.ok(r.before <= 2000 && r.before > 1500, `before=${r.before}`);
    assert.ok(r.after <= r.before - 90 && r.after > 0, `before=${r.before} after=${r.after}`);
    // a random request id when none is given
    const r2 = ok(await p.invoke({ sleepMs: 1 })) as { context: { awsRequestId: string } };
    assert.match(r2.context.awsRequestId, /^[0-9a-f-]{36}$/);
  });

  it('the caller deadline shortens the remaining time', async () => {
    const p = pool({ module: fixture('context.mjs'), timeoutMs: 10_000 });
    ok(await p.invoke({ sleepMs: 1 })); // warm, so no cold start eats into the deadline
    const r = ok(await p.invoke({ sleepMs: 1 }, { deadlineMs: Date.now() + 3000 })) as { before: number };
    assert.ok(r.before <= 3000 && r.before > 2000, `before=${r.before}`);
  });

  it('process.env holds the configured and Lambda variables, not the gateway environment', async () => {
    process.env.TURNPIKE_SECRET = 'do-not-leak';
    process.env.AWS_SECRET_ACCESS_KEY = 'gateway-credentials';
    try {
      const p = pool({
        name: 'env-fn',
        module: fixture('context.mjs'),
        memoryMb: 512,
        region: 'ap-south-1',
        environment: { TABLE_NAME: 'orders', AWS_REGION: 'ignored-reserved' },
      });
      const { env } = ok(await p.invoke({ sleepMs: 1 })) as { env: Record<string, string> };
      assert.equal(env.TURNPIKE_SECRET, undefined);
      assert.equal(env.AWS_SECRET_ACCESS_KEY, undefined);
      assert.equal(env.HOME, undefined);
      assert.equal(env.TABLE_NAME, 'orders');
      assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'env-fn');
      assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
      assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '512');
      assert.equal(env.AWS_REGION, 'ap-south-1');
      assert.equal(env.AWS_DEFAULT_REGION, 'ap-south-1');
      assert.equal(env.LAMBDA_TASK_ROOT, fileURLToPath(new URL('../../../test/fixtures/functions', import.meta.url)));
      assert.equal(env._HANDLER, 'context.handler');
      assert.equal(env.PATH, process.env.PATH);
      assert.ok(env.AWS_LAMBDA_LOG_STREAM_NAME?.includes('[$LATEST]'));
      // the gateway's own environment is untouched by the worker
      assert.equal(process.env.AWS_LAMBDA_FUNCTION_NAME, undefined);
    } finally {
      delete process.env.TURNPIKE_SECRET;
      delete process.env.AWS_SECRET_ACCESS_KEY;
    }
  });

  it('resolves imports from the node_modules next to the handler (in place, like a Lambda bundle)', async () => {
    // The bundle is laid out at test time: a node_modules folder is never committed.
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-bundle-'));
    mkdirSync(join(dir, 'node_modules', 'leftpad-lite'), { recursive: true });
    writeFileSync(join(dir, 'node_modules', 'leftpad-lite', 'package.json'), '{"name":"leftpad-lite","version":"1.0.0","main":"index.js"}');
    writeFileSync(
      join(dir, 'node_modules', 'leftpad-lite', 'index.js'),
      "'use strict';\nfunction leftpad(s, len, ch) { s = String(s); while (s.length < len) s = (ch || ' ') + s; return s; }\nleftpad.version = 'leftpad-lite@1.0.0';\nmodule.exports = leftpad;\n",
    );
    writeFileSync(
      join(dir, 'index.mjs'),
      "import leftpad from 'leftpad-lite';\nexport const handler = async (event) => ({ padded: leftpad(String(event.value), 5, '0'), version: leftpad.version });\n",
    );
    const p = pool({ module: join(dir, 'index.mjs') });
    assert.deepEqual(ok(await p.invoke({ value: 42 })), { padded: '00042', version: 'leftpad-lite@1.0.0' });
  });
});

describe('logs', { timeout: 20_000 }, () => {
  it('console output is captured, tagged with the request id, forwarded and tailed into the result', async () => {
    const logs: FunctionLogRecord[] = [];
    const p = pool({ name: 'logger', module: fixture('modes.mjs') }, logs);
    const r = await p.invoke({ mode: 'log' }, { requestId: 'req-log' });
    assert.equal(ok(r), 'logged');
    const consoleLines = logs.filter((l) => l.source === 'console');
    assert.deepEqual(
      consoleLines.map((l) => [l.functionName, l.requestId, l.level, l.message]),
      [
        ['logger', 'req-log', 'INFO', 'hello { a: 1 }'],
        ['logger', 'req-log', 'ERROR', 'bad thing'],
      ],
    );
    assert.match((r as { logs?: string }).logs ?? '', /\treq-log\tINFO\thello \{ a: 1 \}\n/);
    // raw stdout writes arrive asynchronously through the worker's stdout stream
    for (let i = 0; i < 100 && !logs.some((l) => l.source === 'stdout'); i++) await new Promise((res) => setTimeout(res, 10));
    const raw = logs.find((l) => l.source === 'stdout');
    assert.equal(raw?.message, 'raw line');
    assert.equal(raw?.requestId, 'req-log');
  });
});
