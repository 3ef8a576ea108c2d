/**
 * The CounterStore contract (src/stores/types.ts) as one suite, run against every implementation:
 * the in-process MemoryCounterStore, the cluster primary's store reached from a worker
 * (ClusterCounterStore over its Unix socket), and RedisCounterStore against the real Redis on
 * 127.0.0.1:6379. The rate-limit, usage-plan and concurrency-limit plugins rely on exactly these
 * behaviours, so a store that passes can stand behind them.
 *
 *   counterStoreConformance('redis', async () => { const store = new RedisCounterStore(...); return { store, close: () => store.close() } });
 *
 * `make` returns a fresh, empty store (or one whose keys no other run uses); `unavailable`, for stores
 * that reach a backend, returns one whose backend cannot be reached: the contract then says every call
 * rejects with CounterStoreUnavailable (the plugins apply their fallback), and does so within `deadlineMs`.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test } from 'node:test';
import { type CounterStore, CounterStoreUnavailable } from '../../src/stores/types.js';

export type CounterStoreFactory = () => Promise<{ store: CounterStore; close?: () => Promise<void> }>;

export interface CounterStoreConformanceOptions {
  /** A store whose backend is down (remote stores only). */
  unavailable?: CounterStoreFactory;
  /** How long an unavailable store may take to refuse one call (default 2,000 ms). */
  deadlineMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function counterStoreConformance(label: string, make: CounterStoreFactory, opts: CounterStoreConformanceOptions = {}): void {
  const withStore = (name: string, fn: (store: CounterStore, key: (k: string) => string) => Promise<void>) =>
    test(name, async () => {
      const { store, close } = await make();
      // Keys unique to this test: a shared backend (Redis) keeps other runs' counts.
      const run = randomUUID();
      try {
        await fn(store, (k) => `${k}:${run}`);
      } finally {
        await (close ?? (() => store.close()))();
      }
    });

  describe(`CounterStore conformance: ${label}`, () => {
    withStore('token bucket: a new bucket holds burst tokens, each take costs `cost`, an empty one refuses with the time until refill', async (store, key) => {
      const k = key('tb');
      const first = await store.takeToken(k, 1, 3);
      assert.deepEqual(first, { allowed: true, remaining: 2, retryAfterMs: 0 });
      assert.equal((await store.takeToken(k, 1, 3, 2)).remaining, 0);
      const refused = await store.takeToken(k, 1, 3);
      assert.equal(refused.allowed, false);
      assert.equal(refused.remaining, 0);
      // One token at 1/s: at most a second away, and not already there.
      assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000, `retryAfterMs ${refused.retryAfterMs}`);
      // A cost larger than the burst is never allowed.
      const big = await store.takeToken(key('big'), 1, 3, 4);
      assert.equal(big.allowed, false);
    });

    withStore('token bucket: tokens refill at `rate` per second, never above burst; rate 0 never refills', async (store, key) => {
      const k = key('refill');
      // 5 tokens/s: one token per 200 ms, so back-to-back calls (a socket or Redis round trip on a
      // loaded machine) see no refill between them.
      for (let i = 0; i < 2; i++) assert.equal((await store.takeToken(k, 5, 2)).allowed, true);
      assert.equal((await store.takeToken(k, 5, 2)).allowed, false);
      await sleep(800); // 4 tokens' worth, capped at the burst of 2
      assert.equal((await store.takeToken(k, 5, 2)).allowed, true);
      assert.equal((await store.takeToken(k, 5, 2)).allowed, true);
      assert.equal((await store.takeToken(k, 5, 2)).allowed, false);
      const frozen = key('frozen');
      assert.equal((await store.takeToken(frozen, 0, 1)).allowed, true);
      await sleep(20);
      assert.deepEqual(await store.takeToken(frozen, 0, 1), { allowed: false, remaining: 0, retryAfterMs: Number.POSITIVE_INFINITY });
    });

    withStore('fixed window: counts up to the limit, refused calls are not counted, a new window starts at zero', async (store, key) => {
      const k = key('win');
      const start = Date.now() - (Date.now() % 60_000);
      assert.deepEqual(await store.incrementWindow(k, start, 60_000, 3), { allowed: true, count: 1, remaining: 2, resetAtMs: start + 60_000 });
      assert.deepEqual(await store.incrementWindow(k, start, 60_000, 3, 2), { allowed: true, count: 3, remaining: 0, resetAtMs: start + 60_000 });
      assert.deepEqual(await store.incrementWindow(k, start, 60_000, 3), { allowed: false, count: 3, remaining: 0, resetAtMs: start + 60_000 });
      assert.deepEqual(await store.incrementWindow(k, start, 60_000, 3), { allowed: false, count: 3, remaining: 0, resetAtMs: start + 60_000 });
      // The next window (the caller's calendar moved on) counts from zero.
      assert.deepEqual(await store.incrementWindow(k, start + 60_000, 60_000, 3), { allowed: true, count: 1, remaining: 2, resetAtMs: start + 120_000 });
      // Keys are independent.
      assert.equal((await store.incrementWindow(key('other'), start, 60_000, 3)).count, 1);
    });

    withStore('sliding window: at most `limit` per window; two windows later the key counts from zero', async (store, key) => {
      const k = key('slide');
      const windowMs = 1_000;
      // Start just after a window boundary so the first calls share one window.
      await sleep(windowMs - (Date.now() % windowMs) + 5);
      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await store.incrementSliding(k, windowMs, 3));
      assert.deepEqual(
        answers.map((a) => a.allowed),
        [true, true, true, false],
      );
      const refused = answers[3];
      assert.equal(refused?.remaining, 0);
      assert.ok((refused?.resetAtMs ?? 0) > Date.now() - 50 && (refused?.resetAtMs ?? 0) <= Date.now() + windowMs + 50, 'resetAtMs is the end of the current window');
      await sleep(2 * windowMs + 20);
      assert.equal((await store.incrementSliding(k, windowMs, 3)).allowed, true, 'the previous windows no longer weigh');
    });

    withStore('concurrent increments are exact: 200 calls at once, limit 50 -> 50 admitted, in every counter kind', async (store, key) => {
      const start = Date.now() - (Date.now() % 3_600_000);
      const fixed = await Promise.all(Array.from({ length: 200 }, () => store.incrementWindow(key('cw'), start, 3_600_000, 50)));
      assert.equal(fixed.filter((r) => r.allowed).length, 50);
      const sliding = await Promise.all(Array.from({ length: 200 }, () => store.incrementSliding(key('cs'), 3_600_000, 50)));
      assert.equal(sliding.filter((r) => r.allowed).length, 50);
      const bucket = await Promise.all(Array.from({ length: 200 }, () => store.takeToken(key('ct'), 0.001, 50)));
      assert.equal(bucket.filter((r) => r.allowed).length, 50);
    });

    withStore('concurrency slots (when the store counts them): max honoured, a release frees one, a stray release opens nothing', async (store, key) => {
      if (store.acquireSlot === undefined || store.releaseSlot === undefined) {
        // A shared store across nodes cannot see a slot's holder die: the contract makes slots optional.
        assert.equal(store.releaseSlot, undefined, 'releaseSlot without acquireSlot');
        return;
      }
      const k = key('slots');
      const a = await store.acquireSlot(k, 2);
      const b = await store.acquireSlot(k, 2);
      assert.deepEqual([a.allowed, a.inFlight, b.allowed, b.inFlight], [true, 1, true, 2]);
      const c = await store.acquireSlot(k, 2);
      assert.deepEqual([c.allowed, c.inFlight], [false, 2]);
      store.releaseSlot(k, a.ticket);
      // A release is fire-and-forget over a socket: give it a moment to arrive.
      let d = await store.acquireSlot(k, 2);
      for (let i = 0; i < 20 && !d.allowed; i++) {
        await sleep(10);
        d = await store.acquireSlot(k, 2);
      }
      assert.equal(d.allowed, true);
      // A stray release never drives a count below zero, so it cannot open more than `max` slots.
      const fresh = key('stray');
      store.releaseSlot(fresh);
      store.releaseSlot(fresh, 987_654);
      await sleep(30);
      const slots = [];
      for (let i = 0; i < 3; i++) slots.push((await store.acquireSlot(fresh, 2)).allowed);
      assert.deepEqual(slots, [true, true, false]);
      if (a.ticket !== undefined) {
        // A store that releases by ticket frees each acquisition once: the same ticket again opens nothing.
        store.releaseSlot(k, a.ticket);
        await sleep(30);
        assert.equal((await store.acquireSlot(k, 2)).allowed, false);
      }
    });

    if (opts.unavailable !== undefined) {
      const unavailable = opts.unavailable;
      const deadlineMs = opts.deadlineMs ?? 2_000;
      test('a backend that cannot be reached: every call rejects with CounterStoreUnavailable within the deadline', async () => {
        const { store, close } = await unavailable();
        try {
          const start = Date.now() - (Date.now() % 60_000);
          const calls: [string, () => unknown][] = [
            ['takeToken', () => store.takeToken('down', 1, 1)],
            ['incrementWindow', () => store.incrementWindow('down', start, 60_000, 1)],
            ['incrementSliding', () => store.incrementSliding('down', 60_000, 1)],
          ];
          for (const [name, call] of calls) {
            const t0 = Date.now();
            await assert.rejects(
              async () => call(),
              (e: unknown) => e instanceof CounterStoreUnavailable && e.code === 'COUNTER_STORE_UNAVAILABLE',
              name,
            );
            assert.ok(Date.now() - t0 <= deadlineMs, `${name} took ${Date.now() - t0} ms to refuse`);
          }
        } finally {
          await (close ?? (() => store.close()))();
        }
      });
    }

    test('close() resolves, and resolves again', async () => {
      const { store, close } = await make();
      await store.close();
      await store.close();
      await close?.();
    });
  });
}
