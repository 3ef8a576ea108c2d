/**
 * The configuration in PostgreSQL (cluster mode): one row per entity (src/cluster/entities.ts),
 * one version for the whole config. Schema and its reasons: src/cluster/migrations.ts.
 *
 * Every write is one transaction that
 *   1. locks the state row (writers on every node queue here, so no write is checked against a
 *      config another node is changing at the same moment),
 *   2. reads every entity, applies the change in memory and assembles the whole document,
 *   3. runs the injected ConfigCheck (validate + compile, as a file reload does): a rejected change
 *      throws its ConfigError and the transaction is rolled back, nothing written,
 *   4. writes; the entities trigger bumps the version and NOTIFYs `turnpike_config` (delivered on commit).
 * A write that changes nothing (same body, same document) is not written and does not bump the version.
 * If-Match / If-None-Match (Preconditions) are checked in step 2, under the lock, against the rows
 * just read, so a precondition and the write it guards are atomic for writers on every node.
 */
import { ConfigError } from '../config/diagnostics.js';
import { type Sql, openDatabase, toStoreError, withTimeout, type DbOptions } from './db.js';
import {
  type ConfigCheck,
  type ConfigStore,
  ENTITY_KINDS,
  EntityConflictError,
  type EntityKind,
  type EntityRecord,
  type Preconditions,
  assembleConfig,
  checkPreconditions,
  splitConfig,
} from './entities.js';

interface Row {
  kind: EntityKind;
  parent: string;
  key: string;
  body: Record<string, unknown>;
  position: string | number;
  created_at: Date;
  updated_at: Date;
}

export interface PostgresStoreOptions extends DbOptions {
  /** Client-side bound on any store call (the server-side statement timeout covers single statements). */
  operationTimeoutMs?: number;
}

/** Field of a body that must agree with its key (the key wins when the field is absent). */
const IDENTITY_FIELD: Partial<Record<EntityKind, string>> = { apis: 'name', routes: 'name', apiKeys: 'id' };

/** A request that cannot be stored, reported like a config problem so callers answer it as one (400). */
function invalid(path: string, message: string): ConfigError {
  return new ConfigError([{ file: 'request', line: 0, column: 0, path, message, severity: 'error' }]);
}

