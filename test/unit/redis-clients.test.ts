/**
 * RedisClients: one client per URL per process, refcounted by leases, so a config reload (new table
 * leases before the old one releases) keeps a URL's client and a URL no longer used is closed. No
 * connection is made here: clients connect lazily on their first call.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RedisClients } from '../../src/stores/redis-counters.js';

test('one client per URL; leases share it; the last release closes it; a later lease makes a new one', async () => {
  const reg = new RedisClients();
  const a1 = reg.acquire('redis://127.0.0.1:1', { prefix: 'rl:', timeoutMs: 50 });
  const a2 = reg.acquire('redis://127.0.0.1:1', { prefix: '', timeoutMs: 500 });
  const b = reg.acquire('redis://127.0.0.1:2');
  assert.deepEqual(reg.urls.sort(), ['redis://127.0.0.1:1', 'redis://127.0.0.1:2']);
  assert.notEqual(a1.store, a2.store, 'each lease has its own namespace and deadline');

  // Reload: the new table leases first, then the old one is retired.
  const next = reg.acquire('redis://127.0.0.1:1');
  await a1.release();
  await a2.release();
  await a2.release(); // releasing twice is harmless
  assert.deepEqual(reg.urls.sort(), ['redis://127.0.0.1:1', 'redis://127.0.0.1:2']);
  await next.release();
  assert.deepEqual(reg.urls, ['redis://127.0.0.1:2']);
  await b.release();
  assert.deepEqual(reg.urls, []);
  const again = reg.acquire('redis://127.0.0.1:1');
  assert.deepEqual(reg.urls, ['redis://127.0.0.1:1']);
  await again.release();
});
