/**
 * JWT authorizer with AWS HTTP API semantics, and Cognito user pool authorizers (docs/jwt.md
 * cites the AWS rules).
 *
 * authenticate (priority 1050): finds the token in the identity source (a `Bearer ` prefix is
 * optional), verifies it and puts the caller on ctx.principal; any failure answers 401
 * {"message":"Unauthorized"} with AWS's `www-authenticate: Bearer scope="" error="invalid_token"
 * error_description="..."`. authorize: the route's requiredScopes (at least one must be in `scope`
 * or `scp`), else 403 {"message":"Forbidden"}.
 *
 * Verification, in AWS's order: alg on the allow-list (never `none`; HS* only with the configured
 * secret, asymmetric algorithms only against a key of the matching type and curve), key by `kid`
 * from the issuer's key set (header-supplied key material — jwk, jku, x5u, x5c — is never used),
 * signature, iss, aud (or client_id when there is no aud), exp (required), nbf, iat, with the
 * configured clock skew. Verified tokens are kept in a bounded LRU until they expire, so repeat
 * requests cost one map lookup; the hook stays synchronous on a cache hit.
 */
import { compactVerify, decodeProtectedHeader, type JWK } from 'jose';
import { LRUCache } from 'lru-cache';
import type { RequestContext } from '../../pipeline/context.js';
import type { Principal } from '../../pipeline/principal.js';
import type { PluginDefinition } from '../../pipeline/types.js';
import { type Denial, denial } from '../../errors/catalogue.js';
import { ASYMMETRIC_ALGS, HMAC_ALGS, JwksSources, KeySet, RemoteJwks, type VerifyKey } from '../../security/jwks.js';
import type { DeadlineQueue } from '../../util/deadline-queue.js';
import { applyDefaults } from '../schema-defaults.js';
import { stateKey } from '../state.js';
import { redirectOf } from './local-issuer.js';
import { type JwtConfig, schema } from './schema.js';

export type { JwtConfig } from './schema.js';

export interface JwtProblem {
  path: (string | number)[];
  message: string;
}

export const COGNITO_ISSUER = (region: string, userPoolId: string) => `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;

/** The issuer a config names (explicit or from the Cognito shorthand). */
export function issuerOf(config: JwtConfig): string | undefined {
  if (config.issuer !== undefined) return config.issuer;
  if (config.cognito !== undefined) return COGNITO_ISSUER(config.cognito.region, config.cognito.userPoolId);
  return undefined;
}

const HMAC: ReadonlySet<string> = new Set<string>(HMAC_ALGS);

/** Remote key sources, one registry per gateway: shared by every instance and config version it serves. */
const JWKS_SOURCES = stateKey('jwt:jwks-sources', () => new JwksSources());

/** Every problem the schema cannot express (empty when usable). */
export function jwtConfigProblems(config: JwtConfig): JwtProblem[] {
  const problems: JwtProblem[] = [];
  const issuer = issuerOf(config);
  if (issuer === undefined) problems.push({ path: [], message: 'give the token issuer: "issuer" (e.g. https://auth.example.com/) or "cognito: { region, userPoolId }"' });
  if (config.issuer !== undefined && config.cognito !== undefined && config.issuer !== issuerOf({ cognito: config.cognito }))
    problems.push({ path: ['issuer'], message: `"issuer" and "cognito" disagree: a Cognito user pool's issuer is ${issuerOf({ cognito: config.cognito })}` });
  if (config.requireAudience !== false && (config.audience === undefined || config.audience.length === 0))
    problems.push({ path: ['audience'], message: 'give at least one audience (the token\'s aud, or client_id for Cognito access tokens), or requireAudience: false to accept any' });
  const algs = config.algorithms;
  if (config.secret !== undefined) {
    if (config.jwksUri !== undefined) problems.push({ path: ['jwksUri'], message: 'a "secret" (HS256/384/512) cannot be combined with a key set: give one or the other' });
    if (config.keys !== undefined) problems.push({ path: ['keys'], message: 'a "secret" (HS256/384/512) cannot be combined with a key set: give one or the other' });
    algs?.forEach((a, i) => {
      if (!HMAC.has(a)) problems.push({ path: ['algorithms', i], message: `with a "secret" only HS256, HS384 and HS512 are accepted, not ${a} (this is what prevents key-confusion attacks)` });
    });
  } else {
    algs?.forEach((a, i) => {
      if (HMAC.has(a)) problems.push({ path: ['algorithms', i], message: `${a} needs a shared "secret"; it is never accepted against a key set (HS/RS key confusion)` });
    });
  }
  if (config.jwksUri !== undefined && config.keys !== undefined) problems.push({ path: ['keys'], message: 'give "jwksUri" or inline "keys", not both' });
  if (config.keys !== undefined) {
    config.keys.keys.forEach((k, i) => {
      if (k.kty === 'oct') problems.push({ path: ['keys', 'keys', i], message: 'symmetric (oct) keys are not accepted in a key set; use "secret" for HS* tokens' });
      else if ('d' in k) problems.push({ path: ['keys', 'keys', i, 'd'], message: 'this is a private key: give only the public key' });
    });
  }
  return problems;
}

