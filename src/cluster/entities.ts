/**
 * The configuration as a set of entities: what the PostgreSQL config store keeps as rows and what the
 * Admin API creates, reads, replaces and deletes. A whole config document splits into entities and
 * entities assemble back into a document; the document, not the entity, is what is validated and
 * compiled, so a change made through the Admin API is checked exactly as a file edit is (same schema,
 * same messages, same cross-references).
 *
 * Kinds and their keys:
 *   settings    the `server` block                         key 'server' (a singleton)
 *   plugins     one global plugin's config                 key = plugin name
 *   upstreams   one named upstream                         key = upstream name
 *   functions   one Lambda-style function                  key = function name
 *   apis        one API without its routes                 key = API name
 *   routes      one route of an API                        key = route name (or 'METHODS path'), parent = API name
 *   apiKeys     one API key (hash only, never the key)     key = key id
 *   usagePlans  one usage plan                             key = plan name
 */
import { createHash } from 'node:crypto';
import type { ApiConfig, GatewayConfig, RouteConfig } from '../config/schema.js';

export const ENTITY_KINDS = ['settings', 'plugins', 'upstreams', 'functions', 'apis', 'routes', 'apiKeys', 'usagePlans'] as const;
export type EntityKind = (typeof ENTITY_KINDS)[number];

export interface EntityRecord {
  kind: EntityKind;
  /** API name for routes; '' for every other kind. */
  parent: string;
  key: string;
  /** The entity's JSON body, as it appears in a config document (an API without `routes`). */
  body: Record<string, unknown>;
  /** Insertion order: routes and API keys keep the order they were written in. */
  position?: number;
  createdAt?: string;
  updatedAt?: string;
}

/** The key a route is addressed by: its name, or 'METHODS path' as the compiler names unnamed routes. */
export function routeKey(route: Pick<RouteConfig, 'name' | 'methods' | 'path'>): string {
  return route.name ?? `${(route.methods ?? ['ANY']).join(',')} ${route.path}`;
}

/** A document (raw: `${VAR}` placeholders left as written) -> entities, in document order. */
export function splitConfig(config: Partial<GatewayConfig>): EntityRecord[] {
  const out: EntityRecord[] = [];
  const add = (kind: EntityKind, key: string, body: unknown, parent = '') =>
    out.push({ kind, parent, key, body: body as Record<string, unknown>, position: out.length });
  if (config.server !== undefined) add('settings', 'server', config.server);
  for (const [name, cfg] of Object.entries(config.plugins ?? {})) add('plugins', name, cfg);
  for (const [name, cfg] of Object.entries(config.upstreams ?? {})) add('upstreams', name, cfg);
  for (const [name, cfg] of Object.entries(config.functions ?? {})) add('functions', name, cfg);
  for (const api of config.apis ?? []) {
    const { routes, ...rest } = api;
    add('apis', api.name, rest);
    for (const route of routes ?? []) add('routes', routeKey(route), route, api.name);
  }
  for (const key of config.apiKeys ?? []) add('apiKeys', key.id, key);
  for (const [name, plan] of Object.entries(config.usagePlans ?? {})) add('usagePlans', name, plan);
  return out;
}

/**
 * Entities -> a document. Records are taken in `position` order (then key), so the assembled document
 * is deterministic and its version hash only changes when the content does.
 */
