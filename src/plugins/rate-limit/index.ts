/**
 * rate-limit: stacked sliding-window and token-bucket limits per composite key, counted in the
 * node's store (policy local: in-process, or the cluster primary's with --workers N) or in Redis
 * (policy redis). See docs/rate-limiting.md.
 *
 * The Redis client is leased once per plugin instance in create() from the process's registry (one
 * client per URL), connects lazily on the first request (so `turnpike validate` never connects) and
 * is released by the close() hook. When a store is unreachable (CounterStoreUnavailable, bounded by
 * the store's per-call deadline) the request is counted further down the chain or refused with 503,
 * as configured (../counter-fallback.ts).
 */
import { hash } from 'node:crypto';
import client from 'prom-client';
import type { RequestContext } from '../../pipeline/context.js';
import type { Principal } from '../../pipeline/principal.js';
import type { HookResult, PluginDefinition } from '../../pipeline/types.js';
import type { Denial } from '../../errors/catalogue.js';
import { type RedisLease, redisClients } from '../../stores/redis-counters.js';
import { CounterFallback, UNAVAILABLE } from '../counter-fallback.js';
import type { CounterStore } from '../../stores/types.js';
import { type RateLimitConfig, schema } from './schema.js';

const WINDOW_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

interface LimitRuntime {
  /** Appended to the key's counter name: one counter per limit. */
  suffix: string;
  run(store: CounterStore, counterKey: string): Outcome | Promise<Outcome>;
}
interface Outcome {
  allowed: boolean;
  limit: number;
  /** `limit` as header text, rendered once per limit. */
  limitText: string;
  remaining: number;
  /** Seconds until the limit frees up (refused) or resets (allowed). */
  resetS: number;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown }).then === 'function';

/**
 * Hot path: RateLimit-Reset as text. Resets are a few seconds to an hour away and repeat from one request
 * to the next, so their text is made once: String(n) per request cost ~270 instructions (callgrind).
 * A packed array of fixed length (holes would make a sparse one), filled on first use.
 */
const SECONDS_CACHED = 3600;
const SECONDS_TEXT: (string | undefined)[] = new Array<string | undefined>(SECONDS_CACHED + 1).fill(undefined);
function secondsText(n: number): string {
  // Whole seconds only (NaN or a fraction would become a named property of the array).
  if (!(n >= 0 && n <= SECONDS_CACHED) || Math.floor(n) !== n) return String(n);
  let t = SECONDS_TEXT[n];
  if (t === undefined) SECONDS_TEXT[n] = t = String(n);
  return t;
}

function compileLimits(config: RateLimitConfig): LimitRuntime[] {
  const problems: { path: (string | number)[]; message: string }[] = [];
  const out: LimitRuntime[] = [];
  config.limits.forEach((l, i) => {
    if ((l.window === undefined) === (l.tokenBucket === undefined)) {
      problems.push({ path: ['limits', i], message: 'give exactly one of window or tokenBucket' });
    } else if (l.window !== undefined) {
      const windowMs = WINDOW_MS[l.window];
      const limit = l.limit;
      if (limit === undefined) {
        problems.push({ path: ['limits', i, 'limit'], message: 'a window limit needs limit' });
        return;
      }
      const limitText = String(limit);
      const map = (r: { allowed: boolean; remaining: number; resetAtMs: number }): Outcome => ({
        allowed: r.allowed,
        limit,
        limitText,
        remaining: r.remaining,
        resetS: Math.max(1, Math.ceil((r.resetAtMs - Date.now()) / 1000)),
      });
      out.push({
        suffix: `|${l.window}`,
        run(store, counterKey) {
          const r = store.incrementSliding(counterKey, windowMs, limit);
          return isPromise(r) ? r.then(map) : map(r);
        },
      });
    } else {
      const { rate, burst } = l.tokenBucket!;
      if (l.limit !== undefined) problems.push({ path: ['limits', i, 'limit'], message: 'limit applies to windows; a token bucket has rate and burst' });
      const limitText = String(burst);
      const map = (r: { allowed: boolean; remaining: number; retryAfterMs: number }): Outcome => ({
        allowed: r.allowed,
        limit: burst,
        limitText,
        remaining: r.remaining,
        resetS: r.allowed ? (rate > 0 ? Math.max(1, Math.ceil((burst - r.remaining) / rate)) : 0) : Number.isFinite(r.retryAfterMs) ? Math.max(1, Math.ceil(r.retryAfterMs / 1000)) : 86_400,
      });
      out.push({
        suffix: `|tb:${rate}:${burst}`,
        run(store, counterKey) {
          const r = store.takeToken(counterKey, rate, burst);
          return isPromise(r) ? r.then(map) : map(r);
        },
      });
    }
  });
  if (problems.length > 0) throw Object.assign(new Error('rate-limit: invalid limits'), { problems });
  return out;
}