export class JwtConfigError extends Error {
  readonly problems: readonly JwtProblem[];
  constructor(problems: readonly JwtProblem[], scope?: string) {
    const where = scope === undefined ? 'jwt' : `jwt (${scope})`;
    super(problems.map((p) => `${where} ${p.path.join('.')}: ${p.message}`).join('\n'));
    this.name = 'JwtConfigError';
    this.problems = problems;
  }
}

/** What a verified token leaves behind (cached until the token expires). */
export interface VerifiedToken {
  readonly claims: Readonly<Record<string, unknown>>;
  readonly scopes: readonly string[];
  /** exp in ms. */
  readonly expMs: number;
  /** Principal parts (shared, frozen); a fresh Principal object is made per request. */
  readonly kind: 'jwt' | 'cognito';
  readonly principalId: string | undefined;
  /** The scopes the principal passes on: the token's when the route asks for scopes, else null (as AWS). */
  readonly scopesOut: readonly string[] | null;
}

export type VerifyResult = { ok: true; token: VerifiedToken } | { ok: false; description: string; error?: Error };

/** The AWS-style reasons (the audience one is AWS's published wording; the others follow its style). */
export const REASONS = {
  malformed: 'the token is malformed',
  alg: 'the token signing algorithm is not allowed',
  kid: 'the token signing key is unknown',
  keys: 'the signing keys are unavailable',
  signature: 'the token signature is invalid',
  issuer: 'the token does not have a valid issuer',
  audience: 'the token does not have a valid audience',
  noExp: 'the token has no expiration time',
  expired: 'the token has expired',
  notYet: 'the token is not valid yet',
  future: 'the token was issued in the future',
} as const;

const TOKEN_RE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;
const MAX_TOKEN_LENGTH = 16 * 1024;
/** Header parameters that only make sense for things a JWT verifier must not do here. */
const REFUSED_HEADER_PARAMS = ['crit', 'b64'];

/** Scopes a token carries: `scope` (space-separated) and `scp` (list or space-separated). */
export function tokenScopes(claims: Record<string, unknown>): string[] {
  const out = new Set<string>();
  const add = (v: unknown) => {
    if (typeof v === 'string') {
      for (const s of v.split(/\s+/)) if (s !== '') out.add(s);
    } else if (Array.isArray(v)) {
      for (const s of v) if (typeof s === 'string' && s !== '') out.add(s);
    }
  };
  add(claims.scope);
  add(claims.scp);
  return [...out];
}

export interface VerifierOptions {
  /** The clock (epoch ms); default Date.now. */
  now?: () => number;
  /** The key source to use (tests); otherwise one from `sources`. */
  remote?: RemoteJwks;
  /** The gateway's key sources (shared by URL); without it, a source of this verifier's own. */
  sources?: JwksSources;
  /** Where key fetches arm their deadline (deps.deadlines). */
  deadlines?: DeadlineQueue;
  /**
   * Local issuer mode (src/security/local-issuer.ts): keys to use instead of the config's (the local
   * issuer's public key, or a JWKS URL), and an `iss` that replaces the config's when given.
   */
  redirect?: { keys?: readonly JWK[]; jwksUri?: string; issuer?: string };
}

