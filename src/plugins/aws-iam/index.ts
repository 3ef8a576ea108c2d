/**
 * AWS_IAM authorization: every request of the route must be signed with AWS Signature Version 4 by
 * one of the configured access keys (docs/aws-iam.md: rules and AWS references). Verification is
 * src/security/sigv4.ts (pure); this file wires it to the pipeline:
 * - `needsRequestBody`: the payload hash covers the body, so the body is buffered (bounded by the
 *   route's body limit) before the authenticate phase;
 * - the canonical request uses `ctx.path`, the normalized path that is routed and forwarded;
 * - failures answer 403 with AWS's body and x-amzn-ErrorType; nothing secret is logged (the access
 *   key id and the failure kind only, at debug level);
 * - success sets `ctx.principal` (kind 'iam') with the signer's identity facts (access key, account,
 *   caller, user ARN); the function integration shapes them as AWS's events do.
 */
import type { Principal } from '../../pipeline/principal.js';
import type { PluginDefinition } from '../../pipeline/types.js';
import type { Denial } from '../../errors/catalogue.js';
import { EMPTY_SHA256, type SigV4Failure, SigningKeyCache, sha256Hex, verifySigV4 } from '../../security/sigv4.js';
import { type AwsIamCredential, schema } from './schema.js';

export type { AwsIamConfig, AwsIamCredential } from './schema.js';

interface Entry extends AwsIamCredential {
  readonly identity: Readonly<Record<string, unknown>>;
}

const CODE_OF: Record<SigV4Failure['gatewayResponseType'], 'MISSING_AUTHENTICATION' | 'INVALID_SIGNATURE' | 'SIGNATURE_EXPIRED'> = {
  MISSING_AUTHENTICATION_TOKEN: 'MISSING_AUTHENTICATION',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  EXPIRED_TOKEN: 'SIGNATURE_EXPIRED',
};

/** A failure as a denial: AWS's message and error type (which differs by kind within one gateway response type). */
export function failureDenial(f: SigV4Failure): Denial {
  return { deny: CODE_OF[f.gatewayResponseType], message: f.message, errorType: f.errorType };
}

/** The signer's identity facts (the names API Gateway uses in requestContext.identity for an IAM-authorized request). */
export function identityOf(c: AwsIamCredential): Record<string, unknown> {
  const caller = c.caller ?? c.accessKeyId;
  return { accessKey: c.accessKeyId, accountId: c.accountId, caller, user: caller, userArn: c.userArn };
}

export const awsIam: PluginDefinition<typeof schema> = {
  name: 'aws-iam',
  priority: 1100,
  phases: ['authenticate'],
  description: 'AWS_IAM authorization: verifies AWS Signature Version 4 against configured access keys.',
  configSchema: schema,
  needsRequestBody: true,
  create(config, deps) {
    const problems: { path: (string | number)[]; message: string }[] = [];
    const byKey = new Map<string, Entry>();
    config.credentials.forEach((c, i) => {
      if (byKey.has(c.accessKeyId)) problems.push({ path: ['credentials', i, 'accessKeyId'], message: `access key id "${c.accessKeyId}" is listed twice` });
      byKey.set(c.accessKeyId, Object.freeze({ ...c, identity: Object.freeze(identityOf(c)) }));
    });
    if (problems.length > 0) {
      const e = new Error(`aws-iam (${deps.scope}): ${problems.map((p) => `${p.path.join('.')}: ${p.message}`).join('; ')}`);
      throw Object.assign(e, { problems });
    }
    const { region, service, maxSkewSec, allowUnsignedPayload } = config;
    const keys = new SigningKeyCache();
    const lookup = (id: string) => byKey.get(id);
    const logger = deps.logger;
    const clock = deps.clock;

    return {
      authenticate(ctx) {
        const body = ctx.body;
        const r = verifySigV4(
          {
            method: ctx.method,
            path: ctx.path,
            rawQuery: ctx.rawQuery,
            rawHeaders: ctx.req.rawHeaders,
            bodySha256: () => (body === undefined || body.length === 0 ? EMPTY_SHA256 : sha256Hex(body)),
          },
          { region, service, maxSkewSec, now: clock.now(), lookup, allowUnsignedPayload, keys },
        );
        if (!r.ok) {
          // Never the signature, the token or the secret: the key id and why.
          if (logger.isLevelEnabled('debug')) logger.debug({ requestId: ctx.id, accessKeyId: r.accessKeyId, reason: r.kind }, 'aws-iam: request refused');
          ctx.errorDetail = `aws-iam: ${r.kind}`;
          return failureDenial(r);
        }
        const c = r.credential;
        const prev = ctx.principal as Principal | undefined;
        const principal: Principal = {
          kind: 'iam',
          id: c.identity.caller as string,
          identity: prev?.identity !== undefined ? { ...prev.identity, ...c.identity } : { ...c.identity },
        };
        ctx.principal = principal;
        return undefined;
      },
    };
  },
};
