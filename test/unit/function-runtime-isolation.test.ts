// FunctionPool isolation and capacity: timeouts, crashes, out of memory, concurrency, throttling,
// aborts, idle reaping, close. Real worker threads; every wait is bounded.
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { after, describe, it } from 'node:test';
import { FunctionPool, type FunctionLogRecord, type FunctionSpec, type InvokeResult } from '../../src/integrations/function/runtime/index.js';

const fixture = (f: string): string => fileURLToPath(new URL(`../../../test/fixtures/functions/${f}`, import.meta.url));
const pools: FunctionPool[] = [];
function pool(spec: Partial<FunctionSpec>, opts: { idleMs?: number; log?: (r: FunctionLogRecord) => void } = {}): FunctionPool {
  const p = new FunctionPool({ name: 'iso', module: fixture('modes.mjs'), ...spec }, { log: () => {}, ...opts });
  pools.push(p);
  return p;
}
after(async () => {
  await Promise.all(pools.map((p) => p.close()));
});

function failed(r: InvokeResult) {
  assert.equal(r.ok, false, `expected failure, got ${JSON.stringify(r)}`);
  return r as Extract<InvokeResult, { ok: false }>;
}
const okResult = { ok: true, payload: { ok: true, echo: null } };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('timeouts', { timeout: 20_000 }, () => {
  it('a busy-looping handler times out within timeout + 500 ms; its worker is replaced', async () => {
    const logs: FunctionLogRecord[] = [];
    const p = pool({ timeoutMs: 300 }, { log: (r) => logs.push(r) });
    await p.invoke({ mode: 'ok' }); // warm up, so the timing below measures the run only
    const t0 = Date.now();
    const r = failed(await p.invoke({ mode: 'spin' }, { requestId: 'spin-1' }));
    const took = Date.now() - t0;
    assert.ok(took >= 290 && took < 800, `took ${took} ms`);
    assert.equal(r.kind, 'timeout');
    assert.equal(r.errorType, 'Sandbox.Timedout');
    assert.equal(r.errorMessage, 'Task timed out after 0.30 seconds');
    assert.equal(p.stats.timeouts, 1);
    assert.ok(logs.some((l) => l.source === 'runtime' && l.requestId === 'spin-1' && /timed out/.test(l.message)));
    const next = await p.invoke({ mode: 'ok' });
    assert.deepEqual({ ok: next.ok, payload: (next as { payload?: unknown }).payload }, okResult);
    assert.equal(p.stats.warm, 1);
  });

  it('the caller deadline cuts an invocation off before the function timeout', async () => {
    const p = pool({ timeoutMs: 10_000 });
    const t0 = Date.now();
    const r = failed(await p.invoke({ mode: 'spin' }, { deadlineMs: Date.now() + 400 }));
    assert.ok(Date.now() - t0 < 1200);
    assert.equal(r.kind, 'timeout');
  });

  it('a module that hangs during init is cut off by the init limit', async () => {
    const p = new FunctionPool({ name: 'hang', module: fixture('modes.mjs') }, { log: () => {}, initTimeoutMs: 1 });
    pools.push(p);
    // 1 ms is shorter than any worker start, so init always times out
    const r = failed(await p.invoke({ mode: 'ok' }));
    assert.equal(r.kind, 'timeout');
    assert.match(r.errorMessage, /^Init timed out/);
  });
});

describe('crashes', { timeout: 30_000 }, () => {
  it('process.exit() in a handler is a crash; the gateway survives and the pool recovers', async () => {
    const p = pool({});
    const r = failed(await p.invoke({ mode: 'exit' }, { requestId: 'exit-1' }));
    assert.equal(r.kind, 'crash');
    assert.equal(r.errorType, 'Runtime.ExitError');
    assert.equal(r.errorMessage, 'RequestId: exit-1 Error: Runtime exited with error: exit status 3');
    assert.equal(p.stats.crashes, 1);
    const next = await p.invoke({ mode: 'ok' });
    assert.equal(next.ok, true);
  });

  it('an exception thrown from a timer fails the invocation and replaces the worker', async () => {
    const p = pool({});
    const r = failed(await p.invoke({ mode: 'uncaught' }));
    assert.equal(r.kind, 'unhandled');
    assert.equal(r.errorType, 'Error');
    assert.equal(r.errorMessage, 'thrown from a timer');
    assert.equal((await p.invoke({ mode: 'ok' })).ok, true);
    assert.equal(p.stats.crashes, 1);
  });

  it('a handler that exhausts its memory limit crashes its worker only', async () => {
    const p = pool({ memoryMb: 32, timeoutMs: 15_000 });
    const r = failed(await p.invoke({ mode: 'oom' }));
    assert.equal(r.kind, 'crash');
    assert.equal(r.errorType, 'Runtime.OutOfMemory');
    assert.equal((await p.invoke({ mode: 'ok' })).ok, true);
  });
});