export function assembleConfig(records: readonly EntityRecord[]): Record<string, unknown> {
  const sorted = [...records].sort((a, b) => (a.position ?? 0) - (b.position ?? 0) || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const doc: Record<string, unknown> = { version: 1 };
  const map = (name: string) => (doc[name] ??= {}) as Record<string, unknown>;
  const apis: ApiConfig[] = [];
  const byApi = new Map<string, ApiConfig>();
  const orphanRoutes: EntityRecord[] = [];
  for (const r of sorted) {
    switch (r.kind) {
      case 'settings':
        doc.server = r.body;
        break;
      case 'plugins':
        map('plugins')[r.key] = r.body;
        break;
      case 'upstreams':
        map('upstreams')[r.key] = r.body;
        break;
      case 'functions':
        map('functions')[r.key] = r.body;
        break;
      case 'apis': {
        const api = { ...(r.body as unknown as ApiConfig), name: r.key };
        apis.push(api);
        byApi.set(r.key, api);
        break;
      }
      case 'routes':
        orphanRoutes.push(r);
        break;
      case 'apiKeys':
        ((doc.apiKeys ??= []) as unknown[]).push({ ...r.body, id: r.key });
        break;
      case 'usagePlans':
        map('usagePlans')[r.key] = r.body;
        break;
    }
  }
  for (const r of orphanRoutes) {
    const api = byApi.get(r.parent);
    // A route whose API is gone cannot be served; the store deletes routes with their API, so this
    // only happens to a hand-edited database, and the route is left out rather than failing the whole config.
    if (api === undefined) continue;
    (api.routes ??= []).push(r.body as unknown as RouteConfig);
  }
  // An API is created before its first route (each is its own entity), and a native API must have
  // `routes`: an empty list is what the file would say. APIs served from an OpenAPI document have none.
  for (const api of apis) if (api.routes === undefined && (api as { openapi?: unknown }).openapi === undefined) api.routes = [];
  doc.apis = apis;
  return doc;
}

/** The store behind the Admin API and cluster mode. */
export interface ConfigStore {
  readonly backend: 'file' | 'postgres';
  /** false for the embedded (file) mode: the Admin API answers writes with 405 and says to edit the file. */
  readonly writable: boolean;
  /** Current content version (an opaque string that changes with every committed write). */
  version(): Promise<string>;
  /** Every entity of a kind (routes: of one API when parent is given), in position order. */
  list(kind: EntityKind, parent?: string): Promise<EntityRecord[]>;
  get(kind: EntityKind, key: string, parent?: string): Promise<EntityRecord | undefined>;
  /**
   * Creates or replaces one entity. The whole resulting config is validated and compiled with
   * `check` before anything is committed; a rejected change throws the ConfigError and leaves the store unchanged.
   * createOnly: fail with EntityConflictError when the entity exists.
   */
  put(
    kind: EntityKind,
    key: string,
    body: Record<string, unknown>,
    opts?: { parent?: string; createOnly?: boolean } & Preconditions,
  ): Promise<{ record: EntityRecord; created: boolean; version: string }>;
  /**
   * Deletes one entity (an API with its routes), validated like put. undefined when it did not exist
   * (and no precondition was given: `ifMatch` on a missing entity throws PreconditionFailedError).
   */
  delete(kind: EntityKind, key: string, parent?: string, cond?: Preconditions): Promise<{ version: string } | undefined>;
  /** The whole config as a document. */
  snapshot(): Promise<{ version: string; document: Record<string, unknown> }>;
}

/** Validates and compiles a candidate document (throws ConfigError); serve supplies it so the store and a file reload check alike. */
export type ConfigCheck = (document: Record<string, unknown>) => Promise<void>;

export class ReadOnlyStoreError extends Error {
  constructor(message = 'the configuration is file-based: edit the file (it is reloaded on change) or run with --database for a writable Admin API') {
    super(message);
    this.name = 'ReadOnlyStoreError';
  }
}

export class EntityConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntityConflictError';
  }
}

/** The database cannot be reached: reads and writes fail with this; serving goes on with the last good config. */
export class StoreUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StoreUnavailableError';
  }
}