type KeyPart = (ctx: RequestContext) => string;

function compileKey(parts: readonly string[]): KeyPart {
  const fns: KeyPart[] = parts.map((p) => {
    if (p === 'consumer') return (ctx) => (ctx.principal as { principalId?: string } | undefined)?.principalId ?? '';
    if (p === 'apiKey') {
      // The id of the key the api-key plugin accepted, never the key itself: counter names are visible
      // to anyone who can list Redis keys. Without the api-key plugin, the header's SHA-256.
      return (ctx) => {
        const id = (ctx.principal as Principal | undefined)?.identity?.apiKeyId;
        if (typeof id === 'string') return id;
        const v = ctx.req.headers['x-api-key'];
        return typeof v === 'string' && v.length > 0 ? `sha256:${hash('sha256', v, 'hex')}` : '';
      };
    }
    if (p === 'ip') return (ctx) => ctx.clientIp;
    if (p === 'route') return (ctx) => ctx.route?.id ?? '';
    if (p === 'stage') {
      return (ctx) => {
        const name = ctx.route?.name ?? '';
        const sp = name.indexOf(' ');
        return `${ctx.route?.api ?? ''}:${sp > 0 ? name.slice(0, sp) : ''}`;
      };
    }
    const header = p.slice('header:'.length).toLowerCase();
    return (ctx) => {
      const v = ctx.req.headers[header];
      return v === undefined ? '' : Array.isArray(v) ? v.join(',') : v;
    };
  });
  // One part (the common case): its value as it is, often a string kept across requests (a key id,
  // the connection's address) whose counter names CounterNames finds without building a string.
  if (fns.length === 1) return fns[0]!;
  // Several: each part is length-prefixed so different combinations can never collide.
  return (ctx) => {
    let out = '';
    for (let i = 0; i < fns.length; i++) {
      const v = fns[i]!(ctx);
      out += i === 0 ? `${v.length}:${v}` : `|${v.length}:${v}`;
    }
    return out;
  };
}

/**
 * Counter names per key value, built once: the stores look names up in a Map (or send them to Redis),
 * and a name kept from one request to the next is hashed once by V8, where a freshly concatenated one
 * is flattened and hashed again on every request (~1 µs per request in bench profiles). Bounded: when
 * it holds MAX values (many distinct client addresses, say) it starts afresh, so memory stays flat.
 */
class CounterNames {
  static readonly MAX = 10_000;
  readonly #byValue = new Map<string, readonly string[]>();
  readonly #prefix: string;
  readonly #suffixes: readonly string[];

  constructor(prefix: string, suffixes: readonly string[]) {
    this.#prefix = prefix;
    this.#suffixes = suffixes;
  }

