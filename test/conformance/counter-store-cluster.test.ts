// The CounterStore conformance suite against the cluster primary's store as a worker reaches it:
// ClusterCounterStore over the primary's real Unix socket (serveCounters), a MemoryCounterStore behind it.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ClusterCounterStore, serveCounters } from '../../src/stores/cluster-counters.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';
import { counterStoreConformance } from '../helpers/counter-store-conformance.js';

counterStoreConformance(
  'cluster primary (worker client over its socket)',
  async () => {
    const memory = new MemoryCounterStore();
    const server = await serveCounters(memory);
    const store = new ClusterCounterStore({ path: server.path, timeoutMs: 2_000 });
    return {
      store,
      close: async () => {
        await store.close();
        await server.close();
        await memory.close();
      },
    };
  },
  {
    // No primary listens on this socket: calls fail at once (connection down), never hang.
    unavailable: async () => ({ store: new ClusterCounterStore({ path: join(mkdtempSync(join(tmpdir(), 'turnpike-noprimary-')), 'none.sock'), timeoutMs: 200 }) }),
    deadlineMs: 1_000,
  },
);
