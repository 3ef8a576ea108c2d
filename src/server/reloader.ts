/**
 * Config versions and the one reload loop (DESIGN.md, "Config lifecycle"), shared by the single
 * process, the cluster primary and, for the text the primary sends, its workers.
 *
 * A version is a ConfigSnapshot (src/config/index.ts): the main document (from the source) and every
 * file it names, collected before compile (src/config/inputs.ts); their hash is the table's version,
 * their paths are watched. Compile reads nothing itself. A reload:
 *
 * 1. reads the main document from the source (its text only, when the source can give it unparsed);
 * 2. reads the served version's inputs again with that text (no parse, no compile): the same version
 *    means nothing changed, and nothing is built or swapped (`config unchanged`);
 * 3. otherwise takes a snapshot (parse, collect the inputs): its version equal to the served one is
 *    still `unchanged`, without a compile; a new version is validated, its TLS contexts built and
 *    compiled from the snapshot's inputs, and swapped in;
 * 4. watches the inputs of the served version plus those of the attempt (a rejected config may name a
 *    file that does not exist yet: creating it must trigger the next reload).
 *
 * A failure anywhere leaves the served version alone and is logged with every problem.
 */
import type { Logger } from 'pino';
import type { RouteTable } from '../compile/types.js';
import { ConfigError, type Diagnostic, formatDiagnostic } from '../config/diagnostics.js';
import { compile } from '../compile/compile.js';
import { BUNDLED, type BuildDeps, type ConfigSnapshot, type Extensions, compileValidated, parseConfigText, snapshotOf, validateDocument } from '../config/index.js';
import { type ConfigInputs, collectInputs, isModuleName } from '../config/inputs.js';
import type { SourceDocument } from '../config/load.js';
import type { GatewayMetrics } from '../observability/metrics.js';
import type { ConfigSource } from './config-source.js';
import { type TlsState, loadTls } from './tls.js';
import { FilesWatcher } from './watch.js';

/** A version as a load gives it. */
export interface LoadedConfig {
  readonly doc: SourceDocument;
  readonly table: RouteTable;
  /** The HTTPS listener's state when the config has `server.tls`. */
  readonly tls: TlsState | undefined;
  /** Every input of this version: `table.version` is `inputs.version()`, `inputs.files` are watched. */
  readonly inputs: ConfigInputs;
  /** The old name of `inputs`. */
  readonly reads: ConfigInputs;
}

/**
 * What is kept of a version while it is served. Not the parsed document: its syntax tree with
 * positions is several times the size of the table (see collectStartupGarbage in serve.ts).
 */
export interface ServedConfig {
  /** The main document's text (what workers are sent, what the Admin API shows). */
  readonly text: string;
  readonly table: RouteTable;
  readonly tls: TlsState | undefined;
  /** The version's inputs without their contents (enough to recheck them and to watch them). */
  readonly inputs: ConfigInputs;
  /** The old name of `inputs`. */
  readonly reads: ConfigInputs;
}

export function servedPart(l: LoadedConfig): ServedConfig {
  const inputs = l.inputs.withoutContent();
  return { text: l.doc.text, table: l.table, tls: l.tls, inputs, reads: inputs };
}

/**
 * Validates a document, loads its certificates and compiles it, every file taken from its inputs:
 * `given`, else those the document carries (a source's snapshot), else collected from the disk here
 * (the only I/O of a load; compile itself reads nothing).
 * Certificates come before compile so problems of both steps are reported together. A failure leaves
 * nothing open behind it.
 *
 * `ext`: the plugin and integration definitions a config may name (an embedder's own; default the
 * bundled ones). Pass the same object on every load: the validator compiled for it is cached by identity.
 * With other than the bundled ones, `deps` must name the function registry and counter stores.
 */
