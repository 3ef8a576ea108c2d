/**
 * The Admin REST API: create, read, replace, patch and delete every config entity through a
 * `ConfigStore` (docs/admin-api.md). The HTTP layer knows nothing about the backend: the file store
 * (read-only) and the PostgreSQL store answer through the same interface, and every write is validated by
 * the store as a whole document with the file validator, so a rejected change reads exactly like a
 * rejected file edit (`file:line:col key.path: message`).
 *
 * Representations: an entity is sent and returned as it appears in a config document, plus its key for
 * the kinds a document keys by map entry (plugins, upstreams, functions, usage plans carry `name`; the
 * document itself has no place for it, so it is taken off before storing). APIs carry `name` and API keys
 * `id` anyway. A route's key is its `name`, or 'METHODS path' when it has none, as the compiler names it.
 *
 * Optimistic concurrency (RFC 9110 §13): every read answers a strong ETag (an entity's is a hash of its
 * stored row, entityETag(), so every node on one database gives the same one; a collection's or the
 * whole config's is a hash of the answer). Reads honour If-None-Match (304) and If-Match (412); PUT,
 * PATCH and DELETE of an entity honour If-Match and If-None-Match, evaluated by the store under its
 * write lock, so the check and the write are atomic across nodes; a failed one answers 412 with the
 * entity's current ETag. Successful writes answer the new ETag.
 */
import { randomUUID } from 'node:crypto';
import type http from 'node:http';
import type { Logger } from 'pino';
import { stringify as stringifyYaml } from 'yaml';
import {
  type ConfigStore,
  currentETag,
  EntityConflictError,
  entityETag,
  type EntityKind,
  type EntityRecord,
  checkPreconditions,
  type Preconditions,
  PreconditionFailedError,
  ReadOnlyStoreError,
  routeKey,
  StoreUnavailableError,
  strongMatch,
  strongTag,
  weakMatch,
} from '../cluster/entities.js';
import { ConfigError, formatDiagnostic } from '../config/diagnostics.js';
import { ERRORS, type ErrorCode } from '../errors/catalogue.js';
import { generateApiKey, generateKeyId, hashApiKey } from '../security/api-keys.js';
import { AuthFailureGuard, bearerChecker } from './auth.js';
import { BodyError, isJsonContentType, isPlainObject, MAX_BODY_BYTES, mergePatch, parseJson, readBody } from './body.js';
import { buildAdminOpenApi } from './openapi.js';

export interface AdminApiOptions {
  store: ConfigStore;
  /** Bearer token every entity endpoint requires; without one they answer 403 (the API is off). */
  token?: string | undefined;
}

/** A collection addressed by URL, and how its entities carry their key. */
export interface Collection {
  kind: EntityKind;
  /** The body field that holds the key. */
  keyField: 'name' | 'id';
  /** false: the document keys this kind by map entry, so the field is added on the way out and removed on the way in. */
  keyInBody: boolean;
}

export const COLLECTIONS: Readonly<Record<string, Collection>> = {
  plugins: { kind: 'plugins', keyField: 'name', keyInBody: false },
  upstreams: { kind: 'upstreams', keyField: 'name', keyInBody: false },
  functions: { kind: 'functions', keyField: 'name', keyInBody: false },
  apis: { kind: 'apis', keyField: 'name', keyInBody: true },
  'api-keys': { kind: 'apiKeys', keyField: 'id', keyInBody: true },
  'usage-plans': { kind: 'usagePlans', keyField: 'name', keyInBody: false },
};

/** Seconds a client is told to wait when the store is unreachable. */
const RETRY_AFTER_S = 5;
const READ = ['GET', 'HEAD'];
const COLLECTION_METHODS = ['GET', 'HEAD', 'POST'];
const ENTITY_METHODS = ['GET', 'HEAD', 'PUT', 'PATCH', 'DELETE'];
const WRITES = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
/** Read-merge-write rounds a PATCH makes when other writers keep changing the entity under it. */
const PATCH_ROUNDS = 5;

/** An answer the Admin API refuses with: a catalogue code (src/errors) and the detail a person can act on. */
class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly headers: Record<string, string> = {},
    /** More fields of the JSON error body. */
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
    this.status = ERRORS[code].status;
  }
}

type Target =
  | { type: 'config' }
  | { type: 'settings' }
  | { type: 'collection'; col: Collection; name: string }
  | { type: 'entity'; col: Collection; name: string; key: string }
  | { type: 'routes'; api: string }
  | { type: 'route'; api: string; key: string };