  of(value: string): readonly string[] {
    let names = this.#byValue.get(value);
    if (names === undefined) {
      if (this.#byValue.size >= CounterNames.MAX) this.#byValue.clear();
      const base = this.#prefix + value;
      names = Object.freeze(this.#suffixes.map((s) => base + s));
      this.#byValue.set(value, names);
    }
    return names;
  }
}

function fallbackCounter(registry: client.Registry): client.Counter<'scope' | 'fallback'> {
  const name = 'turnpike_rate_limit_redis_fallback_total';
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as client.Counter<'scope' | 'fallback'>;
  return new client.Counter({ name, help: 'Rate-limit decisions taken without Redis (unreachable or too slow), by scope and fallback.', labelNames: ['scope', 'fallback'], registers: [registry] });
}

/** Headers kept from rateLimit to transformResponse (a small class: no per-request object shape changes). */
class RateHeaders {
  constructor(
    readonly limit: string,
    readonly remaining: string,
    readonly reset: string,
  ) {}
}

export const rateLimit: PluginDefinition<typeof schema> = {
  name: 'rate-limit',
  priority: 800,
  phases: ['rateLimit', 'transformResponse'],
  description: 'Stacked sliding-window and token-bucket rate limits per key, local or in Redis (429 Too Many Requests).',
  configSchema: schema,
  create(config, deps) {
    const limits = compileLimits(config);
    const keyOf = compileKey(config.key);
    const headers = config.headers;
    const fallbackMode = config.fallback;
    const prefix = `rl:${deps.scope}:`;
    let lease: RedisLease | undefined;
    if (config.policy === 'redis') {
      // Own redis block, else the gateway's server.counters.redis: one connection settings place.
      const shared = deps.config.server?.counters?.redis;
      const url = config.redis?.url ?? shared?.url;
      if (url === undefined) {
        throw Object.assign(new Error('rate-limit: policy redis needs redis.url'), {
          problems: [{ path: ['redis'], message: 'policy redis needs redis: { url } here or server.counters.redis' }],
        });
      }
      const timeoutMs = config.redis?.timeoutMs ?? (config.redis === undefined ? shared?.timeoutMs : undefined) ?? 50;
      const ns = config.redis === undefined ? (shared?.prefix ?? '') : '';
      lease = (deps.stores.redis ?? redisClients).acquire(url, { prefix: `${ns}rl:`, timeoutMs });
    }
    const redis = lease?.store;
    const fallback = new CounterFallback('rate-limit', deps, fallbackMode, redis);
    const first = fallback.first;
    const single = limits.length === 1 ? limits[0]! : undefined;
    const counterNames = new CounterNames(prefix, limits.map((l) => l.suffix));

    const answer = (ctx: RequestContext, outcomes: Outcome[] | Outcome): HookResult => {
      let worst: Outcome;
      let refused: Outcome | undefined;
      if (!Array.isArray(outcomes)) {
        worst = outcomes;
        if (!worst.allowed) refused = worst;
      } else {
        worst = outcomes[0]!;
        for (const o of outcomes) {
          if (!o.allowed && (refused === undefined || o.resetS > refused.resetS)) refused = o;
          if (o.remaining < worst.remaining) worst = o;
        }
      }
      if (refused !== undefined) {
        const h: Record<string, string> = headers
          ? { 'ratelimit-limit': refused.limitText, 'ratelimit-remaining': '0', 'ratelimit-reset': secondsText(refused.resetS), 'retry-after': secondsText(refused.resetS) }
          : { 'retry-after': secondsText(refused.resetS) };
        return { deny: 'THROTTLED', headers: h } satisfies Denial;
      }
      if (headers) (ctx.state ??= {})['rate-limit'] = new RateHeaders(worst.limitText, String(worst.remaining), secondsText(worst.resetS));
      return undefined;
    };

    const runAll = (store: CounterStore, names: readonly string[]): Outcome | Outcome[] | Promise<Outcome | Outcome[]> => {
      if (single !== undefined) return single.run(store, names[0]!);
      const rs: (Outcome | Promise<Outcome>)[] = [];
      let async = false;
      for (let i = 0; i < limits.length; i++) {
        const r = limits[i]!.run(store, names[i]!);
        if (isPromise(r)) async = true;
        rs.push(r);
      }
      return async ? Promise.all(rs) : (rs as Outcome[]);
    };

    /** Async path (Redis, or the primary's store in a worker): an async function, not per-request closures. */
    const settle = async (ctx: RequestContext, names: readonly string[], pending: Promise<Outcome | Outcome[]>, from: CounterStore): Promise<HookResult> => {
      let store = from;
      let p = pending;
      for (;;) {
        try {
          return answer(ctx, await p);
        } catch (err) {
          const next = fallback.next(ctx, store, err);
          if (store === redis) fallbackCounter(ctx.table.metrics.registry).inc({ scope: deps.scope, fallback: fallbackMode });
          if (next === undefined) return UNAVAILABLE;
          store = next;
          const r = runAll(store, names);
          if (!isPromise(r)) return answer(ctx, r);
          p = r;
        }
      }
    };

    return {
      rateLimit(ctx) {
        const names = counterNames.of(keyOf(ctx));
        const r = runAll(first, names);
        // Sync fast path: the in-process memory store (single process, local policy).
        return isPromise(r) ? settle(ctx, names, r, first) : answer(ctx, r);
      },
      transformResponse(ctx) {
        const h = ctx.state?.['rate-limit'] as RateHeaders | undefined;
        if (h === undefined) return;
        const out = ctx.response.headers;
        // Hot path: one scan instead of three set() calls (each a delete pass over the list). An
        // upstream that sent no RateLimit fields (the common case) gets ours appended; one that did
        // has each of them replaced, as set() does.
        const l = out.list;
        for (let i = 0; i < l.length; i += 2) {
          const n = l[i];
          if (n === 'ratelimit-limit' || n === 'ratelimit-remaining' || n === 'ratelimit-reset') {
            out.set('ratelimit-limit', h.limit);
            out.set('ratelimit-remaining', h.remaining);
            out.set('ratelimit-reset', h.reset);
            return;
          }
        }
        l.push('ratelimit-limit', h.limit, 'ratelimit-remaining', h.remaining, 'ratelimit-reset', h.reset);
      },
      async close() {
        await lease?.release();
      },
    };
  },
};
