/**
 * The shared counter stores (the cluster primary's, reached from a worker, and Redis) arm each call's
 * deadline on a DeadlineQueue given in their options (default: the process's one queue). With a queue
 * on a fake clock, a call to a peer that never answers rejects with CounterStoreUnavailable exactly
 * when the clock passes its deadline, not before, and a lowered deadline moves calls already in flight.
 * The deadlines are seconds long on the fake clock, so the process's real queue (the default) could
 * not end these calls while the test runs: only the injected queue can.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClusterCounterStore } from '../../src/stores/cluster-counters.js';
import { RedisCounterStore } from '../../src/stores/redis-counters.js';
import { CounterStoreUnavailable } from '../../src/stores/types.js';
import { DeadlineQueue, type TimerHandle } from '../../src/util/deadline-queue.js';

/** A queue on a fake clock; advance() runs its one timer whenever it is due, as Node would. */
function fakeQueue() {
  let t = 1_000;
  let timer: { fn: () => void; due: number; handle: TimerHandle } | undefined;
  const queue = new DeadlineQueue({
    now: () => t,
    host: {
      set(fn, ms) {
        const handle: TimerHandle = {};
        timer = { fn, due: t + ms, handle };
        return handle;
      },
      clear(handle) {
        if (timer?.handle === handle) timer = undefined;
      },
    },
  });
  return {
    queue,
    now: () => t,
    advance(to: number): void {
      while (timer !== undefined && timer.due <= to) {
        const { fn, due } = timer;
        timer = undefined;
        t = due;
        fn();
      }
      t = to;
    },
  };
}

/** A listener that accepts connections and never answers anything. */
async function silentPeer(at: string | number): Promise<{ address: string | number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => (typeof at === 'string' ? server.listen(at, r) : server.listen(at, '127.0.0.1', r)));
  const address = typeof at === 'string' ? at : (server.address() as net.AddressInfo).port;
  return {
    address,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Settles to 'pending' unless `p` has settled within a few turns of the event loop (real time). */
async function state(p: Promise<unknown>): Promise<unknown> {
  const pending = Symbol('pending');
  const r = await Promise.race([p.then(() => 'answered', (e: unknown) => e), new Promise((res) => setTimeout(() => res(pending), 30))]);
  return r === pending ? 'pending' : r;
}

test("a worker's call to its primary: rejected on the injected queue's clock at its deadline; a lowered deadline moves calls in flight", async () => {
  const peer = await silentPeer(join(mkdtempSync(join(tmpdir(), 'turnpike-deadlines-')), 'p.sock'));
  const q = fakeQueue();
  const store = new ClusterCounterStore({ path: peer.address as string, timeoutMs: 5_000, queue: q.queue });
  try {
    const first = store.incrementSliding('a', 60_000, 10);
    first.catch(() => undefined);
    q.advance(5_999);
    assert.equal(await state(first), 'pending', 'not before its deadline');
    q.advance(6_000);
    const e = await state(first);
    assert.ok(e instanceof CounterStoreUnavailable, String(e));

    const second = store.incrementSliding('b', 60_000, 10); // due at 11,000
    second.catch(() => undefined);
    q.advance(6_050);
    store.configureDeadline(100); // a fixed timeoutMs wins: nothing moves
    q.advance(10_999);
    assert.equal(await state(second), 'pending');
    q.advance(11_000);
    assert.ok((await state(second)) instanceof CounterStoreUnavailable);
  } finally {
    await store.close();
    await peer.close();
  }
  const q2 = fakeQueue();
  const peer2 = await silentPeer(join(mkdtempSync(join(tmpdir(), 'turnpike-deadlines-')), 'p.sock'));
  const configured = new ClusterCounterStore({ path: peer2.address as string, queue: q2.queue });
  try {
    configured.configureDeadline(5_000);
    const call = configured.incrementSliding('c', 60_000, 10); // due at 6,000
    call.catch(() => undefined);
    q2.advance(1_050);
    configured.configureDeadline(100); // now due at 1,150
    q2.advance(1_149);
    assert.equal(await state(call), 'pending');
    q2.advance(1_150);
    assert.ok((await state(call)) instanceof CounterStoreUnavailable);
  } finally {
    await configured.close();
    await peer2.close();
  }
});

test('a Redis call to a server that never answers: rejected on the injected queue at its deadline', async () => {
  const peer = await silentPeer(0);
  const q = fakeQueue();
  const store = new RedisCounterStore({ url: `redis://127.0.0.1:${peer.address}`, timeoutMs: 5_000, queue: q.queue });
  try {
    const call = store.takeToken('k', 1, 1);
    call.catch(() => undefined);
    q.advance(5_999);
    assert.equal(await state(call), 'pending', 'not before its deadline');
    q.advance(6_000);
    const e = await state(call);
    assert.ok(e instanceof CounterStoreUnavailable && /within 5000 ms/.test(e.message), String(e));
  } finally {
    await store.close();
    await peer.close();
  }
});