/** A token verifier for one config: key lookup, signature, claims, and the verified-token cache. */
export class JwtVerifier {
  readonly issuer: string;
  readonly #audience: ReadonlySet<string> | undefined;
  readonly #algs: ReadonlySet<string>;
  readonly #skewMs: number;
  readonly #secret: Uint8Array | undefined;
  readonly #inline: KeySet | undefined;
  readonly #remote: RemoteJwks | undefined;
  readonly #now: () => number;
  readonly #kind: 'jwt' | 'cognito';
  /** Whether the route asks for scopes (AWS then passes the token's scopes; otherwise null). */
  readonly #scopedRoute: boolean;
  readonly #cache: LRUCache<string, VerifiedToken> | undefined;

  constructor(input: JwtConfig, opts: VerifierOptions = {}) {
    const problems = jwtConfigProblems(input);
    if (problems.length > 0) throw new JwtConfigError(problems);
    // Compile has applied them for the plugin; a verifier built on its own (tests) gets the same ones.
    const config = applyDefaults(schema, input);
    this.issuer = issuerOf(config) as string;
    this.#audience = config.audience !== undefined && config.audience.length > 0 ? new Set(config.audience) : undefined;
    this.#skewMs = config.clockSkewSec * 1000;
    this.#now = opts.now ?? Date.now;
    this.#kind = config.cognito !== undefined ? 'cognito' : 'jwt';
    this.#scopedRoute = (config.requiredScopes ?? []).length > 0;
    const redirect = opts.redirect;
    if (redirect?.issuer !== undefined) this.issuer = redirect.issuer;
    if (config.secret !== undefined && redirect === undefined) {
      this.#secret = new TextEncoder().encode(config.secret);
      this.#algs = new Set(config.algorithms ?? HMAC_ALGS);
    } else {
      // A redirected issuer is verified against a key set: a configured secret's HS* list cannot apply.
      this.#algs = new Set(config.secret === undefined ? (config.algorithms ?? ASYMMETRIC_ALGS) : ASYMMETRIC_ALGS);
      if (redirect?.keys !== undefined) this.#inline = new KeySet(redirect.keys);
      else if (config.keys !== undefined && redirect === undefined) this.#inline = new KeySet(config.keys.keys as JWK[]);
      else {
        const jwksUri = redirect?.jwksUri ?? config.jwksUri;
        const where = jwksUri !== undefined ? { jwksUri } : { issuer: this.issuer };
        const sourceOpts = { ...where, timeoutMs: config.jwksTimeoutMs, now: this.#now, ...(opts.deadlines !== undefined ? { deadlines: opts.deadlines } : {}) };
        this.#remote = opts.remote ?? opts.sources?.get(sourceOpts) ?? new RemoteJwks(sourceOpts);
      }
    }
    const size = config.cacheSize;
    this.#cache =
      size > 0
        ? new LRUCache<string, VerifiedToken>({ max: size, maxSize: Math.max(size * 256, 1 << 20) * 8, sizeCalculation: (_v, k) => k.length + 512 })
        : undefined;
  }

  get remote(): RemoteJwks | undefined {
    return this.#remote;
  }

  /** A cached verification, or undefined (synchronous: the hot path of repeat tokens). */
  cached(token: string): VerifyResult | undefined {
    const hit = this.#cache?.get(token);
    if (hit === undefined) return undefined;
    if (this.#now() >= hit.expMs + this.#skewMs) {
      this.#cache?.delete(token);
      return { ok: false, description: REASONS.expired };
    }
    return { ok: true, token: hit };
  }

  /** Verifies a token (the cache first). Never throws. */
  async verify(token: string): Promise<VerifyResult> {
    const c = this.cached(token);
    if (c !== undefined) return c;
    try {
      const r = await this.#verify(token);
      if (r.ok) this.#cache?.set(token, r.token);
      return r;
    } catch (err) {
      return { ok: false, description: REASONS.signature, error: err as Error };
    }
  }

  async #verify(token: string): Promise<VerifyResult> {
    if (token.length > MAX_TOKEN_LENGTH || !TOKEN_RE.test(token)) return { ok: false, description: REASONS.malformed };
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return { ok: false, description: REASONS.malformed };
    }
    const alg = header.alg;
    // `none` is never on the list; neither are HS* without the secret, nor asymmetric algs with it.
    if (typeof alg !== 'string' || !this.#algs.has(alg)) return { ok: false, description: REASONS.alg };
    for (const p of REFUSED_HEADER_PARAMS) if (p in header) return { ok: false, description: REASONS.malformed };
    // jwk, jku, x5u, x5c: never read. Only kid selects a key, and only among the configured ones.
    const kid = typeof header.kid === 'string' ? header.kid : undefined;

    let payload: Uint8Array | undefined;
    if (this.#secret !== undefined) {
      payload = await this.#tryKey(token, this.#secret, alg);
    } else {
      let candidates: JWK[];
      let set: KeySet;
      try {
        set = this.#inline ?? (await (this.#remote as RemoteJwks).getKeys());
      } catch (err) {
        return { ok: false, description: REASONS.keys, error: err as Error };
      }
      candidates = set.candidates(kid, alg);
      if (candidates.length === 0 && kid !== undefined && this.#remote !== undefined && !set.hasKid(kid)) {
        // Possibly a rotation: refetch, at most once per interval per issuer.
        const fresh = await this.#remote.refreshForUnknownKid();
        if (fresh !== undefined && fresh !== set) {
          set = fresh;
          candidates = set.candidates(kid, alg);
        }
      }
      if (candidates.length === 0) return { ok: false, description: REASONS.kid };
      for (const jwk of candidates) {
        let key: VerifyKey;
        try {
          key = await set.importKey(jwk, alg);
        } catch {
          continue;
        }
        payload = await this.#tryKey(token, key, alg);
        if (payload !== undefined) break;
      }
    }
    if (payload === undefined) return { ok: false, description: REASONS.signature };

    let claims: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
      if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return { ok: false, description: REASONS.malformed };
      claims = parsed as Record<string, unknown>;
    } catch {
      return { ok: false, description: REASONS.malformed };
    }
    return this.#checkClaims(claims);
  }

  async #tryKey(token: string, key: VerifyKey, alg: string): Promise<Uint8Array | undefined> {
    try {
      const r = await compactVerify(token, key, { algorithms: [alg] });
      return r.payload;
    } catch {
      return undefined;
    }
  }

  #checkClaims(claims: Record<string, unknown>): VerifyResult {
    if (claims.iss !== this.issuer) return { ok: false, description: REASONS.issuer };
    const aud = this.#audience;
    if (aud !== undefined) {
      // AWS: aud when present (string or list); client_id only when there is no aud.
      const a = claims.aud;
      let ok = false;
      if (a !== undefined) ok = typeof a === 'string' ? aud.has(a) : Array.isArray(a) && a.some((x) => typeof x === 'string' && aud.has(x));
      else ok = typeof claims.client_id === 'string' && aud.has(claims.client_id);
      if (!ok) return { ok: false, description: REASONS.audience };
    }
    const now = this.#now();
    const skew = this.#skewMs;
    const exp = claims.exp;
    if (typeof exp !== 'number' || !Number.isFinite(exp)) return { ok: false, description: REASONS.noExp };
    if (now >= exp * 1000 + skew) return { ok: false, description: REASONS.expired };
    if (claims.nbf !== undefined) {
      if (typeof claims.nbf !== 'number' || !Number.isFinite(claims.nbf)) return { ok: false, description: REASONS.malformed };
      if (claims.nbf * 1000 > now + skew) return { ok: false, description: REASONS.notYet };
    }
    if (claims.iat !== undefined) {
      if (typeof claims.iat !== 'number' || !Number.isFinite(claims.iat)) return { ok: false, description: REASONS.malformed };
      if (claims.iat * 1000 > now + skew) return { ok: false, description: REASONS.future };
    }
    return { ok: true, token: this.#build(claims, exp * 1000) };
  }

  #build(raw: Record<string, unknown>, expMs: number): VerifiedToken {
    const scopes = Object.freeze(tokenScopes(raw));
    return Object.freeze({
      claims: Object.freeze({ ...raw }),
      scopes,
      expMs,
      kind: this.#kind,
      principalId: typeof raw.sub === 'string' ? raw.sub : undefined,
      // AWS passes the scopes only when the route has authorization scopes (null otherwise).
      scopesOut: this.#scopedRoute ? scopes : null,
    });
  }
}

