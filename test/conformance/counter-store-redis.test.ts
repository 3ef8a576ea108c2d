// The CounterStore conformance suite against RedisCounterStore and the real Redis on 127.0.0.1:6379
// (started by .ci/run when missing). Each run uses its own key prefix.
import { randomUUID } from 'node:crypto';
import { RedisCounterStore } from '../../src/stores/redis-counters.js';
import { counterStoreConformance } from '../helpers/counter-store-conformance.js';
import { deadPort } from '../helpers/upstream.js';

counterStoreConformance(
  'redis',
  async () => {
    const store = new RedisCounterStore({ url: 'redis://127.0.0.1:6379', prefix: `conformance:${randomUUID()}:`, timeoutMs: 2_000 });
    await store.connect();
    return { store };
  },
  {
    // Nothing listens on the port: each call is refused by the store's own deadline (50 ms by default).
    unavailable: async () => ({ store: new RedisCounterStore({ url: `redis://127.0.0.1:${await deadPort()}`, timeoutMs: 100, connectTimeoutMs: 200 }) }),
    deadlineMs: 1_000,
  },
);
