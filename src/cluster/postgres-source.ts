/**
 * PostgreSQL as a config source (cluster mode, docs/cluster.md). The primary (or single process)
 * owns the connection: it reads a snapshot, renders it as JSON text and hands that to the same
 * parse -> validate -> compile -> swap path a file takes; workers get the text over IPC as always.
 *
 * Changes arrive by LISTEN turnpike_config (a notification per committed write, carrying the new
 * version) and, as a fallback for notifications lost while the listening connection was down, by
 * polling the version. Either only asks serve to reload; bursts collapse because a new request is
 * not made while one is waiting for its read.
 *
 * The listening connection is managed here rather than with postgres.js's `sql.listen`: that one
 * re-LISTENs once when its connection closes and silently drops the channel when that attempt fails
 * (the database still down), so an outage longer than one retry would end notifications for good.
 *
 * Outages never stop traffic: the last good config keeps serving, /ready and the
 * turnpike_config_store_* metrics say so, and the first successful contact afterwards compares the
 * version and reloads. At start, a cache of the last good config (written after every successful
 * load, mode 0600: it holds API-key hashes) is served when the database cannot be reached; with no
 * cache the node waits, with only its admin port up answering /ready 503 and the reason.
 */
import { lstatSync, mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino, { type Logger } from 'pino';
import client, { type Registry } from 'prom-client';
import { createAdminServer } from '../admin/server.js';
import { type ConfigSnapshot, parseConfigText, snapshotOf } from '../config/index.js';
import type { SourceDocument } from '../config/load.js';
import { ConfigError } from '../config/diagnostics.js';
import type { ConfigSource } from '../server/config-source.js';
import { DATABASE_LABEL, makeConfigCheck, renderConfig } from './check.js';
import { type Sql, databaseId, openDatabase, redactUrl, toStoreError, withTimeout } from './db.js';
import { StoreUnavailableError } from './entities.js';
import { CONFIG_CHANNEL, migrate } from './migrations.js';
import { PostgresConfigStore } from './postgres-store.js';

export interface PostgresSourceOptions {
  url: string;
  /** Node-local config file whose `server` block wins over the database's settings. */
  localFile?: string;
  cache?: string | false;
  pollIntervalMs?: number;
  logger?: Logger;
}

interface CacheFile {
  turnpikeConfigCache: 1;
  database: string;
  version: string;
  savedAt: string;
  document: Record<string, unknown>;
}

const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

export class PostgresConfigSource implements ConfigSource {
  readonly file = DATABASE_LABEL;
  readonly #url: string;
  readonly #localFile: string | undefined;
  readonly #cachePath: string | undefined;
  readonly #pollMs: number;
  #logger: Logger;
  #sql: Sql | undefined;
  #store: PostgresConfigStore | undefined;
  /** DB version of the last snapshot read (or of the cache served at start). */
  #version: string | undefined;
  /** A reload was requested and its read has not started: further signals are redundant. */
  #awaitingRead = false;
  #up: boolean | undefined;
  #downSince: Date | undefined;
  #lastSync: Date | undefined;
  #lastError: string | undefined;
  #from: 'database' | 'cache' = 'database';
  #pending: { text: string; version: string; document: Record<string, unknown> } | undefined;
  #cachedText: string | undefined;
  #localWarned = false;
  /** A config is being served (from the database or the cache). */
  #serving = false;

  constructor(opts: PostgresSourceOptions) {
    this.#url = opts.url;
    this.#localFile = opts.localFile;
    this.#cachePath = opts.cache === false ? undefined : (opts.cache ?? join(defaultStateDir(), `turnpike-config-${databaseId(opts.url)}.json`));
    this.#pollMs = opts.pollIntervalMs ?? 5_000;
    this.#logger = opts.logger ?? pino({ level: 'silent' });
  }

  get #db(): Sql {
    this.#sql ??= openDatabase(this.#url);
    return this.#sql;
  }

  /** The writable store on this node's connection, checked as this node would serve the result. */
  get store(): PostgresConfigStore {
    this.#store ??= new PostgresConfigStore(this.#db, makeConfigCheck({ logger: this.#logger, prepare: (d) => this.#prepare(d, this.#readLocal()) }));
    return this.#store;
  }

  async read(): Promise<SourceDocument> {
    this.#awaitingRead = false;
    const local = this.#readLocal();
    let snap: { version: string; document: Record<string, unknown> };
    try {
      snap = await this.store.snapshot();
    } catch (err) {
      this.#markDown(err);
      throw err;
    }
    this.#markUp();
    this.#version = snap.version;
    const doc = parseConfigText(renderConfig(this.#prepare(snap.document, local)), DATABASE_LABEL);
    this.#pending = { text: doc.text, version: snap.version, document: snap.document };
    return doc;
  }

  /** The database document and the files it names (relative to the node's working directory), collected before compile. */
  async snapshot(): Promise<ConfigSnapshot> {
    return snapshotOf(await this.read());
  }

  loaded(doc: SourceDocument): void {
    if (this.#pending?.text !== doc.text) return;
    this.#from = 'database';
    this.#writeCache(this.#pending.version, this.#pending.document);
  }

  async first(ctx: { logger: Logger; registry: Registry; opts: { adminPort: number; adminHost: string } }): Promise<string | undefined> {
    this.#logger = ctx.logger;
    let waiting: http.Server | undefined;
    let delay = RETRY_MIN_MS;
    let lastLog = 0;
    try {
      for (let attempt = 0; ; attempt++) {
        try {
          await withTimeout(migrate(this.#db), 15_000, 'migrate').catch((err: unknown) => {
            throw toStoreError(err, 'migrate');
          });
          const doc = await this.read();
          const stored = this.#pending?.document;
          if (stored !== undefined && Object.keys(stored).every((k) => k === 'version' || (k === 'apis' && (stored.apis as unknown[]).length === 0))) {
            ctx.logger.warn({ database: redactUrl(this.#url) }, 'the configuration database holds no config yet: every request gets 404 until one is imported (turnpike import FILE --database URL)');
          }
          return doc.text;
        } catch (err) {
          if (!(err instanceof StoreUnavailableError)) throw err;
          this.#markDown(err);
          if (attempt === 0) {
            const cached = this.#readCache();
            if (cached !== undefined) {
              this.#version = cached.version;
              this.#from = 'cache';
              this.#cachedText = renderConfig(this.#prepare(cached.document, this.#readLocal()));
              ctx.logger.warn(
                { database: redactUrl(this.#url), error: this.#lastError, cache: this.#cachePath, version: cached.version, savedAt: cached.savedAt },
                'configuration database unreachable at start: serving the cached last good config',
              );
              return this.#cachedText;
            }
            waiting = await this.#waitingAdmin(ctx);
          }
          if (Date.now() - lastLog > 10_000) {
            lastLog = Date.now();
            ctx.logger.warn(
              { database: redactUrl(this.#url), error: this.#lastError, adminPort: ctx.opts.adminPort },
              'waiting for the configuration database (no cached config); not serving traffic until it is reachable',
            );
          }
          await sleep(delay);
          delay = Math.min(delay * 2, RETRY_MAX_MS);
        }
      }
    } finally {
      if (waiting !== undefined) await closeServer(waiting);
    }
  }

  fallback(err: unknown, logger: Logger): string | undefined {
    const cached = this.#readCache();
    if (cached === undefined) return undefined;
    // #version stays the database's (the one that failed): polling reloads only when a new version is
    // stored, rather than failing again on the same one every interval.
    this.#from = 'cache';
    this.#cachedText = renderConfig(this.#prepare(cached.document, this.#readLocal()));
    logger.error(
      { database: redactUrl(this.#url), databaseVersion: this.#version, cache: this.#cachePath, cachedVersion: cached.version, savedAt: cached.savedAt, error: err instanceof Error ? err.message : String(err) },
      'the configuration in the database does not compile: serving the cached last good config until a valid one is stored',
    );
    return this.#cachedText;
  }

  /** While waiting with nothing to serve, only the admin port is up: /ready 503 says why, /health says the process lives. */
  async #waitingAdmin(ctx: { logger: Logger; registry: Registry; opts: { adminPort: number; adminHost: string } }): Promise<http.Server> {
    const server = createAdminServer(
      {
        metrics: async () => ({ contentType: ctx.registry.contentType, body: await ctx.registry.metrics() }),
        ready: () => ({ ready: false, reason: 'waiting for the configuration database', ...this.status() }) as ReturnType<Parameters<typeof createAdminServer>[0]['ready']>,
        routes: () => ({ routes: [] }),
        status: () => ({ pid: process.pid, workers: 0, ...this.status() }),
      },
      ctx.logger,
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(ctx.opts.adminPort, ctx.opts.adminHost, () => resolve());
    });
    // serve installs its drain handlers once a config is loaded; until then there is nothing to drain.
    const stop = () => {
      ctx.logger.info('stopped while waiting for the configuration database');
      ctx.logger.flush();
      setTimeout(() => process.exit(0), 20);
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    server.once('close', () => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
    });
    // The real admin listener takes the same port once a config is loaded (port 0 picked one).
    ctx.opts.adminPort = (server.address() as AddressInfo).port;
    return server;
  }

  watch(onChange: () => void): () => void {
    this.#serving = true;
    let stopped = false;
    const signal = () => {
      if (stopped || this.#awaitingRead) return;
      this.#awaitingRead = true;
      onChange();
    };
    let checking = false;
    const check = async () => {
      // A check stuck on a silent server must not pile up behind the interval.
      if (checking) return;
      checking = true;
      try {
        const v = await this.store.version();
        this.#markUp();
        if (v !== this.#version) signal();
      } catch (err) {
        this.#markDown(err);
      } finally {
        checking = false;
      }
    };
    // Polling: the fallback for a notification lost while the listening connection was being re-made.
    const poll = setInterval(() => void check(), this.#pollMs);
    poll.unref();

    let listener: Sql | undefined;
    let retry: NodeJS.Timeout | undefined;
    let delay = RETRY_MIN_MS;
    const listen = async () => {
      retry = undefined;
      if (stopped) return;
      try {
        await withTimeout(listener!`listen ${listener!(CONFIG_CHANNEL)}`, 10_000, 'listen');
        delay = RETRY_MIN_MS;
        // Anything committed while we were not listening: one version check catches up.
        await check();
      } catch (err) {
        this.#markDown(toStoreError(err, 'listen'));
        relisten();
      }
    };
    const relisten = () => {
      if (stopped || retry !== undefined) return;
      retry = setTimeout(() => void listen(), delay);
      retry.unref();
      delay = Math.min(delay * 2, RETRY_MAX_MS);
    };
    listener = openDatabase(this.#url, {
      max: 1,
      idleTimeoutS: null,
      onnotify: (channel, payload) => {
        if (channel !== CONFIG_CHANNEL) return;
        this.#markUp();
        if (payload !== this.#version) signal();
      },
      onclose: () => {
        if (stopped) return;
        this.#markDown(new StoreUnavailableError('the listening connection closed'));
        relisten();
      },
    });
    void listen();
    // Serving the cache: try for the database now rather than at the first poll.
    if (this.#from === 'cache') void check();
    return () => {
      stopped = true;
      clearInterval(poll);
      if (retry !== undefined) clearTimeout(retry);
      void listener?.end({ timeout: 1 }).catch(() => undefined);
      void this.#sql?.end({ timeout: 1 }).catch(() => undefined);
    };
  }

  status(): Record<string, unknown> {
    return {
      database: this.#up === false ? 'unreachable' : this.#up ? 'ok' : 'connecting',
      ...(this.#downSince ? { since: this.#downSince.toISOString() } : {}),
      ...(this.#lastSync ? { lastSync: this.#lastSync.toISOString() } : {}),
      ...(this.#up === false && this.#lastError ? { error: this.#lastError } : {}),
      configFrom: this.#from,
      ...(this.#version !== undefined ? { databaseVersion: this.#version } : {}),
    };
  }

  attachMetrics(registry: Registry): void {
    const self = this;
    new client.Gauge({
      name: 'turnpike_config_store_up',
      help: '1 when the configuration database answered the last contact, 0 when it did not.',
      registers: [registry],
      collect() {
        this.set(self.#up ? 1 : 0);
      },
    });
    new client.Gauge({
      name: 'turnpike_config_store_last_sync_timestamp_seconds',
      help: 'Unix time of the last successful contact with the configuration database (0: never).',
      registers: [registry],
      collect() {
        this.set(self.#lastSync ? self.#lastSync.getTime() / 1000 : 0);
      },
    });
  }

  #markUp(): void {
    if (this.#up === false) this.#logger.info({ database: redactUrl(this.#url), downSince: this.#downSince?.toISOString() }, 'configuration database reachable again');
    this.#up = true;
    this.#downSince = undefined;
    this.#lastError = undefined;
    this.#lastSync = new Date();
  }

  #markDown(err: unknown): void {
    const message = (err as Error)?.message ?? String(err);
    if (this.#up !== false) {
      this.#downSince = new Date();
      // Before the first config is loaded there is nothing to keep serving: first() says what happens instead.
      const what = this.#serving ? 'configuration database unreachable; serving the last good config' : 'configuration database unreachable';
      this.#logger.warn({ database: redactUrl(this.#url), error: message }, what);
    }
    this.#up = false;
    this.#lastError = message;
  }

  /** The database document as this node serves it: the local file's `server` keys win, `server.database` never leaves the node. */
  #prepare(document: Record<string, unknown>, local: Record<string, unknown> | undefined): Record<string, unknown> {
    const fromDb = (document.server ?? {}) as Record<string, unknown>;
    const server: Record<string, unknown> = { ...fromDb, ...(local ?? {}) };
    delete server.database;
    const out = { ...document };
    if (Object.keys(server).length > 0) out.server = server;
    else delete out.server;
    return out;
  }

  /** The local file's `server` block (read on every load, so SIGHUP applies an edit to it). */
  #readLocal(): Record<string, unknown> | undefined {
    if (this.#localFile === undefined) return undefined;
    // Synchronous and small: a node-local file of a few lines.
    const doc = readLocalFile(this.#localFile);
    const data = (doc.data ?? {}) as Record<string, unknown>;
    const ignored = Object.keys(data).filter((k) => k !== 'server' && k !== 'version');
    if (ignored.length > 0 && !this.#localWarned) {
      this.#localWarned = true;
      this.#logger.warn({ file: this.#localFile, ignored }, 'database mode: only the server block of the local config file is used');
    }
    return (data.server ?? undefined) as Record<string, unknown> | undefined;
  }

  #readCache(): CacheFile | undefined {
    if (this.#cachePath === undefined) return undefined;
    try {
      const why = untrusted(this.#cachePath);
      if (why !== undefined) {
        if (why !== 'missing') this.#logger.warn({ cache: this.#cachePath, reason: why }, 'config cache not trusted; ignored');
        return undefined;
      }
      const c = JSON.parse(readFileSync(this.#cachePath, 'utf8')) as CacheFile;
      if (c.turnpikeConfigCache !== 1 || typeof c.document !== 'object') return undefined;
      if (c.database !== databaseId(this.#url)) {
        this.#logger.warn({ cache: this.#cachePath }, 'config cache belongs to another database; ignored');
        return undefined;
      }
      return c;
    } catch {
      return undefined;
    }
  }

  #writeCache(version: string, document: Record<string, unknown>): void {
    if (this.#cachePath === undefined) return;
    const body: CacheFile = { turnpikeConfigCache: 1, database: databaseId(this.#url), version, savedAt: new Date().toISOString(), document };
    const tmp = `${this.#cachePath}.${process.pid}.tmp`;
    try {
      // 0600 from creation (API-key hashes), created exclusively (never through someone's symlink),
      // then an atomic rename: a crash never leaves half a cache.
      try {
        unlinkSync(tmp);
      } catch {
        // none left over
      }
      writeFileSync(tmp, `${JSON.stringify(body)}\n`, { mode: 0o600, flag: 'wx' });
      renameSync(tmp, this.#cachePath);
    } catch (err) {
      this.#logger.warn({ cache: this.#cachePath, error: (err as Error).message }, 'could not write the config cache');
    }
  }
}

function readLocalFile(file: string): SourceDocument {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([{ file, line: 0, column: 0, path: '', message: `cannot read config: ${(e as Error).message}`, severity: 'error' }]);
  }
  return parseConfigText(text, file);
}

/**
 * TURNPIKE_STATE_DIR, else a per-user directory (mode 0700) in the OS temp dir: a cache under a
 * predictable name in a world-writable directory could be planted by another local user and then
 * served when the database is down.
 */
function defaultStateDir(): string {
  if (process.env.TURNPIKE_STATE_DIR) return process.env.TURNPIKE_STATE_DIR;
  const dir = join(tmpdir(), `turnpike-${process.getuid?.() ?? 'user'}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch {
    // exists: untrusted() checks its owner and mode before the cache in it is used
  }
  return dir;
}

/** Why a cache file must not be served (another owner, writable by others, not a plain file), or undefined. */
function untrusted(file: string): string | undefined {
  const uid = process.getuid?.();
  let st: import('node:fs').Stats;
  try {
    st = lstatSync(file);
  } catch {
    return 'missing';
  }
  if (!st.isFile()) return 'not a regular file';
  if (uid !== undefined && st.uid !== uid) return 'owned by another user';
  if ((st.mode & 0o022) !== 0) return 'writable by group or others';
  const dir = lstatSync(join(file, '..'));
  if (uid !== undefined && dir.uid !== uid && dir.uid !== 0) return 'its directory belongs to another user';
  if ((dir.mode & 0o022) !== 0 && (dir.mode & 0o1000) === 0) return 'its directory is writable by others';
  return undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
