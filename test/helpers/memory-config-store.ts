/**
 * A writable in-memory ConfigStore: a TEST DOUBLE of the interface in src/cluster/entities.ts, so the
 * Admin API's HTTP layer can be tested without PostgreSQL. It keeps the contract the real store keeps
 * (validate the whole resulting document before committing, createOnly conflicts, If-Match /
 * If-None-Match checked under its lock, an API deleted with its routes, positions kept on replace) and validates with the real machinery (parse, schema, compile), so
 * the error messages tests see are the real ones.
 */
import pino from 'pino';
import {
  assembleConfig,
  type ConfigCheck,
  type ConfigStore,
  EntityConflictError,
  type EntityKind,
  type EntityRecord,
  type Preconditions,
  StoreUnavailableError,
  checkPreconditions,
  splitConfig,
} from '../../src/cluster/entities.js';
import { buildTable, parseConfigText } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';

/** The file name validation errors carry (`admin.json:12:7 upstreams.users...: message`). */
export const CHECK_FILE = 'admin.json';

/** Validates and compiles a document exactly as a config file is: parse, interpolate, schema, compile. */
export function realCheck(): ConfigCheck {
  const logger = pino({ level: 'silent' });
  const metrics = new GatewayMetrics();
  const pools = new PoolRegistry();
  return async (document) => {
    const doc = parseConfigText(`${JSON.stringify(document, null, 2)}\n`, CHECK_FILE);
    const table = buildTable(doc, { logger, metrics, pools });
    await table.close();
  };
}

export class MemoryConfigStore implements ConfigStore {
  // The double stands in for the database-backed store, the only writable backend.
  readonly backend = 'postgres' as const;
  readonly writable = true;
  /** Set to make every call fail as an unreachable database does. */
  unavailable = false;
  /** Delay inside each write, to widen race windows in concurrency tests. */
  writeDelayMs = 0;
  records: EntityRecord[];
  #version = 1;
  #lock: Promise<unknown> = Promise.resolve();
  readonly #check: ConfigCheck;

  constructor(initial: Record<string, unknown> = { apis: [] }, check: ConfigCheck = realCheck()) {
    this.records = splitConfig(initial);
    this.#check = check;
  }

  #up(): void {
    if (this.unavailable) throw new StoreUnavailableError('config store unreachable (test double)');
  }

  #locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#lock.then(fn, fn);
    this.#lock = run.catch(() => undefined);
    return run;
  }

  async version(): Promise<string> {
    this.#up();
    return `v${this.#version}`;
  }

  async list(kind: EntityKind, parent?: string): Promise<EntityRecord[]> {
    this.#up();
    return structuredClone(
      this.records.filter((r) => r.kind === kind && (parent === undefined || r.parent === parent)).sort((a, b) => (a.position ?? 0) - (b.position ?? 0)),
    );
  }

  async get(kind: EntityKind, key: string, parent?: string): Promise<EntityRecord | undefined> {
    this.#up();
    const r = this.records.find((x) => x.kind === kind && x.key === key && x.parent === (parent ?? ''));
    return r === undefined ? undefined : structuredClone(r);
  }

  put(kind: EntityKind, key: string, body: Record<string, unknown>, opts: { parent?: string; createOnly?: boolean } & Preconditions = {}) {
    return this.#locked(async () => {
      this.#up();
      const parent = opts.parent ?? '';
      const i = this.records.findIndex((x) => x.kind === kind && x.key === key && x.parent === parent);
      checkPreconditions(kind, key, this.records[i], opts);
      if (i >= 0 && opts.createOnly) throw new EntityConflictError(`${kind} "${key}" exists already`);
      const position = i >= 0 ? (this.records[i] as EntityRecord).position : Math.max(0, ...this.records.map((r) => (r.position ?? 0) + 1));
      const record: EntityRecord = { kind, parent, key, body: structuredClone(body), position };
      const next = i >= 0 ? this.records.map((r, k) => (k === i ? record : r)) : [...this.records, record];
      if (this.writeDelayMs > 0) await new Promise((r) => setTimeout(r, this.writeDelayMs));
      await this.#check(assembleConfig(next));
      this.records = next;
      this.#version++;
      return { record: structuredClone(record), created: i < 0, version: `v${this.#version}` };
    });
  }

  delete(kind: EntityKind, key: string, parent?: string, cond?: Preconditions) {
    return this.#locked(async () => {
      this.#up();
      const p = parent ?? '';
      checkPreconditions(kind, key, this.records.find((x) => x.kind === kind && x.key === key && x.parent === p), cond);
      if (!this.records.some((x) => x.kind === kind && x.key === key && x.parent === p)) return undefined;
      const next = this.records.filter((x) => !(x.kind === kind && x.key === key && x.parent === p) && !(kind === 'apis' && x.kind === 'routes' && x.parent === key));
      await this.#check(assembleConfig(next));
      this.records = next;
      this.#version++;
      return { version: `v${this.#version}` };
    });
  }

  async snapshot(): Promise<{ version: string; document: Record<string, unknown> }> {
    this.#up();
    return { version: `v${this.#version}`, document: assembleConfig(this.records) };
  }
}
