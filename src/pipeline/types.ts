import type { TObject } from '@sinclair/typebox';
import type { Logger } from 'pino';
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

/** The only way a plugin reaches the outside world. */
export interface PluginDeps {
  logger: Logger;
  /** Where this instance sits, for messages: 'global', 'api:NAME' or 'route:API/NAME'. */
  scope: string;
  /** Lambda-style functions of the config, by name (authorizers run on the same runtime as integrations). */
  functions: { invoker(name: string): import('../integrations/function/index.js').Invoker | undefined };
  /** The whole validated config (read-only): entities such as API keys and usage plans live at its top level. */
  config: Readonly<import('../config/schema.js').GatewayConfig>;
  /** Process-wide shared state (counters survive config reloads). */
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
  };
}

export interface PluginDefinition<C = Record<string, unknown>> {
  name: string;
  /** Higher runs first within a phase; no two bundled plugins share a priority in a phase (a test pins it). */
  priority: number;
  /** The phases its hooks run in (`done` and `close` need no listing); compile refuses a hook for any other. */
  phases: readonly (RequestPhase | ResponsePhase | 'log')[];
  description: string;
  /** Validates the config, gives defaults and the docs. Must be an object schema. */
  configSchema: TObject;
  /** Set when a hook reads the request body (`ctx.readBody()`); without it bodies stream straight through. */
  needsRequestBody?: boolean;
  /** Runs once per compiled config and scope; returns the hooks for the phases the plugin uses. */
  create(config: C, deps: PluginDeps): PluginHooks;
}
