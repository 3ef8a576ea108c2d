/**
 * AWS Signature Version 4 verification (the AWS_IAM authorization of API Gateway), pure: no I/O, no
 * clock (the caller passes `now`), no logging. docs/aws-iam.md cites the AWS rules applied here:
 * - "Create a signed AWS API request" / "Elements of an AWS API request signature"
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html
 *   https://docs.aws.amazon.com/IAM/latest/UserGuide/signing-elements.html
 * - "Authenticating Requests: Using Query Parameters" (presigned form)
 *   https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html
 *
 * SECURITY: the canonical request is built from the NORMALIZED path the gateway routes on and
 * forwards (src/server/path.ts), never from the raw request target, so a signature always covers the
 * path that is authorized and forwarded. A client that signed a different spelling of the path is
 * refused (fail closed). Canonical URI encoding follows the AWS SDK signer for every service but S3
 * (@smithy/signature-v4 `uriEscapePath: true`): dot segments and empty segments removed, then the
 * (already percent-encoded) path URI-encoded once more, '/' kept.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const ALGORITHM = 'AWS4-HMAC-SHA256';
export const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
export const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** AWS caps presigned URLs at 7 days. */
export const MAX_PRESIGNED_EXPIRES = 604800;

/** What AWS answers, by failure kind (status is 403 for all of them). */
export type FailureKind = 'missing' | 'incomplete' | 'signature' | 'expired' | 'unknown-key' | 'token';

export interface SigV4Failure {
  ok: false;
  kind: FailureKind;
  /** The body's message, AWS wording. Never contains a secret, a signature or a token. */
  message: string;
  /** The x-amzn-ErrorType header value AWS sends. */
  errorType: string;
  /** The API Gateway gateway response type a REST API would customise this answer with. */
  gatewayResponseType: 'MISSING_AUTHENTICATION_TOKEN' | 'INVALID_SIGNATURE' | 'EXPIRED_TOKEN';
  /** Access key id of the request, when it could be parsed (not a secret; for logs). */
  accessKeyId?: string;
}

export interface SigV4Success<C> {
  ok: true;
  accessKeyId: string;
  credential: C;
  /** 'header' (Authorization) or 'query' (presigned URL). */
  form: 'header' | 'query';
  /** Request time, ISO 8601 basic (YYYYMMDDTHHMMSSZ). */
  amzDate: string;
}

export type SigV4Result<C> = SigV4Success<C> | SigV4Failure;

/** A credential the verifier can check against. */
export interface SigV4Credential {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
}

/** The request as the gateway will forward it. */
export interface SigV4Request {
  method: string;
  /** The normalized path (src/server/path.ts normalizeTarget), e.g. '/a/caf%C3%A9'. */
  path: string;
  /** Query string as forwarded, without '?'. */
  rawQuery: string;
  /** Node's rawHeaders: [name, value, name, value...]. */
  rawHeaders: readonly string[];
  /** Hex SHA-256 of the body; called at most once and only when the payload hash is needed. */
  bodySha256: () => string;
}

export interface VerifyOptions<C extends SigV4Credential> {
  region: string;
  service: string;
  /** Allowed distance between the request time and `now`, in seconds. */
  maxSkewSec: number;
  /** Epoch milliseconds. */
  now: number;
  lookup: (accessKeyId: string) => C | undefined;
  /** Accept `x-amz-content-sha256: UNSIGNED-PAYLOAD` (the body is then not covered by the signature). */
  allowUnsignedPayload?: boolean;
  /** Signing-key cache (optional; see SigningKeyCache). */
  keys?: SigningKeyCache;
}

// ---------------------------------------------------------------------------------------------
// AWS answers (docs/aws-iam.md lists the sources).

export const MESSAGES = {
  missing: 'Missing Authentication Token',
  signature:
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
  unknownKey: 'The security token included in the request is invalid.',
} as const;