export interface AdminApi {
  /** Whether a path belongs to the API (the dispatcher sends everything else to the probe endpoints). */
  handles(path: string): boolean;
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  readonly endpoints: readonly string[];
}

export function createAdminApi(opts: AdminApiOptions, logger: Logger): AdminApi {
  const { store } = opts;
  const checkToken = bearerChecker(opts.token);
  // 10 wrong tokens per address per 60 s (docs/admin-api.md, "Failed-token lockout").
  const guard = new AuthFailureGuard();
  let openapi: string | undefined;
  // Writes through this node go one at a time: a PATCH is read-merge-write, and two concurrent ones
  // must not both start from the same old entity. (Across nodes the store's transactions decide.)
  let writes: Promise<unknown> = Promise.resolve();
  const serialized = <T>(fn: () => Promise<T>): Promise<T> => {
    const run = writes.then(fn, fn);
    writes = run.catch(() => undefined);
    return run;
  };

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const requestId = requestIdOf(req);
    const method = req.method ?? 'GET';
    const send = (status: number, body: unknown, headers: Record<string, string> = {}, type = 'application/json; charset=utf-8') => {
      if (res.headersSent) return;
      const text = body === undefined ? '' : typeof body === 'string' ? body : JSON.stringify(body, null, 2);
      res.writeHead(status, {
        ...(status === 204 || status === 304 ? {} : { 'content-type': type, 'content-length': String(Buffer.byteLength(text)) }),
        'cache-control': 'no-store',
        'x-content-type-options': 'nosniff',
        'x-request-id': requestId,
        ...headers,
      });
      res.end(method === 'HEAD' || status === 204 || status === 304 ? undefined : text);
    };
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const rawPath = q === -1 ? url : url.slice(0, q);
    const query = new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
    try {
      if (rawPath === '/openapi.json') {
        // Public: it describes the API's shape, nothing of the config.
        allow(method, READ);
        openapi ??= JSON.stringify(buildAdminOpenApi(), null, 2);
        return send(200, openapi);
      }
      const target = resolve(rawPath);
      const peer = req.socket.remoteAddress ?? '';
      const wait = guard.blockedFor(peer);
      if (wait > 0) {
        throw new ApiError('THROTTLED', `too many invalid admin tokens from this address: try again in ${wait} s`, { 'retry-after': String(wait) });
      }
      const check = checkToken(req.headers.authorization);
      if (!check.ok && check.reason === 'invalid' && guard.fail(peer)) {
        logger.warn({ requestId, clientIp: peer, limit: guard.limit, windowS: guard.windowMs / 1000 }, 'admin api: too many invalid tokens; refusing this address until its window ends');
      }
      authorize(check);
      const methods = target.type === 'config' ? READ : target.type === 'collection' || target.type === 'routes' ? COLLECTION_METHODS : ENTITY_METHODS;
      allow(method, methods);
      if (WRITES.has(method) && !store.writable) throw new ReadOnlyStoreError();
      const cond = preconditions(req);
      if (method === 'POST' && (cond.ifMatch !== undefined || cond.ifNoneMatch !== undefined)) {
        throw new ApiError(
          'BAD_REQUEST',
          'If-Match and If-None-Match apply to one entity, not to a collection: POST creates only (409 if it exists); PUT the entity with "If-None-Match: *" to create only, or with "If-Match" to replace the version you read',
        );
      }
      const body = WRITES.has(method) && method !== 'DELETE' ? await jsonBody(req) : undefined;
      const out = await (WRITES.has(method) ? serialized(() => dispatch(target, method, body, query, cond)) : dispatch(target, method, body, query, cond));
      if (WRITES.has(method)) {
        logger.info({ requestId, method, path: rawPath, status: out.status, version: out.headers?.['x-config-version'] }, 'admin api: config changed');
      } else if (out.status === 200) {
        // A read: an entity's tag comes from its row; a collection's or /config's is a hash of the answer
        // (which carries the config version, so it changes with any change to the config).
        const etag = out.headers?.etag ?? strongTag(typeof out.body === 'string' ? out.body : JSON.stringify(out.body, null, 2));
        const headers = { ...out.headers, etag };
        if (cond.ifMatch !== undefined && !strongMatch(cond.ifMatch, etag)) {
          throw new ApiError('PRECONDITION_FAILED', `If-Match does not hold: the current ETag is ${etag}`, { etag }, { etag });
        }
        // RFC 9110 §13.1.2: for GET and HEAD a matching If-None-Match answers 304 with the validator.
        if (cond.ifNoneMatch !== undefined && weakMatch(cond.ifNoneMatch, etag)) return send(304, undefined, headers);
        return send(out.status, out.body, headers, out.type);
      }
      return send(out.status, out.body, out.headers, out.type);
    } catch (err) {
      const { status, body, headers } = errorAnswer(err, requestId);
      if (status >= 500 && status !== 503) logger.error({ err, requestId, method, path: rawPath }, 'admin api: request failed');
      // Refused tokens are what a guessing attack looks like; rejected writes are part of the audit trail.
      else if (status === 401 || status === 403) logger.warn({ requestId, method, path: rawPath, status, clientIp: req.socket.remoteAddress }, 'admin api: request refused');
      else if (WRITES.has(method)) logger.info({ requestId, method, path: rawPath, status }, 'admin api: change rejected');
      if (status === 413) {
        // The rest of the body is not read: close the connection once the answer is out.
        res.shouldKeepAlive = false;
        headers.connection = 'close';
      }
      return send(status, body, headers);
    }
  };

  interface Answer {
    status: number;
    body?: unknown;
    headers?: Record<string, string>;
    type?: string;
  }

  const dispatch = async (t: Target, method: string, body: unknown, query: URLSearchParams, cond: Preconditions): Promise<Answer> => {
    switch (t.type) {
      case 'config': {
        const snap = await store.snapshot();
        if (query.get('format') === 'yaml') {
          return { status: 200, body: stringifyYaml(snap.document), headers: { 'x-config-version': snap.version }, type: 'application/yaml; charset=utf-8' };
        }
        return { status: 200, body: { version: snap.version, document: snap.document }, headers: { 'x-config-version': snap.version } };
      }
      case 'settings':
        return entity({ kind: 'settings', parent: undefined, key: 'server', location: '/settings', col: undefined }, method, body, cond);
      case 'collection': {
        if (method === 'POST') {
          const generated = t.col.kind === 'apiKeys' ? prepareNewKey(body) : undefined;
          const { key, body: entityBody } = fromRepresentation(t.col, undefined, generated === undefined ? body : generated.input);
          const r = await store.put(t.col.kind, key, entityBody, { createOnly: true });
          const rep = toRepresentation(t.col, r.record);
          return {
            status: 201,
            body: generated?.key === undefined ? rep : { ...rep, key: generated.key },
            headers: { location: `/${t.name}/${encodeURIComponent(key)}`, 'x-config-version': r.version, etag: entityETag(r.record) },
          };
        }
        const [items, version] = await Promise.all([store.list(t.col.kind), store.version()]);
        return { status: 200, body: { version, items: items.map((r) => toRepresentation(t.col, r)) }, headers: { 'x-config-version': version } };
      }
      case 'entity':
        return entity({ kind: t.col.kind, parent: undefined, key: t.key, location: `/${t.name}/${encodeURIComponent(t.key)}`, col: t.col }, method, body, cond);
      case 'routes': {
        await requireApi(t.api);
        if (method === 'POST') {
          const { key, body: routeBody } = routeFrom(undefined, body);
          const r = await store.put('routes', key, routeBody, { parent: t.api, createOnly: true });
          return { status: 201, body: r.record.body, headers: { location: routeLocation(t.api, key), 'x-config-version': r.version, etag: entityETag(r.record) } };
        }
        const [items, version] = await Promise.all([store.list('routes', t.api), store.version()]);
        return { status: 200, body: { version, items: items.map((r) => r.body) }, headers: { 'x-config-version': version } };
      }
      case 'route':
        await requireApi(t.api);
        return entity({ kind: 'routes', parent: t.api, key: t.key, location: routeLocation(t.api, t.key), col: undefined }, method, body, cond);
    }
  };

  const requireApi = async (api: string) => {
    if ((await store.get('apis', api)) === undefined) throw new ApiError('RESOURCE_NOT_FOUND', `no API named "${api}"`);
  };

  /** GET, PUT, PATCH, DELETE of one entity (settings and routes have their own key rules); a failed precondition answers 412. */
  const entity = async (
    e: { kind: EntityKind; parent: string | undefined; key: string; location: string; col: Collection | undefined },
    method: string,
    body: unknown,
    cond: Preconditions,
  ): Promise<Answer> => {
    try {
      return await entityOnce(e, method, body, cond);
    } catch (err) {
      if (err instanceof PreconditionFailedError) throw preconditionFailed(e, err, cond);
      throw err;
    }
  };

  const entityOnce = async (
    e: { kind: EntityKind; parent: string | undefined; key: string; location: string; col: Collection | undefined },
    method: string,
    body: unknown,
    cond: Preconditions,
  ): Promise<Answer> => {
    const rep = (r: EntityRecord) => (e.col === undefined ? r.body : toRepresentation(e.col, r));
    const from = (input: unknown) =>
      e.kind === 'settings' ? { key: 'server', body: objectBody(input) } : e.kind === 'routes' ? routeFrom(e.key, input) : fromRepresentation(e.col as Collection, e.key, input);
    const putOpts = e.parent === undefined ? {} : { parent: e.parent };
    switch (method) {
      case 'GET':
      case 'HEAD': {
        const r = await store.get(e.kind, e.key, e.parent);
        if (r === undefined) {
          // Unset settings are not missing: every key has its default.
          if (e.kind === 'settings') return { status: 200, body: {}, headers: { 'x-config-version': await store.version(), etag: currentETag('settings', undefined) as string } };
          throw notFound(e);
        }
        return { status: 200, body: rep(r), headers: { 'x-config-version': await store.version(), etag: entityETag(r) } };
      }
      case 'PUT': {
        if (e.kind === 'apiKeys') refusePlaintextKey(body);
        const { key, body: b } = from(body);
        const r = await store.put(e.kind, key, b, { ...putOpts, ...cond });
        return {
          status: r.created ? 201 : 200,
          body: rep(r.record),
          headers: { 'x-config-version': r.version, etag: entityETag(r.record), ...(r.created ? { location: e.location } : {}) },
        };
      }
      case 'PATCH': {
        if (!isPlainObject(body)) throw new ApiError('BAD_REQUEST', 'a merge patch (RFC 7396) must be a JSON object');
        if (e.kind === 'apiKeys') refusePlaintextKey(body);
        // Read, merge, write, with the write conditional on the entity still being what was read
        // (If-Match: its ETag), checked by the store under its write lock. Another node's write in
        // between fails it, and the patch is applied again to the new state, so concurrent patches of
        // one entity never lose an update; with the client's own If-Match the next round answers 412.
        for (let round = 1; ; round++) {
          const current = await store.get(e.kind, e.key, e.parent);
          if (current === undefined && e.kind !== 'settings' && cond.ifMatch === undefined) throw notFound(e);
          const seen = currentETag(e.kind, current);
          checkPreconditions(e.kind, e.key, current, cond);
          const { key, body: b } = from(mergePatch(current === undefined ? {} : rep(current), body));
          try {
            const r = await store.put(e.kind, key, b, { ...putOpts, ifMatch: [seen as string] });
            return { status: 200, body: rep(r.record), headers: { 'x-config-version': r.version, etag: entityETag(r.record) } };
          } catch (err) {
            if (!(err instanceof PreconditionFailedError)) throw err;
            if (round >= PATCH_ROUNDS) throw new ApiError('CONFLICT', `${describe(e)} kept changing while the patch was applied (${PATCH_ROUNDS} tries); retry`);
          }
        }
      }
      case 'DELETE': {
        const r = await store.delete(e.kind, e.key, e.parent, cond);
        if (r === undefined) throw notFound(e);
        return { status: 204, headers: { 'x-config-version': r.version } };
      }
      default:
        throw new ApiError('METHOD_NOT_ALLOWED', 'Method Not Allowed');
    }
  };

  return {
    handles: (path) => {
      if (path === '/openapi.json' || path === '/config' || path === '/settings') return true;
      const first = path.split('/')[1] ?? '';
      return Object.hasOwn(COLLECTIONS, first);
    },
    handle: (req, res) => {
      // handle() answers its own errors; this only catches a failure while answering one.
      handle(req, res).catch((err: unknown) => {
        logger.error({ err }, 'admin api: could not answer');
        res.destroy();
      });
    },
    endpoints: ['/openapi.json', '/config', '/settings', ...Object.keys(COLLECTIONS).map((c) => `/${c}`), '/apis/{name}/routes'],
  };
}

