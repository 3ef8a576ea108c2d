/**
 * Concurrency slots over the node-wide counter socket (src/stores/cluster-counters.ts), real Unix
 * socket, real primary side: the count is exact across two worker connections; a release frees one
 * slot once (a repeated or unknown ticket frees nothing, so the count never goes below zero); a
 * worker connection that closes frees every slot it held; a grant that arrives after the worker's
 * deadline is handed back by the worker.
 */
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ClusterCounterStore, serveCounters } from '../../src/stores/cluster-counters.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';
import { CounterStoreUnavailable } from '../../src/stores/types.js';

/** Slots held for `key` in the primary's store, read in-process without changing them. */
function heldIn(memory: MemoryCounterStore, key: string): number {
  const r = memory.acquireSlot(key, Number.MAX_SAFE_INTEGER);
  memory.releaseSlot(key);
  return r.inFlight - 1;
}

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('slots: exact across two connections, release once per acquire, never below zero', async () => {
  const memory = new MemoryCounterStore();
  const server = await serveCounters(memory);
  const a = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  const b = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  try {
    // Index 1 (a) first, so a surely holds a slot; then 59 concurrent calls from both.
    const first = await a.acquireSlot('k', 5);
    const results = [await b.acquireSlot('other', 1), first, ...(await Promise.all(Array.from({ length: 58 }, (_, i) => (i % 2 ? a : b).acquireSlot('k', 5))))];
    b.releaseSlot('other', results[0]?.ticket);
    results[0] = { allowed: false, inFlight: 5 };
    const granted = results.filter((r) => r.allowed);
    assert.equal(granted.length, 5);
    assert.ok(granted.every((r) => typeof r.ticket === 'number' && r.ticket > 0));
    assert.ok(results.filter((r) => !r.allowed).every((r) => r.inFlight === 5 && r.ticket === undefined));
    assert.equal(heldIn(memory, 'k'), 5);

    // Release one of a's slots twice, and a ticket a never held: exactly one slot comes back.
    const ticket = first.ticket;
    a.releaseSlot('k', ticket);
    a.releaseSlot('k', ticket);
    a.releaseSlot('k', 987_654);
    // b's tickets are not a's: a releasing them frees nothing.
    for (const [i, r] of results.entries()) if (r.allowed && i % 2 === 0) a.releaseSlot('k', r.ticket);
    // Frames of one connection are handled in order: this acquire sees the releases above.
    const again = await a.acquireSlot('k', 5);
    assert.deepEqual({ allowed: again.allowed, inFlight: again.inFlight }, { allowed: true, inFlight: 5 });
    assert.equal((await a.acquireSlot('k', 5)).allowed, false);

    // Release everything, then every ticket again: the count stops at zero, not below.
    for (const [i, r] of [...results.entries(), [1, again] as const]) if (r.allowed) (i % 2 ? a : b).releaseSlot('k', r.ticket);
    for (const [i, r] of results.entries()) if (r.allowed) (i % 2 ? a : b).releaseSlot('k', r.ticket);
    await a.acquireSlot('sync', 1); // round trips after the releases on both connections
    await b.acquireSlot('sync', 1);
    assert.equal(heldIn(memory, 'k'), 0);
    const refill = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).acquireSlot('k', 5)));
    assert.equal(refill.filter((r) => r.allowed).length, 5, 'full capacity again, and no more');
  } finally {
    await a.close();
    await b.close();
    await server.close();
    await memory.close();
  }
});

test('a worker connection that closes frees every slot it held; the other worker keeps its own', async () => {
  const memory = new MemoryCounterStore();
  const server = await serveCounters(memory);
  const a = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  const b = new ClusterCounterStore({ path: server.path, timeoutMs: 2000 });
  try {
    const fromA = await Promise.all(Array.from({ length: 3 }, () => a.acquireSlot('k', 4)));
    const fromB = await b.acquireSlot('k', 4);
    assert.ok(fromA.every((r) => r.allowed) && fromB.allowed);
    assert.equal((await b.acquireSlot('k', 4)).allowed, false);
    await a.close(); // a crashed worker: its socket closes without any release
    await until(() => heldIn(memory, 'k') === 1, 5000, 'the primary to free the closed connection\'s slots');
    const after = await Promise.all(Array.from({ length: 6 }, () => b.acquireSlot('k', 4)));
    assert.equal(after.filter((r) => r.allowed).length, 3);
    // b's original slot is still b's: releasing it works once.
    b.releaseSlot('k', fromB.ticket);
    b.releaseSlot('k', fromB.ticket);
    await b.acquireSlot('sync', 1);
    assert.equal(heldIn(memory, 'k'), 3);
  } finally {
    await a.close();
    await b.close();
    await server.close();
    await memory.close();
  }
});

test('a slot granted after the worker\'s deadline is released by the worker, unasked', async () => {
  const path = join(mkdtempSync(join(tmpdir(), 'turnpike-fake-')), 'p.sock');
  const releases: number[] = [];
  const server = net.createServer((s) => {
    s.on('data', (buf: Buffer) => {
      for (let at = 0; at + 4 <= buf.length; at += 4 + buf.readUInt32LE(at)) {
        const id = buf.readUInt32LE(at + 4);
        const op = buf[at + 8];
        if (op === 5) releases.push(id);
        else if (op === 4) {
          // A slow primary: grants the slot (status 2) after the worker gave up.
          setTimeout(() => {
            const reply = Buffer.alloc(37);
            reply.writeUInt32LE(id, 0);
            reply[4] = 2;
            reply.writeDoubleLE(1, 5);
            s.write(reply);
          }, 150);
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  const a = new ClusterCounterStore({ path, timeoutMs: 40 });
  try {
    const t0 = Date.now();
    await assert.rejects(a.acquireSlot('k', 1), CounterStoreUnavailable);
    assert.ok(Date.now() - t0 < 140, 'rejected at the deadline');
    await until(() => releases.length === 1, 3000, 'the worker to release the late grant');
    assert.equal(releases[0], 1, 'the late grant\'s ticket (the first request id)');
  } finally {
    await a.close();
    await new Promise<void>((r) => server.close(() => r()));
  }
});
