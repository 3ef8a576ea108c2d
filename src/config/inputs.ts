/**
 * Every input of one config version, read before compile (issue 10: "Sources yield {documents,
 * version}; compile does no I/O"). DESIGN.md and docs/architecture.md, "Config lifecycle":
 *
 *   source text -> parse -> collectInputs (the only disk reads) -> validate -> TLS + compile (no I/O) -> swap
 *
 * A ConfigInputs is immutable: the main document's text and, for every file the config names, its
 * bytes or that it is missing or unreadable:
 * - a referenced OpenAPI document (`apis[].openapi`; a bare AWS document is its own);
 * - the TLS files of `server.tls` (certificates, keys, client CA) and of `upstreams.*.tls.ca`;
 * - functions named as Lambda names them (`runtime`, `handler`, `codeUri`): every file the runtime seam
 *   looks at to locate the code (src/integrations/function/runtime/locate.ts: the handler's candidates,
 *   package.json files, a `provided` bootstrap with its execute bit), recorded while it looks;
 * - function modules: `functions.*.module`, and the `functions/` directory beside each OpenAPI
 *   document, listed (the names of its .mjs/.js/.cjs files) with the content of each such file. The
 *   importer decides which names it probes (functions/NAME.mjs, then .js, then .cjs: findFunctionModule
 *   in src/aws) while it compiles; answering those probes from the listing keeps that decision where it
 *   is and still sees a `.js` renamed to `.cjs`, or a handler created later, as a new version.
 *
 * Its version is a hash over all of it, so an edit to any input is a new version, decided before
 * anything is compiled. `recheck(text)` reads the same inputs again (no parse: which files a config
 * names depends only on its main text), which is how a reload that finds nothing new skips the parse too.
 *
 * Compile asks only through the InputReader methods; a path nobody collected answers as missing
 * (`exists`) or throws ENOTINPUT (`readFile`): compile then reports it, it never falls back to the disk.
 * Synchronous on purpose: these files are small, and a worker given only the text by its primary
 * collects them inside a synchronous load.
 */
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, extname, join, resolve } from 'node:path';
import { type FunctionCode, type LocateIO, locateFunction } from '../integrations/function/runtime/locate.js';
import type { SourceDocument } from './load.js';

/** What compile and the TLS loader may ask of a config version's inputs. */
export interface InputReader {
  /** The file's bytes; throws an error with `code` (ENOENT, EACCES... or ENOTINPUT) when it has none. */
  readFile(path: string): Buffer;
  readText(path: string): string;
  /** As existsSync would have answered when the inputs were collected. */
  exists(path: string): boolean;
  /** `sha256:<hex>` for a file found, `absent`, `error:<code>`; undefined when it is not an input. */
  stateOf(path: string): string | undefined;
  /** Whether a looked-up file was executable (a `provided` function's bootstrap); undefined when not known. */
  executable?(path: string): boolean | undefined;
}

/** A config version's inputs: what compile reads, the version over them, and the paths to watch. */
export interface ConfigInputs extends InputReader {
  /** Absolute paths of every input file (read or looked up; the main document excluded: its source watches it). A fresh array. */
  readonly files: string[];
  /** Directories listed for function modules by convention (watched for files appearing in them). A fresh array. */
  readonly directories: string[];
  /** 12 hex digits over the main document and every input. */
  version(): string;
  /** The same inputs read again now, with `text` as the main document: equal versions, nothing changed. */
  recheck(text: string): ConfigInputs;
  /** The same inputs without their contents (what a served version keeps: enough for version, files and recheck). */
  withoutContent(): ConfigInputs;
}

/** The extensions a function module may have (probed in this order by findFunctionModule). */
export const MODULE_EXTENSIONS: readonly string[] = ['.mjs', '.js', '.cjs'];
/** A file name a function module may have (what a listed directory's watch looks for). */
export const isModuleName = (name: string): boolean => MODULE_EXTENSIONS.includes(extname(name));

/**
 * How an input was taken: read (content needed), probe (existence matters, content hashed), the main
 * document, a directory listing, a file found by a listing (recheck lists again rather than replaying
 * it: a file gone from the directory is no input any more), or given in memory.
 */
type Kind = 'read' | 'probe' | 'self' | 'listing' | 'listed' | 'memory';

interface Entry {
  readonly kind: Kind;
  /** `sha256:<hex>`, `absent` (a probe or listing found nothing), `error:<code>`, or `names:<hex>` for a listing. */
  readonly state: string;
  readonly bytes?: Buffer;
  /** A file found with an execute bit (part of the version: a chmod is a change). */
  readonly exec?: boolean;
}

