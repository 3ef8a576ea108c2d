/**
 * The gateway as an object: `createGateway()` loads and compiles a config, and returns something that
 * serves it — over a socket (`listen`) or without one (`inject`, as fastify's inject does: the whole
 * pipeline runs — match, every phase, the integration, the response phases, the log — on an
 * in-memory request). Embedders, fast tests, the console's test-invoke and the management API's
 * TestInvokeMethod all use `inject()`. `turnpike serve` adds only process concerns (workers, signals,
 * TLS listeners, drain) around the same parts.
 *
 * Each gateway owns its function runtime, counters and upstream pools (two gateways in one process
 * share nothing), and closes them in `close()`.
 */
import type { AddressInfo } from 'node:net';
import type http from 'node:http';
import injectRequest from 'light-my-request';
import pino, { type Logger } from 'pino';
import { compile } from './compile/compile.js';
import type { RouteTable } from './compile/types.js';
import { type SourceDocument, loadSourceFile } from './config/load.js';
import { BUNDLED, type Extensions, parseConfigText, validateDocument } from './config/index.js';
import type { IntegrationDefinition } from './integrations/types.js';
import { FunctionRegistry } from './integrations/function/runtime/index.js';
import { GatewayMetrics } from './observability/metrics.js';
import type { PluginDefinition } from './pipeline/types.js';
import { createPluginServices } from './plugins/services.js';
import { createListener } from './server/listener.js';
import { Gateway } from './server/gateway.js';
import { MemoryCounterStore } from './stores/memory-counters.js';
import type { CounterStore } from './stores/types.js';
import { PoolRegistry } from './upstream/upstream.js';

/** Where the config comes from: a file (re-read on reload), or text (with the name it is reported under). */
export type GatewaySource = { file: string } | { text: string; file?: string };

export interface GatewayOptions {
  source: GatewaySource;
  /** Plugin definitions (default: the bundled ones). */
  plugins?: readonly PluginDefinition<never>[];
  /** Integration definitions (default: the bundled ones; docs/integrations.md). */
  integrations?: readonly IntegrationDefinition<never>[];
  /** Counters for rate limits and usage plans (default: in memory, this gateway's own). */
  counters?: CounterStore;
  /** Default: silent. */
  logger?: Logger;
}

export interface InjectRequest {
  method?: string;
  /** Path and query, e.g. `/users/1?x=y`. */
  url: string;
  headers?: Record<string, string | string[]>;
  body?: string | Buffer | Record<string, unknown> | unknown[];
  /** The client address the request appears to come from (default 127.0.0.1). */
  remoteAddress?: string;
}

export interface InjectResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  text(): string;
  json<T = unknown>(): T;
}

export interface RouteSummary {
  id: string;
  api: string;
  methods: readonly string[];
  path: string;
}

export interface EmbeddedGateway {
  /** Runs one request through the full pipeline, without a socket. */
  inject(req: InjectRequest): Promise<InjectResponse>;
  /** Serves over HTTP on 127.0.0.1 (or `host`); resolves with the port. */
  listen(opts?: { port?: number; host?: string }): Promise<{ port: number }>;
  /** Re-reads the source, validates and compiles; swaps only if that succeeded (the old table keeps serving otherwise, and the error is thrown). */
  reload(): Promise<void>;
  routes(): RouteSummary[];
  /** The table being served (its version, warnings...). */
  readonly table: RouteTable;
  close(): Promise<void>;
}

export async function createGateway(opts: GatewayOptions): Promise<EmbeddedGateway> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = new GatewayMetrics();
  const pools = new PoolRegistry();
  const counters = opts.counters ?? new MemoryCounterStore();
  // This gateway's own plugin state (JWKS caches, ...): kept across reloads, shared with no other gateway.
  const pluginServices = createPluginServices({ registry: metrics.registry });
  const functions = new FunctionRegistry({
    log: (r) => logger.info({ type: 'function-log', function: r.functionName, requestId: r.requestId, fnLevel: r.level, source: r.source }, r.message),
  });
  const ext: Extensions =
    opts.plugins === undefined && opts.integrations === undefined ? BUNDLED : { plugins: opts.plugins ?? BUNDLED.plugins, integrations: opts.integrations ?? BUNDLED.integrations };

  const read = async (): Promise<SourceDocument> =>
    'text' in opts.source ? parseConfigText(opts.source.text, opts.source.file ?? 'inline.yaml') : loadSourceFile(opts.source.file);
  const build = (doc: SourceDocument): RouteTable =>
    compile(validateDocument(doc, ext), doc, { logger, metrics, pools, plugins: ext.plugins, integrations: ext.integrations, functions, counters, fallbackCounters: counters, pluginServices });

  const gateway = new Gateway(build(await read()), logger, metrics);
  let server: http.Server | undefined;

  return {
    get table() {
      return gateway.table;
    },
    async inject(req) {
      const payload = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
      const headers = { ...req.headers };
      if (payload !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body) && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
      const res = await injectRequest(gateway.onRequest as unknown as http.RequestListener, {
        method: (req.method ?? 'GET') as 'GET',
        url: req.url,
        headers,
        ...(payload !== undefined ? { payload } : {}),
        remoteAddress: req.remoteAddress ?? '127.0.0.1',
      });
      const body = res.rawPayload;
      return {
        status: res.statusCode,
        headers: res.headers as http.IncomingHttpHeaders,
        body,
        text: () => body.toString('utf8'),
        json: <T>() => JSON.parse(body.toString('utf8')) as T,
      };
    },
    async listen(o = {}) {
      if (server !== undefined) throw new Error('the gateway is already listening');
      const s = createListener(gateway, gateway.table.limits);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
      });
      return { port: (s.address() as AddressInfo).port };
    },
    async reload() {
      gateway.swap(build(await read()));
    },
    routes() {
      return gateway.table.routes.map((r) => ({ id: r.id, api: r.api, methods: r.methods, path: r.path }));
    },
    async close() {
      if (server !== undefined) {
        const s = server;
        server = undefined;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      gateway.table.retired = true;
      await gateway.table.close();
      await functions.closeAll();
      await pools.closeAll();
      await counters.close?.();
    },
  };
}
