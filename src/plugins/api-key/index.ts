/**
 * API keys and usage plans, as AWS API Gateway REST APIs have them (docs/api-keys.md cites the AWS pages).
 *
 * One plugin with two hooks rather than an `api-key` and a `usage-plan` plugin: on AWS a usage plan is
 * enforced exactly on the methods that require an API key, per key, and the plan is chosen by the key
 * and the stage. Two plugins would have to be enabled on the same routes in lock-step, and a usage-plan
 * plugin without the key has nothing to count by.
 *
 * - authenticate (priority 900, after the JWT/Lambda/IAM authorizers so `source: AUTHORIZER` can read
 *   the key they found): the key from `x-api-key` (or ctx.principal.usageIdentifierKey) must be in
 *   `apiKeys`, enabled, and in a usage plan that covers this API/stage; otherwise 403 Forbidden.
 * - rateLimit (priority 900): the plan's token bucket (429 Too Many Requests), then its quota for the
 *   current UTC period (429 Limit Exceeded). Counters live in deps.stores.counters (the node's store,
 *   shared by its workers) or in Redis with `server.counters.policy: redis`, keyed by plan and key id,
 *   so they survive reloads; an unavailable store applies `server.counters.fallback`.
 *
 * The key value is never logged: it is only hashed, looked up and copied into requestContext.identity.apiKey
 * (which AWS does too).
 */
import type { ApiKeyConfig, GatewayConfig, UsagePlanConfig } from '../../config/schema.js';
import type { RequestContext } from '../../pipeline/context.js';
import { addIdentity } from '../../pipeline/principal.js';
import type { HookResult, PluginClock, PluginDefinition } from '../../pipeline/types.js';
import { denial } from '../../errors/catalogue.js';
import { KeyIndex, type QuotaPeriod, quotaLimit, quotaWindow } from '../../security/api-keys.js';
import { type RedisLease, redisClients } from '../../stores/redis-counters.js';
import type { CounterStore, TokenBucketResult, WindowResult } from '../../stores/types.js';
import { CounterFallback, UNAVAILABLE } from '../counter-fallback.js';
import { stateKey } from '../state.js';
import { schema } from './schema.js';

export type { ApiKeyPluginConfig } from './schema.js';

const NAME = 'api-key';

/** Denials; AWS routes answer them as their INVALID_API_KEY / THROTTLED / QUOTA_EXCEEDED gateway responses. */
export const FORBIDDEN = denial('INVALID_API_KEY');
export const THROTTLED = denial('THROTTLED');
export const QUOTA_EXCEEDED = denial('QUOTA_EXCEEDED');

interface PlanRuntime {
  readonly name: string;
  readonly throttle: { readonly rate: number; readonly burst: number } | undefined;
  readonly quota: { readonly limit: number; readonly offset: number; readonly period: QuotaPeriod } | undefined;
  readonly stages: readonly { readonly api: string; readonly stage: string | undefined }[];
}

interface KeyRuntime {
  readonly id: string;
  readonly enabled: boolean;
  readonly plans: readonly PlanRuntime[];
  readonly createdAtMs: number | undefined;
  /** What authenticate hands on for each of `plans`, built once (no per-request object). */
  readonly selections: readonly Selected[];
  /** Counter keys, built once. */
  readonly throttleKey: string;
  readonly quotaKey: string;
  /** Per-request work done once per key (KeyMemo). */
  readonly memo: KeyMemo;
}

/**
 * Hot path: what authenticate would otherwise build on every request. `identity` is the same for every
 * request that presents this key (only the key's own value hashes to its digest), so one frozen object
 * is shared by their principals; it holds the key value as requestContext.identity.apiKey does, for as
 * long as the config version lives (the connection memo in KeyIndex keeps it as long). `route` and
 * `selected`: the last route the key was used on and the plan covering it (a compiled route object is
 * the same for the whole config version), so a client calling one route skips the plan scan.
 */
interface KeyMemo {
  identity: Readonly<Record<string, unknown>> | undefined;
  route: object | undefined;
  selected: Selected | undefined;
}

/** What authenticate hands to rateLimit through ctx.state['api-key']. */
interface Selected {
  readonly key: KeyRuntime;
  readonly plan: PlanRuntime;
}

interface Problem {
  path: (string | number)[];
  message: string;
}

interface CompiledKeys {
  readonly index: KeyIndex<KeyRuntime>;
  readonly problems: readonly Problem[];
  reported: boolean;
}


function covers(plan: PlanRuntime, api: string, stage: string | undefined): boolean {
  for (const s of plan.stages) if (s.api === api && (s.stage === undefined || s.stage === stage)) return true;
  return false;
}

/**
 * One compilation per config version, shared by every instance of the plugin (global, API and route
 * scopes): kept in deps.state.config, so it goes with the version and no two gateways share it.
 */
const COMPILED_KEYS = stateKey('api-key:compiled-keys', (): { keys?: CompiledKeys } => ({}));

