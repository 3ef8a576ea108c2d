import type { BlockList } from 'node:net';
import type { Logger } from 'pino';
import type { RequestContext } from '../pipeline/context.js';
import type { DoneHook, LogHook, RequestHook, ResponseHook } from '../pipeline/types.js';
import type { GatewayMetrics, RouteStats } from '../observability/metrics.js';
import type { Router } from '../routing/router.js';

/** An integration answers a matched request: it must end in ctx.send/sendError or stream a response itself. */
export interface Integration {
  readonly type: string;
  /** The integration reads the whole request body (ctx.body) instead of streaming it. */
  readonly needsRequestBody?: boolean;
  invoke(ctx: RequestContext): void | Promise<void>;
  /** Proxies an HTTP Upgrade (WebSocket); only integrations that can, implement it. */
  upgrade?(ctx: RequestContext, socket: import('node:stream').Duplex, head: Buffer): void;
  /** A plain description for `turnpike routes` and the admin /routes endpoint. */
  describe(): Record<string, unknown>;
  /** Releases what the integration holds (pools), when its table is retired. */
  close?(): void;
}

export interface CompiledRoute {
  /** 'api/route': stable across reloads, used in logs and metrics. */
  readonly id: string;
  readonly api: string;
  readonly name: string;
  /**
   * The deployment stage the route belongs to (AWS-document APIs: one route set per stage); undefined
   * for native routes. Plugins read this, never the route name (usage plans cover API stages).
   */
  readonly stage: string | undefined;
  readonly methods: readonly string[];
  readonly path: string;
  readonly hosts: readonly string[];
  readonly websocket: boolean;
  readonly allowEncodedSlashes: boolean;
  readonly maxBodyBytes: number;
  readonly needsRequestBody: boolean;
  /** All request-phase hooks, flattened in phase order, then priority, then name. */
  readonly requestHooks: readonly RequestHook[];
  readonly responseHooks: readonly ResponseHook[];
  readonly logHooks: readonly LogHook[];
  /** Run when the request ends, whatever happened (empty for nearly every route: one length check). */
  readonly doneHooks: readonly DoneHook[];
  /** Plugin names per phase, for `turnpike routes` and tests that pin the order. */
  readonly pluginOrder: readonly string[];
  readonly integration: Integration;
  readonly stats: RouteStats;
  /** Renders the route's error answers when they are not the gateway's own (AWS gateway responses). */
  readonly errorAnswer: ErrorRenderer | undefined;
}

/** A route's error dialect: renders a denial (undefined: the native JSON answer). */
export type ErrorRenderer = (
  denial: import('../errors/catalogue.js').Denial,
  ctx: RequestContext,
) => { status: number; headers: readonly (readonly [string, string])[]; body: string | Buffer } | undefined;

export interface Limits {
  headerBytes: number;
  headerCount: number;
  urlBytes: number;
  bodyBytes: number;
  headersTimeoutMs: number;
  requestTimeoutMs: number;
  keepAliveTimeoutMs: number;
  /** Overload bounds (src/server/overload.ts); 0: off. */
  maxConnections: number;
  maxConnectionsPerClient: number;
  maxRequestsPerClient: number;
  shedEventLoopLagMs: number;
  /** HTTP/2 bounds (src/server/h2-guard.ts). */
  http2MaxConcurrentStreams: number;
  http2MaxStreamsPerConnection: number;
  http2MaxResetsPer10s: number;
  bodyIdleTimeoutMs: number;
  bodyMinBytesPerSecond: number;
  bodyMinRateGraceMs: number;
  upstreamResponseBytes: number;
  websocketIdleTimeoutMs: number;
}

export interface RouteTable {
  /** Content hash of the config this table was built from. */
  readonly version: string;
  readonly source: string;
  readonly router: Router<CompiledRoute>;
  readonly routes: readonly CompiledRoute[];
  readonly limits: Limits;
  readonly trustedProxies: BlockList | undefined;
  readonly accessLog: boolean;
  readonly logger: Logger;
  readonly metrics: GatewayMetrics;
  readonly shutdownGraceMs: number;
  /** Non-fatal findings (e.g. AWS extensions not supported yet), shown at start and by `turnpike validate`. */
  readonly warnings: readonly import('../config/diagnostics.js').Diagnostic[];
  /**
   * Applies this config's process-wide settings (those that live outside the table, such as a worker's
   * deadline on its primary's counter store). Called when the table goes live, never for a candidate
   * that is rejected.
   */
  activate(): void;
  /** Requests currently using this table; when a retired table drops to 0 it is closed. */
  inflight: number;
  retired: boolean;
  close(): Promise<void>;
}