function requestIdOf(req: http.IncomingMessage): string {
  const given = req.headers['x-request-id'];
  // Echo a caller's id so its logs and ours line up; anything odd is replaced, as it would end up in logs.
  return typeof given === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(given) ? given : randomUUID();
}

function allow(method: string, methods: readonly string[]): void {
  if (!methods.includes(method)) throw new ApiError('METHOD_NOT_ALLOWED', `${method} is not allowed here; allowed: ${methods.join(', ')}`, { allow: methods.join(', ') });
}

function authorize(check: ReturnType<ReturnType<typeof bearerChecker>>): void {
  if (check.ok) return;
  if (check.reason === 'not-configured') {
    throw new ApiError(
      'ACCESS_DENIED',
      'the Admin API is disabled because no admin token is configured: set TURNPIKE_ADMIN_TOKEN or start with --admin-token-file PATH, then send "Authorization: Bearer <token>"',
    );
  }
  throw new ApiError(
    'UNAUTHORIZED',
    check.reason === 'missing' ? 'missing admin token: send "Authorization: Bearer <token>"' : 'invalid admin token',
    { 'www-authenticate': check.reason === 'missing' ? 'Bearer realm="turnpike-admin"' : 'Bearer realm="turnpike-admin", error="invalid_token"' },
  );
}

