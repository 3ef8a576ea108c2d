/**
 * Who the caller is, as the authenticate phase leaves it on `ctx.principal`. Each security plugin
 * fills the shapes AWS passes on, so integrations copy them without knowing which mechanism ran:
 * - `authorizerV1`: requestContext.authorizer of payload 1.0 events (REST: { principalId, ...context }
 *   for Lambda authorizers, { claims } for Cognito; HTTP API 1.0: { claims, scopes } for JWT);
 * - `authorizerV2`: requestContext.authorizer of payload 2.0 events ({ jwt: { claims, scopes } },
 *   { lambda: context }, { iam: {...} });
 * - `identity`: requestContext.identity fields to set (apiKey, apiKeyId, caller, user, userArn,
 *   accessKey, accountId, cognitoIdentityId..., clientCert);
 * - `templateContext`: $context.authorizer.* in mapping templates.
 */
export interface Principal {
  /** Which mechanism authenticated the caller. */
  kind: 'jwt' | 'cognito' | 'lambda' | 'iam' | 'api-key' | 'mtls';
  principalId?: string;
  authorizerV1?: Record<string, unknown>;
  authorizerV2?: Record<string, unknown>;
  identity?: Record<string, unknown>;
  templateContext?: Record<string, unknown>;
}

/**
 * Merges identity fields from several mechanisms (an API key and a JWT, say) into one principal; with
 * no principal yet, makes one of `kind`. Takes ownership of `fields` (callers pass a fresh literal), so
 * the common first-mechanism case copies nothing: this runs on every keyed request.
 */
export function addIdentity(ctx: { principal: unknown }, kind: Principal['kind'], fields: Record<string, unknown>): void {
  const p = ctx.principal as Principal | undefined;
  if (p === undefined) ctx.principal = { kind, identity: fields } satisfies Principal;
  else p.identity = { ...p.identity, ...fields };
}
