/**
 * concurrency-limit: at most `max` requests of the route in flight in this process; the next one is
 * answered 503 at once with Retry-After (docs/concurrency-limit.md).
 *
 * The slot is taken in the rateLimit phase and given back by the `done` hook, which the gateway runs
 * once when the request ends however it ends (response finished, client gone, upstream failure,
 * WebSocket closed), so a slot cannot leak. `done` also runs for requests refused before this hook
 * (401 from an authenticate hook), so the hook marks the requests that hold a slot in ctx.state.
 *
 * One count per plugin instance: configured on a route it limits that route; on an API or globally,
 * one limit is shared by every route of that scope (a bulkhead). Per process: a plain number, no store
 * round trip on the hot path; with --workers N the effective limit is N × max (documented).
 */
import client from 'prom-client';
import type { RequestContext } from '../../pipeline/context.js';
import type { EarlyResponse, PluginDefinition } from '../../pipeline/types.js';
import { type ConcurrencyLimitConfig, schema } from './schema.js';

const NAME = 'concurrency-limit';
const REJECTED_METRIC = 'turnpike_concurrency_limit_rejected_total';

/** Refusals by scope, kept for the process so the counter stays monotonic across reloads. */
const REJECTED = new Map<string, number>();

function registerRejected(registry: client.Registry): void {
  if (registry.getSingleMetric(REJECTED_METRIC) !== undefined) return;
  new client.Counter({
    name: REJECTED_METRIC,
    help: 'Requests refused with 503 by the concurrency-limit plugin, by plugin scope.',
    labelNames: ['scope'],
    registers: [registry],
    collect() {
      this.reset();
      for (const [scope, n] of REJECTED) this.inc({ scope }, n);
    },
  });
}

class Limiter {
  inflight = 0;
  readonly max: number;
  readonly answer: EarlyResponse;
  readonly scope: string;
  constructor(max: number, retryAfterSeconds: number, scope: string) {
    this.max = max;
    this.scope = scope;
    this.answer = Object.freeze({
      status: 503,
      headers: Object.freeze({ 'content-type': 'application/json', 'retry-after': String(retryAfterSeconds) }),
      body: JSON.stringify({ message: 'Service Unavailable' }),
    });
  }
}

export const concurrencyLimit: PluginDefinition<ConcurrencyLimitConfig> = {
  name: NAME,
  // After rate-limit (800): a request refused for its rate never holds a slot.
  priority: 750,
  description: 'At most `max` requests in flight on the route (per process); 503 with Retry-After beyond it.',
  configSchema: schema,
  create(config, deps) {
    return createHooks(new Limiter(config.max, config.retryAfterSeconds ?? 1, deps.scope));
  },
};

function createHooks(limiter: Limiter) {
  return {
    rateLimit(ctx: RequestContext): EarlyResponse | undefined {
      if (limiter.inflight >= limiter.max) {
        REJECTED.set(limiter.scope, (REJECTED.get(limiter.scope) ?? 0) + 1);
        registerRejected(ctx.table.metrics.registry);
        return limiter.answer;
      }
      limiter.inflight++;
      const state = ctx.state ?? (ctx.state = {});
      state[NAME] = limiter;
      return undefined;
    },
    done(ctx: RequestContext): void {
      const state = ctx.state;
      if (state === undefined || state[NAME] !== limiter) return;
      state[NAME] = undefined;
      limiter.inflight--;
    },
  };
}

