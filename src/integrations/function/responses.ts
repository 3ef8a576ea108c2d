// Reading a function's result as API Gateway does: payload 1.0 (REST and HTTP API) and 2.0 (HTTP API).
// Rules and their evidence: docs/lambda-events.md ("Responses"). The recorded AWS behaviour wins over
// the documentation (e.g. headers + multiValueHeaders with the same name send BOTH values).

import { matchesBinaryMediaTypes } from './events.js';

export type ProxyFailureKind =
  /** The result is not a valid proxy response: REST 502, HTTP API 500 (see errors.ts). */
  | 'malformed'
  /** The result looks like a Lambda function error ({errorMessage}): REST 502, HTTP API 500. */
  | 'functionError';

export type ProxyAnswer =
  | { ok: true; status: number; headers: [string, string][]; body: Buffer }
  | { ok: false; reason: string; kind: ProxyFailureKind };

export interface ReadV1Options {
  apiType: 'rest' | 'http';
  /** REST only: the API's binaryMediaTypes. */
  binaryMediaTypes?: readonly string[];
  /** REST only: the request's Accept header. A base64 body is decoded only when it matches binaryMediaTypes. */
  accept?: string;
}

const EMPTY = Buffer.alloc(0);
const V1_KEYS = new Set(['statusCode', 'headers', 'multiValueHeaders', 'body', 'isBase64Encoded']);

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function malformed(reason: string): ProxyAnswer {
  return { ok: false, reason, kind: 'malformed' };
}

/** statusCode as AWS accepts it: an integer or a string of digits ('201' -> 201, recorded); else undefined. */
function parseStatus(v: unknown): number | undefined {
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^\s*\+?\d{1,3}\s*$/.test(v)) n = Number(v);
  else return undefined;
  if (!Number.isInteger(n) || n < 100 || n > 599) return undefined;
  return n;
}

/** A header value: strings as is, booleans as 'true'/'false' (recorded: header-bool: true -> 'true'),
 * numbers in JSON form; null means "skip"; anything else is invalid. */
function headerValue(v: unknown): string | null | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (v === null) return null;
  return undefined;
}

/** The Accept header's first media range (API Gateway matches binaryMediaTypes against it). */
function firstAccept(accept: string | undefined): string {
  if (accept === undefined) return '';
  const comma = accept.indexOf(',');
  const first = comma === -1 ? accept : accept.slice(0, comma);
  const semi = first.indexOf(';');
  return (semi === -1 ? first : first.slice(0, semi)).trim().toLowerCase();
}

