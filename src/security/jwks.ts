/**
 * JSON Web Key Sets for the jwt plugin: fetched from a JWKS URL (or found through the issuer's
 * OpenID discovery document, as AWS does), cached, refreshed and served stale; or given inline.
 *
 * Rules (docs/jwt.md):
 * - A set is cached for the response's Cache-Control max-age (default 10 minutes, clamped to
 *   5 s .. 2 h: AWS caches an issuer's keys for up to two hours).
 * - When the TTL has passed, the cached keys keep being used while one background refresh runs
 *   (stale-while-revalidate); if the endpoint is down the stale keys stay in use.
 * - A token whose `kid` is unknown may trigger one awaited refresh, at most once per
 *   `minRefreshIntervalMs` (5 s) per source: random `kid`s cannot turn the gateway into a JWKS flooder.
 * - Fetches are bounded (jwksTimeoutMs, default 5 s, for the whole fetch on the shared deadline
 *   queue; body size), never follow anything a token names (`jku`, `x5u`).
 *
 * Remote sources are shared per gateway by URL (and fetch timeout), through `JwksSources`, so the instances
 * of one issuer (one per route config, and every config version across reloads) share one cache and one
 * rate limit.
 */
import { type CryptoKey, type JWK, importJWK, type KeyObject } from 'jose';
import { DEADLINES, type DeadlineLane, type DeadlineQueue, deadlineSignal } from '../util/deadline-queue.js';

export type VerifyKey = CryptoKey | KeyObject | Uint8Array;

/** Algorithms Turnpike accepts for asymmetric keys, by JWK key type (and curve for EC/OKP). */
export const ASYMMETRIC_ALGS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export const HMAC_ALGS = ['HS256', 'HS384', 'HS512'] as const;

const EC_CURVE: Record<string, string> = { ES256: 'P-256', ES384: 'P-384', ES512: 'P-521' };

/** Whether a JWK may verify a signature made with `alg` (key type, curve, declared alg/use/key_ops). */
export function keyFitsAlg(jwk: JWK, alg: string): boolean {
  if (jwk.use !== undefined && jwk.use !== 'sig') return false;
  if (Array.isArray(jwk.key_ops) && !jwk.key_ops.includes('verify')) return false;
  if (jwk.alg !== undefined && jwk.alg !== alg) return false;
  switch (jwk.kty) {
    case 'RSA':
      return /^(RS|PS)(256|384|512)$/.test(alg);
    case 'EC':
      return EC_CURVE[alg] !== undefined && jwk.crv === EC_CURVE[alg];
    case 'OKP':
      return alg === 'EdDSA' && (jwk.crv === 'Ed25519' || jwk.crv === 'Ed448');
    default:
      // 'oct' (symmetric) keys are never taken from a key set: HS* only with the configured secret.
      return false;
  }
}

/** Public parameters only: a JWKS that leaks a private key must not make us hold (or log) it. */
function publicPart(jwk: JWK): JWK {
  const { d: _d, p: _p, q: _q, dp: _dp, dq: _dq, qi: _qi, oth: _oth, k: _k, ...pub } = jwk as JWK & { oth?: unknown };
  return pub;
}

/** An immutable set of keys with their imported forms cached per (key, alg). */
export class KeySet {
  readonly keys: readonly JWK[];
  readonly #imported = new Map<string, Promise<VerifyKey>>();

  constructor(keys: readonly JWK[]) {
    this.keys = Object.freeze(keys.filter((k) => k !== null && typeof k === 'object' && typeof k.kty === 'string').map(publicPart));
  }

  /** Whether a key with this kid exists (any type). */
  hasKid(kid: string): boolean {
    return this.keys.some((k) => k.kid === kid);
  }

  /**
   * The keys that may verify a token with this header: same kid (when the token names one) and a
   * key type that fits alg. Without a kid, the one key that fits alg, if there is exactly one.
   */
  candidates(kid: string | undefined, alg: string): JWK[] {
    if (kid !== undefined) return this.keys.filter((k) => k.kid === kid && keyFitsAlg(k, alg));
    const fit = this.keys.filter((k) => keyFitsAlg(k, alg));
    return fit.length === 1 ? fit : [];
  }

  /** The imported key (cached; the JWK is imported for exactly this alg). */
  importKey(jwk: JWK, alg: string): Promise<VerifyKey> {
    const id = `${this.keys.indexOf(jwk)}:${alg}`;
    let p = this.#imported.get(id);
    if (p === undefined) {
      p = importJWK({ ...jwk, ext: true }, alg) as Promise<VerifyKey>;
      this.#imported.set(id, p);
      // A key that cannot be imported stays rejected, without re-importing on every request.
      p.catch(() => undefined);
    }
    return p;
  }
}