function toRecord(r: Row): EntityRecord {
  return {
    kind: r.kind,
    parent: r.parent,
    key: r.key,
    body: r.body,
    position: Number(r.position),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
  };
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export class PostgresConfigStore implements ConfigStore {
  readonly backend = 'postgres' as const;
  readonly writable = true;
  readonly #sql: Sql;
  readonly #check: ConfigCheck;
  readonly #timeoutMs: number;
  readonly #ownsSql: boolean;

  /** `sql` from openDatabase (shared with the caller), or a URL to open a pool of its own. */
  constructor(sql: Sql | string, check: ConfigCheck, opts: PostgresStoreOptions = {}) {
    this.#ownsSql = typeof sql === 'string';
    this.#sql = typeof sql === 'string' ? openDatabase(sql, opts) : sql;
    this.#check = check;
    this.#timeoutMs = opts.operationTimeoutMs ?? 15_000;
  }

  get sql(): Sql {
    return this.#sql;
  }

  async close(): Promise<void> {
    if (this.#ownsSql) await this.#sql.end({ timeout: 1 });
  }

  async #run<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await withTimeout(fn(), this.#timeoutMs, what);
    } catch (err) {
      const e = err as { code?: string };
      // 42P01 undefined_table: the database exists but was never migrated.
      if (e?.code === '42P01') throw new Error('the configuration database has no Turnpike schema: run `turnpike migrate --database URL`', { cause: err });
      throw toStoreError(err, what);
    }
  }

  async version(): Promise<string> {
    return this.#run('version', async () => {
      const [s] = await this.#sql<{ version: string }[]>`select version from turnpike_config_state where id = 1`;
      return String(s?.version ?? '0');
    });
  }

  async list(kind: EntityKind, parent?: string): Promise<EntityRecord[]> {
    return this.#run('list', async () => {
      const rows =
        parent === undefined
          ? await this.#sql<Row[]>`select * from turnpike_entities where kind = ${kind} order by position`
          : await this.#sql<Row[]>`select * from turnpike_entities where kind = ${kind} and parent = ${parent} order by position`;
      return rows.map(toRecord);
    });
  }

  async get(kind: EntityKind, key: string, parent = ''): Promise<EntityRecord | undefined> {
    return this.#run('get', async () => {
      const [row] = await this.#sql<Row[]>`select * from turnpike_entities where kind = ${kind} and parent = ${parent} and key = ${key}`;
      return row === undefined ? undefined : toRecord(row);
    });
  }

  async snapshot(): Promise<{ version: string; document: Record<string, unknown> }> {
    return this.#run('snapshot', async () => {
      // One consistent view: the version and the rows it stands for.
      const [version, rows] = (await this.#sql.begin('isolation level repeatable read read only', async (tx) => {
        const [s] = await tx<{ version: string }[]>`select version from turnpike_config_state where id = 1`;
        const r = await tx<Row[]>`select * from turnpike_entities order by position`;
        return [String(s?.version ?? '0'), r];
      })) as unknown as [string, Row[]];
      return { version, document: assembleConfig(rows.map(toRecord)) };
    });
  }

  async put(
    kind: EntityKind,
    key: string,
    body: Record<string, unknown>,
    opts: { parent?: string; createOnly?: boolean } & Preconditions = {},
  ): Promise<{ record: EntityRecord; created: boolean; version: string }> {
    const parent = kind === 'routes' ? (opts.parent ?? '') : '';
    const stored = normalizeBody(kind, key, parent, body);
    return this.#write('put', async (records, tx) => {
      if (kind === 'routes' && !records.some((r) => r.kind === 'apis' && r.key === parent)) {
        throw invalid(`apis.${parent}`, `unknown API "${parent}"; create the API before its routes`);
      }
      const existing = records.find((r) => r.kind === kind && r.parent === parent && r.key === key);
      // Under the state-row lock: a writer on another node that changed the entity has committed (or
      // waits behind us), so two writers sending the same If-Match cannot both pass.
      checkPreconditions(kind, key, existing, opts);
      if (existing !== undefined && opts.createOnly) throw new EntityConflictError(`${kind} "${key}" already exists`);
      if (existing !== undefined && same(existing.body, stored)) return { changed: false, result: { record: existing, created: false } };
      const maxPos = records.reduce((m, r) => Math.max(m, r.position ?? 0), 0);
      const next =
        existing === undefined
          ? [...records, { kind, parent, key, body: stored, position: maxPos + 1 }]
          : records.map((r) => (r === existing ? { ...r, body: stored } : r));
      await this.#check(assembleConfig(next));
      const [row] = await tx<Row[]>`
        insert into turnpike_entities (kind, parent, key, body) values (${kind}, ${parent}, ${key}, ${stored as never})
        on conflict (kind, parent, key) do update set body = excluded.body, updated_at = now()
        returning *`;
      return { changed: true, result: { record: toRecord(row as Row), created: existing === undefined } };
    });
  }

  async delete(kind: EntityKind, key: string, parent = '', cond?: Preconditions): Promise<{ version: string } | undefined> {
    const p = kind === 'routes' ? parent : '';
    const out = await this.#write('delete', async (records, tx) => {
      const existing = records.find((r) => r.kind === kind && r.parent === p && r.key === key);
      checkPreconditions(kind, key, existing, cond);
      if (existing === undefined) return { changed: false, result: { found: false } };
      // An API's routes go with it: a route without its API could never be served.
      const gone = (r: EntityRecord) => r === existing || (kind === 'apis' && r.kind === 'routes' && r.parent === key);
      await this.#check(assembleConfig(records.filter((r) => !gone(r))));
      if (kind === 'apis') await tx`delete from turnpike_entities where (kind = 'apis' and key = ${key}) or (kind = 'routes' and parent = ${key})`;
      else await tx`delete from turnpike_entities where kind = ${kind} and parent = ${p} and key = ${key}`;
      return { changed: true, result: { found: true } };
    });
    return out.found ? { version: out.version } : undefined;
  }

  /**
   * Replaces the whole config with a document (raw: `${VAR}` placeholders as written), checked as
   * one change: `turnpike import`. Importing what is already stored changes nothing (same version).
   */
  async replaceAll(document: Record<string, unknown>): Promise<{ version: string; changed: boolean; entities: number }> {
    const incoming = splitConfig(document);
    return this.#write('replace', async (records, tx) => {
      const next = assembleConfig(incoming);
      if (same(assembleConfig(records), next)) return { changed: false, result: { entities: records.length } };
      await this.#check(next);
      await tx`delete from turnpike_entities`;
      if (incoming.length > 0) {
        const rows = incoming.map((r) => ({ kind: r.kind, parent: r.parent, key: r.key, body: r.body }));
        // One multi-row INSERT: the identity column numbers rows in document order. Bodies go as
        // objects: the server types the parameter json and postgres.js serialises it once.
        await tx`insert into turnpike_entities ${tx(rows as never, 'kind', 'parent', 'key', 'body')}`;
      }
      return { changed: true, result: { entities: incoming.length } };
    });
  }

  async #write<R extends object>(
    what: string,
    apply: (records: EntityRecord[], tx: Sql) => Promise<{ changed: boolean; result: R }>,
  ): Promise<R & { version: string; changed: boolean }> {
    return this.#run(what, async () => {
      const out = await this.#sql.begin(async (tx) => {
        const [state] = await tx<{ version: string }[]>`select version from turnpike_config_state where id = 1 for update`;
        if (state === undefined) throw new Error('turnpike_config_state has no row: run `turnpike migrate --database URL`');
        const rows = await tx<Row[]>`select * from turnpike_entities order by position`;
        const { changed, result } = await apply(rows.map(toRecord), tx as unknown as Sql);
        if (!changed) return { ...result, changed, version: String(state.version) };
        const [after] = await tx<{ version: string }[]>`select version from turnpike_config_state where id = 1`;
        return { ...result, changed, version: String(after?.version) };
      });
      return out as unknown as R & { version: string; changed: boolean };
    });
  }
}

