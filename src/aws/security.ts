/**
 * AWS security schemes as plugin configs: the importer's `x-amazon-apigateway-authorizer` objects become
 * the dialect-neutral configs of the jwt and lambda-authorizer plugins. The plugins know nothing of AWS
 * documents; what an AWS authorizer type implies (payload format, identity-source syntax, answer shape)
 * is spelled out here as plugin fields.
 */
import type { JwtConfig, JwtProblem } from '../plugins/jwt/index.js';
import type { LambdaAuthorizerConfig } from '../plugins/lambda-authorizer/index.js';
import type { AwsSecurityScheme } from '../openapi/types.js';

/** One problem mapping an AWS authorizer; `path` is relative to x-amazon-apigateway-authorizer. */
export class JwtFromAwsError extends Error {
  readonly problems: readonly JwtProblem[];
  constructor(problems: readonly JwtProblem[]) {
    super(problems.map((p) => `x-amazon-apigateway-authorizer ${p.path.join('.')}: ${p.message}`).join('\n'));
    this.name = 'JwtFromAwsError';
    this.problems = problems;
  }
}

const COGNITO_ARN = /^arn:aws[\w-]*:cognito-idp:([a-z]{2}(?:-[a-z]+)+-\d):\d{12}:userpool\/([\w-]+_[0-9a-zA-Z]+)$/;

/**
 * The jwt plugin config for an AWS security scheme: `x-amazon-apigateway-authorizer` of type `jwt`
 * (HTTP APIs: jwtConfiguration { issuer, audience }, identitySource; issuer from openIdConnectUrl
 * when absent) or `cognito_user_pools` (REST: providerARNs → Cognito issuer). `routeScopes` are the
 * route's authorization scopes (the OpenAPI security requirement's list). Throws JwtFromAwsError.
 */
export function jwtConfigFromAws(scheme: AwsSecurityScheme, routeScopes: readonly string[] = []): JwtConfig {
  const a = scheme.authorizer;
  const type = typeof a?.type === 'string' ? a.type.toLowerCase() : undefined;
  const problems: JwtProblem[] = [];
  let out: JwtConfig | undefined;
  if (a === undefined || (type !== 'jwt' && type !== 'cognito_user_pools')) {
    throw new JwtFromAwsError([{ path: ['type'], message: `not a JWT authorizer (type ${String(type)}); expected jwt or cognito_user_pools` }]);
  }
  if (type === 'jwt') {
    const jc = (a.jwtConfiguration ?? {}) as { issuer?: unknown; audience?: unknown };
    let issuer = typeof jc.issuer === 'string' ? jc.issuer : undefined;
    if (issuer === undefined && scheme.openIdConnectUrl !== undefined) issuer = scheme.openIdConnectUrl.replace(/\/\.well-known\/openid-configuration\/?$/, '');
    if (issuer === undefined) problems.push({ path: ['jwtConfiguration', 'issuer'], message: 'a jwt authorizer needs jwtConfiguration.issuer (or the scheme\'s openIdConnectUrl)' });
    const audience = Array.isArray(jc.audience) ? jc.audience.filter((x): x is string => typeof x === 'string') : typeof jc.audience === 'string' ? [jc.audience] : [];
    if (audience.length === 0) problems.push({ path: ['jwtConfiguration', 'audience'], message: 'a jwt authorizer needs jwtConfiguration.audience (at least one)' });
    out = { audience };
    if (issuer !== undefined) {
      out.issuer = issuer;
      const m = /^https:\/\/cognito-idp\.([a-z0-9-]+)\.amazonaws\.com\/([\w-]+_[0-9a-zA-Z]+)$/.exec(issuer);
      if (m) out.cognito = { region: m[1] as string, userPoolId: m[2] as string };
    }
    const src = typeof a.identitySource === 'string' ? a.identitySource.split(',')[0]?.trim() : undefined;
    if (src !== undefined && src !== '') out.identitySource = src;
  } else {
    const arns = Array.isArray(a.providerARNs) ? a.providerARNs.filter((x): x is string => typeof x === 'string') : [];
    if (arns.length === 0) problems.push({ path: ['providerARNs'], message: 'a cognito_user_pools authorizer needs providerARNs (user pool ARNs)' });
    else if (arns.length > 1) problems.push({ path: ['providerARNs'], message: 'only one user pool per authorizer is supported (split the routes between authorizers)' });
    const m = arns[0] === undefined ? null : COGNITO_ARN.exec(arns[0]);
    if (arns.length >= 1 && !m) problems.push({ path: ['providerARNs', 0], message: `"${arns[0]}" is not a user pool ARN (arn:aws:cognito-idp:REGION:ACCOUNT:userpool/POOL_ID)` });
    // REST Cognito authorizers check no audience and answer 401/403 without a Bearer challenge.
    out = { requireAudience: false, challenge: false };
    if (m) out.cognito = { region: m[1] as string, userPoolId: m[2] as string };
    let src = typeof a.identitySource === 'string' ? a.identitySource.trim() : undefined;
    if (src === undefined && scheme.in === 'header' && scheme.name) src = `method.request.header.${scheme.name}`;
    if (src !== undefined && src !== '') out.identitySource = src;
  }
  if (problems.length > 0) throw new JwtFromAwsError(problems);
  if (routeScopes.length > 0) out.requiredScopes = [...routeScopes];
  if (out.identitySource !== undefined && !/^(\$request|method\.request)\.(header|querystring)\.[^.\s]+$/.test(out.identitySource))
    throw new JwtFromAwsError([{ path: ['identitySource'], message: `identity source "${out.identitySource}" is not a header or query string parameter` }]);
  return out;
}

