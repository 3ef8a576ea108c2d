import type { Static, TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
import type { Counter, Registry } from 'prom-client';
import type { DeadlineQueue } from '../util/deadline-queue.js';
import type { RequestContext } from './context.js';
import type { RequestPhase, ResponsePhase } from './phases.js';

/** What a request-phase hook returns to answer early: the integration is skipped, response phases still run. */
export interface EarlyResponse {
  status: number;
  headers?: Readonly<Record<string, string>>;
  /** A string or Buffer is sent as is; anything else is sent as JSON. */
  body?: unknown;
}

/** A hook's early answer: a response it builds itself (CORS preflight, a canned answer) or a coded denial. */
export type EarlyAnswer = EarlyResponse | import('../errors/catalogue.js').Denial;
export type HookResult = EarlyAnswer | undefined;
/**
 * A request-phase hook: return nothing to continue, an answer to stop here; throw only on unexpected
 * failure. Refusals are Denials (a catalogue code), so the route's error dialect renders them.
 */
export type RequestHook = (ctx: RequestContext) => HookResult | Promise<HookResult>;
/** A response-phase hook: `ctx.response` is set; it may change status and headers before they are sent. */
export type ResponseHook = (ctx: ResponseContext) => void | Promise<void>;
/** See PluginHooks.done. */
export type DoneHook = (ctx: RequestContext) => void;
/** Runs after the response is sent; its errors are only counted. */
export type LogHook = (ctx: ResponseContext) => void;

export type ResponseContext = RequestContext & { response: NonNullable<RequestContext['response']> };

export type PluginHooks = { [P in RequestPhase]?: RequestHook } & { [P in ResponsePhase]?: ResponseHook } & {
  log?: LogHook;
  /**
   * Runs once when the request ends, however it ends (answered, failed, the client gone, a WebSocket
   * closed), after the log hooks, even when no response exists. For releasing what a request-phase
   * hook acquired (a concurrency slot); it also runs for requests that ended before that hook ran, so
   * the hook must mark what it took. Must not throw.
   */
  done?: DoneHook;
  /** Called when the config that owns this instance is retired (its last request finished). */
  close?: () => void | Promise<void>;
};

/** Time as plugins read it; tests and embedders may inject another. */
export interface PluginClock {
  /** Epoch milliseconds (Date.now): token expiry, quota periods. */
  now(): number;
  /** performance.now(): durations, and the deadline queue's clock. */
  monotonic(): number;
}

/** The gateway's metrics registry, as plugins use it. */
export interface PluginMetrics {
  readonly registry: Registry;
  /**
   * The counter of this name in the gateway's registry, registered on first use: every instance and
   * config version gets the same one, so it keeps counting across reloads.
   */
  counter<L extends string>(name: string, help: string, labelNames: readonly L[]): Counter<L>;
}

/** Names a piece of plugin state and how to build it (stateKey() in src/plugins/state.ts). */
export interface StateKey<T> {
  /** For messages: 'plugin-name:what'. */
  readonly name: string;
  readonly create: () => T;
}

/** Values by key, built on first use. */
export interface StateScope {
  get<T>(key: StateKey<T>): T;
}

/** Where a plugin keeps what outlives a request, instead of module-level variables (src/plugins/state.ts). */
export interface PluginState {
  /** As long as the gateway: every config version it serves (a JWKS cache that survives reloads). */
  readonly gateway: StateScope;
  /** As long as the config version being compiled (an index every instance of that config shares). */
  readonly config: StateScope;
}

/** The only way a plugin reaches the outside world: no module-level state, no process globals. */
export interface PluginDeps {
  logger: Logger;
  /** Where this instance sits, for messages: 'global', 'api:NAME' or 'route:API/NAME'. */
  scope: string;
  /** Lambda-style functions of the config, by name (authorizers run on the same runtime as integrations). */
  functions: { invoker(name: string): import('../integrations/function/index.js').Invoker | undefined };
  /** The whole validated config (read-only): entities such as API keys and usage plans live at its top level. */
  config: Readonly<import('../config/schema.js').GatewayConfig>;
  metrics: PluginMetrics;
  clock: PluginClock;
  /**
   * Time limits (a key fetch, an authorizer call): lanes of the process's one deadline queue
   * (src/util/deadline-queue.ts). Resolve `deadlines.lane(ms)` in create(), not per request.
   */
  deadlines: DeadlineQueue;
  /** State beyond one request: the gateway's (survives reloads) and the config version's (src/plugins/state.ts). */
  state: PluginState;
  /** Shared stores: they survive config reloads and belong to the gateway. */
  stores: {
    /**
     * The node's counters: in memory in a single process; with --workers N the primary's store,
     * reached over a socket (exact across workers; may reject with CounterStoreUnavailable).
     */
    counters: import('../stores/types.js').CounterStore;
    /**
     * This process's own in-memory counters: where `fallback: local` counts when `counters` itself is
     * unavailable (a stalled primary). Default: `counters`.
     */
    fallbackCounters?: import('../stores/types.js').CounterStore;
    /** Redis clients, one per URL per process (lease in create(), release in close()). */
    redis?: import('../stores/redis-counters.js').RedisClients;
    /** Reserved for the response cache store (a later issue); undefined until it exists. */
    cache?: undefined;
  };
}

/** Keys of an object schema's properties declared with a default (withDefault, src/plugins/schema-defaults.ts). */
type DefaultedKeys<S extends TObject> = { [K in keyof S['properties']]: S['properties'][K] extends { default: unknown } ? K : never }[keyof S['properties']];

/**
 * The config `create()` receives: the schema's static type, with every property that has a default
 * present (compile applied the defaults, src/plugins/schema-defaults.ts).
 */
export type PluginConfig<S extends TObject> = Static<S> & { [K in DefaultedKeys<S> & keyof Static<S>]-?: Exclude<Static<S>[K], undefined> };

/**
 * A plugin, typed by its config schema: `const p: PluginDefinition<typeof schema> = { ..., create(config, deps) }`
 * gets `config` typed without a cast. `PluginDefinition<never>` is any plugin (what registries and the
 * compiler hold; its create() takes a config only the compiler builds).
 */
export interface PluginDefinition<S extends TObject = TObject> {
  name: string;
  /** Higher runs first within a phase; no two bundled plugins share a priority in a phase (a test pins it). */
  priority: number;
  /** The phases its hooks run in (`done` and `close` need no listing); compile refuses a hook for any other. */
  phases: readonly (RequestPhase | ResponsePhase | 'log')[];
  description: string;
  /** Validates the config, gives defaults (the only place they are written) and the docs. Must be an object schema. */
  configSchema: [S] extends [never] ? TObject : S;
  /** Set when a hook reads the request body (`ctx.readBody()`); without it bodies stream straight through. */
  needsRequestBody?: boolean;
  /** Runs once per compiled config and scope; returns the hooks for the phases the plugin uses. */
  create(config: [S] extends [never] ? never : PluginConfig<S>, deps: PluginDeps): PluginHooks;
}