async function jsonBody(req: http.IncomingMessage): Promise<unknown> {
  if (!isJsonContentType(req.headers['content-type'])) {
    throw new BodyError(415, `the body must be JSON: send "content-type: application/json"${req.method === 'PATCH' ? ' or application/merge-patch+json' : ''}`);
  }
  return parseJson(await readBody(req, MAX_BODY_BYTES));
}

/** Splits the path into decoded segments and names what it addresses; 404 for anything else. */
function resolve(rawPath: string): Target {
  let segs: string[];
  try {
    // Segments are decoded one by one, so an encoded slash (route keys hold paths) stays inside its segment.
    segs = rawPath.split('/').slice(1).map(decodeURIComponent);
  } catch {
    throw new ApiError('BAD_REQUEST', 'the path is not valid percent-encoding');
  }
  // A key becomes a property name when the document is assembled; `__proto__` there would set a prototype.
  if (segs.includes('__proto__')) throw new ApiError('BAD_REQUEST', FORBIDDEN_KEY);
  const [first = '', second, third, fourth, ...rest] = segs;
  if (rest.length === 0 && second === undefined) {
    if (first === 'config') return { type: 'config' };
    if (first === 'settings') return { type: 'settings' };
  }
  const col = Object.hasOwn(COLLECTIONS, first) ? COLLECTIONS[first] : undefined;
  if (col !== undefined && rest.length === 0) {
    if (second === undefined) return { type: 'collection', col, name: first };
    if (second !== '') {
      if (third === undefined) return { type: 'entity', col, name: first, key: second };
      if (first === 'apis' && third === 'routes') {
        if (fourth === undefined) return { type: 'routes', api: second };
        if (fourth !== '') return { type: 'route', api: second, key: fourth };
      }
    }
  }
  throw new ApiError('RESOURCE_NOT_FOUND', `no such Admin API resource: ${rawPath} (see /openapi.json)`);
}