/**
 * The plugin config for an `x-amazon-apigateway-authorizer` of type `token` or `request` (REST) or
 * `request` (HTTP APIs: authorizerPayloadFormatVersion, enableSimpleResponses), or undefined when the
 * scheme is not a Lambda authorizer (cognito_user_pools, jwt). `functionName` is the key of the
 * authorizer function in the config's `functions` map. Stage, API id and basePath are the caller's to add.
 */
export function lambdaAuthorizerConfigFromAws(scheme: AwsSecurityScheme, apiType: 'rest' | 'http', functionName: string): LambdaAuthorizerConfig | undefined {
  const a = scheme.authorizer;
  if (a === undefined) return undefined;
  const t = String(a.type ?? '').toLowerCase();
  if (t !== 'token' && t !== 'request') return undefined;
  // REST TOKEN / REQUEST authorizers, or an HTTP API's payload format version (2.0 unless the document says 1.0).
  const format: LambdaAuthorizerConfig['format'] =
    apiType === 'rest' ? (t === 'token' ? 'token' : 'request') : String(a.authorizerPayloadFormatVersion ?? '2.0') === '1.0' ? '1.0' : '2.0';
  const out: LambdaAuthorizerConfig = { function: functionName, format };
  const src = a.identitySource;
  if (typeof src === 'string' && src.trim() !== '') out.identitySource = src.split(',').map((s) => s.trim()).filter((s) => s !== '');
  else if (Array.isArray(src) && src.length > 0) out.identitySource = src.map(String);
  else if (apiType === 'rest' && t === 'token' && typeof scheme.name === 'string' && scheme.in === 'header') {
    // Swagger apiKey scheme: `name` is the token header when identitySource is absent.
    out.identitySource = [`method.request.header.${scheme.name}`];
  }
  // No identity source in the document: the function runs for every request, uncached.
  if (out.identitySource === undefined && !(apiType === 'rest' && t === 'token')) out.identitySource = [];
  const ttl = a.authorizerResultTtlInSeconds;
  if (typeof ttl === 'number' && Number.isInteger(ttl) && ttl >= 0) out.resultTtlSeconds = Math.min(ttl, 3600);
  else if (typeof ttl === 'string' && /^\d+$/.test(ttl)) out.resultTtlSeconds = Math.min(Number(ttl), 3600);
  else if (apiType === 'http') out.resultTtlSeconds = 0;
  if (Array.isArray(out.identitySource) && out.identitySource.length === 0) out.resultTtlSeconds = 0;
  if (typeof a.identityValidationExpression === 'string' && a.identityValidationExpression !== '' && apiType === 'rest' && t === 'token') out.identityValidationExpression = a.identityValidationExpression;
  if (apiType === 'http' && a.enableSimpleResponses === true) out.simpleResponses = true;
  return out;
}