export function loadVersion(doc: SourceDocument, deps: BuildDeps, given?: ConfigInputs, ext: Extensions = BUNDLED): LoadedConfig {
  const config = validateDocument(doc, ext);
  // After validation: a document that does not validate makes no reads.
  const inputs = given ?? doc.inputs ?? collectInputs(doc);
  let tls: TlsState | undefined;
  let tlsProblems: readonly Diagnostic[] = [];
  try {
    tls = loadTls(doc, inputs);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    tlsProblems = err.diagnostics;
  }
  let table: RouteTable;
  try {
    table = ext === BUNDLED ? compileValidated(config, doc, { ...deps, inputs }) : compileExtended(config, doc, deps, inputs, ext);
  } catch (err) {
    if (err instanceof ConfigError && tlsProblems.length > 0) throw new ConfigError([...err.diagnostics, ...tlsProblems]);
    throw err;
  }
  if (tlsProblems.length > 0) {
    void table.close();
    throw new ConfigError(tlsProblems);
  }
  return { doc, table, tls, inputs, reads: inputs };
}

function compileExtended(
  config: Parameters<typeof compileValidated>[0],
  doc: SourceDocument,
  deps: BuildDeps,
  inputs: ConfigInputs,
  ext: Extensions,
): RouteTable {
  const { functions, counters } = deps;
  if (functions === undefined || counters === undefined) {
    throw new Error('loadVersion: own plugin or integration definitions need deps.functions and deps.counters');
  }
  return compile(config, doc, {
    ...deps,
    functions,
    counters,
    fallbackCounters: deps.fallbackCounters ?? counters,
    plugins: ext.plugins,
    integrations: ext.integrations,
    inputs,
  });
}

/** Diagnostics carried by one reload-failure log line (the rest are counted). */
const MAX_LOGGED_DIAGNOSTICS = 50;

/**
 * Logs a rejected config as ONE line. At start the full list goes to stderr (see serve's firstTable),
 * so the line carries only the count and the first problem; on reload there is no terminal, so the
 * line carries every problem as `file:line:col key.path: message` (capped).
 */
export function reportConfigError(logger: Logger, err: unknown, what: 'start' | 'reload'): string {
  if (err instanceof ConfigError) {
    const lines = err.diagnostics.map(formatDiagnostic);
    const problems = err.diagnostics.filter((d) => d.severity === 'error').length;
    if (what === 'start') logger.error({ problems, first: lines[0] }, 'start: config rejected');
    else logger.error({ problems, diagnostics: lines.slice(0, MAX_LOGGED_DIAGNOSTICS) }, 'reload: config rejected; still serving the previous config');
    return err.message;
  }
  logger.error({ err }, `${what}: config could not be loaded`);
  return (err as Error).message;
}

/**
 * Lifecycle events (listening, config reloaded, draining, stopped, workers coming and going) are
 * rare and what operators and supervisors key on, so they are logged even when server.logLevel
 * is above info. A `silent` logger (an embedder's default) stays silent.
 */
const lifecycleLoggers = new WeakMap<Logger, Logger>();
export function lifecycle(logger: Logger): Logger {
  if (logger.level === 'silent') return logger;
  let l = lifecycleLoggers.get(logger);
  if (l === undefined) {
    l = logger.child({}, { level: 'info' });
    lifecycleLoggers.set(logger, l);
  }
  return l;
}

export interface ReloadResult {
  ok: boolean;
  /** The version served after the reload. */
  version?: string;
  /** False when the served version was kept because nothing had changed. */
  changed?: boolean;
  /** Every problem, one per line (a rejected version). */
  errors?: string;
  /** What rejected it (a ConfigError with its diagnostics, usually). */
  error?: unknown;
}

export interface ReloaderOptions {
  source: ConfigSource;
  /** Builds a version (loadVersion with this process's deps) from a document and its collected inputs. */
  load: (doc: SourceDocument, inputs: ConfigInputs) => LoadedConfig;
  /** Serves `next` in place of `prev` (called only for a new version); closing `prev` is its business. */
  apply: (next: LoadedConfig, prev: ServedConfig) => void;
  logger: Logger;
  metrics: GatewayMetrics;
  /** Watch the files the served version read (serve's --watch; SIGHUP reloads either way). */
  watchFiles: boolean;
}