/** Key of the main document among paths (never an absolute path, sorts first): the same key the version always had. */
const DOCUMENT = '\0document';
/** Suffix of a listing's key, so it never collides with the directory read as a file. */
const LISTING = '\0listing';

class Snapshot implements ConfigInputs {
  readonly #entries: ReadonlyMap<string, Entry>;
  readonly #version: string;
  readonly #files: readonly string[];
  readonly #directories: readonly string[];

  constructor(entries: Map<string, Entry>) {
    this.#entries = entries;
    const lines = [...entries].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, e]) => `${k}\0${e.state}${e.exec ? '\0x' : ''}\n`);
    this.#version = createHash('sha256').update(lines.join('')).digest('hex').slice(0, 12);
    const keys = [...entries.keys()];
    this.#files = keys.filter((k) => k !== DOCUMENT && !k.endsWith(LISTING));
    this.#directories = keys.filter((k) => k.endsWith(LISTING)).map((k) => k.slice(0, -LISTING.length));
    Object.freeze(this);
  }

  get files(): string[] {
    return [...this.#files];
  }

  get directories(): string[] {
    return [...this.#directories];
  }

  readFile(path: string): Buffer {
    const abs = resolve(path);
    const e = this.#entries.get(abs);
    if (e?.bytes !== undefined) return Buffer.from(e.bytes); // a copy: the snapshot stays as collected
    // Not collected, or its contents not kept (a served version's inputs): never the disk instead.
    const code = e?.state === 'absent' ? 'ENOENT' : e?.state.startsWith('error:') ? e.state.slice('error:'.length) : 'ENOTINPUT';
    throw inputError(abs, code);
  }

  readText(path: string): string {
    return this.readFile(path).toString('utf8');
  }

  exists(path: string): boolean {
    const e = this.#entries.get(resolve(path));
    return e !== undefined && e.state !== 'absent';
  }

  stateOf(path: string): string | undefined {
    return this.#entries.get(resolve(path))?.state;
  }

  executable(path: string): boolean | undefined {
    const e = this.#entries.get(resolve(path));
    return e === undefined || e.state === 'absent' ? undefined : e.exec === true;
  }

  version(): string {
    return this.#version;
  }

  withoutContent(): ConfigInputs {
    const lean = new Map<string, Entry>();
    for (const [key, e] of this.#entries) lean.set(key, { kind: e.kind, state: e.state, ...(e.exec ? { exec: true } : {}) });
    return new Snapshot(lean);
  }

  recheck(text: string): ConfigInputs {
    const again = new Map<string, Entry>([[DOCUMENT, { kind: 'self', state: digest(text) }]]);
    for (const [key, e] of this.#entries) {
      if (key === DOCUMENT) continue;
      if (e.kind === 'memory') again.set(key, e); // no disk to read it from again
      else if (e.kind === 'listing') listInto(again, key.slice(0, -LISTING.length));
      else if ((e.kind === 'read' || e.kind === 'probe') && !again.has(key)) again.set(key, readEntry(key, e.kind));
    }
    return new Snapshot(again);
  }
}

/**
 * Reads every file `doc` names (the I/O step of a load). Only path-valued keys are looked at, and any
 * other shape is skipped: validation reports it with its position, and compile then never asks for it.
 */
export function collectInputs(doc: SourceDocument): ConfigInputs {
  const entries = new Map<string, Entry>([[DOCUMENT, { kind: 'self', state: digest(doc.text) }]]);
  const base = dirname(resolve(doc.file));
  const read = (p: unknown, kind: 'read' | 'probe' = 'read') => {
    if (typeof p !== 'string' || p === '') return;
    const abs = resolve(base, p);
    if (!entries.has(abs)) entries.set(abs, readEntry(abs, kind));
  };
  const openapi = (abs: string) => listInto(entries, join(dirname(abs), 'functions'));

  const data = doc.data as Record<string, unknown> | null | undefined;
  if (isObject(data) && ('openapi' in data || 'swagger' in data)) {
    // A bare AWS document is served as one API whose `openapi` is the file itself (validateDocument):
    // compile reads that file as it would any referenced document.
    const abs = resolve(doc.file);
    read(abs);
    openapi(abs);
    return new Snapshot(entries);
  }
  if (!isObject(data)) return new Snapshot(entries);

  // server.tls (src/server/tls.ts): relative to the config file.
  const tls = isObject(data.server) ? data.server.tls : undefined;
  if (isObject(tls)) {
    read(tls.clientCa);
    const certs = [...(Array.isArray(tls.certificates) ? tls.certificates : []), tls.default];
    for (const c of certs) {
      if (!isObject(c)) continue;
      read(c.cert);
      read(c.key);
    }
  }
  // upstreams.*.tls.ca (src/upstream/upstream.ts).
  for (const u of values(data.upstreams)) if (isObject(u) && isObject(u.tls)) read(u.tls.ca);
  // functions.*.module: looked up (compile reports a missing handler), its content keys the function's pool.
  // A function's code is located by the runtime seam: every file it looks at (the handler's candidates,
  // package.json files, a bootstrap's execute bit) is an input, so compile's second run sees the same.
  for (const f of values(data.functions)) {
    if (!isObject(f) || f.endpoint !== undefined) continue;
    read(f.module, 'probe');
    if (f.module === undefined && f.handler === undefined) continue;
    try {
      locateFunction(f as FunctionCode, base, diskProbe(entries));
    } catch {
      // a shape validation refuses (e.g. layers not an array): compile never gets here with it
    }
  }
  // apis[].openapi, and the handlers found by convention beside each document.
  for (const api of Array.isArray(data.apis) ? data.apis : []) {
    if (!isObject(api) || typeof api.openapi !== 'string' || api.openapi === '') continue;
    read(api.openapi);
    openapi(resolve(base, api.openapi));
  }
  return new Snapshot(entries);
}

/**
 * Inputs held in memory, read from no disk: an embedder's or a test's. `files` maps a path (absolute,
 * or relative to the working directory) to its content, or to null for a file that is known to be absent.
 */
export function memoryInputs(text: string, files: Readonly<Record<string, string | Buffer | null>> = {}): ConfigInputs {
  const entries = new Map<string, Entry>([[DOCUMENT, { kind: 'self', state: digest(text) }]]);
  for (const [path, content] of Object.entries(files)) {
    const bytes = content === null ? undefined : Buffer.from(content);
    entries.set(resolve(path), bytes === undefined ? { kind: 'memory', state: 'absent' } : { kind: 'memory', state: digest(bytes), bytes });
  }
  return new Snapshot(entries);
}

/** Locate's questions answered from the disk, each file asked about recorded as a probe. */
function diskProbe(entries: Map<string, Entry>): LocateIO {
  const probe = (p: string): Entry => {
    const abs = resolve(p);
    let e = entries.get(abs);
    if (e === undefined) {
      e = readEntry(abs, 'probe');
      entries.set(abs, e);
    }
    return e;
  };
  return {
    exists: (p) => probe(p).state !== 'absent',
    readText: (p) => probe(p).bytes?.toString('utf8'),
    executable: (p) => {
      const e = probe(p);
      return e.state === 'absent' ? undefined : e.exec === true;
    },
  };
}

function readEntry(abs: string, kind: 'read' | 'probe'): Entry {
  try {
    const bytes = readFileSync(abs);
    let exec = false;
    try {
      exec = (statSync(abs).mode & 0o111) !== 0;
    } catch {
      // gone between the read and the stat: the next version sees it
    }
    return { kind, state: digest(bytes), bytes, ...(exec ? { exec } : {}) };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    // existsSync's answer: a missing file (or a path through a missing directory) is absent; anything else exists.
    return { kind, state: code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : `error:${code}` };
  }
}

/** Lists `dir` for module files and reads each (the listing and every candidate are inputs). */
function listInto(entries: Map<string, Entry>, dir: string): void {
  const key = dir + LISTING;
  if (entries.has(key)) return;
  let names: string[];
  try {
    names = readdirSync(dir).filter(isModuleName).sort();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'EIO';
    entries.set(key, { kind: 'listing', state: code === 'ENOENT' || code === 'ENOTDIR' ? 'absent' : `error:${code}` });
    return;
  }
  entries.set(key, { kind: 'listing', state: `names:${createHash('sha256').update(names.join('\0')).digest('hex')}` });
  for (const name of names) {
    const abs = join(dir, name);
    if (!entries.has(abs)) entries.set(abs, { ...readEntry(abs, 'probe'), kind: 'listed' });
  }
}

function inputError(abs: string, code: string): NodeJS.ErrnoException {
  const why = code === 'ENOTINPUT' ? 'not an input of this config version' : code;
  const e = new Error(`${code}: ${why}, ${abs}`) as NodeJS.ErrnoException;
  e.code = code;
  e.path = abs;
  return e;
}

function digest(data: string | Buffer): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function values(v: unknown): unknown[] {
  return isObject(v) ? Object.values(v) : [];
}
