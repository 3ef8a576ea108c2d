/**
 * The gateway as an object: `createGateway()` loads and compiles a config, and returns something that
 * serves it — over a socket (`listen`) or without one (`inject`, as fastify's inject does: the whole
 * pipeline runs — match, every phase, the integration, the response phases, the log — on an
 * in-memory request). Embedders, fast tests, the console's test-invoke and the management API's
 * TestInvokeMethod all use `inject()`. `turnpike serve` (src/server/serve.ts) builds its gateway here
 * too and adds only process concerns around it: workers, signals, TLS and HTTP/2 listeners, drain,
 * the Admin API.
 *
 * Each gateway owns its function runtime and upstream pools, and its counters unless it is given a
 * store (two gateways in one process share nothing they were not given), and closes them in `close()`.
 * Its config versions go through the one Reloader (src/server/reloader.ts) that also serves the
 * cluster primary: a version covers every file it read, an unchanged one is not rebuilt, a rejected
 * one leaves the served one alone.
 */
import type { AddressInfo } from 'node:net';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type http from 'node:http';
import pino, { type Logger } from 'pino';
import type { RouteTable } from './compile/types.js';
import { ConfigError, formatDiagnostic } from './config/diagnostics.js';
import { BUNDLED, type Extensions, parseConfigText } from './config/index.js';
import type { IntegrationDefinition } from './integrations/types.js';
import { configureFunctionIdentity } from './integrations/function/runtime/identity.js';
import { FunctionRegistry } from './integrations/function/runtime/index.js';
import { GatewayMetrics } from './observability/metrics.js';
import type { PluginClock, PluginDefinition } from './pipeline/types.js';
import { createPluginServices } from './plugins/services.js';
import { type ConfigSource, fileSource } from './server/config-source.js';
import { createListener } from './server/listener.js';
import { Gateway } from './server/gateway.js';
import { type LoadedConfig, Reloader, type ServedConfig, loadVersion, servedPart } from './server/reloader.js';
import { MemoryCounterStore } from './stores/memory-counters.js';
import type { CounterStore } from './stores/types.js';
import { PoolRegistry } from './upstream/upstream.js';

/** Where the config comes from: a file (re-read on reload), or text (with the name it is reported under). */
export type GatewaySource = { file: string } | { text: string; file?: string };

/** Shared state the gateway's plugins keep (default: in memory, this gateway's own). */
export interface GatewayStores {
  /** Counters for rate limits, quotas, usage plans and concurrency slots. */
  counters?: CounterStore;
  /** Counters the plugins' `fallback: local` uses when `counters` does not answer (default: `counters`). */
  fallbackCounters?: CounterStore;
}

export interface GatewayOptions {
  /** A file or text; a host process passes its own ConfigSource (src/server/config-source.ts: a watched file, PostgreSQL). */
  source: GatewaySource | ConfigSource;
  /** Plugin definitions (default: the bundled ones). */
  plugins?: readonly PluginDefinition<never>[];
  /** Integration definitions (default: the bundled ones; docs/integrations.md). */
  integrations?: readonly IntegrationDefinition<never>[];
  stores?: GatewayStores;
  /** @deprecated use `stores.counters`. */
  counters?: CounterStore;
  /** Default: silent. */
  logger?: Logger;
  /** The plugins' clock (deps.clock: token expiry, JWKS cache windows, quota periods); default the system clock. Tests move it. */
  clock?: PluginClock;
  // Hosting (docs/embedding.md "Hosting the gateway in a process"):
  /** The first version's text, instead of reading the source (a cluster worker given its primary's; a database's cached config). */
  text?: string;
  /** Metrics registry to count into (default: the gateway's own). */
  metrics?: GatewayMetrics;
  /**
   * Once `reloader.start()` runs: reload when the `{ file }` or any file the served version read changes.
   * Function modules are reloaded when their imports change.
   */
  watch?: boolean;
  /**
   * Called with each version before it is served (the first one with `prev` undefined), e.g. to swap
   * certificates. Throwing refuses a new version (the served one stays); on the first, createGateway rejects.
   */
  onVersion?: (next: LoadedConfig, prev: ServedConfig | undefined) => void;
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
  /**
   * Re-reads the source, validates and compiles; swaps only if that succeeded (the old table keeps
   * serving otherwise, and the error is thrown). Nothing is rebuilt when no input changed.
   */
  reload(): Promise<void>;
  routes(): RouteSummary[];
  /** This gateway's metrics in the Prometheus text format (what the admin listener's /metrics serves). */
  metrics(): Promise<string>;
  /** The table being served (its version, warnings...). */
  readonly table: RouteTable;
  close(): Promise<void>;
  // Hosting:
  /** The gateway's reload loop: `start()` follows the source (and with `watch` the files read), `reloadText()` serves given text, `current` is the served version. */
  readonly reloader: Reloader;
  /** The request handler for listeners the host makes itself (`https`: ctx.protocol 'https'); every handler serves the same version. */
  handler(protocol?: 'http' | 'https'): Gateway;
}