function describe(e: { kind: EntityKind; key: string; parent: string | undefined }): string {
  return e.kind === 'routes' ? `route "${e.key}" in API "${e.parent}"` : e.kind === 'settings' ? 'the settings' : `${KIND_NOUN[e.kind]} "${e.key}"`;
}

function notFound(e: { kind: EntityKind; key: string; parent: string | undefined }): ApiError {
  return new ApiError('RESOURCE_NOT_FOUND', `no ${describe(e)}`);
}

/**
 * If-Match and If-None-Match, parsed (RFC 9110 §13.1.1-2: "*" or a comma-separated list of entity
 * tags; repeated header lines arrive joined with ", "). A malformed one is refused with 400 rather
 * than ignored: ignoring an If-Match would turn a guarded write into an unguarded one.
 */
function preconditions(req: http.IncomingMessage): Preconditions {
  const parse = (name: 'if-match' | 'if-none-match'): readonly string[] | '*' | undefined => {
    const raw = req.headers[name];
    if (raw === undefined) return undefined;
    const value = raw.trim();
    if (value === '*') return '*';
    const bad = () =>
      new ApiError('BAD_REQUEST', `${name === 'if-match' ? 'If-Match' : 'If-None-Match'} must be "*" or a comma-separated list of quoted entity tags, exactly as the ETag header gives them (quotes included); got ${JSON.stringify(raw)}`);
    // A tag may itself hold commas, so the list is read tag by tag, not split.
    const item = /[ \t]*((?:W\/)?"[\x21\x23-\x7e\x80-\xff]*")?[ \t]*(,|$)/y;
    const tags: string[] = [];
    for (let i = 0; i < value.length; ) {
      item.lastIndex = i;
      const m = item.exec(value);
      if (m === null || m[0] === '') throw bad();
      if (m[1] !== undefined) tags.push(m[1]);
      i = item.lastIndex;
    }
    if (tags.length === 0) throw new ApiError('BAD_REQUEST', `${name === 'if-match' ? 'If-Match' : 'If-None-Match'} is empty`);
    return tags;
  };
  return { ifMatch: parse('if-match'), ifNoneMatch: parse('if-none-match') };
}