/** Builds the key index and checks the references between keys, plans and APIs that the schema cannot. */
export function compileKeys(config: Readonly<GatewayConfig>): CompiledKeys {
  const problems: Problem[] = [];
  const bad = (where: string, message: string) => problems.push({ path: [], message: `${where}: ${message}` });
  const apis = new Map(config.apis.map((a) => [a.name, a]));

  const plans = new Map<string, PlanRuntime>();
  for (const [name, p] of Object.entries(config.usagePlans ?? {}) as [string, UsagePlanConfig][]) {
    p.apiStages.forEach((s, i) => {
      const where = `usagePlans.${name}.apiStages[${i}]`;
      const api = apis.get(s.api);
      if (api === undefined) bad(where, `unknown api "${s.api}"; defined: ${[...apis.keys()].join(', ') || 'none'}`);
      else if (s.stage !== undefined && api.openapi === undefined) bad(where, `api "${s.api}" is a native API without stages; remove "stage"`);
      else if (s.stage !== undefined && api.stages !== undefined && !(s.stage in api.stages)) {
        bad(where, `api "${s.api}" has no stage "${s.stage}"; its stages: ${Object.keys(api.stages).join(', ')}`);
      }
    });
    plans.set(name, {
      name,
      throttle: p.throttle ? { rate: p.throttle.rateLimit, burst: p.throttle.burstLimit } : undefined,
      quota: p.quota ? { limit: p.quota.limit, offset: p.quota.offset ?? 0, period: p.quota.period } : undefined,
      stages: p.apiStages.map((s) => ({ api: s.api, stage: s.stage })),
    });
  }

  const index = new KeyIndex<KeyRuntime>();
  const ids = new Set<string>();
  (config.apiKeys ?? []).forEach((k: ApiKeyConfig, i: number) => {
    const where = `apiKeys[${i}]`;
    if (ids.has(k.id)) bad(`${where}.id`, `duplicate key id "${k.id}"`);
    ids.add(k.id);
    const keyPlans: PlanRuntime[] = [];
    (k.usagePlans ?? []).forEach((name, j) => {
      const plan = plans.get(name);
      if (plan === undefined) {
        bad(`${where}.usagePlans[${j}]`, `unknown usage plan "${name}"; defined: ${[...plans.keys()].join(', ') || 'none (add it under usagePlans)'}`);
        return;
      }
      // AWS refuses to add a key to a second plan for a stage it already has a plan for.
      for (const other of keyPlans) {
        for (const s of plan.stages) {
          if (other.stages.some((o) => o.api === s.api && (o.stage === undefined || s.stage === undefined || o.stage === s.stage))) {
            bad(`${where}.usagePlans[${j}]`, `plans "${other.name}" and "${name}" both cover api "${s.api}"${s.stage ? ` stage "${s.stage}"` : ''}; a key may have one plan per API stage`);
          }
        }
      }
      keyPlans.push(plan);
    });
    const createdAtMs = k.createdAt !== undefined ? Date.parse(k.createdAt) : undefined;
    const selections: Selected[] = [];
    const runtime: KeyRuntime = Object.freeze({
      id: k.id,
      enabled: k.enabled !== false,
      plans: Object.freeze(keyPlans),
      createdAtMs,
      selections,
      throttleKey: `${NAME}:throttle:${k.id}`,
      quotaKey: `${NAME}:quota:${k.id}`,
      memo: { identity: undefined, route: undefined, selected: undefined },
    });
    for (const plan of keyPlans) selections.push(Object.freeze({ key: runtime, plan }));
    Object.freeze(selections);
    if (!index.add(k.hash, runtime)) bad(`${where}.hash`, 'the same key hash appears twice (two entries for one key)');
  });

  return { index, problems, reported: false };
}

/**
 * The object that stands for the client's connection, for the key memo (KeyIndex.find): the socket on
 * HTTP/1; on HTTP/2 `req.socket` is a new proxy per stream, so the session, which is one per connection.
 */
function connectionOf(req: RequestContext['req']): object {
  const stream = (req as { stream?: { session?: object } }).stream;
  return stream?.session ?? req.socket;
}

const isPromise = <T>(v: T | Promise<T>): v is Promise<T> => v !== undefined && v !== null && typeof (v as { then?: unknown }).then === 'function';

/*
 * Counting, hot path: sync all the way with the in-process memory store; with a store that answers
 * later (Redis, or the cluster primary's store in a worker) async functions, not per-request closures.
 */
function checkQuota(counters: CounterStore, sel: Selected, clock: PluginClock): HookResult | Promise<HookResult> {
  const q = sel.plan.quota;
  if (q === undefined) return undefined;
  const w = quotaWindow(q.period, clock.now());
  const limit = quotaLimit(q.limit, q.offset, q.period, w.startMs, sel.key.createdAtMs);
  const r = counters.incrementWindow(`${sel.key.quotaKey}:${sel.plan.name}`, w.startMs, w.endMs - w.startMs, limit);
  return isPromise(r) ? quotaLater(r) : r.allowed ? undefined : QUOTA_EXCEEDED;
}

