/**
 * `turnpike serve`: one process (workers = 1) or a node:cluster primary with N workers.
 * The process stays in the foreground so supervisors see its real pid.
 *
 * The gateway itself (tables, pools, functions, counters, the reload loop) comes from createGateway
 * (src/gateway.ts), as an embedder's does; this module adds only what a process has: workers and the
 * primary's metrics merge, signals, the HTTP and TLS (HTTP/2) listeners, drain, the Admin API. The
 * primary serves nothing: it validates each version with the same Reloader and sends it to workers.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import cluster, { type Worker } from 'node:cluster';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import client from 'prom-client';
import { adminApiOptions, createAdminServer } from '../admin/server.js';
import { FileConfigStore } from '../cluster/file-store.js';
import type { RouteTable } from '../compile/types.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { counterStore, fallbackCounterStore, parseConfigText, templateStageUrls } from '../config/index.js';
import type { SourceDocument } from '../config/load.js';
import type { ConfigReads } from '../config/reads.js';
import { createGateway, runFunctionsAs } from '../gateway.js';
import { createLogger } from '../observability/logger.js';
import { GatewayMetrics } from '../observability/metrics.js';
import { createPluginServices } from '../plugins/services.js';
import { PoolRegistry } from '../upstream/upstream.js';
import { type DatabaseServeOptions, configSource } from './config-source.js';
import { describeTable } from './describe.js';
import { type StageUrl, stageUrls } from './stage-urls.js';
import { applyTlsSettings, createTlsListener, installHttpsRedirect } from './listener.js';
import { createListener } from './listener.js';
import { type LoadedConfig, Reloader, lifecycle, loadVersion, reportConfigError, servedPart } from './reloader.js';
import type { TlsState } from './tls.js';
// Node-wide counters: the primary serves its store to the workers (src/stores/cluster-counters.ts).
import { serveCounters } from '../stores/cluster-counters.js';

export interface ServeOptions {
  file: string;
  port: number;
  host: string;
  adminPort: number;
  adminHost: string;
  /** Host names the admin listener answers besides loopback names and its own address (--admin-allowed-hosts). */
  adminAllowedHosts?: string[];
  /** File holding the Admin API token (else TURNPIKE_ADMIN_TOKEN). */
  adminTokenFile?: string;
  workers: number;
  watch: boolean;
  /** HTTPS port from --https-port (overrides server.tls.port); only used when the config has server.tls. */
  httpsPort?: number;
  /** Cluster mode: the config comes from PostgreSQL; `file` is then the node-local file ('' for none). */
  database?: DatabaseServeOptions;
}

/** HTTPS port when server.tls.port and --https-port are both absent. */
const DEFAULT_HTTPS_PORT = 8443;

/**
 * Primary <-> worker protocol. A worker never reads the config file itself: it asks the primary for
 * the text of the table the primary serves ('hello' -> 'config'), so a worker started after a reload,
 * or after the file was broken on disk, runs exactly what its siblings run.
 */
type PrimaryMessage = { type: 'config'; text: string } | { type: 'reload'; text: string } | { type: 'shutdown' };
type WorkerMessage =
  | { type: 'hello' }
  | { type: 'listening'; port: number; httpsPort?: number }
  | { type: 'fatal'; message: string }
  | { type: 'reloaded'; ok: boolean; version?: string; changed?: boolean; errors?: string };

/** How long shutdown waits for the gateway (upstream pools, function workers) to finish closing before exiting anyway. */
const POOL_CLOSE_MS = 1_000;

export async function serve(opts: ServeOptions): Promise<void> {
  if (cluster.isPrimary && opts.workers > 1) return runPrimary(opts);
  return runDataPlane(opts, cluster.isWorker);
}

/** server.logLevel from the config, unless TURNPIKE_LOG_LEVEL (which wins) is set. */
function applyLogLevel(logger: Logger, data: unknown): void {
  if (process.env.TURNPIKE_LOG_LEVEL) return;
  const level = (data as { server?: { logLevel?: unknown } } | null)?.server?.logLevel;
  logger.level = typeof level === 'string' ? level : 'info';
}