function fail(kind: FailureKind, message: string, accessKeyId?: string): SigV4Failure {
  let errorType: string;
  let gatewayResponseType: SigV4Failure['gatewayResponseType'] = 'INVALID_SIGNATURE';
  switch (kind) {
    case 'missing':
      errorType = 'MissingAuthenticationTokenException';
      gatewayResponseType = 'MISSING_AUTHENTICATION_TOKEN';
      break;
    case 'incomplete':
      errorType = 'IncompleteSignatureException';
      break;
    case 'expired':
      errorType = 'InvalidSignatureException';
      gatewayResponseType = 'EXPIRED_TOKEN';
      break;
    case 'unknown-key':
    case 'token':
      errorType = 'UnrecognizedClientException';
      break;
    default:
      errorType = 'InvalidSignatureException';
  }
  const f: SigV4Failure = { ok: false, kind, message, errorType, gatewayResponseType };
  if (accessKeyId !== undefined) f.accessKeyId = accessKeyId;
  return f;
}

// ---------------------------------------------------------------------------------------------
// Encoding and canonical forms.

/** RFC 3986 encoding as the AWS SDK's `escapeUri`: everything but A-Z a-z 0-9 - _ . ~ is %XX (UTF-8, upper-case hex). */
export function uriEncode(s: string): string {
  return encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Canonical URI of a path for every service but S3 (the SDK's `uriEscapePath: true`): empty and dot
 * segments removed (RFC 3986), a trailing slash kept, then each segment URI-encoded once more (the
 * path on the wire is already encoded once: "each path segment must be URI-encoded twice").
 */
export function canonicalUri(path: string): string {
  const segs: string[] = [];
  for (const s of path.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') segs.pop();
    else segs.push(s);
  }
  const p = `${path.startsWith('/') ? '/' : ''}${segs.join('/')}${segs.length > 0 && path.endsWith('/') ? '/' : ''}`;
  return uriEncode(p).replace(/%2F/g, '/');
}

/** Lenient percent-decoding of one query component; null when it is not valid UTF-8 percent-encoding. */
function decodeComponent(s: string): string | null {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * Canonical query string: each name and value decoded then URI-encoded (RFC 3986, '+' is a literal
 * plus, a space is %20), sorted by encoded name then value, `name=` for a parameter without a value.
 * `skip` (case-insensitive) leaves out a parameter (X-Amz-Signature of a presigned URL).
 * Null when a component is not decodable (the request is refused: we cannot know what was signed).
 */
export function canonicalQuery(rawQuery: string, skip?: string): string | null {
  if (rawQuery === '') return '';
  const pairs: [string, string][] = [];
  const skipLower = skip?.toLowerCase();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rk = eq === -1 ? part : part.slice(0, eq);
    const rv = eq === -1 ? '' : part.slice(eq + 1);
    const k = decodeComponent(rk);
    const v = decodeComponent(rv);
    if (k === null || v === null) return null;
    if (skipLower !== undefined && k.toLowerCase() === skipLower) continue;
    pairs.push([uriEncode(k), uriEncode(v)]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join('&');
}

/** Trimmed, inner whitespace runs collapsed (SigV4 "Trimall"). */
function trimAll(v: string): string {
  return v.replace(/[ \t\r\n]+/g, ' ').trim();
}

/** Every value of a header (case-insensitive name), in order. */
function headerValues(rawHeaders: readonly string[], lower: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if ((rawHeaders[i] as string).toLowerCase() === lower) out.push(rawHeaders[i + 1] as string);
  }
  return out;
}

function headerValue(rawHeaders: readonly string[], lower: string): string | undefined {
  const v = headerValues(rawHeaders, lower);
  return v.length === 0 ? undefined : v.join(',');
}

/** Canonical headers block (each line `name:value\n`) for the given signed header names. */
export function canonicalHeaders(rawHeaders: readonly string[], signed: readonly string[]): string {
  let out = '';
  for (const name of signed) {
    const lookup = name === 'host' ? hostValues(rawHeaders) : headerValues(rawHeaders, name);
    out += `${name}:${lookup.map(trimAll).join(',')}\n`;
  }
  return out;
}

/** Host, or HTTP/2's :authority standing for it. */
function hostValues(rawHeaders: readonly string[]): string[] {
  const h = headerValues(rawHeaders, 'host');
  return h.length > 0 ? h : headerValues(rawHeaders, ':authority');
}

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function canonicalRequest(method: string, uri: string, query: string, headers: string, signedHeaders: string, payloadHash: string): string {
  return `${method}\n${uri}\n${query}\n${headers}\n${signedHeaders}\n${payloadHash}`;
}

export function stringToSign(amzDate: string, scope: string, canonical: string): string {
  return `${ALGORITHM}\n${amzDate}\n${scope}\n${sha256Hex(canonical)}`;
}

export function deriveSigningKey(secret: string, shortDate: string, region: string, service: string): Buffer {
  const kDate = createHmac('sha256', `AWS4${secret}`).update(shortDate).digest();
  const kRegion = createHmac('sha256', kDate).update(region).digest();
  const kService = createHmac('sha256', kRegion).update(service).digest();
  return createHmac('sha256', kService).update('aws4_request').digest();
}

/**
 * Signing keys per (secret, date, region, service). A key is valid for one day, and requests are
 * within the skew of now, so a handful of entries per credential suffice; the map is bounded.
 * Keys are kept by credential object identity, so a reload (new objects) starts a new cache.
 */
export class SigningKeyCache {
  readonly #map = new WeakMap<object, Map<string, Buffer>>();
  get(cred: SigV4Credential, shortDate: string, region: string, service: string): Buffer {
    let m = this.#map.get(cred);
    if (m === undefined) {
      m = new Map();
      this.#map.set(cred, m);
    }
    const k = `${shortDate}/${region}/${service}`;
    let key = m.get(k);
    if (key === undefined) {
      key = deriveSigningKey(cred.secretAccessKey, shortDate, region, service);
      if (m.size >= 8) m.delete(m.keys().next().value as string);
      m.set(k, key);
    }
    return key;
  }
}

/** Constant-time comparison of two strings (length leaks, content does not). */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a, 'utf8');
  const bb = Buffer.from(b, 'utf8');
  if (ba.length !== bb.length) {
    timingSafeEqual(ba, ba); // same work either way
    return false;
  }
  return timingSafeEqual(ba, bb);
}

// ---------------------------------------------------------------------------------------------
// Parsing.

const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
const HEX64 = /^[0-9a-f]{64}$/;
const SIGNED_HEADERS = /^[!#$%&'*+.^_`|~0-9a-z-]+(;[!#$%&'*+.^_`|~0-9a-z-]+)*$/;

/** Epoch ms of an ISO 8601 basic timestamp, or NaN. */
export function parseAmzDate(s: string): number {
  const m = AMZ_DATE.exec(s);
  if (m === null) return Number.NaN;
  const [, y, mo, d, h, mi, se] = m.map(Number) as number[];
  const t = Date.UTC(y as number, (mo as number) - 1, d, h, mi, se);
  // Reject 20250231T... style dates that Date.UTC would roll over.
  return formatAmzDate(t) === s ? t : Number.NaN;
}

export function formatAmzDate(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

interface Parsed {
  accessKeyId: string;
  scopeDate: string;
  scopeRegion: string;
  scopeService: string;
  scopeTerminator: string;
  signedHeaders: string;
  signature: string;
}

/** `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`. */
function parseAuthorizationHeader(value: string): Parsed | SigV4Failure {
  const v = value.trim();
  if (!v.startsWith(`${ALGORITHM} `)) return fail('incomplete', incompleteHeaderMessage({}));
  const params: Record<string, string> = {};
  for (const part of v.slice(ALGORITHM.length + 1).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) return fail('incomplete', incompleteHeaderMessage(params));
    const name = p.slice(0, eq).trim();
    if (Object.hasOwn(params, name)) return fail('incomplete', `Authorization header has duplicate '${name}' parameter.`);
    params[name] = p.slice(eq + 1).trim();
  }
  if (params.Credential === undefined || params.SignedHeaders === undefined || params.Signature === undefined) {
    return fail('incomplete', incompleteHeaderMessage(params));
  }
  return parseParts(params.Credential, params.SignedHeaders, params.Signature);
}

/** AWS lists every missing element; it also echoes the header, which we do not (it may hold a token). */
function incompleteHeaderMessage(params: Record<string, string>): string {
  const missing: string[] = [];
  for (const k of ['Credential', 'Signature', 'SignedHeaders']) if (params[k] === undefined) missing.push(`Authorization header requires '${k}' parameter.`);
  return missing.length > 0 ? missing.join(' ') : 'Authorization header is malformed.';
}

function parseParts(credential: string, signedHeaders: string, signature: string): Parsed | SigV4Failure {
  const c = credential.split('/');
  if (c.length !== 5 || c.some((x) => x === '')) {
    return fail('incomplete', `Credential should be scoped to a valid region. Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/term.`);
  }
  const [accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator] = c as [string, string, string, string, string];
  if (!SIGNED_HEADERS.test(signedHeaders)) return fail('incomplete', 'SignedHeaders must be lower-case header names separated by semicolons.', accessKeyId);
  if (!HEX64.test(signature)) return fail('signature', MESSAGES.signature, accessKeyId);
  return { accessKeyId, scopeDate, scopeRegion, scopeService, scopeTerminator, signedHeaders, signature };
}

/** Query parameter by exact AWS name, case-insensitive; undefined if absent, null if repeated or undecodable. */
function queryParam(rawQuery: string, name: string): string | undefined | null {
  const lower = name.toLowerCase();
  let found: string | undefined | null;
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const k = decodeComponent(eq === -1 ? part : part.slice(0, eq));
    if (k === null || k.toLowerCase() !== lower) continue;
    if (found !== undefined) return null;
    found = decodeComponent(eq === -1 ? '' : part.slice(eq + 1));
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// Verification.

/**
 * Verifies a SigV4-signed request (Authorization header or presigned query string).
 * Order of checks, as AWS: presence and form → credential lookup → scope → time → session token →
 * signature. Everything that only depends on the request text comes before any HMAC.
 */
export function verifySigV4<C extends SigV4Credential>(req: SigV4Request, opts: VerifyOptions<C>): SigV4Result<C> {
  const authHeaders = headerValues(req.rawHeaders, 'authorization');
  const hasQueryAuth = /(^|&)x-amz-(algorithm|signature|credential)=/i.test(req.rawQuery);
  if (authHeaders.length === 0 && !hasQueryAuth) return fail('missing', MESSAGES.missing);
  if (authHeaders.length > 0 && hasQueryAuth) return fail('incomplete', 'Only one authentication mechanism is allowed: an Authorization header or X-Amz-* query parameters, not both.');
  if (authHeaders.length > 1) return fail('incomplete', 'Only one Authorization header is allowed.');

  let parsed: Parsed;
  let form: 'header' | 'query';
  let amzDate: string;
  let expiresSec = 0;
  let token: string | undefined;
  let dateHeaderName: string | undefined;
  if (authHeaders.length === 1) {
    form = 'header';
    const p = parseAuthorizationHeader(authHeaders[0] as string);
    if ('ok' in p) return p;
    parsed = p;
    const xAmzDate = headerValue(req.rawHeaders, 'x-amz-date');
    if (xAmzDate !== undefined) {
      dateHeaderName = 'x-amz-date';
      amzDate = xAmzDate.trim();
      if (Number.isNaN(parseAmzDate(amzDate))) return fail('incomplete', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, p.accessKeyId);
    } else {
      const date = headerValue(req.rawHeaders, 'date');
      if (date === undefined) return fail('incomplete', "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.", p.accessKeyId);
      dateHeaderName = 'date';
      const d = date.trim();
      const t = AMZ_DATE.test(d) ? parseAmzDate(d) : Date.parse(d);
      if (Number.isNaN(t)) return fail('incomplete', "Date must be in ISO-8601 'basic format'.", p.accessKeyId);
      amzDate = formatAmzDate(t);
    }
    const tokens = headerValues(req.rawHeaders, 'x-amz-security-token');
    if (tokens.length > 1) return fail('token', MESSAGES.unknownKey, p.accessKeyId);
    token = tokens[0];
  } else {
    form = 'query';
    const get = (n: string) => queryParam(req.rawQuery, n);
    const alg = get('X-Amz-Algorithm');
    const cred = get('X-Amz-Credential');
    const date = get('X-Amz-Date');
    const expires = get('X-Amz-Expires');
    const sh = get('X-Amz-SignedHeaders');
    const sig = get('X-Amz-Signature');
    const tok = get('X-Amz-Security-Token');
    if ([alg, cred, date, expires, sh, sig, tok].some((x) => x === null)) return fail('incomplete', 'X-Amz-* query parameters must appear once and be correctly percent-encoded.');
    const missing = (
      [
        ['X-Amz-Algorithm', alg],
        ['X-Amz-Credential', cred],
        ['X-Amz-Signature', sig],
        ['X-Amz-SignedHeaders', sh],
        ['X-Amz-Date', date],
        ['X-Amz-Expires', expires],
      ] as const
    )
      .filter(([, v]) => v === undefined)
      .map(([n]) => `AWS query-string parameters must include '${n}'.`);
    if (missing.length > 0) return fail('incomplete', missing.join(' '));
    if (alg !== ALGORITHM) return fail('incomplete', `X-Amz-Algorithm only supports "${ALGORITHM}"`);
    const p = parseParts(cred as string, sh as string, sig as string);
    if ('ok' in p) return p;
    parsed = p;
    amzDate = date as string;
    if (Number.isNaN(parseAmzDate(amzDate))) return fail('incomplete', `X-Amz-Date must be in the ISO8601 Long Format "yyyyMMdd'T'HHmmss'Z'"`, p.accessKeyId);
    if (!/^\d{1,6}$/.test(expires as string) || Number(expires) < 1 || Number(expires) > MAX_PRESIGNED_EXPIRES) {
      return fail('incomplete', `X-Amz-Expires must be a number of seconds between 1 and ${MAX_PRESIGNED_EXPIRES}.`, p.accessKeyId);
    }
    expiresSec = Number(expires);
    token = tok ?? undefined;
  }
  const akid = parsed.accessKeyId;

  // The credential.
  const credential = opts.lookup(akid);
  if (credential === undefined) return fail('unknown-key', MESSAGES.unknownKey, akid);

  // The scope.
  if (parsed.scopeTerminator !== 'aws4_request') return fail('signature', `Credential should be scoped with a valid terminator: 'aws4_request', not '${parsed.scopeTerminator}'. `, akid);
  if (parsed.scopeService !== opts.service) return fail('signature', `Credential should be scoped to correct service: '${opts.service}'. `, akid);
  if (parsed.scopeRegion !== opts.region) return fail('signature', `Credential should be scoped to a valid region. `, akid);
  if (parsed.scopeDate !== amzDate.slice(0, 8)) {
    return fail('signature', `Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '${parsed.scopeDate}' != '${amzDate.slice(0, 8)}', from '${amzDate}'.`, akid);
  }

  // The time: within the skew of now, and for a presigned URL not past its expiry.
  const t = parseAmzDate(amzDate);
  const skewMs = opts.maxSkewSec * 1000;
  const skewLabel = opts.maxSkewSec % 60 === 0 ? `${opts.maxSkewSec / 60} min.` : `${opts.maxSkewSec} sec.`;
  if (form === 'query') {
    if (t > opts.now + skewMs) {
      return fail('expired', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(opts.now + skewMs)} (${formatAmzDate(opts.now)} + ${skewLabel})`, akid);
    }
    if (opts.now > t + expiresSec * 1000) {
      return fail('expired', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(opts.now - expiresSec * 1000)} (${formatAmzDate(opts.now)} - ${expiresSec} sec.)`, akid);
    }
  } else {
    if (t < opts.now - skewMs) {
      return fail('expired', `Signature expired: ${amzDate} is now earlier than ${formatAmzDate(opts.now - skewMs)} (${formatAmzDate(opts.now)} - ${skewLabel})`, akid);
    }
    if (t > opts.now + skewMs) {
      return fail('expired', `Signature not yet current: ${amzDate} is still later than ${formatAmzDate(opts.now + skewMs)} (${formatAmzDate(opts.now)} + ${skewLabel})`, akid);
    }
  }

  // The session token: required and equal when the credential has one, absent otherwise.
  if (credential.sessionToken !== undefined) {
    if (token === undefined || !safeEqual(token, credential.sessionToken)) return fail('token', MESSAGES.unknownKey, akid);
  } else if (token !== undefined) return fail('token', MESSAGES.unknownKey, akid);

  // Signed headers: host always; the date header and the token header when they are used.
  const signed = parsed.signedHeaders.split(';');
  for (let i = 1; i < signed.length; i++) {
    if ((signed[i - 1] as string) >= (signed[i] as string)) return fail('incomplete', 'SignedHeaders must be sorted and without duplicates.', akid);
  }
  if (!signed.includes('host')) return fail('incomplete', "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.", akid);
  if (hostValues(req.rawHeaders).length === 0) return fail('incomplete', 'The request has no Host header.', akid);
  if (dateHeaderName !== undefined && !signed.includes(dateHeaderName)) {
    return fail('incomplete', `'${dateHeaderName === 'date' ? 'Date' : 'X-Amz-Date'}' must be a 'SignedHeader' in the AWS Authorization.`, akid);
  }
  if (form === 'header' && token !== undefined && !signed.includes('x-amz-security-token')) {
    return fail('incomplete', "'X-Amz-Security-Token' must be a 'SignedHeader' in the AWS Authorization.", akid);
  }
  if (signed.includes('authorization')) return fail('incomplete', "'Authorization' cannot be a 'SignedHeader'.", akid);

  // The payload hash: the declared one must be the body's (or UNSIGNED-PAYLOAD when allowed).
  let payloadHash: string;
  const declaredHeader = headerValues(req.rawHeaders, 'x-amz-content-sha256');
  if (declaredHeader.length > 1) return fail('signature', MESSAGES.signature, akid);
  let declared = declaredHeader[0]?.trim();
  if (declared === undefined && form === 'query') {
    const q = queryParam(req.rawQuery, 'X-Amz-Content-Sha256');
    if (q === null) return fail('signature', MESSAGES.signature, akid);
    declared = q;
  }
  if (declared === undefined) payloadHash = req.bodySha256();
  else if (declared === UNSIGNED_PAYLOAD) {
    if (opts.allowUnsignedPayload !== true) return fail('signature', 'UNSIGNED-PAYLOAD is not accepted: sign the payload hash.', akid);
    payloadHash = UNSIGNED_PAYLOAD;
  } else {
    const actual = req.bodySha256();
    if (!HEX64.test(declared) || declared !== actual) return fail('signature', "The provided 'x-amz-content-sha256' header does not match what was computed.", akid);
    payloadHash = declared;
  }

  // The signature.
  const query = canonicalQuery(req.rawQuery, form === 'query' ? 'X-Amz-Signature' : undefined);
  if (query === null) return fail('signature', MESSAGES.signature, akid);
  const canonical = canonicalRequest(req.method, canonicalUri(req.path), query, canonicalHeaders(req.rawHeaders, signed), parsed.signedHeaders, payloadHash);
  const scope = `${parsed.scopeDate}/${parsed.scopeRegion}/${parsed.scopeService}/aws4_request`;
  const key = opts.keys !== undefined ? opts.keys.get(credential, parsed.scopeDate, opts.region, opts.service) : deriveSigningKey(credential.secretAccessKey, parsed.scopeDate, opts.region, opts.service);
  const expected = createHmac('sha256', key).update(stringToSign(amzDate, scope, canonical)).digest('hex');
  if (!safeEqual(expected, parsed.signature)) return fail('signature', MESSAGES.signature, akid);
  return { ok: true, accessKeyId: akid, credential, form, amzDate };
}