async function quotaLater(p: Promise<WindowResult>): Promise<HookResult> {
  return (await p).allowed ? undefined : QUOTA_EXCEEDED;
}

/** Throttle first, so refused requests never count against the quota. */
function checkPlan(counters: CounterStore, sel: Selected, clock: PluginClock): HookResult | Promise<HookResult> {
  const t = sel.plan.throttle;
  if (t === undefined) return checkQuota(counters, sel, clock);
  const r = counters.takeToken(`${sel.key.throttleKey}:${sel.plan.name}`, t.rate, t.burst);
  return isPromise(r) ? throttleLater(counters, sel, clock, r) : r.allowed ? checkQuota(counters, sel, clock) : THROTTLED;
}

async function throttleLater(counters: CounterStore, sel: Selected, clock: PluginClock, p: Promise<TokenBucketResult>): Promise<HookResult> {
  return (await p).allowed ? checkQuota(counters, sel, clock) : THROTTLED;
}

/** Waits for the store; when it is unavailable, counts again down the fallback chain or answers 503. */
async function settle(ctx: RequestContext, fallback: CounterFallback, sel: Selected, clock: PluginClock, pending: Promise<HookResult>, from: CounterStore): Promise<HookResult> {
  let store = from;
  let p = pending;
  for (;;) {
    try {
      return await p;
    } catch (err) {
      const next = fallback.next(ctx, store, err);
      if (next === undefined) return UNAVAILABLE;
      store = next;
      const r = checkPlan(store, sel, clock);
      if (!isPromise(r)) return r;
      p = r;
    }
  }
}

export const apiKey: PluginDefinition<typeof schema> = {
  name: NAME,
  priority: 900,
  phases: ['authenticate', 'rateLimit'],
  description: 'API keys (x-api-key or an authorizer\'s usageIdentifierKey) and usage plans (throttle and quota per key), as AWS REST APIs.',
  configSchema: schema,
  create(config, deps) {
    const slot = deps.state.config.get(COMPILED_KEYS);
    const compiled = (slot.keys ??= compileKeys(deps.config));
    if (compiled.problems.length > 0 && !compiled.reported) {
      // Reported once per config version, at the first place the plugin is used.
      compiled.reported = true;
      throw Object.assign(new Error(compiled.problems.map((p) => p.message).join('; ')), { problems: compiled.problems });
    }
    const { index } = compiled;
    const fromAuthorizer = config.source === 'AUTHORIZER';
    // server.counters: where usage plans count (docs/api-keys.md). One Redis client per URL per process.
    const settings = deps.config.server?.counters;
    let lease: RedisLease | undefined;
    if ((settings?.policy ?? 'local') === 'redis') {
      if (settings?.redis === undefined) {
        throw Object.assign(new Error('server.counters.policy redis needs server.counters.redis: { url }'), {
          problems: [{ path: [], message: 'server.counters.policy is redis but server.counters.redis is missing: add redis: { url: redis://host:6379 }' }],
        });
      }
      lease = (deps.stores.redis ?? redisClients).acquire(settings.redis.url, { prefix: settings.redis.prefix ?? '', timeoutMs: settings.redis.timeoutMs ?? 50 });
    }
    const fallback = new CounterFallback(NAME, deps, settings?.fallback ?? 'local', lease?.store);
    const counters = fallback.first;
    const clock = deps.clock;
    return {
      authenticate(ctx) {
        let presented: unknown;
        if (fromAuthorizer) presented = (ctx.principal as { usageIdentifierKey?: unknown } | undefined)?.usageIdentifierKey;
        else presented = ctx.req.headers['x-api-key'];
        if (typeof presented !== 'string' || presented.length === 0) return FORBIDDEN;
        const key = index.find(presented, connectionOf(ctx.req));
        if (key === undefined || !key.enabled) return FORBIDDEN;
        const memo = key.memo;
        const route = ctx.route;
        let selected: Selected | undefined;
        if (route !== undefined && memo.route === route) selected = memo.selected;
        else {
          const api = route?.api ?? '';
          const stage = route?.stage;
          for (let i = 0; i < key.plans.length; i++) {
            if (covers(key.plans[i]!, api, stage)) {
              selected = key.selections[i]!;
              break;
            }
          }
          memo.route = route;
          memo.selected = selected;
        }
        // AWS: a valid key that is not in a usage plan for this stage is refused like an unknown one.
        if (selected === undefined) return FORBIDDEN;
        (ctx.state ??= {})[NAME] = selected;
        addIdentity(ctx, 'api-key', (memo.identity ??= Object.freeze({ apiKey: presented, apiKeyId: key.id })));
        return undefined;
      },
      rateLimit(ctx) {
        const sel = ctx.state?.[NAME] as Selected | undefined;
        if (sel === undefined) return undefined;
        const r = checkPlan(counters, sel, clock);
        return isPromise(r) ? settle(ctx, fallback, sel, clock, r, counters) : r;
      },
      async close() {
        await lease?.release();
      },
    };
  },
};
