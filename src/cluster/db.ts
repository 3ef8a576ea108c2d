/**
 * One way to open the configuration database, and one way to tell "the database is not there"
 * (StoreUnavailableError: keep serving, retry later) from "the database said no" (a bug or a bad
 * hand edit: surface it).
 */
import { createHash } from 'node:crypto';
import postgres from 'postgres';
import { StoreUnavailableError } from './entities.js';

export type Sql = postgres.Sql;

export interface DbOptions {
  /** Pool size; the serving node needs few (one snapshot at a time, plus Admin API writes). */
  max?: number;
  /** Seconds; a node must not sit on a dead address for postgres.js's default 30 s. */
  connectTimeoutS?: number;
  /** Milliseconds a statement may run (server side) before it is cancelled. */
  statementTimeoutMs?: number;
  /** Called with each notification on any channel this connection LISTENs to. */
  onnotify?: (channel: string, payload: string) => void;
  /** Called when a connection of this pool closes (the listener uses it to re-LISTEN). */
  onclose?: () => void;
  /** Seconds an idle connection is kept; null = forever (the LISTEN connection must never idle out). */
  idleTimeoutS?: number | null;
}

/**
 * Opens a pool. The URL is libpq-style: `postgres://user:pass@host:port/db?sslmode=require`
 * (`sslmode` require = TLS without certificate checks, verify-full = TLS with them; see docs/cluster.md).
 * Timeouts are short on purpose: callers are a reload loop and Admin API requests, and neither may
 * hang on a database that is gone; `lock_timeout` bounds the wait for the config lock held by
 * another node's write.
 */
export function openDatabase(url: string, opts: DbOptions = {}): Sql {
  const statementTimeout = opts.statementTimeoutMs ?? 5_000;
  return postgres(url, {
    max: opts.max ?? 4,
    connect_timeout: opts.connectTimeoutS ?? 3,
    idle_timeout: opts.idleTimeoutS === undefined ? 60 : opts.idleTimeoutS,
    ...(opts.idleTimeoutS === null ? { max_lifetime: null } : {}),
    // Retry delays are ours (the source backs off itself); postgres.js's own applies per connection.
    backoff: (attempt: number) => Math.min(0.1 * 2 ** attempt, 2),
    fetch_types: false,
    onnotice: () => undefined,
    ...(opts.onnotify ? { onnotify: opts.onnotify } : {}),
    ...(opts.onclose ? { onclose: opts.onclose } : {}),
    connection: {
      application_name: 'turnpike',
      statement_timeout: statementTimeout,
      lock_timeout: statementTimeout,
      idle_in_transaction_session_timeout: statementTimeout * 2,
    },
  } as postgres.Options<Record<string, postgres.PostgresType>>);
}

/** SQLSTATE classes that mean "not reachable now" rather than "wrong": connection, shutdown, resources, timeouts. */
const UNAVAILABLE_SQLSTATE = /^(08|53|57P0|57014|55P03)/;
/** Socket errors and postgres.js's own connection error codes. */
const UNAVAILABLE_CODE = /^(E(CONN\w+|TIMEDOUT|PIPE|HOSTUNREACH|NETUNREACH|NOTFOUND|AI_AGAIN)|CONNECT(ION)?_\w+)$/;

/** Maps connection loss (and server-side timeouts) to StoreUnavailableError; other errors pass through. */
export function toStoreError(err: unknown, what: string): unknown {
  if (err instanceof StoreUnavailableError) return err;
  const e = (err ?? {}) as { code?: unknown; name?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? e.code : '';
  const unavailable = e.name === 'PostgresError' ? UNAVAILABLE_SQLSTATE.test(code) : UNAVAILABLE_CODE.test(code);
  if (!unavailable) return err;
  return new StoreUnavailableError(`configuration database unavailable (${what}): ${String(e.message ?? err)}`, { cause: err });
}

/** The URL without its password, for logs, /ready and error messages. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database URL)';
  }
}

/** A short stable name for this database (host, port, database name), e.g. for the default cache file. */
export function databaseId(url: string): string {
  let id = url;
  try {
    const u = new URL(url);
    id = `${u.hostname}:${u.port || '5432'}${u.pathname}`;
  } catch {
    // keep the whole string
  }
  return createHash('sha256').update(id).digest('hex').slice(0, 12);
}

/** Rejects after ms: a client-side bound for a server that accepted the connection and then went silent. */
export function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreUnavailableError(`configuration database unavailable (${what}): no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
