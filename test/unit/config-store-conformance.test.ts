/**
 * The ConfigStore contract against the in-memory test double, so the double the Admin API tests use
 * behaves as the interface says (the PostgreSQL store runs the same suite: test/helpers/config-store-conformance.ts).
 */
import { configStoreConformance } from '../helpers/config-store-conformance.js';
import { MemoryConfigStore } from '../helpers/memory-config-store.js';

configStoreConformance('in-memory test double', async (initial) => ({ store: new MemoryConfigStore(initial) }));