/**
 * An entity's strong ETag (RFC 9110 §8.8.3): the first 128 bits of SHA-256 over its kind, parent, key
 * and stored body, base64url, quoted.
 *
 * Why a content hash and not a per-entity version number: it is derived from the stored row alone, so
 * every node reading one database computes the same tag without a schema change (no version column to
 * migrate, keep in step with hand edits in psql, or bump in the trigger), and the store can compute it
 * inside its write transaction from the rows it has locked. The body is hashed as stored (`json`
 * keeps the key order it was written in), so the tag changes exactly when the representation the API
 * returns changes: a strong validator. The one thing a content hash does not tell apart is A -> B -> A:
 * a client holding the tag of A may then write over the second A. That is not a lost update (it
 * was read from exactly that content), which is all If-Match is for; Kubernetes' resourceVersion would
 * refuse it, at the cost of a counter per row.
 */
export function entityETag(r: Pick<EntityRecord, 'kind' | 'parent' | 'key' | 'body'>): string {
  return strongTag(JSON.stringify([r.kind, r.parent, r.key, r.body]));
}

/** A strong ETag for any representation: a hash of its text. */
export function strongTag(text: string): string {
  return `"${createHash('sha256').update(text).digest().subarray(0, 16).toString('base64url')}"`;
}

/**
 * The ETag of an entity as it stands, or undefined when it does not exist. Unset settings are not
 * missing (every key has its default, GET answers `{}`), so they have the tag of an empty body.
 */
export function currentETag(kind: EntityKind, existing: EntityRecord | undefined): string | undefined {
  if (existing !== undefined) return entityETag(existing);
  return kind === 'settings' ? entityETag({ kind: 'settings', parent: '', key: 'server', body: {} }) : undefined;
}

/** If-Match / If-None-Match (RFC 9110 §13.1.1, §13.1.2): '*' or a list of entity tags as sent (`"x"`, `W/"x"`). */
export interface Preconditions {
  ifMatch?: readonly string[] | '*' | undefined;
  ifNoneMatch?: readonly string[] | '*' | undefined;
}

const opaque = (tag: string) => (tag.startsWith('W/') ? tag.slice(2) : tag);
/** Strong comparison (If-Match): both tags strong and equal. */
export const strongMatch = (tags: readonly string[] | '*', current: string) => tags === '*' || tags.some((t) => !t.startsWith('W/') && t === current);
/** Weak comparison (If-None-Match): the opaque tags are equal, W/ or not. */
export const weakMatch = (tags: readonly string[] | '*', current: string) => tags === '*' || tags.some((t) => opaque(t) === opaque(current));

/** A write's If-Match / If-None-Match did not hold: answered 412 Precondition Failed. */
export class PreconditionFailedError extends Error {
  constructor(
    /** changed: If-Match names other tags; missing: If-Match on an entity that does not exist; exists: If-None-Match matched. */
    readonly reason: 'changed' | 'missing' | 'exists',
    /** The entity's tag now; undefined when it does not exist. */
    readonly currentETag: string | undefined,
    message: string,
  ) {
    super(message);
    this.name = 'PreconditionFailedError';
  }
}

/**
 * Evaluates a write's preconditions against the entity as it stands (RFC 9110 §13.2.2: If-Match
 * first, then If-None-Match, where for a write a match fails). Stores call it inside their write lock,
 * so the comparison and the write are one step for every other writer.
 */
export function checkPreconditions(kind: EntityKind, key: string, existing: EntityRecord | undefined, cond: Preconditions | undefined): void {
  if (cond === undefined) return;
  const current = currentETag(kind, existing);
  const what = `${kind} "${key}"`;
  if (cond.ifMatch !== undefined) {
    if (current === undefined) throw new PreconditionFailedError('missing', undefined, `${what} does not exist (If-Match)`);
    if (!strongMatch(cond.ifMatch, current)) throw new PreconditionFailedError('changed', current, `${what} has changed: its ETag is ${current}`);
  }
  if (cond.ifNoneMatch !== undefined && current !== undefined && weakMatch(cond.ifNoneMatch, current)) {
    throw new PreconditionFailedError('exists', current, `${what} exists (If-None-Match): its ETag is ${current}`);
  }
}
