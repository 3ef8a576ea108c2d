/**
 * Where the primary (or the single process) gets config text from: a file, or PostgreSQL in cluster
 * mode. Either way the result is a SourceDocument that goes through the same validate -> compile ->
 * swap path, and workers get its text over IPC; a worker never opens a source itself (it only needs
 * `file`, the label its text is parsed under).
 *
 * A source yields a snapshot (issue 10): `{document, inputs, version}`, the main document with every
 * file it names (referenced OpenAPI documents, certificates and keys, function modules...) read before
 * anything is compiled (src/config/inputs.ts), and the version over all of them. Compile reads nothing
 * itself. The Reloader (reloader.ts) swaps only a new version, and watches those files beside the
 * source's own watch. `read()` (the document alone) stays for hosts and sources written before
 * snapshots: a source without `snapshot()` gets its inputs collected from the disk after its read().
 */
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import type { ConfigStore } from '../cluster/entities.js';
import { readFile } from 'node:fs/promises';
import { type ConfigSnapshot, readConfigFile, snapshotOf } from '../config/index.js';
import type { SourceDocument } from '../config/load.js';
import { lazyModule } from '../util/lazy.js';
import { watchFile } from './watch.js';

// Cluster mode only: the PostgreSQL client and the database source (src/util/lazy.ts).
const postgresSource = lazyModule<typeof import('../cluster/postgres-source.js')>('../cluster/postgres-source.js', import.meta.url);

export interface ConfigSource {
  /** The name the text is parsed under: diagnostics start with it, relative paths resolve against its directory. */
  readonly file: string;
  read(): Promise<SourceDocument>;
  /** The document, its inputs and their version (what a reload compares and compiles). Optional: readSnapshot() makes one from read(). */
  snapshot?(): Promise<ConfigSnapshot>;
  /**
   * The main document's text, unparsed, when the source can give it cheaply (a file): a reload that
   * finds nothing changed then skips the parse too. Undefined when it cannot be read (read() says why).
   */
  readText?(): Promise<string | undefined>;
  /** Calls onChange when a new version may be available (changes in a burst may collapse into one call); returns stop. */
  watch(onChange: () => void): () => void;
  /**
   * Start-up: the text of the first config to serve (the source may wait for it, or fall back to a
   * cache), or undefined to read() as usual. May set `opts.adminPort` to the port it already used.
   */
  first?(ctx: { logger: Logger; registry: Registry; opts: { adminPort: number; adminHost: string } }): Promise<string | undefined>;
  /**
   * Start-up: the first config did not compile (e.g. a hand edit in the database). The text of a last
   * good config to serve instead (a database source's cache), or undefined to give up. Not asked on reloads:
   * a running node simply keeps what it serves.
   */
  fallback?(err: unknown, logger: Logger): string | undefined;
  /** Called with every document that was compiled and is now served (a database source caches it). */
  loaded?(doc: SourceDocument): void;
  /** Extra fields for /ready (the database's state). */
  status?(): Record<string, unknown>;
  /** Registers the source's own metrics. */
  attachMetrics?(registry: Registry): void;
  /** The writable store behind this source, for the Admin API (database mode only). */
  readonly store?: ConfigStore;
}

export interface DatabaseServeOptions {
  url: string;
  /** Last-good-config cache file; false: none. Default: under TURNPIKE_STATE_DIR or the OS temp dir. */
  cache?: string | false;
  /** Version polling, the fallback for lost notifications (default 5000). */
  pollIntervalMs?: number;
}

/** A watched file (SIGHUP still reloads when watch is false). */
export function fileSource(file: string, watch: boolean): ConfigSource {
  return {
    file,
    // The document carries its inputs, read with it: a host that loads what read() gives compiles from them.
    read: async () => snapshotOf(await readConfigFile(file)).document,
    snapshot: async () => snapshotOf(await readConfigFile(file)),
    readText: () => readFile(file, 'utf8').catch(() => undefined),
    watch: (onChange) => (watch ? watchFile(file, onChange) : () => undefined),
  };
}

const sources = new WeakMap<object, ConfigSource>();

/**
 * The source for a serve invocation, made once per options object. In database mode `file` is the
 * node-local config file ('' for none). Opening it connects nothing: the database is first used by
 * first()/read()/watch(), which workers never call.
 */
export function configSource(opts: { file: string; watch: boolean; database?: DatabaseServeOptions }, logger?: Logger): ConfigSource {
  let s = sources.get(opts);
  if (s === undefined) {
    s = opts.database ? new (postgresSource().PostgresConfigSource)({ ...opts.database, localFile: opts.file || undefined, logger }) : fileSource(opts.file, opts.watch);
    sources.set(opts, s);
  }
  return s;
}
