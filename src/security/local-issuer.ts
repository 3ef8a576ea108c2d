/**
 * Local issuer mode (docs/local-cognito.md): which token issuers a development gateway verifies
 * against something other than the issuer's own published keys.
 *
 * - `--local-issuer [POOLS]`: the issuers named (every Cognito user pool when none is named) verify
 *   against the local signing key (./local-issuer-key.ts), the key `turnpike token` signs with. The
 *   tokens keep the real `iss`, so handlers see the claims they would see on AWS.
 * - `--issuer-overrides JSON`: `{ "<issuer, pool ARN or pool id>": { jwksUri, issuer? } }` points an
 *   issuer at any JWKS (a test OIDC server); with `issuer`, tokens must carry that `iss` instead.
 *
 * Why the process and not a config key: a config file travels (to production, and in cluster mode
 * into the database through the Admin API), and whoever can write it must not be able to make a
 * gateway trust a key lying on a developer's disk. Only whoever starts the process can switch it on:
 * the flags set TURNPIKE_LOCAL_ISSUER / TURNPIKE_ISSUER_OVERRIDES, which the jwt plugin reads once per
 * gateway. Without them nothing here changes how any token is verified. Pure apart from reading that
 * environment; it imports nothing heavy (serve loads it).
 */

/** An issuer pointed elsewhere: keys from `jwksUri`; `issuer` (when given) replaces the expected `iss`. */
export interface IssuerOverride {
  readonly jwksUri: string;
  readonly issuer?: string;
}

export interface LocalIssuerSettings {
  /** 'all': every Cognito user pool issuer; else the issuer URLs served locally. */
  readonly local: 'all' | readonly string[];
  /** By issuer URL (pool ids and ARNs already turned into their issuer). */
  readonly overrides: ReadonlyMap<string, IssuerOverride>;
}

/** What a jwt verifier for one issuer uses instead of the issuer's published keys. */
export type IssuerRedirect = { readonly kind: 'local' } | ({ readonly kind: 'override' } & IssuerOverride);

export class LocalIssuerError extends Error {
  override name = 'LocalIssuerError';
}

const REGION = '[a-z]{2}(?:-[a-z]+)+-\\d';
const POOL_ID_RE = new RegExp(`^(${REGION})_[0-9a-zA-Z]+$`);
const POOL_ARN_RE = new RegExp(`^arn:aws[\\w-]*:cognito-idp:(${REGION}):\\d{12}:userpool/((${REGION})_[0-9a-zA-Z]+)$`);
const COGNITO_ISSUER_RE = new RegExp(`^https://cognito-idp\\.(${REGION})\\.amazonaws\\.com/((${REGION})_[0-9a-zA-Z]+)$`);

export const cognitoIssuer = (region: string, userPoolId: string) => `https://cognito-idp.${region}.amazonaws.com/${userPoolId}`;

/** Whether an issuer URL is a Cognito user pool's. */
export function isCognitoIssuer(issuer: string): boolean {
  return COGNITO_ISSUER_RE.test(issuer);
}

/**
 * The issuer URL a user names: a pool id (`eu-west-1_AbC123`: its region is its prefix, as Cognito
 * names pools), a pool ARN, or an issuer URL as it is. `region` overrides the pool id's prefix.
 */
export function issuerOfSelector(selector: string, region?: string): string {
  const s = selector.trim();
  const arn = POOL_ARN_RE.exec(s);
  if (arn) {
    if (arn[1] !== arn[3]) throw new LocalIssuerError(`"${s}": the ARN's region ${arn[1]} differs from the pool id's ${arn[3]}`);
    return cognitoIssuer(arn[1] as string, arn[2] as string);
  }
  const id = POOL_ID_RE.exec(s);
  if (id) return cognitoIssuer(region ?? (id[1] as string), s);
  if (/^https?:\/\/[^\s]+$/.test(s)) return s;
  throw new LocalIssuerError(
    `"${s}" is not a user pool id (eu-west-1_AbC123), a user pool ARN (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID) or an issuer URL (https://...)`,
  );
}