describe('concurrency and throttling', { timeout: 20_000 }, () => {
  it('beyond `concurrency` busy workers, with queueTimeoutMs 0, invocations are throttled at once', async () => {
    const p = pool({ concurrency: 2, queueTimeoutMs: 0 });
    const running = [p.invoke({ mode: 'sleep', ms: 300 }), p.invoke({ mode: 'sleep', ms: 300 })];
    const t0 = Date.now();
    const third = failed(await p.invoke({ mode: 'ok' }));
    assert.ok(Date.now() - t0 < 100);
    assert.equal(third.kind, 'throttled');
    assert.equal(third.errorType, 'TooManyRequestsException');
    assert.equal(p.stats.busy, 2);
    const done = await Promise.all(running);
    assert.ok(done.every((r) => r.ok));
    assert.equal(p.stats.warm, 2);
    assert.equal(p.stats.throttles, 1);
  });

  it('a bounded queue waits for a worker; a full queue throttles; a wait past queueTimeoutMs throttles', async () => {
    const p = pool({ concurrency: 1, maxQueue: 1, queueTimeoutMs: 2000 });
    const first = p.invoke({ mode: 'sleep', ms: 200 });
    const queued = p.invoke({ mode: 'ok' });
    const overflow = failed(await p.invoke({ mode: 'ok' }));
    assert.equal(overflow.kind, 'throttled');
    assert.equal(p.stats.queued, 1);
    assert.equal((await first).ok, true);
    assert.equal((await queued).ok, true);
    assert.equal(p.stats.warm, 1, 'the queued invocation reused the one worker');

    const q = pool({ concurrency: 1, queueTimeoutMs: 150 });
    const long = q.invoke({ mode: 'sleep', ms: 600 });
    const t0 = Date.now();
    const waited = failed(await q.invoke({ mode: 'ok' }));
    assert.equal(waited.kind, 'throttled');
    assert.ok(Date.now() - t0 >= 140 && Date.now() - t0 < 500);
    assert.equal((await long).ok, true);
  });

  it('aborting a queued invocation rejects it and frees its place', async () => {
    const p = pool({ concurrency: 1, maxQueue: 1, queueTimeoutMs: 5000 });
    const first = p.invoke({ mode: 'sleep', ms: 200 });
    const ac = new AbortController();
    const queued = p.invoke({ mode: 'ok' }, { signal: ac.signal });
    ac.abort();
    await assert.rejects(queued, { name: 'AbortError' });
    assert.equal(p.stats.queued, 0);
    assert.equal((await first).ok, true);
  });

  it('aborting a running invocation rejects at once; the worker finishes and stays warm', async () => {
    const p = pool({});
    await p.invoke({ mode: 'ok' });
    const ac = new AbortController();
    const running = p.invoke({ mode: 'sleep', ms: 200 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await assert.rejects(running, { name: 'AbortError' });
    assert.equal(p.stats.busy, 1);
    for (let i = 0; i < 100 && p.stats.busy > 0; i++) await sleep(10);
    assert.equal(p.stats.busy, 0);
    assert.equal(p.stats.warm, 1);
  });
});

describe('lifecycle', { timeout: 20_000 }, () => {
  it('idle workers are reaped after idleMs', async () => {
    const p = pool({}, { idleMs: 200 });
    assert.equal((await p.invoke({ mode: 'ok' })).ok, true);
    const t0 = Date.now();
    assert.equal(p.stats.warm, 1);
    for (let i = 0; i < 150 && p.stats.warm > 0; i++) await sleep(20);
    assert.equal(p.stats.warm, 0);
    assert.ok(Date.now() - t0 >= 150, 'not reaped before idleMs');
    assert.equal((await p.invoke({ mode: 'ok' })).ok, true);
  });

  it('close() terminates workers, fails running invocations and refuses new ones', async () => {
    const p = pool({ timeoutMs: 10_000 });
    const running = p.invoke({ mode: 'spin' });
    await sleep(100);
    await p.close();
    const r = failed(await running);
    assert.equal(r.kind, 'crash');
    assert.equal(r.errorType, 'Turnpike.PoolClosed');
    assert.equal(p.stats.busy + p.stats.warm, 0);
    await assert.rejects(p.invoke({ mode: 'ok' }), /closed/);
  });
});