export interface RemoteJwksOptions {
  /** The JWKS URL. Either this or `issuer` (then `{issuer}/.well-known/openid-configuration` names it). */
  jwksUri?: string;
  issuer?: string;
  /** TTL when the response has no usable Cache-Control max-age. */
  defaultTtlMs?: number;
  /** Refreshes forced by unknown kids, and retries after failures, are at least this far apart. */
  minRefreshIntervalMs?: number;
  timeoutMs?: number;
  maxBytes?: number;
  /** The clock (epoch ms); default Date.now. */
  now?: () => number;
  /** Where the fetch deadline is armed (the gateway's deps.deadlines); default the process's queue. */
  deadlines?: DeadlineQueue;
}

export const JWKS_DEFAULT_TTL_MS = 10 * 60_000;
/** Default limit on one key fetch (the jwt plugin's jwksTimeoutMs). */
export const JWKS_TIMEOUT_MS = 5_000;
export const JWKS_MIN_REFRESH_INTERVAL_MS = 5_000;
const MIN_TTL_MS = 5_000;
const MAX_TTL_MS = 2 * 60 * 60_000;

export class JwksError extends Error {}

/** Seconds of Cache-Control max-age (s-maxage wins), 0 for no-store/no-cache, undefined when absent. */
export function maxAgeOf(cacheControl: string | null): number | undefined {
  if (cacheControl === null) return undefined;
  const cc = cacheControl.toLowerCase();
  if (/(?:^|[,\s])(no-store|no-cache)(?:$|[,\s=])/.test(cc)) return 0;
  const m = /(?:^|[,\s])s-maxage\s*=\s*"?(\d+)/.exec(cc) ?? /(?:^|[,\s])max-age\s*=\s*"?(\d+)/.exec(cc);
  return m ? Number(m[1]) : undefined;
}

/**
 * GET a JSON document within `lane.ms` (connect, headers and body: the deadline aborts the fetch
 * wherever it is), on the shared deadline queue rather than AbortSignal.timeout's own timer.
 */
async function fetchJson(url: string, lane: DeadlineLane, maxBytes: number): Promise<{ body: unknown; cacheControl: string | null }> {
  const deadline = deadlineSignal(lane, () => new JwksError(`${url}: no complete answer within ${lane.ms} ms`), { ref: false });
  try {
    return await fetchJsonWithin(url, deadline.signal, maxBytes);
  } catch (err) {
    throw deadline.signal.aborted ? deadline.signal.reason : err;
  } finally {
    deadline.cancel();
  }
}

async function fetchJsonWithin(url: string, signal: AbortSignal, maxBytes: number): Promise<{ body: unknown; cacheControl: string | null }> {
  const res = await fetch(url, { redirect: 'follow', signal, headers: { accept: 'application/json' } });
  if (!res.ok) {
    await res.body?.cancel().catch(() => undefined);
    throw new JwksError(`${url} answered ${res.status}`);
  }
  const declared = Number(res.headers.get('content-length') ?? '0');
  if (declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new JwksError(`${url}: body of ${declared} bytes is over the ${maxBytes}-byte limit`);
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
      size += chunk.length;
      if (size > maxBytes) throw new JwksError(`${url}: body over the ${maxBytes}-byte limit`);
      chunks.push(chunk);
    }
  }
  let body: unknown;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new JwksError(`${url}: not JSON`);
  }
  return { body, cacheControl: res.headers.get('cache-control') };
}

/** One remote key set (shared by URL): cache, TTL, stale serving, rate-limited refresh. */
export class RemoteJwks {
  readonly source: string;
  readonly #opts: Required<Omit<RemoteJwksOptions, 'jwksUri' | 'issuer' | 'deadlines'>>;
  readonly #lane: DeadlineLane;
  #jwksUri: string | undefined;
  readonly #issuer: string | undefined;
  #set: KeySet | undefined;
  #expiresAt = 0;
  /** When the last fetch attempt started (successful or not). */
  #lastAttempt = Number.NEGATIVE_INFINITY;
  #inflight: Promise<KeySet> | undefined;
  #lastError: Error | undefined;
  /** Fetches made (JWKS documents, not discovery): for metrics and tests. */
  fetches = 0;

