/**
 * A reader that reads the disk when asked and records what it read: the content hash of each file read,
 * and each file looked up (found, absent or unreadable). It was how a load learned its inputs while
 * compiling; a load now collects them before compile (src/config/inputs.ts, collectInputs) and compile
 * reads nothing. What is left for this class is reading on demand where no load runs: `loadTls(doc)`
 * standing alone (`turnpike validate`, `cluster check`), and callers that built one themselves.
 *
 * `ConfigReads` is also the old name of the type a version's inputs have (ConfigInputs): the type
 * below is that, the value is this reader, which satisfies it.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ConfigInputs } from './inputs.js';

/** How a file was used: its content read, or only looked up (existence matters, content hashed). */
type Kind = 'read' | 'probe';

interface Entry {
  kind: Kind;
  /** `sha256:<hex>`, `absent` (a probe found nothing) or `error:<code>`. */
  state: string;
}

/** Key of the main document among file paths (never an absolute path, sorts first). */
const DOCUMENT = '\0document';

export class DiskReads implements ConfigInputs {
  readonly #entries = new Map<string, Entry>();
  /** Listings are collectInputs' business; this reader only reads and looks up files. */
  get directories(): string[] {
    return [];
  }

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

  /** Keeps no contents: itself. */
  withoutContent(): DiskReads {
    return this;
  }

  /** The same reads done again now, with `text` as the main document: equal versions, nothing changed. */
  recheck(text: string): DiskReads {
    const again = new DiskReads();
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

/** The type of a config version's inputs, by its old name. */
export type ConfigReads = ConfigInputs;
/** The on-demand reader, by its old name (`new ConfigReads()`). */
export const ConfigReads = DiskReads;

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