/** The body as it is stored: identity fields agree with the key; an API's routes are entities of their own. */
function normalizeBody(kind: EntityKind, key: string, parent: string, body: Record<string, unknown>): Record<string, unknown> {
  if (!(ENTITY_KINDS as readonly string[]).includes(kind)) throw invalid('', `unknown entity kind "${kind}"; kinds: ${ENTITY_KINDS.join(', ')}`);
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw invalid(kind, 'the body must be a JSON object');
  if (typeof key !== 'string' || key === '') throw invalid(kind, 'the key must be a non-empty string');
  if (kind === 'settings' && key !== 'server') throw invalid(kind, 'settings has one entity, key "server"');
  if (kind === 'routes' && parent === '') throw invalid('routes', 'a route needs its API (parent)');
  if (kind === 'apis' && 'routes' in body) throw invalid(`apis.${key}.routes`, 'routes are entities of their own: write each under its API, not inside the API body');
  const field = IDENTITY_FIELD[kind];
  if (field === undefined) return body;
  const given = body[field];
  if (given !== undefined && given !== key) {
    throw invalid(`${kind}.${key}.${field}`, `${field} "${String(given)}" differs from the key "${key}" it is written under; they must be the same`);
  }
  // Routes carry their name in the body (it names them in logs and metrics); APIs and keys get theirs from the key when assembled.
  return kind === 'routes' && given === undefined ? { name: key, ...body } : body;
}

