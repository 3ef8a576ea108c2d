import { type FSWatcher, type Stats, statSync, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Watches a set of files: the config file, and every input file of a config version
 * (src/config/inputs.ts). Editors save by rename (write temp, rename over), which kills a watch on the
 * file itself, so directories are watched and events are debounced.
 *
 * An event naming a watched file triggers onChange. Any other event in a watched directory triggers
 * it only if a watched file there, followed through symlinks, is now a different file or has changed:
 * that is how a Kubernetes ConfigMap volume updates (`gateway.yaml -> ..data/gateway.yaml`, and
 * `..data` is a symlink swapped atomically), where no event ever names `gateway.yaml`.
 *
 * A file whose directory does not exist (yet) is watched through its nearest existing ancestor, by
 * the name of the missing child (`functions/` appearing beside an AWS document). set() re-resolves
 * that, so callers call it again after each reload with the files of the version now served.
 *
 * A listed directory (src/config/inputs.ts: `functions/` beside an AWS document, whose module files are
 * inputs) is watched itself, for any name `match` accepts: a handler created or renamed there is a
 * change even though no version named that file before. A missing one is watched as a file would be.
 */
export class FilesWatcher {
  readonly #onChange: () => void;
  readonly #debounceMs: number;
  /** Watched directory -> its watcher, the names in it that matter, and whether any name `match` accepts does (a listed directory). */
  readonly #dirs = new Map<string, { watcher: FSWatcher | undefined; names: Set<string>; listed: boolean }>();
  #match: (name: string) => boolean = () => false;
  /** Watched file -> its identity when last looked at. */
  #identities = new Map<string, string>();
  #timer: NodeJS.Timeout | undefined;
  #named = false;
  #closed = false;

  constructor(onChange: () => void, debounceMs = 50) {
    this.#onChange = onChange;
    this.#debounceMs = debounceMs;
  }

  /**
   * Watches exactly these files from now on (absolute or relative to the working directory), and in
   * each of `dirs` that exists, every name `match` accepts.
   */
  set(files: Iterable<string>, dirs: Iterable<string> = [], match: (name: string) => boolean = () => false): void {
    if (this.#closed) return;
    this.#match = match;
    const wanted = new Map<string, Set<string>>();
    const listed = new Set<string>();
    const identities = new Map<string, string>();
    const want = (abs: string) => {
      const { dir, name } = nearestDirectory(abs);
      let names = wanted.get(dir);
      if (names === undefined) wanted.set(dir, (names = new Set()));
      names.add(name);
    };
    for (const f of files) {
      const abs = resolve(f);
      identities.set(abs, this.#identities.get(abs) ?? identity(abs));
      want(abs);
    }
    for (const d of dirs) {
      const abs = resolve(d);
      // Its own name in its parent too: the directory removed or replaced.
      want(abs);
      if (!isDirectory(abs)) continue;
      listed.add(abs);
      if (!wanted.has(abs)) wanted.set(abs, new Set());
    }
    this.#identities = identities;
    for (const [dir, entry] of this.#dirs) {
      if (wanted.has(dir)) continue;
      entry.watcher?.close();
      this.#dirs.delete(dir);
    }
    for (const [dir, names] of wanted) {
      const entry = this.#dirs.get(dir);
      if (entry !== undefined) {
        entry.names = names;
        entry.listed = listed.has(dir);
      } else this.#dirs.set(dir, { watcher: this.#watch(dir), names, listed: listed.has(dir) });
    }
  }

  close(): void {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    for (const e of this.#dirs.values()) e.watcher?.close();
    this.#dirs.clear();
  }

  #watch(dir: string): FSWatcher | undefined {
    try {
      const w = watch(dir, { persistent: false }, (_event, changed) => {
        // null: the platform could not say which entry changed; treat it like a named event.
        const entry = this.#dirs.get(dir);
        if (changed === null || entry?.names.has(String(changed)) || (entry?.listed === true && this.#match(String(changed)))) this.#named = true;
        if (this.#timer) clearTimeout(this.#timer);
        this.#timer = setTimeout(() => this.#fire(), this.#debounceMs);
      });
      w.on('error', () => undefined);
      return w;
    } catch {
      // Watching is best effort (some filesystems lack inotify); SIGHUP still reloads.
      return undefined;
    }
  }

  #fire(): void {
    this.#timer = undefined;
    let changed = this.#named;
    this.#named = false;
    for (const [file, last] of this.#identities) {
      const now = identity(file);
      if (now !== last) {
        this.#identities.set(file, now);
        changed = true;
      }
    }
    if (changed && !this.#closed) this.#onChange();
  }
}

/** Watches one config file (see FilesWatcher); returns stop. */
export function watchFile(file: string, onChange: () => void, debounceMs = 50): () => void {
  const w = new FilesWatcher(onChange, debounceMs);
  w.set([file]);
  return () => w.close();
}

/** The directory to watch for `abs` and the name in it whose events matter. */
function nearestDirectory(abs: string): { dir: string; name: string } {
  let dir = dirname(abs);
  let name = basename(abs);
  while (!isDirectory(dir)) {
    const up = dirname(dir);
    if (up === dir) break;
    name = basename(dir);
    dir = up;
  }
  return { dir, name };
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** What the path resolves to now: device, inode, size and mtime of the target ('' when missing). */
function identity(path: string): string {
  let s: Stats;
  try {
    s = statSync(path);
  } catch {
    return '';
  }
  return `${s.dev}:${s.ino}:${s.size}:${s.mtimeMs}`;
}
