/**
 * RedisCounterStore against a real Redis (the machine's on 6379, private ones for kill/pause/SCRIPT FLUSH):
 * a unit test, not an integration one: it starts no gateway process, so it runs in the in-process lane.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createClient } from 'redis';
import { RedisCounterStore, CounterStoreUnavailable } from '../../src/stores/redis-counters.js';
import { startRedisServer } from '../helpers/redis.js';

const MAIN_URL = 'redis://127.0.0.1:6379';
const prefix = `test-${randomUUID()}:`;
let store: RedisCounterStore;
let second: RedisCounterStore;

before(async () => {
  // A generous per-call deadline: 1,000 concurrent calls queue on one connection.
  store = new RedisCounterStore({ url: MAIN_URL, prefix, timeoutMs: 2000 });
  second = new RedisCounterStore({ url: MAIN_URL, prefix, timeoutMs: 2000 });
  await store.connect();
});

after(async () => {
  await store.close();
  await second.close();
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  const keys: string[] = [];
  for await (const batch of c.scanIterator({ MATCH: `turnpike:${prefix}*`, COUNT: 1000 })) keys.push(...(batch as unknown as string[]));
  if (keys.length > 0) await c.del(keys);
  await c.close();
});

test('sliding window: 1,000 concurrent increments from two clients against a limit of 100 admit exactly 100', async () => {
  const calls = Array.from({ length: 1000 }, (_, i) => (i % 2 === 0 ? store : second).incrementSliding('exact', 3_600_000, 100));
  const results = await Promise.all(calls);
  assert.equal(results.filter((r) => r.allowed).length, 100);
  const last = await store.incrementSliding('exact', 3_600_000, 100);
  assert.equal(last.allowed, false);
  assert.equal(last.remaining, 0);
  assert.ok(last.resetAtMs > Date.now() - 5000);
});

test('fixed window: exactly the limit is admitted; a new window starts from zero', async () => {
  const start = Date.now() - (Date.now() % 60_000);
  const results = await Promise.all(Array.from({ length: 1000 }, () => store.incrementWindow('fixed', start, 60_000, 100)));
  assert.equal(results.filter((r) => r.allowed).length, 100);
  const refused = await store.incrementWindow('fixed', start, 60_000, 100);
  assert.deepEqual(refused, { allowed: false, count: 100, remaining: 0, resetAtMs: start + 60_000 });
  const next = await store.incrementWindow('fixed', start + 60_000, 60_000, 100, 3);
  assert.deepEqual(next, { allowed: true, count: 3, remaining: 97, resetAtMs: start + 120_000 });
});

test('token bucket: burst admitted at once, then refusals with a retry hint, then refill', async () => {
  const t0 = performance.now();
  const results = await Promise.all(Array.from({ length: 1000 }, () => store.takeToken('bucket', 10, 100)));
  const elapsedS = (performance.now() - t0) / 1000;
  // At 10 tokens/s the bucket refills while the 1,000 calls run: never more than that elapsed time allows.
  const admitted = results.filter((r) => r.allowed).length;
  const most = 100 + Math.ceil(elapsedS * 10);
  assert.ok(admitted >= 100 && admitted <= most, `admitted ${admitted}, at most ${most} in ${elapsedS.toFixed(3)} s`);
  // Refusal and refill on a slow bucket (1 token/s): at 10/s a token came back 100 ms after the burst,
  // and on a loaded CI machine the next call could come later than that and be admitted (seen in CI).
  const slow = await Promise.all(Array.from({ length: 5 }, () => store.takeToken('slow-bucket', 1, 5)));
  assert.equal(slow.filter((r) => r.allowed).length, 5);
  const refused = await store.takeToken('slow-bucket', 1, 5);
  assert.equal(refused.allowed, false);
  assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000, `retryAfterMs ${refused.retryAfterMs}`);
  await new Promise((r) => setTimeout(r, refused.retryAfterMs + 100));
  const again = await store.takeToken('slow-bucket', 1, 5);
  assert.equal(again.allowed, true);
  const never = await store.takeToken('zero-rate', 0, 1);
  assert.equal(never.allowed, true);
  const neverAgain = await store.takeToken('zero-rate', 0, 1);
  assert.equal(neverAgain.allowed, false);
  assert.equal(neverAgain.retryAfterMs, Number.POSITIVE_INFINITY);
});

test('keys are namespaced under turnpike: and carry TTLs; EVAL fallback after SCRIPT FLUSH', async () => {
  const c = createClient({ url: MAIN_URL });
  await c.connect();
  try {
    await store.incrementSliding('ttl', 1000, 5);
    await store.takeToken('ttl', 1, 5);
    for (const k of [`turnpike:${prefix}sw:ttl:1000`, `turnpike:${prefix}tb:ttl`]) {
      const ttl = await c.pTTL(k);
      assert.ok(ttl > 0, `${k} pttl ${ttl}`);
    }
  } finally {
    await c.close();
  }
  // SCRIPT FLUSH on a private server (never on the machine's shared one): EVALSHA misses, EVAL answers.
  const r = await startRedisServer();
  const s = new RedisCounterStore({ url: r.url, prefix, timeoutMs: 500 });
  try {
    assert.equal((await s.incrementSliding('f', 60_000, 2)).allowed, true);
    const admin = createClient({ url: r.url });
    await admin.connect();
    await admin.scriptFlush();
    await admin.close();
    assert.equal((await s.incrementSliding('f', 60_000, 2)).allowed, true);
    assert.equal((await s.incrementSliding('f', 60_000, 2)).allowed, false);
  } finally {
    await s.close();
    await r.kill();
  }
});

test('a killed Redis gives CounterStoreUnavailable promptly (< 200 ms), never a hang; close is prompt', async () => {
  const r = await startRedisServer();
  const errors: Error[] = [];
  // 150 ms: the first call (connect + script load) on a loaded machine overran the 50 ms default once; the bound checked after the kill stays 200 ms.
  const s = new RedisCounterStore({ url: r.url, prefix, timeoutMs: 150, onError: (e) => errors.push(e) });
  try {
    assert.equal((await s.incrementSliding('k', 60_000, 10)).allowed, true);
    await r.kill();
    for (const call of [() => s.incrementSliding('k', 60_000, 10), () => s.takeToken('k', 1, 1), () => s.incrementWindow('k', 0, 1000, 1)]) {
      const t0 = performance.now();
      await assert.rejects(call(), (e: unknown) => e instanceof CounterStoreUnavailable && e.code === 'COUNTER_STORE_UNAVAILABLE');
      const ms = performance.now() - t0;
      assert.ok(ms < 200, `took ${ms} ms`);
    }
  } finally {
    // A failure before the kill above must not leave the server running (it kept its process alive).
    await r.kill();
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 1000);
  }
});

test('Redis unreachable from the start: the first call times out at the deadline', async () => {
  const r = await startRedisServer();
  await r.kill();
  const s = new RedisCounterStore({ url: r.url, prefix, timeoutMs: 50 });
  try {
    const t0 = performance.now();
    await assert.rejects(s.takeToken('k', 1, 1), CounterStoreUnavailable);
    assert.ok(performance.now() - t0 < 200);
  } finally {
    await s.close();
  }
});

test('a deadline that cannot be met gives CounterStoreUnavailable (server paused with CLIENT PAUSE)', async () => {
  const r = await startRedisServer();
  const s = new RedisCounterStore({ url: r.url, prefix, timeoutMs: 50 });
  const admin = createClient({ url: r.url });
  try {
    await s.connect();
    await admin.connect();
    await admin.sendCommand(['CLIENT', 'PAUSE', '500', 'ALL']);
    const t0 = performance.now();
    await assert.rejects(s.incrementSliding('slow', 60_000, 10), CounterStoreUnavailable);
    const ms = performance.now() - t0;
    assert.ok(ms >= 40 && ms < 200, `took ${ms} ms`);
  } finally {
    await s.close();
    await admin.close().catch(() => undefined);
    await r.kill();
  }
});

test('a hung server: unanswered calls are capped (maxInflight), further calls fail at once; the backlog completes when it resumes', async () => {
  const r = await startRedisServer();
  const s = new RedisCounterStore({ url: r.url, prefix, timeoutMs: 50, maxInflight: 5 });
  const admin = createClient({ url: r.url });
  try {
    await s.connect();
    await admin.connect();
    const start = Date.now() - (Date.now() % 3_600_000);
    await admin.sendCommand(['CLIENT', 'PAUSE', '600', 'ALL']);
    const first = Array.from({ length: 5 }, () => s.incrementWindow('cap', start, 3_600_000, 100).then(() => 'ok', (e: unknown) => e));
    const t0 = performance.now();
    await assert.rejects(s.incrementWindow('cap', start, 3_600_000, 100), (e: unknown) => e instanceof CounterStoreUnavailable && /unanswered/.test(e.message));
    assert.ok(performance.now() - t0 < 20, 'the sixth call failed without waiting');
    for (const o of await Promise.all(first)) assert.ok(o instanceof CounterStoreUnavailable);
    // After the pause the 5 queued commands run (the deadline does not cancel a sent command), and the cap frees up.
    await new Promise((res) => setTimeout(res, 700));
    const next = await s.incrementWindow('cap', start, 3_600_000, 100);
    assert.equal(next.count, 6);
  } finally {
    await s.close();
    await admin.close().catch(() => undefined);
    await r.kill();
  }
});
