/**
 * The local issuer's public documents on the admin listener (docs/local-cognito.md), only while the
 * process serves with --local-issuer: other local verifiers (a backend that checks the token again,
 * a test client) can then point at the same key as the gateway.
 *
 *   GET /local-issuer/jwks.json                                    the public key set
 *   GET /local-issuer/{userPoolId}/.well-known/openid-configuration  a pool's discovery document:
 *       its real Cognito `issuer`, and this listener's jwks_uri
 *
 * Never the private key: only `publicJwks` is served. Anything else under the prefix is a 404.
 */
import { issuerOfSelector, LocalIssuerError, localIssuerSettings, servesLocally } from '../security/local-issuer.js';
import { loadOrCreateSigningKey, publicJwks } from '../security/local-issuer-key.js';

export const LOCAL_ISSUER_PREFIX = '/local-issuer/';

export interface Answer {
  status: number;
  body: unknown;
}

const NOT_FOUND: Answer = { status: 404, body: { message: 'Not Found: the local issuer is served only by `turnpike serve --local-issuer`', code: 'RESOURCE_NOT_FOUND' } };

/** The answer to a GET under LOCAL_ISSUER_PREFIX. `origin` is how the client reached this listener (http://host:port). */
export function answerLocalIssuer(path: string, origin: string): Answer {
  const rest = path.slice(LOCAL_ISSUER_PREFIX.length);
  try {
    const settings = localIssuerSettings();
    if (settings === undefined || (settings.local !== 'all' && settings.local.length === 0)) return NOT_FOUND;
    if (rest === 'jwks.json') return { status: 200, body: publicJwks(loadOrCreateSigningKey()) };
    const m = /^([^/]+)\/\.well-known\/openid-configuration$/.exec(rest);
    if (m === null) return NOT_FOUND;
    let issuer: string;
    try {
      issuer = issuerOfSelector(decodeURIComponent(m[1] as string));
    } catch {
      return NOT_FOUND;
    }
    if (!servesLocally(issuer, settings)) return NOT_FOUND;
    return {
      status: 200,
      body: {
        issuer,
        jwks_uri: `${origin}${LOCAL_ISSUER_PREFIX}jwks.json`,
        id_token_signing_alg_values_supported: ['RS256'],
        subject_types_supported: ['public'],
        response_types_supported: ['code', 'token'],
      },
    };
  } catch (e) {
    // An untrusted or unreadable key file, or a bad setting: say which, never serve a key we refused.
    if (e instanceof LocalIssuerError) return { status: 500, body: { message: e.message, code: 'INTERNAL_ERROR' } };
    throw e;
  }
}
