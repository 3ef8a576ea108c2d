/**
 * The generic principal (src/pipeline/principal.ts) in AWS's shapes: `requestContext.authorizer` of
 * Lambda payload 1.0 (REST and HTTP API flavours) and 2.0, and `$context.authorizer` of mapping
 * templates. The shapes are pinned by test/unit/principal-shapes.test.ts and the recorded events in
 * ../shared/aws-groundtruth (through test/integration/function*, lambda-authorizer, jwt, aws-*).
 *
 * One instance per integration (per compiled config): it memoizes the stringified claims and
 * authorizer contexts per principal object part, which plugins share across requests (a verified
 * token, a cached authorizer result), so a repeat caller costs a WeakMap lookup, not a re-stringify.
 */
import type { Principal } from '../../pipeline/principal.js';

/** Which API's conventions an event follows: REST APIs or HTTP APIs. */
export type ApiFlavor = 'rest' | 'http';

/** Claims as AWS passes them: every value a string (HTTP APIs print lists as "[a b]"; REST joins them with commas). */
export function stringifyClaims(claims: Readonly<Record<string, unknown>>, flavor: ApiFlavor): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(claims)) out[k] = claimString(v, flavor);
  return out;
}

function claimString(v: unknown, flavor: ApiFlavor): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v);
  if (v === null || v === undefined) return '';
  if (Array.isArray(v)) {
    const parts = v.map((x) => (typeof x === 'object' && x !== null ? JSON.stringify(x) : String(x)));
    return flavor === 'rest' ? parts.join(',') : `[${parts.join(' ')}]`;
  }
  return JSON.stringify(v);
}

/** A copy whose own enumerable keys are exactly the map's (defineProperty: a `__proto__` key stays data). */
function copyMap(src: Readonly<Record<string, unknown>>, map: (v: unknown) => unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(src)) Object.defineProperty(out, k, { value: map(v), enumerable: true, writable: true, configurable: true });
  return out;
}
const same = (v: unknown) => v;

export class PrincipalShapes {
  readonly #flavor: ApiFlavor;
  readonly #claims = new WeakMap<object, Readonly<Record<string, string>>>();
  readonly #restContext = new WeakMap<object, Readonly<Record<string, unknown>>>();

  constructor(flavor: ApiFlavor) {
    this.#flavor = flavor;
  }

  #claimsOf(claims: Readonly<Record<string, unknown>>): Readonly<Record<string, string>> {
    let s = this.#claims.get(claims);
    if (s === undefined) {
      s = Object.freeze(stringifyClaims(claims, this.#flavor));
      this.#claims.set(claims, s);
    }
    return s;
  }

  /** REST: a Lambda authorizer's context values arrive as strings. */
  #restContextOf(context: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
    let s = this.#restContext.get(context);
    if (s === undefined) {
      s = Object.freeze(copyMap(context, String));
      this.#restContext.set(context, s);
    }
    return s;
  }

  /** requestContext.authorizer of a payload 1.0 event (REST: Cognito { claims }, Lambda { ...context, principalId, integrationLatency }; HTTP API: { claims, scopes }, { lambda }). */
  v1(p: Principal | undefined): Record<string, unknown> | undefined {
    if (p === undefined) return undefined;
    if (p.claims !== undefined) {
      const claims = this.#claimsOf(p.claims);
      return this.#flavor === 'rest' ? { claims } : { claims, scopes: p.scopes ?? null };
    }
    if (p.kind === 'lambda') {
      const context = p.context ?? {};
      if (this.#flavor === 'http') return { lambda: copyMap(context, same) };
      const out = { ...this.#restContextOf(context) };
      if (p.id !== undefined) out.principalId = p.id;
      out.integrationLatency = p.authorizerLatencyMs ?? 0;
      return out;
    }
    return undefined;
  }

  /** requestContext.authorizer of a payload 2.0 event: { jwt: { claims, scopes } }, { lambda }, { iam }. */
  v2(p: Principal | undefined): Record<string, unknown> | undefined {
    if (p === undefined) return undefined;
    if (p.claims !== undefined) return { jwt: { claims: this.#claimsOf(p.claims), scopes: p.scopes ?? null } };
    if (p.kind === 'lambda') return { lambda: copyMap(p.context ?? {}, same) };
    if (p.kind === 'iam' && p.identity !== undefined) {
      const id = p.identity;
      return { iam: { accessKey: id.accessKey, accountId: id.accountId, callerId: id.caller, cognitoIdentity: null, principalOrgId: null, userArn: id.userArn, userId: id.caller } };
    }
    return undefined;
  }

  /** $context.authorizer in mapping templates and request parameters: { claims } or { ...context, principalId }. */
  template(p: Principal | undefined): Record<string, unknown> | undefined {
    if (p === undefined) return undefined;
    if (p.claims !== undefined) return { claims: this.#claimsOf(p.claims) };
    if (p.kind === 'lambda') {
      const out = copyMap(p.context ?? {}, same);
      if (p.id !== undefined) out.principalId = p.id;
      return out;
    }
    return undefined;
  }
}