  constructor(opts: RemoteJwksOptions) {
    if (opts.jwksUri === undefined && opts.issuer === undefined) throw new Error('a remote JWKS needs jwksUri or issuer');
    this.#jwksUri = opts.jwksUri;
    this.#issuer = opts.issuer;
    this.source = opts.jwksUri ?? `${opts.issuer?.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    this.#opts = {
      defaultTtlMs: opts.defaultTtlMs ?? JWKS_DEFAULT_TTL_MS,
      minRefreshIntervalMs: opts.minRefreshIntervalMs ?? JWKS_MIN_REFRESH_INTERVAL_MS,
      timeoutMs: opts.timeoutMs ?? JWKS_TIMEOUT_MS,
      maxBytes: opts.maxBytes ?? 1 << 20,
      now: opts.now ?? Date.now,
    };
    this.#lane = (opts.deadlines ?? DEADLINES).lane(this.#opts.timeoutMs);
  }

  get lastError(): Error | undefined {
    return this.#lastError;
  }

  /** The keys: cached ones while fresh; stale ones (with a background refresh) after the TTL; awaited on first use. */
  async getKeys(): Promise<KeySet> {
    const set = this.#set;
    const now = this.#opts.now();
    if (set !== undefined) {
      if (now >= this.#expiresAt && now - this.#lastAttempt >= this.#opts.minRefreshIntervalMs) this.#refresh().catch(() => undefined);
      return set;
    }
    // Nothing cached yet: wait for a fetch, but never start one more often than the rate limit allows.
    if (this.#inflight !== undefined) return this.#inflight;
    if (now - this.#lastAttempt < this.#opts.minRefreshIntervalMs) throw this.#lastError ?? new JwksError(`${this.source}: keys unavailable`);
    return this.#refresh();
  }

  /**
   * Called when a token names a kid the cached set lacks: refetch at most once per interval.
   * Returns the (possibly new) set, or undefined when the rate limit forbids a fetch now.
   */
  async refreshForUnknownKid(): Promise<KeySet | undefined> {
    if (this.#inflight !== undefined) return this.#inflight.catch(() => this.#set);
    if (this.#opts.now() - this.#lastAttempt < this.#opts.minRefreshIntervalMs) return undefined;
    return this.#refresh().catch(() => this.#set);
  }

  #refresh(): Promise<KeySet> {
    if (this.#inflight !== undefined) return this.#inflight;
    this.#lastAttempt = this.#opts.now();
    const p = this.#load().then(
      ({ set, ttlMs }) => {
        this.#set = set;
        this.#expiresAt = this.#opts.now() + ttlMs;
        this.#lastError = undefined;
        this.#inflight = undefined;
        return set;
      },
      (err: unknown) => {
        this.#lastError = err instanceof Error ? err : new JwksError(String(err));
        this.#inflight = undefined;
        throw this.#lastError;
      },
    );
    this.#inflight = p;
    return p;
  }

  async #load(): Promise<{ set: KeySet; ttlMs: number }> {
    const { maxBytes } = this.#opts;
    const lane = this.#lane;
    if (this.#jwksUri === undefined) {
      const discovery = this.source;
      const { body } = await fetchJson(discovery, lane, maxBytes);
      const uri = (body as { jwks_uri?: unknown } | null)?.jwks_uri;
      if (typeof uri !== 'string' || !/^https?:\/\//i.test(uri)) throw new JwksError(`${discovery}: no jwks_uri`);
      this.#jwksUri = uri;
    }
    this.fetches++;
    const { body, cacheControl } = await fetchJson(this.#jwksUri, lane, maxBytes);
    const keys = (body as { keys?: unknown } | null)?.keys;
    if (!Array.isArray(keys)) throw new JwksError(`${this.#jwksUri}: not a JWK set (no "keys" list)`);
    const age = maxAgeOf(cacheControl);
    const ttlMs = Math.min(MAX_TTL_MS, Math.max(MIN_TTL_MS, age === undefined ? this.#opts.defaultTtlMs : age * 1000));
    return { set: new KeySet(keys as JWK[]), ttlMs };
  }
}

/**
 * Remote key sources by URL (and fetch timeout), one registry per gateway (the jwt plugin keeps it in
 * deps.state.gateway): the instances of one issuer — one per route config, and every config version
 * across reloads — share one cache and one refresh rate limit, and two gateways share nothing.
 */
export class JwksSources {
  readonly #byKey = new Map<string, RemoteJwks>();

  /** The source for a JWKS URL (or an issuer's discovery document); options apply when it is first created. */
  get(opts: RemoteJwksOptions): RemoteJwks {
    const key = `${opts.jwksUri !== undefined ? `uri:${opts.jwksUri}` : `iss:${opts.issuer}`}|${opts.timeoutMs ?? JWKS_TIMEOUT_MS}`;
    let r = this.#byKey.get(key);
    if (r === undefined) {
      r = new RemoteJwks(opts);
      this.#byKey.set(key, r);
    }
    return r;
  }

  get size(): number {
    return this.#byKey.size;
  }
}
