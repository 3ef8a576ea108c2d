/**
 * The ConfigStore of the embedded (file) mode: the Admin API reads the config being served, and refuses
 * writes (the file is the source of truth; editing it reloads the gateway). docs/admin-api.md.
 *
 * What is shown is the document as written, `${VAR}` placeholders included, not the interpolated one:
 * values taken from the environment are usually the secrets (database passwords, JWT secrets), and
 * what an operator edits is the file. It is re-parsed from the text of the config being served (the
 * text the last successful load accepted, not the file on disk, which may be broken or newer), once per
 * version. An AWS OpenAPI document is shown as the one API the gateway serves it as.
 */
import { isOpenApiDocument, validateDocument } from '../config/index.js';
import { parseSource } from '../config/load.js';
import { type ConfigStore, type EntityKind, type EntityRecord, ReadOnlyStoreError, splitConfig } from './entities.js';

export interface ServedConfig {
  /** The config file's path, as given to serve (AWS documents are named after it). */
  file: string;
  /** The text of the config currently served. */
  text: string;
  /** Its version (RouteTable.version). */
  version: string;
}

interface Parsed {
  text: string;
  version: string;
  document: Record<string, unknown>;
  records: EntityRecord[];
}

export class FileConfigStore implements ConfigStore {
  readonly backend = 'file' as const;
  readonly writable = false;
  readonly #served: () => ServedConfig;
  #parsed: Parsed | undefined;

  /** `served` is called on every read, so a hot reload is visible at once. */
  constructor(served: () => ServedConfig) {
    this.#served = served;
  }

  #current(): Parsed {
    const s = this.#served();
    if (this.#parsed !== undefined && this.#parsed.text === s.text && this.#parsed.version === s.version) return this.#parsed;
    const document = rawDocument(s.text, s.file);
    this.#parsed = { text: s.text, version: s.version, document, records: splitConfig(document) };
    return this.#parsed;
  }

  async version(): Promise<string> {
    return this.#served().version;
  }

  async list(kind: EntityKind, parent?: string): Promise<EntityRecord[]> {
    return structuredClone(this.#current().records.filter((r) => r.kind === kind && (parent === undefined || r.parent === parent)));
  }

  async get(kind: EntityKind, key: string, parent?: string): Promise<EntityRecord | undefined> {
    const r = this.#current().records.find((x) => x.kind === kind && x.key === key && x.parent === (parent ?? ''));
    return r === undefined ? undefined : structuredClone(r);
  }

  async put(_kind: EntityKind, _key: string, _body: Record<string, unknown>, _opts?: { parent?: string; createOnly?: boolean }): Promise<never> {
    throw new ReadOnlyStoreError();
  }

  async delete(_kind: EntityKind, _key: string, _parent?: string): Promise<never> {
    throw new ReadOnlyStoreError();
  }

  async snapshot(): Promise<{ version: string; document: Record<string, unknown> }> {
    const p = this.#current();
    return { version: p.version, document: structuredClone(p.document) };
  }
}

/** The served text as a plain document, placeholders left as written. */
export function rawDocument(text: string, file: string): Record<string, unknown> {
  const doc = parseSource(text, file, { interpolate: false });
  // An AWS document's routes come from the document itself; the config it is served as is one API naming it.
  if (isOpenApiDocument(doc.data)) return validateDocument(doc) as unknown as Record<string, unknown>;
  const data = doc.data;
  return data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as Record<string, unknown>) : {};
}