/** The ConfigSource behind a plain file or text source (`watch`: the file is followed once the reloader starts). */
function sourceOf(source: GatewaySource | ConfigSource, watch: boolean): ConfigSource {
  if ('read' in source) return source;
  if (!('text' in source)) return fileSource(source.file, watch);
  const { text } = source;
  const file = source.file ?? 'inline.yaml';
  return { file, read: async () => parseConfigText(text, file), readText: async () => text, watch: () => () => undefined };
}

/**
 * `server.functionRunAs`: the user of function processes, resolved once at start for the whole process
 * (identity.ts). An unknown user or a switch the gateway cannot make fails the start at that key. A
 * cluster primary calls it too (without a logger: its workers warn), so a bad value fails the start
 * before any worker is forked instead of failing every worker in turn.
 */
export function runFunctionsAs(doc: LoadedConfig['doc'], logger?: Logger): void {
  const data = doc.data as { server?: { functionRunAs?: string }; functions?: object } | undefined;
  const setting = data?.server?.functionRunAs;
  try {
    // The config file's folder bounds which folders may be made searchable (text sources have none).
    const id = configureFunctionIdentity(setting, existsSync(doc.file) ? resolve(dirname(doc.file)) : undefined);
    if (logger !== undefined && id === undefined && setting !== 'inherit' && data?.functions !== undefined && Object.keys(data.functions).length > 0) {
      logger.warn(
        { uid: process.getuid?.() },
        'functions run as the gateway\'s own user: a function can read the gateway\'s environment (/proc/<pid>/environ) and files; run the gateway as root to give them their own user (docs/functions.md, Isolation)',
      );
    }
  } catch (err) {
    const at = doc.locate(['server', 'functionRunAs']);
    throw new ConfigError([{ file: doc.file, line: at.line, column: at.column, path: 'server.functionRunAs', message: (err as Error).message, severity: 'error' }]);
  }
}

