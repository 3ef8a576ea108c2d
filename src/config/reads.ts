/**
 * Every input of one config version, recorded while it is loaded: the main document's text, each file
 * compile and the TLS loader read (a referenced OpenAPI document, certificates, keys, CA files) and
 * each file looked up (a function module, `functions/NAME.{mjs,js,cjs}` beside an AWS document), with
 * what was found: a content hash, or that the file is absent or unreadable.
 *
 * Two things come out of it (DESIGN.md, "Config lifecycle" and "Seams: config source"):
 * - the version: a hash over every input, so an edit to any file the config reads is a new version,
 *   and so is a candidate file appearing where a convention looks for one (`.js` renamed to `.cjs`);
 * - the list of files to watch.
 *
 * `recheck()` replays the same reads against the disk and gives the version they would produce now,
 * without compiling: the set of files a config reads depends only on the contents recorded here, so
 * equal versions mean a full load would build the same table. That is what lets a reload that finds
 * nothing new (a `touch`, an unrelated event) skip the compile.
 *
 * Everything here is synchronous on purpose: compile is synchronous, and these files are small.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** How a file was used: its content read, or only looked up (existence matters, content hashed). */
type Kind = 'read' | 'probe';

interface Entry {
  kind: Kind;
  /** `sha256:<hex>`, `absent` (a probe found nothing) or `error:<code>`. */
  state: string;
}

/** Key of the main document among file paths (never an absolute path, sorts first). */
const DOCUMENT = '\0document';

export class ConfigReads {
  readonly #entries = new Map<string, Entry>();

  /** The main document (a file, or the text the primary or a database gave). */
  document(text: string): void {
    this.#entries.set(DOCUMENT, { kind: 'read', state: digest(text) });
  }

  /** Reads a file, recording its content hash (or the error, which is rethrown). */
  readFile(path: string): Buffer {
    const abs = resolve(path);
    try {
      const buf = readFileSync(abs);
      this.#entries.set(abs, { kind: 'read', state: digest(buf) });
      return buf;
    } catch (err) {
      this.#entries.set(abs, { kind: 'read', state: errorState(err) });
      throw err;
    }
  }

  readText(path: string): string {
    return this.readFile(path).toString('utf8');
  }

  /**
   * Looks a file up: true when it exists (a file someone else loads, e.g. a handler a function worker
   * imports: its content hash is recorded, so an edit is a new version). Recorded either way, so a
   * file appearing later is a new version too.
   */
  exists(path: string): boolean {
    const abs = resolve(path);
    const state = probeState(abs);
    this.#entries.set(abs, { kind: 'probe', state });
    return state !== 'absent';
  }

  /** What was recorded for a file (`sha256:<hex>` when it was read or found), undefined if it was not looked at. */
  stateOf(path: string): string | undefined {
    return this.#entries.get(resolve(path))?.state;
  }

  /** Absolute paths of every file read or looked up (the main document excluded: its source watches it). */
  get files(): string[] {
    return [...this.#entries.keys()].filter((k) => k !== DOCUMENT);
  }

  /** 12 hex digits over every input (the same width the version always had). */
  version(): string {
    const lines = [...this.#entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, e]) => `${k}\0${e.state}\n`);
    return createHash('sha256').update(lines.join('')).digest('hex').slice(0, 12);
  }

  /** The same reads done again now, with `text` as the main document: equal versions, nothing changed. */
  recheck(text: string): ConfigReads {
    const again = new ConfigReads();
    again.document(text);
    for (const [path, e] of this.#entries) {
      if (path === DOCUMENT) continue;
      if (e.kind === 'probe') again.exists(path);
      else {
        try {
          again.readFile(path);
        } catch {
          // recorded as error:<code>
        }
      }
    }
    return again;
  }
}

function digest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function errorState(err: unknown): string {
  return `error:${(err as NodeJS.ErrnoException).code ?? 'EIO'}`;
}

function probeState(abs: string): string {
  try {
    return digest(readFileSync(abs));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // existsSync's answer: a missing file (or a path through a missing directory) is absent; anything else exists.
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : errorState(err);
  }
}
