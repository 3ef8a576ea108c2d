import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { accessLine, accessRecord, writeAccessLine } from '../../src/observability/access-log.js';
import type { RequestContext } from '../../src/pipeline/context.js';

// The hand-written serialiser must produce exactly the record pino would have written.
test('accessLine is valid JSON with the same fields, in the same order, as accessRecord', () => {
  fc.assert(
    fc.property(
      fc.record({
        id: fc.string(),
        method: fc.constantFrom('GET', 'POST', 'WEIRD'),
        host: fc.string(),
        path: fc.string(),
        route: fc.option(fc.record({ id: fc.string() }), { nil: undefined }),
        upstreamMs: fc.oneof(fc.constant(-1), fc.double({ min: 0, max: 1e6, noNaN: true })),
        upstreamTarget: fc.option(fc.string(), { nil: undefined }),
        bytesIn: fc.nat(),
        bytesOut: fc.nat(),
        clientIp: fc.string(),
        errorCode: fc.constantFrom(undefined, 'UPSTREAM_TIMEOUT', 'ROUTE_NOT_FOUND'),
      }),
      fc.integer({ min: 100, max: 599 }),
      fc.double({ min: 0, max: 1e6, noNaN: true }),
      (ctx, status, latency) => {
        const c = ctx as unknown as RequestContext;
        const line = accessLine(c, status, latency);
        assert.ok(line.endsWith('}\n'));
        const parsed = JSON.parse(line) as Record<string, unknown>;
        assert.equal(parsed.level, 'info');
        assert.equal(parsed.pid, process.pid);
        assert.ok(!Number.isNaN(Date.parse(parsed.time as string)));
        const { level: _l, time: _t, pid: _p, ...rest } = parsed;
        assert.deepEqual(Object.keys(rest), Object.keys(accessRecord(c, status, latency)));
        assert.deepEqual(rest, accessRecord(c, status, latency));
      },
    ),
    { numRuns: 500 },
  );
});

test('the time field is the ISO time of the call, to the millisecond, across second boundaries', () => {
  const ctx = { id: 'r', method: 'GET', host: 'h', path: '/', route: undefined, upstreamMs: -1, upstreamTarget: undefined, bytesIn: 0, bytesOut: 0, clientIp: '127.0.0.1', errorCode: undefined };
  const seconds = new Set<string>();
  const end = Date.now() + 1_100;
  for (let n = 0; Date.now() < end || n < 1_000; n++) {
    const before = Date.now();
    const time = (JSON.parse(accessLine(ctx as unknown as RequestContext, 200, 1)) as { time: string }).time;
    const after = Date.now();
    assert.match(time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    const t = Date.parse(time);
    assert.ok(t >= before && t <= after, `${time} not within [${new Date(before).toISOString()}, ${new Date(after).toISOString()}]`);
    seconds.add(time.slice(0, 19));
  }
  assert.ok(seconds.size >= 2, 'the loop crossed a second boundary');
});

// The durations are printed from integer microseconds by hand: the text must be exactly what
// JSON.stringify prints for the rounded double (a reader comparing lines byte for byte sees no change).
test('latencyMs and upstreamMs print exactly as JSON.stringify(Math.round(ms * 1000) / 1000)', () => {
  const base = { id: 'r', method: 'GET', host: 'h', path: '/', route: undefined, upstreamTarget: undefined, bytesIn: 0, bytesOut: 0, clientIp: '127.0.0.1', errorCode: undefined };
  const check = (ms: number) => {
    const line = accessLine({ ...base, upstreamMs: ms } as unknown as RequestContext, 200, ms);
    const expected = JSON.stringify(Math.round(ms * 1000) / 1000);
    assert.ok(line.includes(`"latencyMs":${expected},"upstreamMs":${expected},`), `${ms}: ${line}`);
  };
  for (const ms of [0, 0.0004, 0.0005, 0.001, 0.01, 0.1, 0.5, 1, 1.5, 1.05, 1.005, 10.1, 999.999, 1000, 123456.789, 1e6]) check(ms);
  fc.assert(fc.property(fc.double({ min: 0, max: 1e9, noNaN: true }), (ms) => check(ms)), { numRuns: 2000 });
});

test('writeAccessLine: a line with nothing to escape goes to writeAscii, any other to write; both are the accessLine text', () => {
  const calls: [string, string][] = [];
  const dest = {
    write: (l: string) => {
      calls.push(['write', l]);
      return true;
    },
    writeAscii: (l: string) => {
      calls.push(['ascii', l]);
      return true;
    },
  };
  const base = { id: 'r', method: 'GET', host: 'h', path: '/', route: { id: 'api/r' }, upstreamMs: 1, upstreamTarget: 'http://127.0.0.1:1', bytesIn: 0, bytesOut: 0, clientIp: '127.0.0.1', errorCode: undefined };
  for (const host of ['example.com', 'ünïcödé.example', 'a"b', 'tab\there']) {
    const ctx = { ...base, host } as unknown as RequestContext;
    calls.length = 0;
    writeAccessLine(dest, ctx, 200, 1);
    assert.equal(calls.length, 1);
    const [kind, line] = calls[0] as [string, string];
    assert.equal(kind, host === 'example.com' ? 'ascii' : 'write');
    assert.equal(line.replace(/"time":"[^"]+"/, ''), accessLine(ctx, 200, 1).replace(/"time":"[^"]+"/, ''));
    assert.equal((JSON.parse(line) as { host: string }).host, host);
    if (kind === 'ascii') assert.ok(/^[\x20-\x7e]*\n$/.test(line));
  }
});