function bodyText(v: unknown): string | undefined | null {
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * Payload 1.0 response.
 * REST (all recorded in test_aws_proxy_response_payload_format_validation): the result must be an object
 * with only statusCode/headers/multiValueHeaders/body/isBase64Encoded (an extra key -> 502); statusCode
 * defaults to 200 and may be a numeric string; headers may be null; multiValueHeaders values must be
 * arrays; without a Content-Type the answer gets 'application/json'; multiValueHeaders come first, then
 * headers, so a name in both sends both values; isBase64Encoded bodies are decoded only when the request's
 * Accept matches binaryMediaTypes — otherwise the base64 text is sent as is (recorded).
 * HTTP API 1.0 (localstack's aws-validated test_aws_proxy_response_payload_format_validation_v1): extra
 * keys are ignored, a missing statusCode is an error (500), isBase64Encoded is always honoured.
 */
export function readResponseV1(result: unknown, opts: ReadV1Options): ProxyAnswer {
  const rest = opts.apiType === 'rest';
  if (!isPlainObject(result)) return malformed('the function result is not a JSON object');
  if (rest) {
    for (const k in result) if (!V1_KEYS.has(k)) return malformed(`unexpected key '${k}' in the proxy response`);
  } else if (typeof result.errorMessage === 'string' && result.statusCode === undefined) {
    return { ok: false, reason: 'the function returned an error', kind: 'functionError' };
  }

  let status = 200;
  const sc = result.statusCode;
  if (sc === undefined || sc === null) {
    if (!rest) return malformed('statusCode is required');
  } else {
    const n = parseStatus(sc);
    if (n === undefined) return malformed('statusCode is not a valid HTTP status');
    status = n;
  }

  const out: [string, string][] = [];
  let hasContentType = false;
  const mvh = result.multiValueHeaders;
  if (mvh !== undefined && mvh !== null) {
    if (!isPlainObject(mvh)) return malformed('multiValueHeaders is not an object');
    for (const name in mvh) {
      const list = mvh[name];
      if (list === null) continue;
      if (!Array.isArray(list)) return malformed(`multiValueHeaders['${name}'] is not an array`);
      for (const item of list) {
        const v = headerValue(item);
        if (v === undefined) return malformed(`multiValueHeaders['${name}'] has an invalid value`);
        if (v === null) continue;
        out.push([name, v]);
        if (!hasContentType && name.toLowerCase() === 'content-type') hasContentType = true;
      }
    }
  }
  const h = result.headers;
  if (h !== undefined && h !== null) {
    if (!isPlainObject(h)) return malformed('headers is not an object');
    for (const name in h) {
      const v = headerValue(h[name]);
      if (v === undefined) return malformed(`headers['${name}'] is not a string`);
      if (v === null) continue;
      out.push([name, v]);
      if (!hasContentType && name.toLowerCase() === 'content-type') hasContentType = true;
    }
  }
  if (rest && !hasContentType) out.push(['Content-Type', 'application/json']);

  const text = bodyText(result.body);
  if (text === undefined) return malformed('body is not a string');
  const b64 = result.isBase64Encoded;
  if (b64 !== undefined && b64 !== null && typeof b64 !== 'boolean') return malformed('isBase64Encoded is not a boolean');
  let body = EMPTY;
  if (text !== null && text !== '') {
    const decode = b64 === true && (!rest || matchesBinaryMediaTypes(firstAccept(opts.accept), opts.binaryMediaTypes));
    body = decode ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  }
  return { ok: true, status, headers: out, body };
}

/**
 * Payload 2.0 response (HTTP APIs).
 * With a statusCode: headers (string/boolean/number values), cookies (must be an array; each becomes a
 * set-cookie header), body, isBase64Encoded (always honoured); other keys are ignored.
 * Without one, API Gateway infers the response (docs, "Lambda function response for format 2.0"): 200,
 * content-type application/json, body = the function's output — a string as is (localstack's aws-validated
 * 'invoke-api-fake-null': the string "null" answers the 4 bytes `null`), anything else as JSON.
 * An object carrying errorMessage and no statusCode is treated as a function error (500; same test).
 */
export function readResponseV2(result: unknown): ProxyAnswer {
  if (typeof result === 'string') {
    return { ok: true, status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(result, 'utf8') };
  }
  if (!isPlainObject(result) || result.statusCode === undefined || result.statusCode === null) {
    if (isPlainObject(result) && 'errorMessage' in result) {
      return { ok: false, reason: 'the function returned an error', kind: 'functionError' };
    }
    // JSON.stringify(undefined) is undefined: a handler returning nothing reaches API Gateway as `null`.
    const json = result === undefined ? 'null' : JSON.stringify(result);
    return { ok: true, status: 200, headers: [['content-type', 'application/json']], body: Buffer.from(json, 'utf8') };
  }

  const status = parseStatus(result.statusCode);
  if (status === undefined) return malformed('statusCode is not a valid HTTP status');

  const out: [string, string][] = [];
  const h = result.headers;
  if (h !== undefined && h !== null) {
    if (!isPlainObject(h)) return malformed('headers is not an object');
    for (const name in h) {
      const v = headerValue(h[name]);
      if (v === undefined) return malformed(`headers['${name}'] is not a string`);
      if (v !== null) out.push([name, v]);
    }
  }
  const cookies = result.cookies;
  if (cookies !== undefined && cookies !== null) {
    if (!Array.isArray(cookies)) return malformed('cookies is not an array');
    for (const c of cookies) {
      if (typeof c !== 'string') return malformed('cookies has a non-string element');
      out.push(['set-cookie', c]);
    }
  }
  const text = bodyText(result.body);
  if (text === undefined) return malformed('body is not a string');
  const b64 = result.isBase64Encoded;
  if (b64 !== undefined && b64 !== null && typeof b64 !== 'boolean') return malformed('isBase64Encoded is not a boolean');
  let body = EMPTY;
  if (text !== null && text !== '') body = b64 === true ? Buffer.from(text, 'base64') : Buffer.from(text, 'utf8');
  return { ok: true, status, headers: out, body };
}
