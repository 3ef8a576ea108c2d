/**
 * Who the caller is, as the authenticate phase leaves it on `ctx.principal`: generic facts, never an
 * event shape. Each security plugin says what it established; integrations that speak a dialect map
 * these facts onto it (src/integrations/function/principal-shapes.ts: Lambda's requestContext.authorizer
 * of payload 1.0 and 2.0, and $context.authorizer in mapping templates).
 */
export interface Principal {
  /** How the caller was established. */
  kind: 'jwt' | 'cognito' | 'lambda' | 'iam' | 'api-key' | 'mtls';
  /** The caller's id: a token's `sub`, an authorizer's principalId, an IAM caller. */
  id?: string;
  /** A verified token's claims, as the token carried them (jwt, cognito). Shared and frozen per token. */
  claims?: Readonly<Record<string, unknown>>;
  /** The token's scopes, when the route asks for scopes; null when it asks for none (AWS then passes null). */
  scopes?: readonly string[] | null;
  /** What an authorizer returned about the caller (a Lambda authorizer's context map). Shared per cached result. */
  context?: Readonly<Record<string, unknown>>;
  /** How long the authorizer took, in ms (0 for a cached answer). */
  authorizerLatencyMs?: number;
  /**
   * Identity facts about the caller, flat: apiKey, apiKeyId (API key); accessKey, accountId, caller,
   * user, userArn (a SigV4 signer); clientCert (mutual TLS). Several mechanisms add to it.
   */
  identity?: Record<string, unknown>;
  /** An API key the authenticating mechanism vouches for (checked by the api-key plugin with source AUTHORIZER). */
  usageIdentifierKey?: string;
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