/** `--local-issuer` with no value (true) or `all` is every Cognito pool; a value is a comma-separated list. */
export function parseLocalSelection(value: string | true): 'all' | string[] {
  if (value === true || value.trim().toLowerCase() === 'all') return 'all';
  const parts = value
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (parts.length === 0) return 'all';
  return [...new Set(parts.map((p) => issuerOfSelector(p)))];
}

/**
 * `{ "<issuer, pool ARN or pool id>": { "jwksUri": "http://...", "issuer"?: "http://..." } }`, as
 * JSON text. Every mistake is an error naming the key: a half-understood override would verify
 * against keys the user did not mean.
 */
export function parseIssuerOverrides(text: string): Map<string, IssuerOverride> {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new LocalIssuerError(`issuer overrides are not JSON: ${(e as Error).message}`);
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) throw new LocalIssuerError('issuer overrides must be a JSON object: { "<issuer or pool ARN>": { "jwksUri": "http://..." } }');
  const out = new Map<string, IssuerOverride>();
  for (const [key, v] of Object.entries(data as Record<string, unknown>)) {
    const issuer = issuerOfSelector(key);
    if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new LocalIssuerError(`issuer override "${key}": give an object { "jwksUri": "http://...", "issuer"?: "..." }`);
    const { jwksUri, issuer: iss, ...rest } = v as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw new LocalIssuerError(`issuer override "${key}": unknown key "${extra[0]}" (only jwksUri and issuer)`);
    if (typeof jwksUri !== 'string' || !/^https?:\/\/\S+$/.test(jwksUri)) throw new LocalIssuerError(`issuer override "${key}": jwksUri must be an http(s) URL`);
    if (iss !== undefined && (typeof iss !== 'string' || iss === '')) throw new LocalIssuerError(`issuer override "${key}": issuer must be a non-empty string`);
    if (out.has(issuer)) throw new LocalIssuerError(`issuer override "${key}": ${issuer} is overridden twice`);
    out.set(issuer, iss === undefined ? { jwksUri } : { jwksUri, issuer: iss });
  }
  return out;
}

/** Where a verifier of `issuer` takes its keys from in these settings (undefined: the issuer's own). */
export function redirectFor(issuer: string, settings: LocalIssuerSettings | undefined): IssuerRedirect | undefined {
  if (settings === undefined) return undefined;
  // An explicit override names one issuer: it is more specific than "every pool".
  const o = settings.overrides.get(issuer);
  if (o !== undefined) return { kind: 'override', ...o };
  if (settings.local === 'all' ? isCognitoIssuer(issuer) : settings.local.includes(issuer)) return { kind: 'local' };
  return undefined;
}

/** Whether an issuer is served by the local key (the admin listener publishes its discovery document then). */
export function servesLocally(issuer: string, settings: LocalIssuerSettings | undefined): boolean {
  return redirectFor(issuer, settings)?.kind === 'local';
}

/** What `serve --local-issuer` sets: `all`, or a comma-separated list of pool ids, ARNs or issuer URLs. */
export const LOCAL_ISSUER_ENV = 'TURNPIKE_LOCAL_ISSUER';
/** What `serve --issuer-overrides` sets: the overrides' JSON. */
export const ISSUER_OVERRIDES_ENV = 'TURNPIKE_ISSUER_OVERRIDES';

/**
 * The settings of a process environment; undefined (the default: nothing redirected) unless one of the
 * two variables is set. The environment, not module state, carries them from the command line to the
 * jwt plugin: it is the process's, every worker inherits it, and it is read once per gateway
 * (src/plugins/jwt/local-issuer.ts). Throws LocalIssuerError for a value it cannot use.
 */
export function localIssuerSettings(env: NodeJS.ProcessEnv = process.env): LocalIssuerSettings | undefined {
  const local = env[LOCAL_ISSUER_ENV];
  const overrides = env[ISSUER_OVERRIDES_ENV];
  if ((local === undefined || local === '') && (overrides === undefined || overrides === '')) return undefined;
  return {
    local: local === undefined || local === '' ? [] : parseLocalSelection(local),
    overrides: overrides === undefined || overrides === '' ? new Map() : parseIssuerOverrides(overrides),
  };
}
