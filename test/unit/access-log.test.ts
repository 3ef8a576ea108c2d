import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { accessLine, accessRecord } from '../../src/observability/access-log.js';
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
