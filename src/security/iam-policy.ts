/**
 * IAM policy evaluation for API Gateway Lambda authorizers: the `policyDocument` an authorizer returns,
 * evaluated against one request's method ARN as API Gateway does (docs/lambda-authorizers.md cites the
 * AWS pages). Pure: no I/O, no clock.
 *
 * Rules (AWS "IAM JSON policy elements" and "Policy evaluation logic", restricted to what an authorizer
 * policy can say):
 * - A statement applies when its Action (or NotAction) covers `execute-api:Invoke` and its Resource (or
 *   NotResource) covers the ARN. Action and Resource may be a string or an array of strings.
 * - Any applicable Deny wins ("explicit deny"); otherwise any applicable Allow allows; otherwise the
 *   request is denied ("implicit deny").
 * - Wildcards: `*` matches any run of characters (slashes included), `?` exactly one character.
 *   Actions compare case-insensitively (IAM action names are case-insensitive), resources
 *   case-sensitively.
 * - A statement with a `Condition` cannot be evaluated here (no request keys): it fails closed, an Allow
 *   with a Condition never applies and a Deny with a Condition always applies.
 * - A document that is not a policy (no Statement, an Effect other than "Allow"/"Deny", a statement
 *   without Action/NotAction or Resource/NotResource, non-string entries) is malformed: the caller
 *   answers 500 as API Gateway answers an authorizer configuration error.
 */

export type PolicyDecision = 'allow' | 'explicit-deny' | 'implicit-deny';

interface CompiledStatement {
  readonly allow: boolean;
  /** Matches the action list; `notAction` inverts. */
  readonly actions: readonly Pattern[];
  readonly notAction: boolean;
  readonly resources: readonly Pattern[];
  readonly notResource: boolean;
  readonly conditional: boolean;
}

/** A policy document compiled once (cached authorizer results keep this, not a yes/no). */
export interface CompiledPolicy {
  readonly statements: readonly CompiledStatement[];
}

export type PolicyParse = { ok: true; policy: CompiledPolicy } | { ok: false; reason: string };

/**
 * IAM wildcard match: `*` matches any run of characters (slashes included), `?` exactly one character.
 * The classic greedy matcher that remembers only the last `*`: O(pattern x subject) in the worst case,
 * never exponential, whatever the policy says (a RegExp with many `*` can backtrack for ages).
 * `pattern` and `subject` must already be in the same case when the comparison is case-insensitive.
 */
export function wildcardMatch(pattern: string, subject: string): boolean {
  let p = 0;
  let s = 0;
  let star = -1;
  let mark = 0;
  const pl = pattern.length;
  const sl = subject.length;
  while (s < sl) {
    const pc = p < pl ? pattern.charCodeAt(p) : -1;
    if (pc === 42 /* * */) {
      star = p++;
      mark = s;
    } else if (pc === 63 /* ? */ || pc === subject.charCodeAt(s)) {
      p++;
      s++;
    } else if (star !== -1) {
      p = star + 1;
      s = ++mark;
    } else return false;
  }
  while (p < pl && pattern.charCodeAt(p) === 42) p++;
  return p === pl;
}

interface Pattern {
  readonly source: string;
  readonly lower: boolean;
}

const matches = (pat: Pattern, s: string) => wildcardMatch(pat.source, pat.lower ? s.toLowerCase() : s);

function stringList(v: unknown): string[] | undefined {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'string')) return v as string[];
  return undefined;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Compiles a policy document (the authorizer's `policyDocument`), or says why it is not one. */
export function compilePolicy(doc: unknown): PolicyParse {
  if (!isObject(doc)) return { ok: false, reason: 'policyDocument is not an object' };
  const raw = doc.Statement;
  const list = Array.isArray(raw) ? raw : isObject(raw) ? [raw] : undefined;
  if (list === undefined) return { ok: false, reason: 'policyDocument.Statement is missing or not an array/object' };
  const statements: CompiledStatement[] = [];
  for (const [i, s] of list.entries()) {
    if (!isObject(s)) return { ok: false, reason: `Statement[${i}] is not an object` };
    if (s.Effect !== 'Allow' && s.Effect !== 'Deny') return { ok: false, reason: `Statement[${i}].Effect must be "Allow" or "Deny"` };
    const hasAction = s.Action !== undefined;
    const hasNotAction = s.NotAction !== undefined;
    if (hasAction === hasNotAction) return { ok: false, reason: `Statement[${i}] needs exactly one of Action and NotAction` };
    const actions = stringList(hasAction ? s.Action : s.NotAction);
    if (actions === undefined) return { ok: false, reason: `Statement[${i}].${hasAction ? 'Action' : 'NotAction'} must be a string or a non-empty array of strings` };
    const hasResource = s.Resource !== undefined;
    const hasNotResource = s.NotResource !== undefined;
    if (hasResource === hasNotResource) return { ok: false, reason: `Statement[${i}] needs exactly one of Resource and NotResource` };
    const resources = stringList(hasResource ? s.Resource : s.NotResource);
    if (resources === undefined) return { ok: false, reason: `Statement[${i}].${hasResource ? 'Resource' : 'NotResource'} must be a string or a non-empty array of strings` };
    statements.push({
      allow: s.Effect === 'Allow',
      actions: actions.map((a) => ({ source: a.toLowerCase(), lower: true })),
      notAction: hasNotAction,
      resources: resources.map((r) => ({ source: r, lower: false })),
      notResource: hasNotResource,
      conditional: s.Condition !== undefined,
    });
  }
  return { ok: true, policy: { statements } };
}

const anyMatch = (pats: readonly Pattern[], s: string) => {
  for (const p of pats) if (matches(p, s)) return true;
  return false;
};

/** Evaluates a compiled policy for `action` on `resourceArn`: explicit Deny wins, then Allow, else implicit deny. */
export function evaluatePolicy(policy: CompiledPolicy, resourceArn: string, action = 'execute-api:Invoke'): PolicyDecision {
  let allowed = false;
  for (const st of policy.statements) {
    if (st.conditional) {
      // Fail closed: a conditional Allow never grants, a conditional Deny always applies (if it covers the request).
      if (st.allow) continue;
    }
    if (anyMatch(st.actions, action) === st.notAction) continue;
    if (anyMatch(st.resources, resourceArn) === st.notResource) continue;
    if (!st.allow) return 'explicit-deny';
    allowed = true;
  }
  return allowed ? 'allow' : 'implicit-deny';
}

export interface MethodArnParts {
  region: string;
  accountId: string;
  apiId: string;
  stage: string;
  method: string;
  /** The request path (leading slash optional; it is removed). */
  path: string;
}

/**
 * `arn:aws:execute-api:{region}:{account}:{apiId}/{stage}/{VERB}/{path without its leading slash}`,
 * as API Gateway fills `methodArn` (REST) and `routeArn` (HTTP APIs). The root path gives a trailing '/'.
 */
export function buildMethodArn(p: MethodArnParts): string {
  const path = p.path.startsWith('/') ? p.path.slice(1) : p.path;
  return `arn:aws:execute-api:${p.region}:${p.accountId}:${p.apiId}/${p.stage}/${p.method}/${path}`;
}