/** Reads the token from where identitySource says; strips an optional `Bearer ` prefix. */
export function compileIdentitySource(source: string): (ctx: RequestContext) => string | undefined {
  const m = /^(?:\$request|method\.request)\.(header|querystring)\.(.+)$/.exec(source);
  if (!m) throw new JwtConfigError([{ path: ['identitySource'], message: `identity source "${source}" is not $request.header.NAME or $request.querystring.NAME` }]);
  const name = m[2] as string;
  const strip = (v: string | undefined): string | undefined => {
    if (v === undefined) return undefined;
    let t = v.trim();
    if (t.length >= 6 && (t.charCodeAt(0) | 32) === 98 /* b */ && /^bearer(?:\s|$)/i.test(t)) t = t.slice(6).trim();
    return t === '' ? undefined : t;
  };
  if (m[1] === 'header') {
    const lower = name.toLowerCase();
    return (ctx) => {
      const v = ctx.req.headers[lower];
      return strip(Array.isArray(v) ? v[0] : v);
    };
  }
  return (ctx) => (ctx.rawQuery === '' ? undefined : strip(new URLSearchParams(ctx.rawQuery).get(name) ?? undefined));
}

const quote = (s: string) => s.replace(/["\\]/g, '');

function unauthorized(challenge: boolean, description: string | undefined): Denial {
  if (!challenge) return denial('UNAUTHORIZED');
  // AWS (HTTP API troubleshooting guide): www-authenticate: Bearer scope="" error="invalid_token" error_description="..."
  const header = description === undefined ? 'Bearer' : `Bearer scope="" error="invalid_token" error_description="${quote(description)}"`;
  return denial('UNAUTHORIZED', { headers: Object.freeze({ 'www-authenticate': header }) });
}

export const jwt: PluginDefinition<typeof schema> = {
  name: 'jwt',
  priority: 1050,
  phases: ['authenticate', 'authorize'],
  description: 'JWT authorizer as AWS HTTP APIs do it (and Cognito user pools): verifies the token, checks claims and scopes, passes the claims on.',
  configSchema: schema,
  create(config, deps) {
    const problems = jwtConfigProblems(config);
    if (problems.length > 0) throw new JwtConfigError(problems, deps.scope);
    const redirect = redirectOf(issuerOf(config) as string, deps);
    const verifier = new JwtVerifier(config, {
      now: () => deps.clock.now(),
      sources: deps.state.gateway.get(JWKS_SOURCES),
      deadlines: deps.deadlines,
      ...(redirect !== undefined ? { redirect } : {}),
    });
    const challenge = config.challenge !== false;
    const read = compileIdentitySource(config.identitySource);
    const answers = new Map<string, Denial>();
    const missing = unauthorized(challenge, undefined);
    const reject = (r: Extract<VerifyResult, { ok: false }>): Denial => {
      if (r.error !== undefined && r.description === REASONS.keys) deps.logger.warn({ err: r.error, issuer: verifier.issuer }, 'jwt: signing keys unavailable');
      let a = answers.get(r.description);
      if (a === undefined) {
        a = unauthorized(challenge, r.description);
        answers.set(r.description, a);
      }
      return a;
    };
    const accept = (ctx: RequestContext, t: VerifiedToken): undefined => {
      const prev = ctx.principal as Principal | undefined;
      const p: Principal = { kind: t.kind, claims: t.claims, scopes: t.scopesOut };
      if (t.principalId !== undefined) p.id = t.principalId;
      if (prev?.identity !== undefined) p.identity = prev.identity;
      ctx.principal = p;
      if (required.length > 0) (ctx.state ??= {}).jwt = t;
      return undefined;
    };
    const required = config.requiredScopes ?? [];
    const forbidden = denial(
      'ACCESS_DENIED',
      challenge
        ? { headers: Object.freeze({ 'www-authenticate': `Bearer scope="${quote(required.join(' '))}" error="insufficient_scope" error_description="the token does not have the required scope"` }) }
        : undefined,
    );

    return {
      authenticate(ctx) {
        const token = read(ctx);
        if (token === undefined) return missing;
        const c = verifier.cached(token);
        if (c !== undefined) return c.ok ? accept(ctx, c.token) : reject(c);
        return verifier.verify(token).then((r) => (r.ok ? accept(ctx, r.token) : reject(r)));
      },
      ...(required.length > 0
        ? {
            authorize(ctx: RequestContext) {
              const t = ctx.state?.jwt as VerifiedToken | undefined;
              if (t === undefined) return forbidden;
              for (const s of required) if (t.scopes.includes(s)) return undefined;
              return forbidden;
            },
          }
        : {}),
    };
  },
};
