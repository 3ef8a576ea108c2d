/**
 * What a counting plugin (rate-limit, api-key usage plans) does when its counter store does not
 * answer (CounterStoreUnavailable: Redis down or too slow, or a worker's cluster primary stalled),
 * shared so both plugins behave, log and count the same way.
 *
 * `fallback: local` walks down a chain of stores: Redis → the node's store (the primary's in a
 * cluster) → this process's own memory, which cannot fail. `fallback: reject` answers 503.
 * A warning is logged at most once a minute per plugin instance; every occurrence is counted in
 * `turnpike_counter_fallback_total{plugin, store, fallback}`.
 */
import client from 'prom-client';
import type { RequestContext } from '../pipeline/context.js';
import type { PluginDeps } from '../pipeline/types.js';
import { denial } from '../errors/catalogue.js';
import { CounterStoreUnavailable, type CounterStore } from '../stores/types.js';

export const UNAVAILABLE = denial('COUNTERS_UNAVAILABLE', { headers: Object.freeze({ 'retry-after': '1' }) });

const METRIC = 'turnpike_counter_fallback_total';
type Labels = 'plugin' | 'store' | 'fallback';

function fallbackMetric(registry: client.Registry): client.Counter<Labels> {
  const existing = registry.getSingleMetric(METRIC);
  if (existing !== undefined) return existing as client.Counter<Labels>;
  return new client.Counter({
    name: METRIC,
    help: 'Counter decisions taken by a fallback because the counter store did not answer (store: redis or primary), by plugin and fallback.',
    labelNames: ['plugin', 'store', 'fallback'],
    registers: [registry],
  });
}

export class CounterFallback {
  readonly #plugin: string;
  readonly #deps: PluginDeps;
  readonly reject: boolean;
  readonly #redis: CounterStore | undefined;
  readonly #node: CounterStore;
  readonly #own: CounterStore;
  #lastWarnMs = Number.NEGATIVE_INFINITY;

  constructor(plugin: string, deps: PluginDeps, fallback: 'local' | 'reject', redis: CounterStore | undefined) {
    this.#plugin = plugin;
    this.#deps = deps;
    this.reject = fallback === 'reject';
    this.#redis = redis;
    this.#node = deps.stores.counters;
    this.#own = deps.stores.fallbackCounters ?? deps.stores.counters;
  }

  /** The store to count in first. */
  get first(): CounterStore {
    return this.#redis ?? this.#node;
  }

  /**
   * Records that `from` failed with `err` (rethrown when it is not an unavailable store) and returns
   * the store to count in next, or undefined when the answer is a 503 (fallback reject, or nothing left).
   */
  next(ctx: RequestContext, from: CounterStore, err: unknown): CounterStore | undefined {
    if (!(err instanceof CounterStoreUnavailable)) throw err;
    const store = from === this.#redis ? 'redis' : 'primary';
    const fallback = this.reject ? 'reject' : 'local';
    fallbackMetric(ctx.table.metrics.registry).inc({ plugin: this.#plugin, store, fallback });
    const now = this.#deps.clock.now();
    if (now - this.#lastWarnMs >= 60_000) {
      this.#lastWarnMs = now;
      this.#deps.logger.warn(
        { scope: this.#deps.scope, store, fallback, err: err.message },
        `${this.#plugin}: ${store === 'redis' ? 'Redis' : 'the cluster primary\'s counter store'} unavailable, using fallback`,
      );
    }
    if (this.reject) return undefined;
    if (from === this.#redis) return this.#node;
    return from === this.#own ? undefined : this.#own;
  }
}
