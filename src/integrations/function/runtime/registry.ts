/**
 * FunctionRegistry: shares one FunctionPool per distinct function spec across config versions
 * (refcounted: a pool closes when the last config that uses it is retired), and in watch mode
 * reloads pools whose handler directories change.
 *
 * The gateway puts the handler file's content hash in the spec (`codeHash`), so an edited handler is
 * a new spec: the next config version gets a fresh pool that imports the new code, and requests still
 * running on the previous version finish on the old pool, which closes with it. The directory watch is
 * then only for what the config does not read: sibling modules a handler imports.
 */
import { type FSWatcher, watch as fsWatch } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { FunctionPool } from './pool.js';
import type { FunctionPoolOptions, FunctionSpec } from './types.js';

interface Entry {
  key: string;
  pool: FunctionPool;
  refs: number;
  dir: string;
  reloadTimer: NodeJS.Timeout | undefined;
}

/** Files whose change in a function's code folder reloads it (the handler and its sibling modules). */
const WATCHED_EXT = new Set(['.js', '.mjs', '.cjs', '.json', '.py']);
const DEBOUNCE_MS = 100;

function specKey(spec: FunctionSpec): string {
  const env = Object.entries(spec.environment ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const { environment: _env, ...rest } = spec;
  const fields = Object.entries(rest)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([fields, env]);
}

export class FunctionRegistry {
  readonly #opts: FunctionPoolOptions;
  readonly #byKey = new Map<string, Entry>();
  readonly #byPool = new Map<FunctionPool, Entry>();
  readonly #watchers = new Map<string, FSWatcher>();
  readonly #closing = new Set<Promise<void>>();
  #watching = false;

  constructor(opts: FunctionPoolOptions = {}) {
    this.#opts = opts;
  }

  /** The pool for `spec`, shared with every other user of an identical spec; pair each get() with a release(). */
  get(spec: FunctionSpec): FunctionPool {
    const key = specKey(spec);
    let entry = this.#byKey.get(key);
    if (!entry) {
      const pool = new FunctionPool(spec, this.#opts);
      entry = { key, pool, refs: 0, dir: spec.module === spec.codeDir ? spec.module : dirname(spec.module), reloadTimer: undefined };
      this.#byKey.set(key, entry);
      this.#byPool.set(pool, entry);
      if (this.#watching) this.#watchDir(entry.dir);
    }
    entry.refs++;
    return entry.pool;
  }

  /** Drops one reference; the last one closes the pool (running invocations are cut off, so release after they end). */
  release(pool: FunctionPool): void {
    const entry = this.#byPool.get(pool);
    if (!entry) return;
    if (--entry.refs > 0) return;
    this.#byKey.delete(entry.key);
    this.#byPool.delete(pool);
    if (entry.reloadTimer) clearTimeout(entry.reloadTimer);
    this.#track(pool.close());
    if (![...this.#byPool.values()].some((e) => e.dir === entry.dir)) this.#unwatchDir(entry.dir);
  }

  /** Watch mode: a change to a .js/.mjs/.cjs/.json file in a handler's directory reloads the pools of that directory. */
  watch(enabled: boolean): void {
    if (enabled === this.#watching) return;
    this.#watching = enabled;
    if (enabled) for (const e of this.#byPool.values()) this.#watchDir(e.dir);
    else for (const dir of [...this.#watchers.keys()]) this.#unwatchDir(dir);
  }

  get size(): number {
    return this.#byPool.size;
  }

  async closeAll(): Promise<void> {
    this.watch(false);
    for (const e of this.#byPool.values()) {
      if (e.reloadTimer) clearTimeout(e.reloadTimer);
      this.#track(e.pool.close());
    }
    this.#byKey.clear();
    this.#byPool.clear();
    await Promise.all([...this.#closing]);
  }

  #track(p: Promise<void>): void {
    const q = p.catch(() => {}).finally(() => this.#closing.delete(q));
    this.#closing.add(q);
  }

  #watchDir(dir: string): void {
    if (this.#watchers.has(dir)) return;
    let w: FSWatcher;
    try {
      w = fsWatch(dir, { persistent: false }, (_event, filename) => this.#changed(dir, filename ? String(filename) : null));
    } catch {
      return; // a missing directory: the pool reports load errors; nothing to watch
    }
    w.on('error', () => this.#unwatchDir(dir));
    this.#watchers.set(dir, w);
  }

  #unwatchDir(dir: string): void {
    this.#watchers.get(dir)?.close();
    this.#watchers.delete(dir);
  }

  #changed(dir: string, filename: string | null): void {
    // A provided runtime's `bootstrap` has no extension.
    if (filename !== null && !WATCHED_EXT.has(extname(filename)) && filename !== 'bootstrap') return;
    for (const e of this.#byPool.values()) {
      if (e.dir !== dir) continue;
      // The handler file itself, in a spec made with its content hash: the config reload gives a fresh pool.
      if (filename !== null && e.pool.spec.codeHash !== undefined && filename === basename(e.pool.spec.module)) continue;
      if (e.reloadTimer) clearTimeout(e.reloadTimer);
      e.reloadTimer = setTimeout(() => {
        e.reloadTimer = undefined;
        void e.pool.reload();
      }, DEBOUNCE_MS);
      e.reloadTimer.unref();
    }
  }
}
