// The CounterStore conformance suite against the in-process store (the embedded default).
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';
import { counterStoreConformance } from '../helpers/counter-store-conformance.js';

counterStoreConformance('memory', async () => ({ store: new MemoryCounterStore() }));