export async function createGateway(opts: GatewayOptions): Promise<EmbeddedGateway> {
  const logger = opts.logger ?? pino({ level: 'silent' });
  const metrics = opts.metrics ?? new GatewayMetrics();
  const pools = new PoolRegistry();
  const counters = opts.stores?.counters ?? opts.counters ?? new MemoryCounterStore();
  const fallbackCounters = opts.stores?.fallbackCounters ?? counters;
  const functions = new FunctionRegistry({
    log: (r) => logger.info({ type: 'function-log', function: r.functionName, requestId: r.requestId, fnLevel: r.level, source: r.source }, r.message),
  });
  // One object per gateway: the validator compiled for it is cached by its identity.
  const ext: Extensions =
    opts.plugins === undefined && opts.integrations === undefined
      ? BUNDLED
      : { plugins: opts.plugins ?? BUNDLED.plugins, integrations: opts.integrations ?? BUNDLED.integrations };
  const source = sourceOf(opts.source, opts.watch === true);
  // This gateway's own plugin state (JWKS caches, ...): kept across reloads, shared with no other gateway.
  const pluginServices = createPluginServices({ registry: metrics.registry, ...(opts.clock !== undefined ? { clock: opts.clock } : {}) });
  const deps = { logger, metrics, pools, functions, counters, fallbackCounters, pluginServices };

  let first: LoadedConfig;
  try {
    const doc = opts.text === undefined ? await source.read() : parseConfigText(opts.text, source.file);
    first = loadVersion(doc, deps, undefined, ext);
    try {
      runFunctionsAs(first.doc, logger);
      opts.onVersion?.(first, undefined);
    } catch (err) {
      void first.table.close();
      throw err;
    }
  } catch (err) {
    // Nothing was returned, so nothing else will close these; the stores stay their owner's.
    await functions.closeAll();
    await pools.closeAll();
    throw err;
  }
  // Parser findings and compile findings (e.g. AWS extensions not supported yet): named at start, never silent.
  for (const w of [...first.doc.warnings, ...first.table.warnings]) logger.warn({ warning: formatDiagnostic(w) }, 'config warning');
  source.loaded?.(first.doc);
  metrics.reloads.inc({ result: 'success' });
  if (opts.watch === true) functions.watch(true);

  const handlers: Partial<Record<'http' | 'https', Gateway>> = { http: new Gateway(first.table, logger, metrics) };
  const reloader = new Reloader(
    {
      source,
      load: (doc, reads) => loadVersion(doc, deps, reads, ext),
      apply: (next, prev) => {
        opts.onVersion?.(next, prev);
        for (const h of Object.values(handlers)) h.swap(next.table);
      },
      logger,
      metrics,
      watchFiles: opts.watch === true,
    },
    servedPart(first),
  );
  const main = handlers.http as Gateway;
  let server: http.Server | undefined;

  return {
    get table() {
      return main.table;
    },
    reloader,
    handler(protocol = 'http') {
      let h = handlers[protocol];
      if (h === undefined) {
        h = new Gateway(main.table, logger, metrics, protocol);
        handlers[protocol] = h;
      }
      return h;
    },
    async inject(req) {
      const payload = req.body === undefined || typeof req.body === 'string' || Buffer.isBuffer(req.body) ? req.body : JSON.stringify(req.body);
      const headers = { ...req.headers };
      if (payload !== undefined && typeof req.body === 'object' && !Buffer.isBuffer(req.body) && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type'))
        headers['content-type'] = 'application/json';
      // Loaded on the first inject(): `turnpike serve` never injects, and its start pays for what it imports.
      const { default: injectRequest } = await import('light-my-request');
      const res = await injectRequest(asSent(main.onRequest as unknown as http.RequestListener, req.url), {
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
      const s = createListener(main, main.table.limits);
      server = s;
      await new Promise<void>((resolve, reject) => {
        s.once('error', reject);
        s.listen(o.port ?? 0, o.host ?? '127.0.0.1', () => resolve());
      });
      return { port: (s.address() as AddressInfo).port };
    },
    async reload() {
      const r = await reloader.reload();
      if (!r.ok) throw r.error ?? new Error(r.errors);
    },
    metrics: () => metrics.registry.metrics(),
    routes() {
      return main.table.routes.map((r) => ({ id: r.id, api: r.api, methods: r.methods, path: r.path }));
    },
    async close() {
      reloader.stop();
      if (server !== undefined) {
        const s = server;
        server = undefined;
        s.closeAllConnections();
        await new Promise<void>((resolve) => s.close(() => resolve()));
      }
      main.table.retired = true;
      await main.table.close();
      await functions.closeAll();
      await pools.closeAll();
      await counters.close?.();
      if (fallbackCounters !== counters) await fallbackCounters.close?.();
    },
  };
}

/**
 * What light-my-request changes in an exchange, put back so the pipeline sees what a socket gives it:
 * - the target: it parses the URL as WHATWG does, which resolves dot segments (`%2e%2e` too) and
 *   re-encodes some characters, so `/a/%2e%2e/admin` arrived as `/admin`; path-traversal rules, AWS
 *   path matching and SigV4 canonical paths must see the request line as sent;
 * - repeated response headers: its response starts with a (removed) header set, so Node's writeHead
 *   takes its slow path for a header list and calls setHeader per pair, keeping only the last of two
 *   Set-Cookie; the pipeline answers with lists, so the list is grouped by name first.
 */
function asSent(listener: http.RequestListener, target: string): http.RequestListener {
  return (req, res) => {
    req.url = target;
    const writeHead = res.writeHead;
    res.writeHead = function (this: http.ServerResponse, status: number, ...rest: unknown[]) {
      const last = rest.length - 1;
      const list = rest[last];
      if (Array.isArray(list) && typeof list[0] === 'string') {
        const grouped: Record<string, string | string[]> = {};
        for (let i = 0; i + 1 < list.length; i += 2) {
          const name = list[i] as string;
          const value = String(list[i + 1]);
          const prev = grouped[name];
          grouped[name] = prev === undefined ? value : Array.isArray(prev) ? [...prev, value] : [prev, value];
        }
        rest[last] = grouped;
      }
      return (writeHead as (...a: unknown[]) => http.ServerResponse).call(this, status, ...rest);
    } as typeof res.writeHead;
    listener(req, res);
  };
}
