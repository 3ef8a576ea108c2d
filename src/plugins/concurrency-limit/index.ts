/**
 * concurrency-limit: at most `max` requests of the route in flight on the node; the next one is
 * answered 503 at once with Retry-After (docs/concurrency-limit.md).
 *
 * The slot is taken in the rateLimit phase and given back by the `done` hook, which the gateway runs
 * once when the request ends however it ends (response finished, client gone, upstream failure,
 * WebSocket closed), so a slot cannot leak. `done` also runs for requests refused before this hook
 * (401 from an authenticate hook), so the hook marks the requests that hold a slot in ctx.state.
 *
 * One count per plugin instance: configured on a route it limits that route; on an API or globally,
 * one limit is shared by every route of that scope (a bulkhead).
 *
 * Single process: a plain number, no store round trip. With --workers N the count lives in the
 * cluster primary's store (src/stores/cluster-counters.ts): one round trip to take the slot, a
 * fire-and-forget frame to give it back, so the limit is `max` per node rather than N × max. If the
 * primary does not answer in time the worker counts in its own number against the same `max`
 * (logged, turnpike_counter_fallback_total{plugin="concurrency-limit"}): degraded to per-worker,
 * never a hung request.
 *
 * `done` may run while the acquisition is still on its way (the client left during the round trip):
 * the mark then says so, and the slot is handed back as soon as the answer arrives.
 */
import type { Counter } from 'prom-client';
import type { RequestContext } from '../../pipeline/context.js';
import type { PluginDefinition, PluginDeps } from '../../pipeline/types.js';
import { type Denial, denial } from '../../errors/catalogue.js';
import { ClusterCounterStore } from '../../stores/cluster-counters.js';
import type { SlotResult } from '../../stores/types.js';
import { CounterFallback } from '../counter-fallback.js';
import { schema } from './schema.js';

const NAME = 'concurrency-limit';
const REJECTED_METRIC = 'turnpike_concurrency_limit_rejected_total';
const REJECTED_HELP = 'Requests refused with 503 by the concurrency-limit plugin, by plugin scope.';

class Limiter {
  inflight = 0;
  readonly max: number;
  readonly answer: Denial;
  readonly scope: string;
  /**
   * Refusals, in the gateway's registry: every instance and config version of the gateway counts in the
   * same counter, so it stays monotonic across reloads (and another gateway in the process has its own).
   */
  readonly rejected: Counter<'scope'>;
  constructor(max: number, retryAfterSeconds: number, scope: string, rejected: Counter<'scope'>) {
    this.max = max;
    this.scope = scope;
    this.rejected = rejected;
    this.answer = denial('CONCURRENCY_LIMITED', { headers: Object.freeze({ 'retry-after': String(retryAfterSeconds) }) });
  }
}

export const concurrencyLimit: PluginDefinition<typeof schema> = {
  name: NAME,
  // After rate-limit (800): a request refused for its rate never holds a slot.
  priority: 750,
  phases: ['rateLimit'],
  description: 'At most `max` requests in flight on the route (per node, also with --workers N); 503 with Retry-After beyond it.',
  configSchema: schema,
  create(config, deps) {
    const rejected = deps.metrics.counter(REJECTED_METRIC, REJECTED_HELP, ['scope']);
    const limiter = new Limiter(config.max, config.retryAfterSeconds, deps.scope, rejected);
    // Optional chaining: hand-built deps (unit tests, embedders) may leave the stores out.
    const node = (deps.stores as PluginDeps['stores'] | undefined)?.counters;
    if (node instanceof ClusterCounterStore) return createNodeHooks(limiter, node, deps);
    return createHooks(limiter);
  },
};

function refuse(limiter: Limiter): Denial {
  // Not the hot path: a refusal pays prom-client's label hashing, an admitted request nothing.
  limiter.rejected.inc({ scope: limiter.scope });
  return limiter.answer;
}

/** What a request holds, in ctx.state: the primary's slot (its ticket), a local one, or not yet known. */
class Held {
  /** -1: acquisition in flight; otherwise the primary's ticket (0 when the slot is not the primary's). */
  ticket = -1;
  /** The slot is one of the worker's own count (fallback): given back there, never to the primary. */
  local = false;
  /** `done` ran while the acquisition was in flight. */
  ended = false;
  constructor(readonly limiter: Limiter) {}
}

function createNodeHooks(limiter: Limiter, store: ClusterCounterStore, deps: PluginDeps) {
  // The key is the same in every worker (same config, same scope): that is what makes the count node-wide.
  const key = `concurrency:${limiter.scope}`;
  const fallback = new CounterFallback(NAME, deps, 'local', undefined);
  const settle = (ctx: RequestContext, held: Held, r: SlotResult): Denial | undefined => {
    if (!r.allowed) {
      held.ticket = 0;
      held.ended = true; // nothing to give back
      if (ctx.state !== undefined && ctx.state[NAME] === held) ctx.state[NAME] = undefined;
      return refuse(limiter);
    }
    held.ticket = r.ticket ?? 0;
    if (held.ended) store.releaseSlot(key, held.ticket);
    return undefined;
  };
  return {
    rateLimit(ctx: RequestContext): Promise<Denial | undefined> {
      const held = new Held(limiter);
      const state = ctx.state ?? (ctx.state = {});
      state[NAME] = held;
      return store.acquireSlot(key, limiter.max).then(
        (r) => settle(ctx, held, r),
        (err: unknown) => {
          fallback.next(ctx, store, err); // rethrows anything but an unavailable store; logs and counts
          // The worker's own count, against the same max: the node admits at most N × max meanwhile.
          if (limiter.inflight >= limiter.max) {
            held.ticket = 0;
            held.ended = true;
            if (ctx.state !== undefined && ctx.state[NAME] === held) ctx.state[NAME] = undefined;
            return refuse(limiter);
          }
          if (held.ended) return undefined; // ended already: take nothing
          limiter.inflight++;
          held.local = true;
          held.ticket = 0;
          return undefined;
        },
      );
    },
    done(ctx: RequestContext): void {
      const state = ctx.state;
      const held = state?.[NAME];
      if (!(held instanceof Held) || held.limiter !== limiter || held.ended) return;
      held.ended = true;
      if (state !== undefined) state[NAME] = undefined;
      if (held.ticket === -1) return; // settle() gives it back when the answer comes
      if (held.local) limiter.inflight--;
      else if (held.ticket > 0) store.releaseSlot(key, held.ticket);
    },
  };
}

function createHooks(limiter: Limiter) {
  return {
    rateLimit(ctx: RequestContext): Denial | undefined {
      if (limiter.inflight >= limiter.max) return refuse(limiter);
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

