/**
 * The worker side of the node-wide counters (src/stores/cluster-counters.ts) over a real Unix socket:
 * against the real primary side it counts exactly like the memory store (1,000 concurrent calls from
 * two clients, limit 100 → 100); against a fake primary that reads but never answers, or that hangs
 * up, every call fails with CounterStoreUnavailable within the deadline instead of hanging.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClusterCounterStore, COUNTERS_SOCKET_ENV, serveCounters } from '../../src/stores/cluster-counters.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';
import { CounterStoreUnavailable } from '../../src/stores/types.js';

test('two workers against the primary: 1,000 concurrent calls, limit 100 → exactly 100 admitted; results match the memory store', async () => {
  const memory = new MemoryCounterStore();
  const server = await serveCounters(memory);
  assert.equal(process.env[COUNTERS_SOCKET_ENV], server.path);
  const a = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  const b = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  try {
    const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).incrementSliding('exact', 3_600_000, 100)));
    assert.equal(results.filter((r) => r.allowed).length, 100);
    const refused = await a.incrementSliding('exact', 3_600_000, 100);
    assert.equal(refused.allowed, false);
    assert.equal(refused.remaining, 0);

    const start = Date.now() - (Date.now() % 60_000);
    const fixed = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).incrementWindow('fixed', start, 60_000, 7)));
    assert.equal(fixed.filter((r) => r.allowed).length, 7);
    assert.deepEqual(await b.incrementWindow('fixed', start, 60_000, 7), { allowed: false, count: 7, remaining: 0, resetAtMs: start + 60_000 });
    assert.deepEqual(await b.incrementWindow('fixed', start + 60_000, 60_000, 7, 3), { allowed: true, count: 3, remaining: 4, resetAtMs: start + 120_000 });

    // Token bucket, with a never-refilling bucket (retry = Infinity crosses the wire) and a non-ASCII key.
    const key = 'clé-ключ-🔑';
    const taken = await Promise.all(Array.from({ length: 10 }, () => a.takeToken(key, 0, 4)));
    assert.equal(taken.filter((r) => r.allowed).length, 4);
    const none = await b.takeToken(key, 0, 4);
    assert.deepEqual(none, { allowed: false, remaining: 0, retryAfterMs: Number.POSITIVE_INFINITY });
    // The primary's store really holds the counts: the same key read in-process.
    assert.equal(memory.takeToken(key, 0, 4).allowed, false);
    assert.equal(memory.incrementSliding('exact', 3_600_000, 100).allowed, false);
  } finally {
    await a.close();
    await b.close();
    await server.close();
    await memory.close();
  }
});

async function fakePeer(onSocket: (s: net.Socket) => void): Promise<{ path: string; close(): Promise<void> }> {
  const path = join(mkdtempSync(join(tmpdir(), 'turnpike-fake-')), 'p.sock');
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    onSocket(s);
  });
  await new Promise<void>((r) => server.listen(path, r));
  return {
    path,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

test('a primary that stops answering: every call rejects with CounterStoreUnavailable at the deadline, none hangs', async () => {
  let received = 0;
  const peer = await fakePeer((s) => s.on('data', (c: Buffer) => (received += c.length)));
  const store = new ClusterCounterStore({ path: peer.path, timeoutMs: 150 });
  try {
    const t0 = performance.now();
    const calls = Array.from({ length: 50 }, (_, i) => store.incrementSliding(`k${i}`, 60_000, 10).then(
      () => 'answered',
      (e: unknown) => (e instanceof CounterStoreUnavailable ? performance.now() - t0 : 'other error'),
    ));
    const outcomes = await Promise.all(calls);
    for (const o of outcomes) {
      assert.equal(typeof o, 'number', String(o));
      assert.ok((o as number) >= 140 && (o as number) < 600, `rejected after ${o} ms`);
    }
    // The frames really went out (coalesced), so the deadline, not a send failure, ended them.
    assert.ok(received >= 50 * 49, `peer received ${received} bytes`);
  } finally {
    await store.close();
    await peer.close();
  }
});

test("the config's deadline: applied when no fixed one was given, clamping calls already in flight; a fixed one wins", async () => {
  const peer = await fakePeer(() => undefined);
  const store = new ClusterCounterStore({ path: peer.path });
  const fixed = new ClusterCounterStore({ path: peer.path, timeoutMs: 120 });
  try {
    assert.equal(store.timeoutMs, 200, 'the default');
    store.configureDeadline(10_000);
    assert.equal(store.timeoutMs, 10_000);
    const t0 = performance.now();
    const inFlight = store.incrementSliding('slow', 60_000, 10).then(
      () => 'answered',
      (e: unknown) => (e instanceof CounterStoreUnavailable ? performance.now() - t0 : 'other error'),
    );
    await new Promise((r) => setTimeout(r, 50));
    // A reload lowers it: the call sent under 10 s now ends ~100 ms after the change, not 10 s later.
    store.configureDeadline(100);
    const later = store.incrementSliding('slow2', 60_000, 10).then(
      () => 'answered',
      (e: unknown) => (e instanceof CounterStoreUnavailable ? performance.now() - t0 : 'other error'),
    );
    const [a, b] = await Promise.all([inFlight, later]);
    assert.equal(typeof a, 'number', String(a));
    assert.ok((a as number) >= 140 && (a as number) < 1_000, `in-flight call rejected after ${a} ms`);
    assert.ok((b as number) >= 140 && (b as number) < 1_000, `later call rejected after ${b} ms`);
    store.configureDeadline(undefined);
    assert.equal(store.timeoutMs, 200, 'back to the default');
    fixed.configureDeadline(5_000);
    assert.equal(fixed.timeoutMs, 120, 'TURNPIKE_COUNTERS_TIMEOUT_MS (a fixed deadline) wins over the config');
  } finally {
    await store.close();
    await fixed.close();
    await peer.close();
  }
});

test('a primary that hangs up: pending calls fail at once; with nobody listening calls fail fast; it reconnects when the primary is back', async () => {
  let hangUp: (() => void) | undefined;
  const peer = await fakePeer((s) => {
    hangUp = () => s.destroy();
  });
  const store = new ClusterCounterStore({ path: peer.path, timeoutMs: 5_000, reconnectMs: 50 });
  const t0 = performance.now();
  const pending = store.takeToken('k', 1, 1);
  while (hangUp === undefined) await new Promise((r) => setTimeout(r, 5));
  hangUp();
  await assert.rejects(pending, CounterStoreUnavailable);
  assert.ok(performance.now() - t0 < 1000, 'rejected long before the 5 s deadline');
  await peer.close();

  // Nobody listens on the path any more: refused at once (fail fast), not after the deadline.
  await new Promise((r) => setTimeout(r, 60));
  const t1 = performance.now();
  await assert.rejects(store.takeToken('k', 1, 1), CounterStoreUnavailable);
  assert.ok(performance.now() - t1 < 1000);

  // A real primary on another path: a new client works; the closed one refuses.
  const memory = new MemoryCounterStore();
  const server = await serveCounters(memory);
  const again = new ClusterCounterStore({ path: server.path, timeoutMs: 1000 });
  assert.equal((await again.takeToken('k', 1, 1)).allowed, true);
  assert.equal((await again.takeToken('k', 1, 1)).allowed, false);
  await store.close();
  await assert.rejects(store.takeToken('k', 1, 1), CounterStoreUnavailable);
  await again.close();
  await server.close();
  await memory.close();
});

test('a primary that stops reading: unsent frames are bounded, further calls fail at once', async () => {
  const peer = await fakePeer((s) => s.pause());
  const store = new ClusterCounterStore({ path: peer.path, timeoutMs: 300 });
  try {
    // Let the connection come up, then flood it: ~100-byte frames, a 1 MiB bound plus the kernel's buffer.
    await store.takeToken('warm', 1, 1).catch(() => undefined);
    const key = 'k'.repeat(60);
    let immediate = 0;
    const calls: Promise<unknown>[] = [];
    for (let round = 0; round < 40 && immediate === 0; round++) {
      for (let i = 0; i < 2000; i++) {
        // Only the bound gives this message (a missed deadline says "did not answer").
        calls.push(
          store.incrementSliding(key, 60_000, 10).catch((e: unknown) => {
            if (e instanceof CounterStoreUnavailable && /not reading/.test(e.message)) immediate++;
          }),
        );
      }
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(calls);
    assert.ok(immediate > 0, 'some calls were refused at once once the bound was reached');
  } finally {
    await store.close();
    await peer.close();
  }
});