/**
 * The first version, or exit 1 with every problem on stderr, once. `build` turns the first text
 * (undefined: read the source; in a worker, the text the primary sent) into what this process serves:
 * a gateway (single process, worker) or a validated version (cluster primary). A database whose
 * config does not build gives the node's cached last good config instead, as a reload would keep it.
 */
async function firstVersion<T>(
  opts: ServeOptions,
  logger: Logger,
  metrics: GatewayMetrics,
  text: string | undefined,
  build: (text: string | undefined) => Promise<T>,
): Promise<T> {
  const source = configSource(opts, logger);
  try {
    text ??= await source.first?.({ logger, registry: metrics.registry, opts });
    try {
      return await build(text);
    } catch (err) {
      const cached = source.fallback?.(err, logger);
      if (cached === undefined) throw err;
      reportConfigError(logger, err, 'start');
      metrics.reloads.inc({ result: 'failure' });
      return await build(cached);
    }
  } catch (err) {
    process.stderr.write(`${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    reportConfigError(logger, err, 'start');
    logger.flush();
    process.exit(1);
  }
}

/**
 * Parsing a large config leaves its syntax tree behind as garbage in the old generation (10,000 routes:
 * ~110 MB beside ~55 MB of live tables). Collecting it once before traffic, while nothing is waiting,
 * keeps the heap small and spares the first requests a long mark-compact pause.
 */
function collectStartupGarbage(): void {
  // A small config leaves little behind: a full collection of the freshly loaded heap (~20 MB for the
  // quick start) would only add its ~20 ms to the start.
  if (v8.getHeapStatistics().used_heap_size < STARTUP_GC_MIN_HEAP_BYTES) return;
  try {
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as (() => void) | undefined;
    gc?.();
  } catch {
    // not available on this runtime: V8 collects it later on its own
  }
}

/** Heap in use below which the start-up collection is skipped (10,000 routes leave ~165 MB; the quick start ~20 MB). */
const STARTUP_GC_MIN_HEAP_BYTES = 64 * 1024 * 1024;

/** In a worker: asks the primary for the config text to serve. */
function configFromPrimary(): Promise<string> {
  return new Promise((resolve) => {
    const onMessage = (m: PrimaryMessage) => {
      if (m.type === 'config') {
        process.off('message', onMessage);
        resolve(m.text);
      } else if (m.type === 'shutdown') process.exit(0);
    };
    process.on('message', onMessage);
    process.send?.({ type: 'hello' } satisfies WorkerMessage);
  });
}

async function runDataPlane(opts: ServeOptions, isWorker: boolean): Promise<void> {
  const logger = createLogger();
  const metrics = new GatewayMetrics();
  if (isWorker) {
    // Answers the primary's metric requests (prom-client registers its IPC listener in this constructor).
    new client.AggregatorRegistry();
    client.AggregatorRegistry.setRegistries([metrics.registry]);
    // A SIGHUP sent to the whole process group must not kill workers (its default action): the primary reloads them.
    process.on('SIGHUP', () => undefined);
  }
  // What a new version changes in this process beyond the gateway's tables (set once the listeners exist).
  let onNewVersion: ((next: LoadedConfig) => void) | undefined;
  // The served document: a template's stage URLs go into the `listening` line.
  let servedDoc: SourceDocument | undefined;
  // The gateway reloads from its source; in a worker, from the text its primary sends (reloadText below).
  const gw = await firstVersion(opts, logger, metrics, isWorker ? await configFromPrimary() : undefined, (text) =>
    createGateway({
      source: configSource(opts, logger),
      ...(text !== undefined ? { text } : {}),
      logger,
      metrics,
      // The process's counters, so limits keep counting across reloads; in a worker, the primary's (src/stores/cluster-counters.ts).
      stores: { counters: counterStore(), fallbackCounters: fallbackCounterStore() },
      watch: opts.watch,
      onVersion: (next, prev) => {
        servedDoc = next.doc;
        if (prev !== undefined) onNewVersion?.(next);
        applyLogLevel(logger, next.doc.data);
      },
    }),
  );
  const reloader = gw.reloader;
  const { table, tls: firstTls } = reloader.current;
  collectStartupGarbage();
  const gateway = gw.handler('http');
  const server = createListener(gateway, table.limits);
  // HTTPS: a second gateway over the same tables (ctx.protocol 'https'), fed by one TLS listener that
  // serves HTTP/2 and HTTP/1.1. The TLS state (contexts per SNI name) is swapped as a whole on reload.
  const tlsSource: { state: TlsState } | undefined = firstTls === undefined ? undefined : { state: firstTls };
  const httpsGateway = tlsSource === undefined ? undefined : gw.handler('https');
  const tlsServer = tlsSource === undefined || httpsGateway === undefined ? undefined : createTlsListener(httpsGateway, table.limits, tlsSource);
  const tlsSockets = new Set<import('node:tls').TLSSocket>();
  const h2Sessions = new Set<import('node:http2').ServerHttp2Session>();
  if (tlsServer !== undefined) {
    tlsServer.on('secureConnection', (s: import('node:tls').TLSSocket) => {
      tlsSockets.add(s);
      s.once('close', () => tlsSockets.delete(s));
    });
    tlsServer.on('session', (session: import('node:http2').ServerHttp2Session) => {
      h2Sessions.add(session);
      session.once('close', () => h2Sessions.delete(session));
      if (gateway.draining) session.close();
    });
  }
  let httpsPort: number | undefined;
  if (tlsSource !== undefined) {
    installHttpsRedirect(server, gateway, () => (tlsSource.state.settings.redirectHttp ? httpsPort : undefined));
  }
  /** Swaps certificates and TLS settings when anything read for them changed. */
  const reloadTls = (next: TlsState | undefined): void => {
    if (tlsSource === undefined || tlsServer === undefined) {
      if (next !== undefined) logger.warn('server.tls was added: the HTTPS listener starts after a restart');
      return;
    }
    if (next === undefined) {
      logger.warn('server.tls was removed: the HTTPS listener keeps serving until a restart');
      return;
    }
    if (next.fingerprint === tlsSource.state.fingerprint) return;
    const prev = tlsSource.state;
    if (next.settings.port !== prev.settings.port && opts.httpsPort === undefined) {
      logger.warn({ from: prev.settings.port, to: next.settings.port }, 'server.tls.port changes take effect after a restart');
    }
    tlsServer.setSecureContext(next.defaultOptions);
    applyTlsSettings(tlsServer, next);
    tlsSource.state = next;
    lifecycle(logger).info({ tls: tlsSummary(next), certificates: next.certificates }, 'tls certificates reloaded');
  };

  onNewVersion = (next) => {
    reloadTls(next.tls);
    applyServerLimits(server, next.table, table.limits.headerBytes, logger);
  };

  let admin: http.Server | undefined;
  if (!isWorker) {
    admin = createAdminServer(
      {
        metrics: async () => ({ contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }),
        ready: () =>
          gateway.draining
            ? { ready: false, reason: 'draining' }
            : { ready: server.listening && (tlsServer === undefined || tlsServer.listening), version: gateway.table.version, ...configSource(opts).status?.() },
        routes: () => describeTable(gateway.table),
        status: () => ({ pid: process.pid, version: gateway.table.version, workers: 1 }),
      },
      logger,
      adminApiOptions(opts, configSource(opts).store ?? new FileConfigStore(() => ({ file: opts.file, text: reloader.current.text, version: gateway.table.version })), logger),
      { allowedHosts: opts.adminAllowedHosts ?? [] },
    );
  }

  if (!isWorker) configSource(opts).attachMetrics?.(metrics.registry);
  if (!isWorker) {
    reloader.start();
    process.on('SIGHUP', () => reloader.request());
  }

  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    reloader.stop();
    lifecycle(logger).info({ signal, inflight: metrics.inflight }, 'draining');
    // /ready answers 503 from here on; the admin listener stays up until the end so probes can see it.
    gateway.draining = true;
    if (httpsGateway !== undefined) httpsGateway.draining = true;
    // Stop accepting: new connections are refused (single process) or no longer handed to this
    // worker (cluster). Idle keep-alive connections are closed; busy ones get `connection: close`.
    server.close();
    server.closeIdleConnections();
    // HTTPS: HTTP/2 sessions get GOAWAY (streams in flight finish, no new ones); idle HTTP/1.1 connections close.
    tlsServer?.close();
    const closeIdleTls = () => (tlsServer as unknown as { closeIdleConnections?: () => void } | undefined)?.closeIdleConnections?.();
    for (const session of h2Sessions) session.close();
    closeIdleTls();
    const deadline = Date.now() + gateway.table.shutdownGraceMs;
    while (metrics.inflight > 0 && Date.now() < deadline) {
      await delay(20);
      server.closeIdleConnections();
      closeIdleTls();
    }
    if (metrics.inflight > 0) logger.warn({ inflight: metrics.inflight }, 'grace period over, closing remaining connections');
    server.closeAllConnections();
    for (const session of h2Sessions) session.destroy();
    for (const s of tlsSockets) s.destroy();
    // The table, function workers, upstream pools and counters. Pool.close() waits for requests still
    // running upstream; a request cut at the grace period may leave one behind, so this is bounded.
    await Promise.race([gw.close(), delay(POOL_CLOSE_MS)]);
    if (admin) {
      admin.close();
      admin.closeAllConnections();
    }
    lifecycle(logger).info('stopped');
    logger.flush();
    setTimeout(() => process.exit(0), 20).unref();
  };
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  process.on('SIGINT', () => void shutdown('SIGINT'));
  if (isWorker) {
    process.on('message', (m: PrimaryMessage) => {
      if (m.type === 'reload')
        void reloader
          .reloadText(m.text)
          .then(({ ok, version, changed, errors }) => process.send?.({ type: 'reloaded', ok, version, changed, errors } satisfies WorkerMessage));
      else if (m.type === 'shutdown') void shutdown('primary');
    });
    // If the primary dies, do not linger as an orphan.
    process.on('disconnect', () => void shutdown('disconnect'));
  }

  const wantHttpsPort = opts.httpsPort ?? tlsSource?.state.settings.port ?? DEFAULT_HTTPS_PORT;
  try {
    await listen(server, opts.port, opts.host);
    if (tlsServer !== undefined) {
      try {
        await listen(tlsServer as unknown as http.Server, wantHttpsPort, opts.host);
      } catch (err) {
        throw new Error(`HTTPS port ${wantHttpsPort}: ${(err as Error).message}`);
      }
      httpsPort = (tlsServer.address() as AddressInfo).port;
    }
  } catch (err) {
    if (!isWorker) throw err;
    // The primary decides: before any worker listened this ends the whole service with the error.
    process.send?.({ type: 'fatal', message: `cannot listen on ${opts.host}:${opts.port}: ${(err as Error).message}` } satisfies WorkerMessage);
    logger.flush();
    setTimeout(() => process.exit(1), 20);
    return;
  }
  const port = (server.address() as AddressInfo).port;
  let adminPort: number | undefined;
  if (admin) {
    await listen(admin, opts.adminPort, opts.adminHost);
    adminPort = (admin.address() as AddressInfo).port;
  }
  if (isWorker) process.send?.({ type: 'listening', port, ...(httpsPort !== undefined ? { httpsPort } : {}) } satisfies WorkerMessage);
  else
    lifecycle(logger).info(
      {
        port,
        ...(httpsPort !== undefined && tlsSource !== undefined
          ? { httpsPort, http2: tlsSource.state.settings.http2, tls: tlsSummary(tlsSource.state), certificates: tlsSource.state.certificates }
          : {}),
        adminPort,
        host: opts.host,
        version: gateway.table.version,
        routes: gateway.table.routes.length,
        ...stagesField(gateway.table, opts.host, port),
        workers: 1,
        ...optional('stageUrls', templateStageUrls(servedDoc, port, opts.host)),
      },
      'listening',
    );
}

/** The `listening` line's `stages` (AWS-document APIs: which stage answers at which URL), when there are any. */
function stagesField(table: RouteTable, host: string, port: number): { stages?: StageUrl[] } {
  const stages = stageUrls(table, host, port);
  return stages.length > 0 ? { stages } : {};
}

/** What a handshake may negotiate, for the `listening` line: versions, suites (TLS 1.3 ones first), groups. */
function tlsSummary(state: TlsState): { minVersion: string; ciphers: string; groups: string } {
  return { minVersion: state.settings.minVersion, ciphers: state.settings.policy.ciphers, groups: state.settings.policy.ecdhCurve };
}

/** `{ [key]: value }` when there is a value, for spreading into a log line. */
function optional<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined ? {} : { [key]: value };
}

function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function applyServerLimits(server: http.Server, next: RouteTable, startHeaderBytes: number, logger: Logger): void {
  server.headersTimeout = next.limits.headersTimeoutMs;
  server.requestTimeout = next.limits.requestTimeoutMs;
  server.keepAliveTimeout = next.limits.keepAliveTimeoutMs;
  if (startHeaderBytes !== next.limits.headerBytes) {
    logger.warn({ from: startHeaderBytes, to: next.limits.headerBytes }, 'server.limits.headerBytes changes take effect after a restart');
  }
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen({ port, host, backlog: 2048 }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

async function runPrimary(opts: ServeOptions): Promise<void> {
  const logger = createLogger();
  const metrics = new GatewayMetrics();
  const pools = new PoolRegistry();
  // The primary validates and compiles (workers serve); one set of plugin services across its reloads.
  const pluginServices = createPluginServices({ registry: metrics.registry });
  const load = (doc: SourceDocument, reads?: ConfigReads) => loadVersion(doc, { logger, metrics, pools, pluginServices }, reads);
  let servedDoc: SourceDocument | undefined;
  const first = await firstVersion(opts, logger, metrics, undefined, async (text) => {
    const source = configSource(opts);
    const loaded = load(text === undefined ? await source.read() : parseConfigText(text, source.file));
    runFunctionsAs(loaded.doc);
    source.loaded?.(loaded.doc);
    servedDoc = loaded.doc;
    applyLogLevel(logger, loaded.doc.data);
    // Parser findings and compile findings (e.g. AWS extensions not supported yet): named at start-up, never silent.
    for (const w of [...loaded.doc.warnings, ...loaded.table.warnings]) logger.warn({ warning: formatDiagnostic(w) }, 'config warning');
    metrics.reloads.inc({ result: 'success' });
    return servedPart(loaded);
  });
  collectStartupGarbage();
  metrics.setConfigVersion(first.table.version);
  // The primary serves nothing itself: a new version is validated here, then its text goes to every
  // worker, which builds it again (reading the same files). A rejected version never reaches them.
  const reloader = new Reloader(
    {
      source: configSource(opts),
      load,
      apply: (next, prev) => {
        void prev.table.close();
        applyLogLevel(logger, next.doc.data);
        metrics.setConfigVersion(next.table.version);
        for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send({ type: 'reload', text: next.doc.text } satisfies PrimaryMessage);
      },
      logger,
      metrics,
      watchFiles: opts.watch,
    },
    first,
  );
  const served = () => reloader.current;
  const aggregator = new client.AggregatorRegistry();
  let shuttingDown = false;
  let port: number | undefined;
  const listening = new Set<number>();
  const recentCrashes: number[] = [];

  const fork = (): Worker => {
    const w = cluster.fork({ TURNPIKE_WORKER: '1' });
    w.on('message', (m: WorkerMessage) => {
      if (m.type === 'hello') w.send({ type: 'config', text: served().text } satisfies PrimaryMessage);
      else if (m.type === 'listening') {
        listening.add(w.id);
        lifecycle(logger).info({ worker: w.id, workerPid: w.process.pid }, 'worker listening');
        if (port === undefined) {
          port = m.port;
          lifecycle(logger).info(
            {
              port,
              ...(m.httpsPort !== undefined ? { httpsPort: m.httpsPort, http2: served().tls?.settings.http2, ...(served().tls !== undefined ? { tls: tlsSummary(served().tls as TlsState) } : {}) } : {}),
              adminPort: adminPortNum,
              host: opts.host,
              version: served().table.version,
              routes: served().table.routes.length,
              ...stagesField(served().table, opts.host, m.port),
              workers: opts.workers,
              ...optional('stageUrls', templateStageUrls(servedDoc, m.port, opts.host)),
            },
            'listening',
          );
        }
      } else if (m.type === 'fatal') {
        logger.error({ worker: w.id, error: m.message }, 'worker cannot serve');
        // Nothing ever listened: the service cannot start (port taken, bad address). Fail like the single process does.
        if (port === undefined && !shuttingDown) {
          shuttingDown = true;
          process.stderr.write(`turnpike: ${m.message}\n`);
          for (const other of Object.values(cluster.workers ?? {})) other?.process.kill('SIGKILL');
          logger.flush();
          setTimeout(() => process.exit(1), 20);
        }
      } else if (m.type === 'reloaded' && !m.ok) logger.error({ worker: w.id, errors: m.errors }, 'worker rejected config');
    });
    return w;
  };
  cluster.on('exit', (w, code, signal) => {
    listening.delete(w.id);
    if (shuttingDown) return;
    logger.error({ worker: w.id, workerPid: w.process.pid, code, signal }, 'worker exited; starting a replacement');
    const now = Date.now();
    recentCrashes.push(now);
    while (recentCrashes.length > 0 && (recentCrashes[0] as number) < now - 10_000) recentCrashes.shift();
    // A crash loop (bad handler, bad port) must not fork-bomb the machine: back off.
    setTimeout(() => !shuttingDown && fork(), recentCrashes.length > opts.workers * 3 ? 2_000 : 0);
  });

  const admin = createAdminServer(
    {
      metrics: async () => {
        const workerMetrics = await aggregator.clusterMetrics();
        const own = await metrics.registry.metrics();
        // Worker request metrics are summed by the aggregator; the config metrics are the primary's own
        // (it validates every reload first and is the one that knows what the service runs).
        const reloadLines = own
          .split('\n')
          .filter((l) => l.startsWith('turnpike_config_') || l.startsWith('# HELP turnpike_config_') || l.startsWith('# TYPE turnpike_config_'))
          .join('\n');
        const body = `${workerMetrics.replace(/^(# (HELP|TYPE) )?turnpike_config_[^\n]*\n?/gm, '')}\n${reloadLines}\n`;
        return { contentType: aggregator.contentType, body: body.replace(/\n{3,}/g, '\n\n') };
      },
      ready: () =>
        shuttingDown
          ? { ready: false, reason: 'draining' }
          : listening.size > 0
            ? { ready: true, version: served().table.version, ...configSource(opts).status?.() }
            : { ready: false, reason: 'no worker listening' },
      routes: () => describeTable(served().table),
      status: () => ({ pid: process.pid, version: served().table.version, workers: listening.size }),
    },
    logger,
    adminApiOptions(opts, configSource(opts).store ?? new FileConfigStore(() => ({ file: opts.file, text: served().text, version: served().table.version })), logger),
    { allowedHosts: opts.adminAllowedHosts ?? [] },
  );
  await listen(admin, opts.adminPort, opts.adminHost);
  const adminPortNum = (admin.address() as AddressInfo).port;
  // The node's counters live here; workers (forked below) reach them over this socket.
  const counterSocket = await serveCounters(counterStore(), (err) => logger.warn({ err: err.message }, 'counters: socket error'));

  configSource(opts).attachMetrics?.(metrics.registry);
  reloader.start();
  process.on('SIGHUP', () => reloader.request());
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    reloader.stop();
    lifecycle(logger).info({ signal }, 'draining workers');
    for (const w of Object.values(cluster.workers ?? {})) if (w?.isConnected()) w.send({ type: 'shutdown' } satisfies PrimaryMessage);
    const hardStop = setTimeout(() => {
      for (const w of Object.values(cluster.workers ?? {})) w?.process.kill('SIGKILL');
    }, served().table.shutdownGraceMs + 3_000);
    const check = setInterval(() => {
      if (Object.keys(cluster.workers ?? {}).length === 0) {
        clearInterval(check);
        clearTimeout(hardStop);
        admin.close();
        admin.closeAllConnections();
        void served().table.close();
        void counterSocket.close();
        lifecycle(logger).info('stopped');
        logger.flush();
        setTimeout(() => process.exit(0), 20).unref();
      }
    }, 20);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  // Workers accept from the shared listening socket themselves (SCHED_NONE), not through the primary
  // (round-robin): a connection the primary has handed to a worker that dies before taking it is never
  // closed (Node's RoundRobinHandle waits for a reply that never comes), so its client hangs until it
  // gives up. With the shared socket, connections still queued go to the surviving worker and only the
  // dead worker's own connections are lost (issue 11, "Processes"; test/integration/worker-death.test.ts).
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  for (let i = 0; i < opts.workers; i++) fork();
}
