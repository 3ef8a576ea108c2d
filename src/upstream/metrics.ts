/**
 * Retry and circuit-breaker metrics. Counters are plain numbers on a per-upstream object (kept by name
 * for the life of the process, so they stay monotonic across reloads), read by collect-time prom-client
 * metrics at scrape time: nothing hashes labels on the request path. Registered once per registry by
 * the compiler when a config uses retries or a circuit breaker.
 */
import type client from 'prom-client';
import { REASONS } from './retry.js';

export class ResilienceStats {
  readonly upstream: string;
  /** [reason * 2 + outcome] (outcome 0 success, 1 failure): retries attempted. */
  readonly retries = new Float64Array(REASONS.length * 2);
  budgetExhausted = 0;
  /** `${target}\0${to}` -> breaker transitions. */
  readonly transitions = new Map<string, number>();

  constructor(upstream: string) {
    this.upstream = upstream;
  }

  retry(reason: number, ok: boolean): void {
    const k = reason * 2 + (ok ? 0 : 1);
    this.retries[k] = (this.retries[k] as number) + 1;
  }

  transition(target: string, to: string): void {
    const k = `${target}\u0000${to}`;
    this.transitions.set(k, (this.transitions.get(k) ?? 0) + 1);
  }
}

const STATS = new Map<string, ResilienceStats>();

export function statsFor(upstream: string): ResilienceStats {
  let s = STATS.get(upstream);
  if (s === undefined) {
    s = new ResilienceStats(upstream);
    STATS.set(upstream, s);
  }
  return s;
}

/** What the breaker gauge reads at scrape time: the live (not retired) breakers' states. */
export interface BreakerView {
  readonly upstream: string;
  states(): [target: string, state: number][];
}
export const LIVE_BREAKERS = new Set<BreakerView>();

type Values = { labels: Record<string, string | number>; value: number }[];

/** A collect-time metric in prom-client's registry shape (so AggregatorRegistry sums workers). */
class Snapshot {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge',
    readonly aggregator: 'sum' | 'max',
    private readonly read: () => Values,
  ) {}
  get() {
    return { name: this.name, help: this.help, type: this.type, values: this.read(), aggregator: this.aggregator };
  }
  reset(): void {}
}

export function registerResilienceMetrics(registry: client.Registry): void {
  if (registry.getSingleMetric('turnpike_upstream_retries_total') !== undefined) return;
  const add = (m: Snapshot) => registry.registerMetric(m as unknown as client.Metric);
  add(
    new Snapshot('turnpike_upstream_retries_total', 'Retries sent to an upstream, by the reason for the retry and the outcome of the retried try (success: an answer that is not itself a failure).', 'counter', 'sum', () => {
      const out: Values = [];
      for (const s of STATS.values()) {
        for (let r = 0; r < REASONS.length; r++) {
          for (let o = 0; o < 2; o++) {
            const v = s.retries[r * 2 + o] as number;
            if (v > 0) out.push({ labels: { upstream: s.upstream, reason: REASONS[r] as string, outcome: o === 0 ? 'success' : 'failure' }, value: v });
          }
        }
      }
      return out;
    }),
  );
  add(
    new Snapshot('turnpike_upstream_retry_budget_exhausted_total', 'Failures answered without a retry because the retry budget was spent.', 'counter', 'sum', () =>
      [...STATS.values()].filter((s) => s.budgetExhausted > 0).map((s) => ({ labels: { upstream: s.upstream }, value: s.budgetExhausted })),
    ),
  );
  add(
    new Snapshot('turnpike_upstream_circuit_transitions_total', 'Circuit-breaker state changes per target, by the new state.', 'counter', 'sum', () => {
      const out: Values = [];
      for (const s of STATS.values()) {
        for (const [k, v] of s.transitions) {
          const [target, to] = k.split('\u0000') as [string, string];
          out.push({ labels: { upstream: s.upstream, target, to }, value: v });
        }
      }
      return out;
    }),
  );
  add(
    new Snapshot('turnpike_upstream_circuit_state', 'Circuit-breaker state per target: 0 closed, 1 open, 2 half-open (upstreams with circuitBreaker).', 'gauge', 'max', () => {
      const out: Values = [];
      for (const b of LIVE_BREAKERS) for (const [target, state] of b.states()) out.push({ labels: { upstream: b.upstream, target }, value: state });
      return out;
    }),
  );
}
