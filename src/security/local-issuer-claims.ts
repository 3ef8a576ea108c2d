/**
 * The claims of a token the local issuer mints (`turnpike token`), shaped as Amazon Cognito shapes its
 * user pool tokens, so an authorizer and a handler see what they would see on AWS:
 *
 * - ID token ("Understanding the identity (ID) token", Cognito developer guide): sub, cognito:groups,
 *   iss, cognito:username, origin_jti, aud (the app client id), event_id, token_use "id", auth_time,
 *   exp, iat, jti. Attributes such as email come only when given (--claim email=...).
 * - Access token ("Understanding the access token"): sub, cognito:groups, iss, client_id (no aud),
 *   origin_jti, event_id, token_use "access", scope (space-separated), auth_time, exp, iat, jti, username.
 *
 * `cognito:groups` is left out when the user is in no group, as Cognito does. A non-Cognito issuer
 * gets plain OIDC-style claims: sub, aud, scope (when given), iat, exp, jti.
 * Pure: the clock and the random ids are arguments.
 */
import { createHash, randomUUID } from 'node:crypto';
import { isCognitoIssuer, LocalIssuerError } from './local-issuer.js';

export type TokenUse = 'id' | 'access';

export interface TokenRequest {
  /** The issuer URL (a user pool's, from issuerOfSelector). */
  issuer: string;
  tokenUse?: TokenUse;
  sub?: string;
  username?: string;
  /** The app client id: `aud` of ID tokens, `client_id` of access tokens. */
  clientId?: string;
  groups?: readonly string[];
  scopes?: readonly string[];
  /** Extra or replacing claims, applied last. */
  claims?: Readonly<Record<string, unknown>>;
  /** Seconds until exp (may be negative: an already expired token). Default 3600, Cognito's default. */
  expiresIn?: number;
}

export const DEFAULT_USERNAME = 'test-user';
export const DEFAULT_CLIENT_ID = 'local-client';
/** The scope Cognito puts in access tokens from its own sign-in API. */
export const DEFAULT_ACCESS_SCOPE = 'aws.cognito.signin.user.admin';
export const DEFAULT_EXPIRES_IN = 3600;
/** Cognito lets an app client choose 5 minutes to 1 day; a local token may live at most a year. */
export const MAX_EXPIRES_IN = 366 * 24 * 3600;

/** A stable UUID-shaped sub for a username, so one user keeps one sub across tokens. */
export function subFor(username: string): string {
  const h = createHash('sha256').update(`turnpike-local-user:${username}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((Number.parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16)}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

/** `k=v` with v parsed as JSON when it is JSON (numbers, booleans, lists, objects), else kept as text. */
export function parseClaimArg(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  if (eq <= 0) throw new LocalIssuerError(`--claim ${arg}: write NAME=VALUE (VALUE may be JSON, e.g. email_verified=true or roles='["a","b"]')`);
  const name = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  try {
    return [name, JSON.parse(raw)];
  } catch {
    return [name, raw];
  }
}

/** The token use when none is asked for: access when scopes are asked for (only access tokens carry them), else id. */
export function tokenUseFor(req: Pick<TokenRequest, 'tokenUse' | 'scopes'>): TokenUse {
  const scoped = (req.scopes ?? []).length > 0;
  if (req.tokenUse === 'id' && scoped) throw new LocalIssuerError('scopes are carried by access tokens only: drop --scope or use --token-use access');
  return req.tokenUse ?? (scoped ? 'access' : 'id');
}

export function buildClaims(req: TokenRequest, nowMs: number, newId: () => string = randomUUID): Record<string, unknown> {
  const expiresIn = req.expiresIn ?? DEFAULT_EXPIRES_IN;
  if (!Number.isInteger(expiresIn) || Math.abs(expiresIn) > MAX_EXPIRES_IN) throw new LocalIssuerError(`expires-in must be a whole number of seconds within ±${MAX_EXPIRES_IN}`);
  for (const s of req.scopes ?? []) if (s === '' || /\s/.test(s)) throw new LocalIssuerError(`scope "${s}" is empty or has a space (each --scope is one scope)`);
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + expiresIn;
  const username = req.username ?? DEFAULT_USERNAME;
  const sub = req.sub ?? subFor(username);
  const clientId = req.clientId ?? DEFAULT_CLIENT_ID;
  const groups = req.groups ?? [];
  let claims: Record<string, unknown>;
  if (isCognitoIssuer(req.issuer)) {
    const use = tokenUseFor(req);
    const common = { sub, ...(groups.length > 0 ? { 'cognito:groups': [...groups] } : {}), iss: req.issuer };
    // One sign-in's ids: origin_jti names the authentication, jti this token, event_id the sign-in event.
    const originJti = newId();
    const eventId = newId();
    const jti = newId();
    claims =
      use === 'id'
        ? { ...common, 'cognito:username': username, origin_jti: originJti, aud: clientId, event_id: eventId, token_use: 'id', auth_time: iat, exp, iat, jti }
        : {
            ...common,
            client_id: clientId,
            origin_jti: originJti,
            event_id: eventId,
            token_use: 'access',
            scope: (req.scopes ?? []).length > 0 ? (req.scopes ?? []).join(' ') : DEFAULT_ACCESS_SCOPE,
            auth_time: iat,
            exp,
            iat,
            jti,
            username,
          };
  } else {
    claims = {
      sub,
      iss: req.issuer,
      aud: clientId,
      ...(groups.length > 0 ? { groups: [...groups] } : {}),
      ...((req.scopes ?? []).length > 0 ? { scope: (req.scopes ?? []).join(' ') } : {}),
      iat,
      exp,
      jti: newId(),
    };
  }
  return { ...claims, ...req.claims };
}
