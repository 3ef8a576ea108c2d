/**
 * rate-limit: stacked sliding-window and token-bucket limits per composite key, counted in the
 * process-wide store (policy local) or in Redis (policy redis). See docs/rate-limiting.md.
 *
 * The Redis client is made once per plugin instance in create() and connects lazily on the first
 * request (so `turnpike validate` never connects); it is closed by the close() hook. When Redis is
 * unreachable (CounterStoreUnavailable, bounded by the store's per-call deadline) the request is
 * counted locally or refused with 503, as configured; a warning is logged at most once a minute and
 * `turnpike_rate_limit_redis_fallback_total` counts every occurrence.
 */
import client from 'prom-client';
import type { RequestContext } from '../../pipeline/context.js';
import type { EarlyResponse, HookResult, PluginDefinition } from '../../pipeline/types.js';
import { CounterStoreUnavailable, RedisCounterStore } from '../../stores/redis-counters.js';
import type { CounterStore } from '../../stores/types.js';
import { type RateLimitConfig, schema } from './schema.js';

const WINDOW_MS = { second: 1000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

interface LimitRuntime {
  id: string;
  limit: number;
  run(store: CounterStore, key: string): Outcome | Promise<Outcome>;
}
interface Outcome {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the limit frees up (refused) or resets (allowed). */
  resetS: number;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => typeof (v as { then?: unknown }).then === 'function';

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
      const map = (r: { allowed: boolean; remaining: number; resetAtMs: number }): Outcome => ({
        allowed: r.allowed,
        limit,
        remaining: r.remaining,
        resetS: Math.max(1, Math.ceil((r.resetAtMs - Date.now()) / 1000)),
      });
      out.push({
        id: `w${l.window}`,
        limit,
        run(store, key) {
          const r = store.incrementSliding(`${key}|${l.window}`, windowMs, limit);
          return isPromise(r) ? r.then(map) : map(r);
        },
      });
    } else {
      const { rate, burst } = l.tokenBucket!;
      if (l.limit !== undefined) problems.push({ path: ['limits', i, 'limit'], message: 'limit applies to windows; a token bucket has rate and burst' });
      const map = (r: { allowed: boolean; remaining: number; retryAfterMs: number }): Outcome => ({
        allowed: r.allowed,
        limit: burst,
        remaining: r.remaining,
        resetS: r.allowed ? (rate > 0 ? Math.max(1, Math.ceil((burst - r.remaining) / rate)) : 0) : Number.isFinite(r.retryAfterMs) ? Math.max(1, Math.ceil(r.retryAfterMs / 1000)) : 86_400,
      });
      out.push({
        id: `tb${rate}/${burst}`,
        limit: burst,
        run(store, key) {
          const r = store.takeToken(`${key}|tb:${rate}:${burst}`, rate, burst);
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
      return (ctx) => {
        const v = ctx.req.headers['x-api-key'];
        return typeof v === 'string' ? v : '';
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
  // Each part is length-prefixed so different combinations can never collide.
  return (ctx) => fns.map((f) => {
    const v = f(ctx);
    return `${v.length}:${v}`;
  }).join('|');
}

const TOO_MANY = { message: 'Too Many Requests' };

function fallbackCounter(registry: client.Registry): client.Counter<'scope' | 'fallback'> {
  const name = 'turnpike_rate_limit_redis_fallback_total';
  const existing = registry.getSingleMetric(name);
  if (existing !== undefined) return existing as client.Counter<'scope' | 'fallback'>;
  return new client.Counter({ name, help: 'Rate-limit decisions taken without Redis (unreachable or too slow), by scope and fallback.', labelNames: ['scope', 'fallback'], registers: [registry] });
}

export const rateLimit: PluginDefinition<RateLimitConfig> = {
  name: 'rate-limit',
  priority: 800,
  description: 'Stacked sliding-window and token-bucket rate limits per key, local or in Redis (429 Too Many Requests).',
  configSchema: schema,
  create(config, deps) {
    const limits = compileLimits(config);
    const keyOf = compileKey(config.key ?? ['ip']);
    const headers = config.headers ?? true;
    const fallback = config.fallback ?? 'local';
    const local = deps.stores.counters;
    const prefix = `rl:${deps.scope}:`;
    let redis: RedisCounterStore | undefined;
    if ((config.policy ?? 'local') === 'redis') {
      if (config.redis === undefined) throw Object.assign(new Error('rate-limit: policy redis needs redis.url'), { problems: [{ path: ['redis'], message: 'policy redis needs redis: { url }' }] });
      redis = new RedisCounterStore({ url: config.redis.url, timeoutMs: config.redis.timeoutMs ?? 50, prefix: 'rl:' });
    }
    let lastWarnMs = 0;

    const answer = (ctx: RequestContext, outcomes: Outcome[]): HookResult => {
      let worst = outcomes[0]!;
      let refused: Outcome | undefined;
      for (const o of outcomes) {
        if (!o.allowed && (refused === undefined || o.resetS > refused.resetS)) refused = o;
        if (o.remaining < worst.remaining) worst = o;
      }
      const shown = refused ?? worst;
      const h: Record<string, string> = {};
      if (headers) {
        h['ratelimit-limit'] = String(shown.limit);
        h['ratelimit-remaining'] = String(refused ? 0 : shown.remaining);
        h['ratelimit-reset'] = String(shown.resetS);
      }
      if (refused !== undefined) {
        h['retry-after'] = String(refused.resetS);
        return { status: 429, headers: h, body: TOO_MANY } satisfies EarlyResponse;
      }
      if (headers) (ctx.state ??= {})['rate-limit'] = h;
      return undefined;
    };

    const runAll = (store: CounterStore, key: string): Outcome[] | Promise<Outcome[]> => {
      const rs = limits.map((l) => l.run(store, `${prefix}${key}`));
      return rs.some(isPromise) ? Promise.all(rs) : (rs as Outcome[]);
    };

    const onUnavailable = (ctx: RequestContext, err: unknown): HookResult | Promise<HookResult> => {
      if (!(err instanceof CounterStoreUnavailable)) throw err;
      fallbackCounter(ctx.table.metrics.registry).inc({ scope: deps.scope, fallback });
      const now = Date.now();
      if (now - lastWarnMs >= 60_000) {
        lastWarnMs = now;
        deps.logger.warn({ scope: deps.scope, fallback, err: err.message }, 'rate-limit: Redis unavailable, using fallback');
      }
      if (fallback === 'reject') return { status: 503, headers: { 'retry-after': '1' }, body: { message: 'Service Unavailable' } };
      const r = runAll(local, keyOf(ctx));
      return isPromise(r) ? r.then((o) => answer(ctx, o)) : answer(ctx, r);
    };

    return {
      rateLimit(ctx) {
        const key = keyOf(ctx);
        if (redis === undefined) {
          const r = runAll(local, key);
          return isPromise(r) ? r.then((o) => answer(ctx, o)) : answer(ctx, r);
        }
        return (runAll(redis, key) as Promise<Outcome[]>).then(
          (o) => answer(ctx, o),
          (err: unknown) => onUnavailable(ctx, err),
        );
      },
      transformResponse(ctx) {
        const h = ctx.state?.['rate-limit'] as Record<string, string> | undefined;
        if (h === undefined) return;
        for (const [k, v] of Object.entries(h)) ctx.response.headers.set(k, v);
      },
      async close() {
        await redis?.close();
      },
    };
  },
};
