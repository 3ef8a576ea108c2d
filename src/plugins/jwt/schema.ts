import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

const ALG = Type.Union(
  ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA', 'HS256', 'HS384', 'HS512'].map((a) => Type.Literal(a)),
);

export const schema = Type.Object(
  {
    issuer: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'Expected `iss`, exactly. Unless jwksUri, keys or secret is given, the keys come from the jwks_uri of `{issuer}/.well-known/openid-configuration` (as AWS does). Required unless `cognito` is given.',
      }),
    ),
    audience: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          'Accepted audiences: the token\'s `aud` (string or list) must contain one of them; a token without `aud` is matched on `client_id` (Cognito access tokens), as AWS does. Required unless `requireAudience: false` (AWS requires it for HTTP API JWT authorizers; a REST Cognito authorizer without it accepts any client of the pool).',
      }),
    ),
    jwksUri: Type.Optional(Type.String({ pattern: '^https?://', description: 'JWKS URL, instead of OpenID discovery.' })),
    keys: Type.Optional(
      Type.Object(
        { keys: Type.Array(Type.Object({ kty: Type.String() }, { additionalProperties: true })) },
        { additionalProperties: true, description: 'An inline JWK set (public keys): no fetching at all.' },
      ),
    ),
    secret: Type.Optional(
      Type.String({
        minLength: 32,
        description: 'Shared secret for HS256/384/512 tokens (at least 32 characters). With a secret only HS algorithms are accepted, and no key set may be given.',
      }),
    ),
    algorithms: Type.Optional(
      Type.Array(ALG, {
        minItems: 1,
        description:
          'Accepted `alg` values. Default: RS256/384/512, PS256/384/512, ES256/384/512, EdDSA (AWS itself accepts only RSA); with `secret`, HS256/384/512 only. `none` is never accepted; HS* never with a key set.',
      }),
    ),
    clockSkewSec: Type.Optional(
      withDefault(Type.Integer({ minimum: 0, maximum: 300, description: 'Leeway for exp, nbf and iat, in seconds (default 0: AWS documents none).' }), 0),
    ),
    requiredScopes: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          'The route\'s authorization scopes: the token must carry at least one of them in `scope` (space-separated) or `scp` (list or space-separated), else 403 (AWS authorizationScopes).',
      }),
    ),
    identitySource: Type.Optional(
      withDefault(Type.String({
        pattern: '^(\\$request|method\\.request)\\.(header|querystring)\\.[^.\\s]+$',
        description: 'Where the token is: $request.header.NAME or $request.querystring.NAME (REST spelling method.request.header.NAME also accepted). A `Bearer ` prefix is optional.',
      }), '$request.header.Authorization'),
    ),
    cognito: Type.Optional(
      Type.Object(
        {
          region: Type.String({ pattern: '^[a-z]{2}(-[a-z]+)+-\\d$' }),
          userPoolId: Type.String({ pattern: '^[\\w-]+_[0-9a-zA-Z]+$' }),
        },
        { additionalProperties: false, description: 'Cognito user pool shorthand: issuer https://cognito-idp.{region}.amazonaws.com/{userPoolId}.' },
      ),
    ),
    challenge: Type.Optional(
      withDefault(
        Type.Boolean({
          description:
            'Whether 401 and 403 answers carry an RFC 6750 `www-authenticate: Bearer ...` challenge with the reason (AWS HTTP API JWT authorizers do; REST Cognito user pool authorizers answer without one). Default true.',
        }),
        true,
      ),
    ),
    requireAudience: Type.Optional(
      withDefault(
        Type.Boolean({
          description:
            'Whether `audience` must be given (default true, as AWS requires for HTTP API JWT authorizers). false accepts a config without `audience`: any audience of the issuer is then accepted (REST Cognito user pool authorizers check none).',
        }),
        true,
      ),
    ),
    jwksTimeoutMs: Type.Optional(
      withDefault(Type.Integer({
        minimum: 1,
        maximum: 60_000,
        description:
          'Longest wait for one key fetch (OpenID discovery document or JWKS, headers and body), in milliseconds (default 5000); a fetch that takes longer fails, and a request that needed the keys gets 401. Sources are shared per URL and timeout.',
      }), 5_000),
    ),
    cacheSize: Type.Optional(
      withDefault(Type.Integer({ minimum: 0, maximum: 1_000_000, description: 'Verified tokens kept (until they expire) so repeat requests skip signature checks; 0 disables.' }), 10_000),
    ),
  },
  {
    additionalProperties: false,
    description:
      'JWT authorizer with AWS HTTP API semantics (and Cognito user pools): verifies the token\'s signature against the issuer\'s keys, checks iss/aud/exp/nbf/iat and the route\'s scopes; 401/403 as AWS.',
  },
);
export type JwtConfig = Static<typeof schema>;
