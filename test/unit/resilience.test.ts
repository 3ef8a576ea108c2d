/**
 * Unit tests of the resilience parts with injected clocks: the circuit breaker's state machine, the
 * retry budget's arithmetic, the backoff bounds, which methods and errors are retried, DNS refresh
 * timing and keeping the last answer, retry target exclusion, and the concurrency-limit hooks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CLOSED, CircuitBreaker, FAILURE, HALF_OPEN, NEUTRAL, OPEN, SUCCESS } from '../../src/upstream/breaker.js';
import { DnsRefresher, type ResolvedAddress } from '../../src/upstream/dns.js';
import { RetryBudget, RetryPolicy, nonIdempotentListed, retryReasonOf } from '../../src/upstream/retry.js';
import { PoolRegistry, Upstream } from '../../src/upstream/upstream.js';
import { concurrencyLimit } from '../../src/plugins/concurrency-limit/index.js';
import { instantiate } from '../helpers/plugin-deps.js';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';

function clock(start = 1_000_000) {
  const c = { t: start, now: () => c.t };
  return c;
}

test('breaker: N consecutive failures open; a success in between resets the run', () => {
  const c = clock();
  const moves: string[] = [];
  const b = new CircuitBreaker(2, { consecutiveFailures: 3, openMs: 1000 }, { now: c.now, onTransition: (i, f, t) => moves.push(`${i}:${f}->${t}`) });
  b.report(0, FAILURE, c.t);
  b.report(0, FAILURE, c.t);
  b.report(0, SUCCESS, c.t);
  b.report(0, FAILURE, c.t);
  b.report(0, FAILURE, c.t);
  assert.equal(b.state[0], CLOSED);
  b.report(0, FAILURE, c.t);
  assert.equal(b.state[0], OPEN);
  assert.equal(b.allow[0], 0);
  assert.equal(b.state[1], CLOSED, 'the other target is untouched');
  assert.deepEqual(moves, [`0:${CLOSED}->${OPEN}`]);
  // Answers of requests sent before it opened do not change anything.
  b.report(0, SUCCESS, c.t);
  assert.equal(b.state[0], OPEN);
});

test('breaker: open for openMs, then half-open with limited probes; success closes, failure re-opens', () => {
  const c = clock();
  const b = new CircuitBreaker(1, { consecutiveFailures: 1, openMs: 1000, halfOpenRequests: 2 }, { now: c.now });
  b.report(0, FAILURE, c.t);
  assert.equal(b.state[0], OPEN);
  c.t += 999;
  b.tick(c.t);
  assert.equal(b.state[0], OPEN, 'still open before openMs');
  c.t += 1;
  b.tick(c.t);
  assert.equal(b.state[0], HALF_OPEN);
  assert.equal(b.allow[0], 1);
  b.onPick(0);
  assert.equal(b.allow[0], 1, 'one of two probe slots used');
  b.onPick(0);
  assert.equal(b.allow[0], 0, 'both probe slots in use: no more traffic');
  b.report(0, NEUTRAL, c.t);
  assert.equal(b.allow[0], 1, 'a probe without verdict frees its slot');
  b.report(0, FAILURE, c.t);
  assert.equal(b.state[0], OPEN, 'a failed probe re-opens');
  assert.equal(b.allow[0], 0);
  c.t += 1000;
  b.tick(c.t);
  assert.equal(b.state[0], HALF_OPEN);
  b.onPick(0);
  b.report(0, SUCCESS, c.t);
  assert.equal(b.state[0], CLOSED, 'a successful probe closes');
  assert.equal(b.allow[0], 1);
});

test('breaker: failure ratio over a window opens only after minRequests; the window resets', () => {
  const c = clock();
  const b = new CircuitBreaker(1, { consecutiveFailures: 1000, failureRatio: { ratio: 0.5, minRequests: 10, windowMs: 1000 } }, { now: c.now });
  for (let k = 0; k < 4; k++) {
    b.report(0, FAILURE, c.t);
    b.report(0, SUCCESS, c.t);
  }
  assert.equal(b.state[0], CLOSED, '8 requests < minRequests');
  b.report(0, SUCCESS, c.t);
  b.report(0, FAILURE, c.t); // 10 requests, 5 failures = 0.5
  assert.equal(b.state[0], OPEN);

  const b2 = new CircuitBreaker(1, { consecutiveFailures: 1000, failureRatio: { ratio: 0.5, minRequests: 4, windowMs: 1000 } }, { now: c.now });
  b2.report(0, FAILURE, c.t);
  b2.report(0, FAILURE, c.t);
  b2.report(0, SUCCESS, c.t);
  c.t += 1000; // new window: the old failures are forgotten
  b2.report(0, SUCCESS, c.t);
  b2.report(0, SUCCESS, c.t);
  b2.report(0, FAILURE, c.t);
  b2.report(0, SUCCESS, c.t);
  assert.equal(b2.state[0], CLOSED, '1 of 4 in the new window');
});

test('breaker verdict: failure statuses, connect failures, and no verdict for a client that left', () => {
  const b = new CircuitBreaker(1, { failureStatuses: [500, 503] });
  assert.equal(b.verdict(false, 200, false), SUCCESS);
  assert.equal(b.verdict(false, 502, false), SUCCESS, '502 not listed');
  assert.equal(b.verdict(false, 503, false), FAILURE);
  assert.equal(b.verdict(true, 0, false), FAILURE);
  assert.equal(b.verdict(true, 0, true), NEUTRAL);
});

test('retry budget: at most percent of the requests in the last 10 s, with a per-second floor', () => {
  const c = clock(0);
  const budget = new RetryBudget(20, 0, c.now);
  let granted = 0;
  for (let k = 0; k < 50; k++) {
    budget.onRequest();
    if (budget.tryRetry()) granted++;
  }
  assert.equal(granted, 10, '20% of 50');
  assert.deepEqual(budget.snapshot(), [50, 10]);
  // 10 s later every bucket has rolled over.
  c.t += 10_000;
  assert.deepEqual(budget.snapshot(), [0, 0]);
  assert.equal(budget.tryRetry(), false, 'no traffic, no floor: nothing');

  const floor = new RetryBudget(0, 2, c.now);
  let n = 0;
  while (floor.tryRetry()) n++;
  assert.equal(n, 20, 'minPerSecond 2 over the 10 s window');
  c.t += 5_000; // half the window rolled over, but the retries were all in one bucket still inside it
  assert.equal(floor.tryRetry(), false);
  c.t += 5_000;
  assert.equal(floor.tryRetry(), true, 'the bucket with the old retries left the window');
});

test('retry budget: a long gap clears the ring without walking every missed second', () => {
  const c = clock(0);
  const budget = new RetryBudget(100, 0, c.now);
  budget.onRequest();
  c.t += 3_600_000;
  assert.deepEqual(budget.snapshot(), [0, 0]);
  budget.onRequest();
  assert.equal(budget.tryRetry(), true);
  assert.equal(budget.tryRetry(), false);
});

test('retry policy: idempotent methods by default; non-idempotent only when allowed; routes may opt in', () => {
  const p = new RetryPolicy({});
  for (const m of ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE']) assert.equal(p.methodAllowed(m, undefined), true, m);
  for (const m of ['POST', 'PATCH', 'CONNECT']) assert.equal(p.methodAllowed(m, undefined), false, m);
  assert.equal(p.methodAllowed('POST', true), true, 'the route opts in');
  assert.equal(new RetryPolicy({ retryNonIdempotent: true }).methodAllowed('POST', undefined), true);
  assert.equal(new RetryPolicy({ retryNonIdempotent: true }).methodAllowed('POST', false), false, 'the route opts out');
  const onlyGet = new RetryPolicy({ methods: ['GET'] });
  assert.equal(onlyGet.methodAllowed('GET', undefined), true);
  assert.equal(onlyGet.methodAllowed('PUT', undefined), false);
  assert.deepEqual(nonIdempotentListed({ methods: ['GET', 'POST', 'PATCH'] }), ['POST', 'PATCH']);
  assert.deepEqual(nonIdempotentListed({ methods: ['POST'], retryNonIdempotent: true }), []);
});

test('retry policy: fully jittered exponential backoff within [0, min(max, base * 2^n))', () => {
  const hi = new RetryPolicy({ backoff: { baseMs: 10, maxMs: 50 } }, undefined, () => 0.999999);
  assert.deepEqual([0, 1, 2, 3, 4].map((n) => hi.backoffMs(n)), [9, 19, 39, 49, 49]);
  const lo = new RetryPolicy({ backoff: { baseMs: 10, maxMs: 50 } }, undefined, () => 0);
  assert.equal(lo.backoffMs(3), 0);
  const p = new RetryPolicy({});
  assert.equal(p.maxRetries, 1);
  assert.equal(p.statuses, undefined, 'no statuses retried by default');
  assert.equal(new RetryPolicy({ statuses: [503] }).statuses?.[503], 1);
});

test('retried errors: refused, reset and connect timeout; never a first-byte timeout or a parse error', () => {
  assert.equal(retryReasonOf({ code: 'ECONNREFUSED' }), 0);
  assert.equal(retryReasonOf({ code: 'ECONNRESET' }), 1);
  assert.equal(retryReasonOf({ code: 'UND_ERR_SOCKET' }), 1);
  assert.equal(retryReasonOf({ code: 'UND_ERR_CONNECT_TIMEOUT' }), 2);
  assert.equal(retryReasonOf({ code: 'UND_ERR_HEADERS_TIMEOUT' }), -1);
  assert.equal(retryReasonOf({ code: 'UND_ERR_BODY_TIMEOUT' }), -1);
  assert.equal(retryReasonOf({ code: 'TURNPIKE_BODY_LIMIT' }), -1);
  assert.equal(retryReasonOf({ name: 'HTTPParserError' }), -1);
});

test('dns refresh: TTL clamped to [min, max], ttlMs overrides; a failure keeps the last answer', async () => {
  const answers: (ResolvedAddress[] | Error)[] = [[{ address: '10.0.0.2', family: 4, ttlMs: 60_000 }, { address: '10.0.0.1', family: 4, ttlMs: 5_000 }]];
  const seen: string[][] = [];
  const failures: boolean[] = [];
  const r = new DnsRefresher('svc.test', async () => {
    const a = answers.shift();
    if (a instanceof Error) throw a;
    return a ?? [];
  }, { minTtlMs: 1_000, maxTtlMs: 30_000 }, {
    answer: (a) => seen.push(a.map((x) => x.address)),
    failure: (_e, kept) => failures.push(kept),
  });
  await r.first;
  r.stop();
  assert.deepEqual(seen, [['10.0.0.1', '10.0.0.2']], 'sorted');
  assert.equal(r.nextDelay([{ address: 'a', family: 4, ttlMs: 5_000 }, { address: 'b', family: 4, ttlMs: 60_000 }]), 5_000, 'smallest TTL');
  assert.equal(r.nextDelay([{ address: 'a', family: 4, ttlMs: 0 }]), 1_000, 'floor');
  assert.equal(r.nextDelay([{ address: 'a', family: 4, ttlMs: 86_400_000 }]), 30_000, 'ceiling');
  assert.equal(r.nextDelay([{ address: 'a', family: 4, ttlMs: undefined }]), 30_000, 'no TTL: 30 s default, clamped');
  const fixed = new DnsRefresher('x', async () => [{ address: '10.0.0.9', family: 4, ttlMs: 1 }], { ttlMs: 4_000 }, { answer: () => undefined, failure: () => undefined });
  await fixed.first;
  fixed.stop();
  assert.equal(fixed.nextDelay([{ address: 'a', family: 4, ttlMs: 1 }]), 4_000, 'ttlMs overrides the record');
  // A failure with no previous answer reports kept = false.
  const failing = new DnsRefresher('y', async () => {
    throw Object.assign(new Error('boom'), { code: 'ESERVFAIL' });
  }, {}, { answer: () => undefined, failure: (_e, kept) => failures.push(kept) });
  await failing.first;
  failing.stop();
  assert.deepEqual(failures, [false]);
});

test('dns: the upstream swaps pools when the answer changes, keeps them when it does not, and keeps the last answer on failure', async () => {
  let answer: ResolvedAddress[] | Error = [{ address: '127.0.0.1', family: 4, ttlMs: 100 }];
  const pools = new PoolRegistry();
  const up = new Upstream('svc', { targets: [{ url: 'http://svc.test:8080' }, { url: 'http://127.0.0.1:9' }], dns: { minTtlMs: 100, maxTtlMs: 100 } }, pools, '/', {
    resolve: async () => {
      if (answer instanceof Error) throw answer;
      return answer;
    },
  });
  try {
    await up.dnsReady();
    const t = up.targets[0];
    assert.ok(t);
    assert.deepEqual(up.describeDns(), [{ target: 'http://svc.test:8080', addresses: ['127.0.0.1'] }], 'only the name is DNS-managed');
    const first = t.pool;
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(t.pool, first, 'same answer: same pool');
    answer = Object.assign(new Error('down'), { code: 'ECONNREFUSED' });
    await new Promise((r) => setTimeout(r, 250));
    assert.equal(t.pool, first, 'failed resolution: last answer kept');
    answer = [{ address: '127.0.0.2', family: 4, ttlMs: 100 }, { address: '127.0.0.3', family: 4, ttlMs: 100 }];
    const deadline = Date.now() + 3000;
    while (up.describeDns()?.[0]?.addresses.length !== 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(up.describeDns()?.[0]?.addresses, ['127.0.0.2', '127.0.0.3']);
    assert.notEqual(t.pool, first);
    // Two addresses: picks of the target alternate between their pools.
    up.pick();
    up.pick();
    const a = t.pool;
    up.pick();
    up.pick();
    const b = t.pool;
    up.pick();
    up.pick();
    assert.equal(t.pool, a);
    assert.notEqual(a, b);
  } finally {
    up.close();
    await pools.closeAll();
  }
});

test('retry target choice: another target than those tried, also for consistent-hash; breaker-open targets are skipped', async () => {
  const pools = new PoolRegistry();
  const targets = [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3' }];
  const hashed = new Upstream('h', { targets, balancer: 'consistent-hash', hashOn: 'path' }, pools, '/');
  const ctx = { path: '/k', clientIp: '', upstreamHeaders: { get: () => undefined } };
  const first = hashed.pick(ctx);
  assert.ok(first);
  const second = hashed.pickExcluding(ctx, [first.index]);
  assert.ok(second);
  assert.notEqual(second.index, first.index);
  const third = hashed.pickExcluding(ctx, [first.index, second.index]);
  assert.ok(third);
  assert.equal(new Set([first.index, second.index, third.index]).size, 3);
  assert.ok(hashed.pickExcluding(ctx, [0, 1, 2]), 'all tried: any target rather than none');

  const broken = new Upstream('b', { targets, circuitBreaker: { consecutiveFailures: 1, openMs: 60_000 } }, pools, '/');
  broken.onEnd(broken.targets[0]!, true);
  broken.onEnd(broken.targets[1]!, false, 503);
  assert.deepEqual(broken.describeCircuit()?.map((c) => c.state), ['open', 'open', 'closed']);
  for (let k = 0; k < 5; k++) assert.equal(broken.pick()?.index, 2);
  broken.onEnd(broken.targets[2]!, true);
  assert.equal(broken.pick(), undefined, 'every target open: no target (the proxy answers 503 at once)');
  hashed.close();
  broken.close();
  await pools.closeAll();
});

test('concurrency-limit hooks: refuse beyond max with Retry-After, release once per held slot', () => {
  const hooks = instantiate(concurrencyLimit, { max: 2, retryAfterSeconds: 7 }, { scope: 'route:a/b' });
  const mk = () => ({ state: undefined as Record<string, unknown> | undefined, route: { id: 'a/b' } }) as never;
  const a = mk();
  const b = mk();
  const c = mk();
  assert.equal(hooks.rateLimit?.(a), undefined);
  assert.equal(hooks.rateLimit?.(b), undefined);
  const refused = hooks.rateLimit?.(c) as { deny: string; headers: Record<string, string> };
  assert.equal(refused.deny, 'CONCURRENCY_LIMITED');
  assert.equal(refused.headers['retry-after'], '7');
  hooks.done?.(c); // refused: held nothing
  hooks.done?.(a);
  hooks.done?.(a); // twice: released once
  assert.equal(hooks.rateLimit?.(mk()), undefined, 'one slot free again');
  assert.notEqual(hooks.rateLimit?.(mk()), undefined, 'and only one');
});

function configErrors(yaml: string): string[] {
  try {
    const table = buildTable(parseConfigText(yaml, 'test.yaml'), { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });
    void table.close();
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split('\n');
    throw e;
  }
  return assert.fail('expected the config to be rejected');
}

const withUpstream = (extra: string, plugins = '') => `
upstreams:
  u:
    targets: [{ url: "http://127.0.0.1:1" }]
${extra}
apis:
  - name: a
    routes:
      - path: /x
        integration: { type: http, upstream: u }
${plugins}
`;

test('invalid resilience settings are rejected with their key paths', () => {
  const cases: [string, string, RegExp][] = [
    [withUpstream('    retries: { maxRetries: 0 }'), '', /upstreams\.u\.retries\.maxRetries/],
    [withUpstream('    retries: { statuses: [200] }'), '', /upstreams\.u\.retries\.statuses\[0\]/],
    [withUpstream('    retries: { budget: { percent: 150 } }'), '', /upstreams\.u\.retries\.budget\.percent/],
    [withUpstream('    retries: { methods: [GET, POST] }'), '', /upstreams\.u\.retries\.methods: POST is not idempotent: set retries\.retryNonIdempotent: true/],
    [withUpstream('    circuitBreaker: { openMs: 0 }'), '', /upstreams\.u\.circuitBreaker\.openMs/],
    [withUpstream('    circuitBreaker: { failureRatio: { ratio: 0 } }'), '', /upstreams\.u\.circuitBreaker\.failureRatio\.ratio/],
    [withUpstream('    dns: { resolver: "dns.example:53" }'), '', /upstreams\.u\.dns\.resolver/],
    [withUpstream('    dns: { minTtlMs: 5000, maxTtlMs: 1000 }'), '', /upstreams\.u\.dns\.minTtlMs: minTtlMs \(5000\) must not exceed maxTtlMs/],
    [withUpstream('', '        plugins: { concurrency-limit: { max: 0 } }'), '', /plugins\.concurrency-limit\.max/],
    [withUpstream('', '        plugins: { concurrency-limit: { retryAfterSeconds: 1 } }'), '', /plugins\.concurrency-limit.*max/],
  ];
  for (const [yaml, , re] of cases) {
    const errors = configErrors(yaml);
    assert.ok(errors.some((l) => re.test(l)), `${re}: ${errors.join(' | ')}`);
  }
});

test('a valid config with every resilience setting compiles; concurrency-limit runs after rate-limit', () => {
  const table = buildTable(
    parseConfigText(
      withUpstream(
        `    retries: { maxRetries: 2, statuses: [502, 503], methods: [GET, POST], retryNonIdempotent: true, budget: { percent: 10, minPerSecond: 1 }, backoff: { baseMs: 10, maxMs: 100 } }
    circuitBreaker: { consecutiveFailures: 3, failureRatio: { ratio: 0.5, minRequests: 10, windowMs: 5000 }, openMs: 1000, halfOpenRequests: 2, failureStatuses: [500, 503] }
    dns: { resolver: "127.0.0.1:5353", ttlMs: 2000, minTtlMs: 500, maxTtlMs: 60000, family: 4 }`,
        '        plugins: { concurrency-limit: { max: 5 }, rate-limit: { limits: [{ window: second, limit: 100 }] } }',
      ),
      'test.yaml',
    ),
    { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() },
  );
  assert.deepEqual(table.routes[0]?.pluginOrder, ['rateLimit:rate-limit', 'rateLimit:concurrency-limit', 'transformResponse:rate-limit']);
  assert.equal(table.routes[0]?.doneHooks.length, 1);
  void table.close();
});

test('health and breaker together: a target is picked only when healthy and not open', async () => {
  const pools = new PoolRegistry();
  const targets = [{ url: 'http://127.0.0.1:1' }, { url: 'http://127.0.0.1:2' }, { url: 'http://127.0.0.1:3' }];
  for (const balancer of ['round-robin', 'weighted-round-robin', 'least-connections', 'p2c', 'consistent-hash'] as const) {
    const up = new Upstream('hb', { targets, balancer, healthCheck: { passive: { unhealthyThreshold: 1, recoverAfterMs: 60_000 } }, circuitBreaker: { consecutiveFailures: 1, openMs: 60_000 } }, pools, '/');
    up.onEnd(up.targets[0]!, true); // connect failure: ejected by health and opened by the breaker
    up.onEnd(up.targets[1]!, false, 503); // healthy, but its circuit opens
    assert.deepEqual(up.describeHealth().map((h) => h.healthy), [false, true, true], balancer);
    assert.deepEqual(up.describeCircuit()?.map((c) => c.state), ['open', 'open', 'closed'], balancer);
    for (let k = 0; k < 6; k++) assert.equal(up.pick({ path: `/${k}`, clientIp: `10.0.0.${k}`, upstreamHeaders: { get: () => undefined } })?.index, 2, balancer);
    up.close();
  }
  await pools.closeAll();
});