export class Reloader {
  readonly #o: ReloaderOptions;
  #current: ServedConfig;
  #files: FilesWatcher | undefined;
  #stopSource: (() => void) | undefined;
  /** One reload at a time, in order. */
  #chain: Promise<unknown> = Promise.resolve();
  /** A reload from the source is queued and has not started: further requests are redundant (it reads the newest state). */
  #queued = false;

  constructor(opts: ReloaderOptions, first: ServedConfig) {
    this.#o = opts;
    this.#current = first;
  }

  /** The version being served. */
  get current(): ServedConfig {
    return this.#current;
  }

  /** Watches the source and the files of the served version. */
  start(): void {
    this.#stopSource = this.#o.source.watch(() => this.request());
    if (this.#o.watchFiles) {
      this.#files = new FilesWatcher(() => this.request());
      this.#watch(this.#current.inputs);
    }
  }

  stop(): void {
    this.#stopSource?.();
    this.#files?.close();
  }

  /** Asks for a reload from the source (a watch event, SIGHUP). Changes during a reload collapse into one more. */
  request(): void {
    if (this.#queued) return;
    this.#queued = true;
    this.#chain = this.#chain.then(() => {
      this.#queued = false;
      return this.#reload(undefined);
    });
  }

  /** A reload from the source now (after any queued), with its result: an embedder's `reload()`. */
  reload(): Promise<ReloadResult> {
    const run = this.#chain.then(() => this.#reload(undefined));
    this.#chain = run;
    return run;
  }

  /** A reload from config text instead of the source (a cluster worker, given the primary's text). */
  reloadText(text: string): Promise<ReloadResult> {
    const run = this.#chain.then(() => this.#reload(text));
    this.#chain = run;
    return run;
  }

  async #reload(text: string | undefined): Promise<ReloadResult> {
    const { source, logger, metrics } = this.#o;
    let attempt: ConfigInputs | undefined;
    try {
      const served = this.#current.table.version;
      const raw = text ?? (await source.readText?.());
      // The served version's inputs read again: equal means a full load would build the same table.
      if (raw !== undefined && this.#current.inputs.recheck(raw).version() === served) return this.#unchanged(served);
      const snap = raw === undefined ? await readSnapshot(source) : snapshotOf(parseConfigText(raw, source.file));
      attempt = snap.inputs;
      // Decided from the inputs, before any compile.
      if (snap.version === served) return this.#unchanged(served);
      const next = this.#o.load(snap.document, snap.inputs);
      const prev = this.#current;
      try {
        this.#o.apply(next, prev);
      } catch (err) {
        void next.table.close();
        throw err;
      }
      this.#current = servedPart(next);
      source.loaded?.(next.doc);
      metrics.reloads.inc({ result: 'success' });
      lifecycle(logger).info({ version: next.table.version, routes: next.table.routes.length }, 'config reloaded');
      return { ok: true, version: next.table.version, changed: true };
    } catch (err) {
      metrics.reloads.inc({ result: 'failure' });
      return { ok: false, errors: reportConfigError(logger, err, 'reload'), error: err };
    } finally {
      this.#watch(this.#current.inputs, attempt);
    }
  }

  /** Watches the inputs of the served version and of the last attempt: their files, and the listed directories for new modules. */
  #watch(...versions: (ConfigInputs | undefined)[]): void {
    const files: string[] = [];
    const dirs: string[] = [];
    for (const v of versions) {
      if (v === undefined) continue;
      files.push(...v.files);
      dirs.push(...v.directories);
    }
    this.#files?.set(files, dirs, isModuleName);
  }

  /** Nothing changed: decided from the inputs alone, without a compile. */
  #unchanged(version: string): ReloadResult {
    this.#o.metrics.reloads.inc({ result: 'unchanged' });
    lifecycle(this.#o.logger).info({ version, compiled: false }, 'config unchanged');
    return { ok: true, version, changed: false };
  }
}

/**
 * A source's snapshot: its own `snapshot()` when it has one, else its document with the inputs
 * collected here (a ConfigSource written before snapshots existed keeps working).
 */
export async function readSnapshot(source: ConfigSource): Promise<ConfigSnapshot> {
  return source.snapshot !== undefined ? source.snapshot() : snapshotOf(await source.read());
}