/** A store's PreconditionFailedError as the 412 answer: what failed, and the entity's current ETag (header and body). */
function preconditionFailed(e: { kind: EntityKind; key: string; parent: string | undefined }, err: PreconditionFailedError, cond: Preconditions): ApiError {
  const what = describe(e);
  const tag = err.currentETag;
  const sent = (v: Preconditions['ifMatch']) => (v === '*' ? '*' : (v ?? []).join(', '));
  const message =
    err.reason === 'missing'
      ? `precondition failed: ${what} does not exist (deleted since it was read, or never created), so "If-Match: ${sent(cond.ifMatch)}" cannot hold; nothing was changed`
      : err.reason === 'changed'
        ? `precondition failed: ${what} has changed since it was read (If-Match: ${sent(cond.ifMatch)}); its current ETag is ${tag}. Nothing was changed: GET it again, reapply your change and retry with the new ETag`
        : cond.ifNoneMatch === '*'
          ? `precondition failed: ${what} exists already (If-None-Match: * creates only); its current ETag is ${tag}. Nothing was changed`
          : `precondition failed: ${what} matches If-None-Match (${sent(cond.ifNoneMatch)}); its current ETag is ${tag}. Nothing was changed`;
  return new ApiError('PRECONDITION_FAILED', message, tag === undefined ? {} : { etag: tag }, tag === undefined ? {} : { etag: tag });
}

const KIND_NOUN: Record<EntityKind, string> = {
  settings: 'settings',
  plugins: 'global plugin',
  upstreams: 'upstream',
  functions: 'function',
  apis: 'API',
  routes: 'route',
  apiKeys: 'API key',
  usagePlans: 'usage plan',
};

const FORBIDDEN_KEY = 'the name "__proto__" is not allowed';

function routeLocation(api: string, key: string): string {
  return `/apis/${encodeURIComponent(api)}/routes/${encodeURIComponent(key)}`;
}

function objectBody(input: unknown): Record<string, unknown> {
  if (!isPlainObject(input)) throw new ApiError('BAD_REQUEST', 'the body must be a JSON object');
  return input;
}

export function toRepresentation(col: Collection, r: EntityRecord): Record<string, unknown> {
  return col.keyInBody ? { ...r.body, [col.keyField]: r.key } : { [col.keyField]: r.key, ...r.body };
}

/** Body -> key and stored body. The URL's key, when there is one, wins only if the body agrees with it. */
export function fromRepresentation(col: Collection, urlKey: string | undefined, input: unknown): { key: string; body: Record<string, unknown> } {
  const obj = objectBody(input);
  const given = obj[col.keyField];
  if (given !== undefined && typeof given !== 'string') throw new ApiError('BAD_REQUEST', `"${col.keyField}" must be a string`);
  if (urlKey !== undefined && given !== undefined && given !== urlKey) {
    throw new ApiError('BAD_REQUEST', `"${col.keyField}" in the body ("${given}") does not match the URL ("${urlKey}"); renaming is a POST of the new entity and a DELETE of the old one`);
  }
  const key = urlKey ?? given;
  if (key === undefined || key === '') throw new ApiError('BAD_REQUEST', `"${col.keyField}" is required`);
  if (key === '__proto__') throw new ApiError('BAD_REQUEST', FORBIDDEN_KEY);
  if (col.kind === 'apis' && 'routes' in obj) {
    throw new ApiError('BAD_REQUEST', `an API's routes are entities of their own: manage them under /apis/${encodeURIComponent(key)}/routes`);
  }
  if (col.keyInBody) return { key, body: { ...obj, [col.keyField]: key } };
  const { [col.keyField]: _drop, ...body } = obj;
  return { key, body };
}

/** A route's key: its name, else 'METHODS path' as the compiler names it; undefined when neither can be told. */
function keyOfRoute(obj: Record<string, unknown>): string | undefined {
  if (typeof obj.name === 'string') return obj.name;
  if (typeof obj.path !== 'string') return undefined;
  const m = obj.methods;
  if (m !== undefined && !(Array.isArray(m) && m.every((x) => typeof x === 'string'))) return undefined;
  return routeKey({ path: obj.path, methods: m as string[] | undefined });
}

function routeFrom(urlKey: string | undefined, input: unknown): { key: string; body: Record<string, unknown> } {
  const obj = objectBody(input);
  const key = keyOfRoute(obj);
  if (key === '__proto__') throw new ApiError('BAD_REQUEST', FORBIDDEN_KEY);
  if (urlKey !== undefined && key !== undefined && key !== urlKey) {
    throw new ApiError(
      'BAD_REQUEST',
      typeof obj.name === 'string'
        ? `"name" in the body ("${key}") does not match the URL ("${urlKey}")`
        : `this route has no name, so its key is "METHODS path" ("${key}"), which does not match the URL ("${urlKey}"): give the route a name, or create it under its new key and delete the old one`,
    );
  }
  // Without a computable key the body is invalid anyway; the store's validation says why, in the file's words.
  return { key: urlKey ?? key ?? '(invalid route)', body: obj };
}

function refusePlaintextKey(input: unknown): void {
  if (isPlainObject(input) && 'key' in input) {
    throw new ApiError('BAD_REQUEST', 'plaintext API keys are never accepted: send "hash" (sha256:<hex> of the key), or POST /api-keys without "hash" to have a key generated');
  }
}

/**
 * POST /api-keys: an id is generated when none is given, and without a hash a key is generated as
 * `turnpike keys create` does, to be shown once.
 */
function prepareNewKey(input: unknown): { input: unknown; key?: string } {
  refusePlaintextKey(input);
  if (!isPlainObject(input)) return { input };
  const withId = input.id === undefined ? { id: generateKeyId(), ...input } : input;
  if (input.hash !== undefined) return { input: withId };
  const key = generateApiKey();
  return { key, input: { ...withId, hash: hashApiKey(key), enabled: input.enabled ?? true, createdAt: input.createdAt ?? new Date().toISOString() } };
}

/** Store and body errors -> status, JSON body `{message, code, requestId, ...}` (the gateway's catalogue codes) and headers. */
export function errorAnswer(err: unknown, requestId: string): { status: number; body: Record<string, unknown>; headers: Record<string, string> } {
  const answer = (code: ErrorCode, message: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}) => ({
    status: ERRORS[code].status,
    body: { message, code, requestId, ...extra },
    headers,
  });
  if (err instanceof ApiError) return answer(err.code, err.message, { ...err.headers }, err.extra);
  if (err instanceof BodyError) return answer(BODY_ERROR_CODES[err.status], err.message);
  if (err instanceof ConfigError) {
    const errors = err.diagnostics.map((d) => ({ path: d.path, message: d.message, text: formatDiagnostic(d), ...(d.severity === 'warning' ? { severity: 'warning' } : {}) }));
    return answer('CONFIG_REJECTED', 'the change was rejected: the resulting configuration is invalid', {}, { errors });
  }
  if (err instanceof ReadOnlyStoreError) return answer('CONFIG_READ_ONLY', err.message, { allow: READ.join(', ') });
  if (err instanceof EntityConflictError) return answer('CONFLICT', err.message);
  if (err instanceof PreconditionFailedError) {
    return answer('PRECONDITION_FAILED', err.message, err.currentETag === undefined ? {} : { etag: err.currentETag }, err.currentETag === undefined ? {} : { etag: err.currentETag });
  }
  if (err instanceof StoreUnavailableError) return answer('STORE_UNAVAILABLE', err.message, { 'retry-after': String(RETRY_AFTER_S) });
  return answer('INTERNAL_ERROR', 'internal error; see the gateway log for this requestId');
}

const BODY_ERROR_CODES = { 400: 'BAD_REQUEST_BODY', 413: 'BODY_TOO_LARGE', 415: 'UNSUPPORTED_MEDIA_TYPE' } as const satisfies Record<BodyError['status'], ErrorCode>;
