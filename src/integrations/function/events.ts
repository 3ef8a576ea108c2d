// Lambda proxy events, payload format 1.0 (REST APIs, and HTTP APIs with payloadFormatVersion 1.0)
// and 2.0 (HTTP APIs), built exactly as AWS API Gateway builds them.
//
// Every rule here is pinned by a recording or a cited source; docs/lambda-events.md has the table of
// fields with their evidence. Where AWS's behaviour and its documentation disagree, the recording wins.
//
// Pure functions: no I/O, no clock, no randomness. Everything time- or id-dependent comes in the request.
// Each builder makes one pass over rawHeaders and builds plain object literals (no JSON round trips).

export type ApiType = 'rest' | 'http';

export interface ProxyRequest {
  /** 'GET' */
  method: string;
  /**
   * The path as the client sent it (still percent-encoded), INCLUDING the stage prefix when the API is
   * served at /{stage}/... (REST default endpoint, HTTP API named stages). Do not collapse inner '//':
   * AWS keeps them (recorded). Leading slashes are collapsed here.
   */
  path: string;
  /** REST resource template ('/pets/{petId}', '/{proxy+}'); for HTTP API 1.0 the route's path part. */
  resourcePath: string;
  /** HTTP API: 'GET /pets/{petId}', 'ANY /{proxy+}' or '$default'. Unused by REST events. */
  routeKey: string;
  /** 'dev' or '$default' */
  stage: string;
  /** Without '?', as received (still encoded). */
  rawQuery: string;
  /** Flat [name, value, ...] as received (names in received case), like Node's req.rawHeaders. */
  rawHeaders: readonly string[];
  /**
   * Values exactly as they must appear in the event. REST: AWS does NOT decode them (recorded:
   * `test%2Balias@gmail.com` stays encoded in pathParameters.proxy). HTTP API: decoded values.
   */
  pathParameters: Record<string, string> | null;
  stageVariables: Record<string, string> | null;
  body: Buffer | undefined;
  /** Body must be base64-encoded; decide it with isBinaryBody(). */
  binary: boolean;
  sourceIp: string;
  userAgent: string;
  /** REST: a UUID; HTTP API: the short id ('ZhNHJhhLjoEEPiw='). */
  requestId: string;
  /** REST: 'ZhDrKF5dDoEEHfA='-style id. HTTP API 1.0 uses requestId when absent. */
  extendedRequestId?: string;
  domainName: string;
  domainPrefix: string;
  apiId: string;
  accountId: string;
  /** 'HTTP/1.1' */
  protocol: string;
  /** ms since the epoch */
  requestTimeEpoch: number;
  /** REST requestContext.resourceId (e.g. '3nq1cq'); derived from resourcePath when absent. */
  resourceId?: string;
  /** REST requestContext.deploymentId (e.g. 'v99qix'); derived from apiId+stage when absent. */
  deploymentId?: string;
  /** As it should appear in requestContext.authorizer. REST: omitted when undefined. */
  authorizer?: Record<string, unknown> | null;
  /** Overrides / additions for requestContext.identity (apiKey, apiKeyId, caller, user, userArn, cognito*, accessKey, accountId, clientCert...). */
  identity?: Readonly<Record<string, unknown>>;
  /** HTTP API 2.0 requestContext.authentication (mutual TLS: { clientCert: {...} }). */
  authentication?: Record<string, unknown>;
  /**
   * The headers API Gateway adds to the event (X-Amzn-Trace-Id, X-Forwarded-For/Port/Proto). When given,
   * the client's own X-Forwarded-For / -Port / -Proto and X-Amzn-Trace-Id are replaced by these (the
   * client's X-Forwarded-For chain is kept in front of the peer address). When absent, rawHeaders are
   * reflected as they are (events rebuilt from recorded headers that already carry them).
   */
  forwarded?: ForwardedHeaders;
}

/** What API Gateway adds to the proxy event's headers. Plain values, computed by the caller. */
export interface ForwardedHeaders {
  /** Address of the TCP peer, appended to any X-Forwarded-For the client sent. */
  peerIp: string;
  /** Port the gateway received the request on ('443'). */
  port: string;
  /** 'http' or 'https', as received. */
  proto: string;
  /** The request's X-Amzn-Trace-Id value (the client's valid one, or a generated `Root=1-…`). */
  traceId: string;
}

export interface EventV1Options {
  apiType: ApiType;
}

// ---------------------------------------------------------------------------------------------
// Binary bodies

/** Content types an HTTP API delivers as text (isBase64Encoded false); everything else, including
 * a missing Content-Type and application/x-www-form-urlencoded, is base64-encoded. Verified against
 * AWS in ministackorg/ministack#766 and consistent with localstack's aws-validated
 * test_lambda_handling_form_urlencoded_data (a form body arrives base64-encoded). */
const HTTP_API_TEXT_TYPES = new Set(['application/json', 'application/xml', 'application/javascript']);

function mediaType(contentType: string | undefined): string {
  if (contentType === undefined) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

/** Does `mime` ('image/png') match a binaryMediaTypes entry ('image/png', 'image/*', '*\/*')? */
export function matchesBinaryMediaTypes(mime: string, binaryMediaTypes: readonly string[] | undefined): boolean {
  if (mime === '' || binaryMediaTypes === undefined || binaryMediaTypes.length === 0) return false;
  const slash = mime.indexOf('/');
  const type = slash === -1 ? mime : mime.slice(0, slash);
  for (const entry of binaryMediaTypes) {
    const e = entry.trim().toLowerCase();
    if (e === '*/*' || e === mime) return true;
    if (e.endsWith('/*') && e.slice(0, -2) === type) return true;
  }
  return false;
}

/**
 * Must the request body be base64-encoded in the event?
 * - REST: only when the request Content-Type matches an entry of the API's binaryMediaTypes
 *   (exact, 'type/*' or '*\/*'); otherwise the body is passed as a UTF-8 string
 *   ("Working with binary media types for REST APIs"; confirmed against AWS in ministackorg/ministack#767).
 * - HTTP API (both payload versions): binaryMediaTypes do not exist; the body is text only for text/*,
 *   application/json, application/xml and application/javascript; everything else is base64.
 */
export function isBinaryBody(
  contentType: string | undefined,
  binaryMediaTypes: readonly string[] | undefined,
  apiType: ApiType,
): boolean {
  const mime = mediaType(contentType);
  if (apiType === 'rest') return matchesBinaryMediaTypes(mime, binaryMediaTypes);
  if (mime.startsWith('text/')) return false;
  return !HTTP_API_TEXT_TYPES.has(mime);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** '09/Apr/2015:12:34:56 +0000' (requestContext.requestTime / time), always UTC. */
export function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  return `${pad2(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad2(d.getUTCHours())}:${pad2(
    d.getUTCMinutes(),
  )}:${pad2(d.getUTCSeconds())} +0000`;
}

/** '//stage/x' -> '/stage/x' (recorded: invocation-payload-with-prepended-slash-to-stage). */
function collapseLeadingSlashes(p: string): string {
  let i = 0;
  while (i < p.length && p.charCodeAt(i) === 47) i++;
  return i <= 1 ? (i === 0 ? `/${p}` : p) : p.slice(i - 1);
}

/** Query decoding of the 1.0 payload: '+' is a space, %XX decoded; malformed escapes stay as sent. */
function decodeQueryComponent(s: string): string {
  const spaced = s.indexOf('+') === -1 ? s : s.replace(/\+/g, ' ');
  if (spaced.indexOf('%') === -1) return spaced;
  try {
    return decodeURIComponent(spaced);
  } catch {
    return spaced;
  }
}

/** Calls `add(name, value)` for each 'name=value' of a raw query, decoded, in order. */
function eachQueryPair(rawQuery: string, add: (name: string, value: string) => void): void {
  let start = 0;
  const n = rawQuery.length;
  while (start <= n) {
    let end = rawQuery.indexOf('&', start);
    if (end === -1) end = n;
    if (end > start) {
      const eq = rawQuery.indexOf('=', start);
      if (eq === -1 || eq > end) add(decodeQueryComponent(rawQuery.slice(start, end)), '');
      else add(decodeQueryComponent(rawQuery.slice(start, eq)), decodeQueryComponent(rawQuery.slice(eq + 1, end)));
    }
    start = end + 1;
  }
}

/** obj[key] = value, also for the key '__proto__' (a legal header / query name that must stay data). */
function put<T>(obj: Record<string, T>, key: string, value: T): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/** obj[key] for own keys only ('__proto__' included). */
function own<T>(obj: Record<string, T>, key: string): T | undefined {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** Stable short id ('a1b2c3') for resourceId / deploymentId when the caller has none. FNV-1a, base36. */
function shortId(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(36).padStart(6, '0').slice(-6);
}

/** Hop-by-hop headers never reach the function (recorded: python-requests' `Connection: keep-alive`
 * is absent from every REST event; HTTPie's is absent from the powertools HTTP API event). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade']);

/**
 * Header names AWS rewrites in payload 1.0. REST (behind CloudFront): 'authorization' and 'user-agent'
 * in any case become 'Authorization' / 'User-Agent' (recorded: 'aUThorization', 'authorization',
 * 'user-Agent'); 'Host' likewise. HTTP API 1.0: captured events show 'User-Agent', 'Host' and
 * 'Content-Length' capitalised while other client headers keep their lower case.
 */
const REST_CANONICAL: Record<string, string> = { authorization: 'Authorization', 'user-agent': 'User-Agent', host: 'Host' };
const HTTP_V1_CANONICAL: Record<string, string> = {
  'user-agent': 'User-Agent',
  host: 'Host',
  'content-length': 'Content-Length',
};

/** Incoming headers that `forwarded` replaces (lower case). */
const AWS_ADDED = new Set(['x-forwarded-for', 'x-forwarded-port', 'x-forwarded-proto', 'x-amzn-trace-id']);

/** X-Forwarded-For as API Gateway sends it: the chain the client sent (as sent), then the peer address. */
function forwardedFor(incoming: string | undefined, peerIp: string): string {
  return incoming === undefined || incoming.trim() === '' ? peerIp : `${incoming}, ${peerIp}`;
}

function bodyString(req: ProxyRequest): string | null {
  const b = req.body;
  if (b === undefined || b.length === 0) return null;
  return req.binary ? b.toString('base64') : b.toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Payload 1.0

/**
 * Payload format 1.0. `apiType: 'rest'` (default) builds the REST API event; `'http'` the HTTP API
 * event with payloadFormatVersion 1.0, whose differences are: a leading `version: '1.0'`, `path` keeps
 * the stage prefix, requestContext has no deploymentId, resourceId is the routeKey, requestId doubles as
 * extendedRequestId, authorizer defaults to {claims:null, scopes:null}, identity has cognitoAmr, and
 * Content-Length is kept.
 */
export function buildEventV1(req: ProxyRequest, opts: EventV1Options = { apiType: 'rest' }): Record<string, unknown> {
  const rest = opts.apiType !== 'http';
  const canonical = rest ? REST_CANONICAL : HTTP_V1_CANONICAL;

  // One pass over the headers: `headers` keeps the last value, `multiValueHeaders` all of them, both
  // keyed by the first-seen spelling of the name (REST: names keep the case they were received in).
  const headers: Record<string, string> = {};
  const multiValueHeaders: Record<string, string[]> = {};
  const keyOf = new Map<string, string>();
  const raw = req.rawHeaders;
  const fwd = req.forwarded;
  let incomingXff: string | undefined;
  let any = false;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = raw[i] as string;
    const value = raw[i + 1] as string;
    const lower = name.toLowerCase();
    if (HOP_BY_HOP.has(lower)) continue;
    if (rest && lower === 'content-length') continue; // recorded: absent from the POST event
    if (fwd !== undefined && AWS_ADDED.has(lower)) {
      if (lower === 'x-forwarded-for') incomingXff = incomingXff === undefined ? value : `${incomingXff}, ${value}`;
      continue;
    }
    let key = keyOf.get(lower);
    if (key === undefined) {
      // REST keeps the received spelling; HTTP APIs lower-case header names in both payload formats
      // ("All header names are lowercase", AWS's payload-format page), except the names the captured
      // 1.0 event shows capitalised (HTTP_V1_CANONICAL and the X-Forwarded-* set below).
      key = own(canonical, lower) ?? (rest ? name : lower);
      keyOf.set(lower, key);
      put(headers, key, value);
      put(multiValueHeaders, key, [value]);
    } else {
      put(headers, key, value);
      (own(multiValueHeaders, key) as string[]).push(value);
    }
    any = true;
  }
  if (fwd !== undefined) {
    // Names capitalised in both 1.0 flavours: recorded REST events (powertools, localstack) and the
    // captured HTTP API 1.0 event show X-Amzn-Trace-Id / X-Forwarded-For / -Port / -Proto.
    const xff = forwardedFor(incomingXff, fwd.peerIp);
    headers['X-Amzn-Trace-Id'] = fwd.traceId;
    headers['X-Forwarded-For'] = xff;
    headers['X-Forwarded-Port'] = fwd.port;
    headers['X-Forwarded-Proto'] = fwd.proto;
    multiValueHeaders['X-Amzn-Trace-Id'] = [fwd.traceId];
    multiValueHeaders['X-Forwarded-For'] = [xff];
    multiValueHeaders['X-Forwarded-Port'] = [fwd.port];
    multiValueHeaders['X-Forwarded-Proto'] = [fwd.proto];
    any = true;
  }

  // Query: queryStringParameters keeps the last value (recorded: price=10&20&30 -> '30').
  let queryStringParameters: Record<string, string> | null = null;
  let multiValueQueryStringParameters: Record<string, string[]> | null = null;
  if (req.rawQuery.length > 0) {
    const single: Record<string, string> = {};
    const multi: Record<string, string[]> = {};
    let n = 0;
    eachQueryPair(req.rawQuery, (k, v) => {
      put(single, k, v);
      const list = own(multi, k);
      if (list === undefined) put(multi, k, [v]);
      else list.push(v);
      n++;
    });
    if (n > 0) {
      queryStringParameters = single;
      multiValueQueryStringParameters = multi;
    }
  }

  const pathParameters = req.pathParameters && Object.keys(req.pathParameters).length > 0 ? req.pathParameters : null;
  const stageVariables = req.stageVariables && Object.keys(req.stageVariables).length > 0 ? req.stageVariables : null;
  const body = bodyString(req);
  const isBase64Encoded = body !== null && req.binary;
  const rcPath = collapseLeadingSlashes(req.path);
  const requestTime = formatRequestTime(req.requestTimeEpoch);

  if (rest) {
    // Top-level `path` drops the stage prefix and then collapses leading slashes (recorded:
    // '/stage//hardcoded' -> path '/hardcoded', requestContext.path '/stage//hardcoded').
    let path = rcPath;
    const prefix = `/${req.stage}`;
    if (req.stage !== '$default' && rcPath.startsWith(prefix)) {
      const rest2 = rcPath.slice(prefix.length);
      if (rest2 === '' || rest2.charCodeAt(0) === 47) path = rest2 === '' ? '/' : collapseLeadingSlashes(rest2);
    }
    const identity: Record<string, unknown> = {
      cognitoIdentityPoolId: null,
      accountId: null,
      cognitoIdentityId: null,
      caller: null,
      sourceIp: req.sourceIp,
      principalOrgId: null,
      accessKey: null,
      cognitoAuthenticationType: null,
      cognitoAuthenticationProvider: null,
      userArn: null,
      userAgent: req.userAgent,
      user: null,
    };
    if (req.identity) Object.assign(identity, req.identity);
    const requestContext: Record<string, unknown> = {
      resourceId: req.resourceId ?? shortId(`${req.apiId}:${req.resourcePath}`),
      ...(req.authorizer !== undefined ? { authorizer: req.authorizer } : null),
      resourcePath: req.resourcePath,
      httpMethod: req.method,
      extendedRequestId: req.extendedRequestId ?? req.requestId,
      requestTime,
      path: rcPath,
      accountId: req.accountId,
      protocol: req.protocol,
      stage: req.stage,
      domainPrefix: req.domainPrefix,
      requestTimeEpoch: req.requestTimeEpoch,
      requestId: req.requestId,
      identity,
      domainName: req.domainName,
      deploymentId: req.deploymentId ?? shortId(`${req.apiId}:${req.stage}:deployment`),
      apiId: req.apiId,
    };
    return {
      resource: req.resourcePath,
      path,
      httpMethod: req.method,
      headers: any ? headers : null,
      multiValueHeaders: any ? multiValueHeaders : null,
      queryStringParameters,
      multiValueQueryStringParameters,
      pathParameters,
      stageVariables,
      requestContext,
      body,
      isBase64Encoded,
    };
  }

  const identity: Record<string, unknown> = {
    accessKey: null,
    accountId: null,
    caller: null,
    cognitoAmr: null,
    cognitoAuthenticationProvider: null,
    cognitoAuthenticationType: null,
    cognitoIdentityId: null,
    cognitoIdentityPoolId: null,
    principalOrgId: null,
    sourceIp: req.sourceIp,
    user: null,
    userAgent: req.userAgent,
    userArn: null,
  };
  if (req.identity) Object.assign(identity, req.identity);
  return {
    version: '1.0',
    resource: req.resourcePath,
    path: rcPath,
    httpMethod: req.method,
    headers: any ? headers : null,
    multiValueHeaders: any ? multiValueHeaders : null,
    queryStringParameters,
    multiValueQueryStringParameters,
    requestContext: {
      accountId: req.accountId,
      apiId: req.apiId,
      authorizer: req.authorizer !== undefined ? req.authorizer : { claims: null, scopes: null },
      domainName: req.domainName,
      domainPrefix: req.domainPrefix,
      extendedRequestId: req.extendedRequestId ?? req.requestId,
      httpMethod: req.method,
      identity,
      path: rcPath,
      protocol: req.protocol,
      requestId: req.requestId,
      requestTime,
      requestTimeEpoch: req.requestTimeEpoch,
      resourceId: req.routeKey,
      resourcePath: req.resourcePath,
      stage: req.stage,
    },
    pathParameters,
    stageVariables,
    body,
    isBase64Encoded,
  };
}

// ---------------------------------------------------------------------------------------------
// Payload 2.0

/**
 * Payload format 2.0 (HTTP APIs). Header names are lower-cased and repeated headers joined with ','
 * (docs: "Duplicate headers are combined with commas"); Cookie headers move to `cookies` (one element
 * per cookie); queryStringParameters are decoded and joined with ','; rawQueryString stays encoded.
 * Empty maps and an empty body are left out entirely (powertools' recorded event has no body,
 * queryStringParameters, pathParameters, stageVariables or cookies keys).
 */
export function buildEventV2(req: ProxyRequest): Record<string, unknown> {
  const headers: Record<string, string> = {};
  let cookies: string[] | undefined;
  const raw = req.rawHeaders;
  const fwd = req.forwarded;
  let incomingXff: string | undefined;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const lower = (raw[i] as string).toLowerCase();
    const value = raw[i + 1] as string;
    if (HOP_BY_HOP.has(lower)) continue;
    if (fwd !== undefined && AWS_ADDED.has(lower)) {
      if (lower === 'x-forwarded-for') incomingXff = incomingXff === undefined ? value : `${incomingXff}, ${value}`;
      continue;
    }
    if (lower === 'cookie') {
      for (const part of value.split(';')) {
        const c = part.trim();
        if (c === '') continue;
        if (cookies === undefined) cookies = [c];
        else cookies.push(c);
      }
      continue;
    }
    const prev = own(headers, lower);
    put(headers, lower, prev === undefined ? value : `${prev},${value}`);
  }
  if (fwd !== undefined) {
    // Lower case, as in the recorded HTTP API event (powertools apigw-http-no-auth.json).
    headers['x-amzn-trace-id'] = fwd.traceId;
    headers['x-forwarded-for'] = forwardedFor(incomingXff, fwd.peerIp);
    headers['x-forwarded-port'] = fwd.port;
    headers['x-forwarded-proto'] = fwd.proto;
  }

  let queryStringParameters: Record<string, string> | undefined;
  if (req.rawQuery.length > 0) {
    const q: Record<string, string> = {};
    let n = 0;
    eachQueryPair(req.rawQuery, (k, v) => {
      const prev = own(q, k);
      put(q, k, prev === undefined ? v : `${prev},${v}`);
      n++;
    });
    if (n > 0) queryStringParameters = q;
  }

  const body = bodyString(req);
  const path = collapseLeadingSlashes(req.path);
  return {
    version: '2.0',
    routeKey: req.routeKey,
    rawPath: path,
    rawQueryString: req.rawQuery,
    ...(cookies !== undefined ? { cookies } : null),
    headers,
    ...(queryStringParameters !== undefined ? { queryStringParameters } : null),
    requestContext: {
      accountId: req.accountId,
      apiId: req.apiId,
      ...(req.authentication !== undefined ? { authentication: req.authentication } : null),
      ...(req.authorizer !== undefined && req.authorizer !== null ? { authorizer: req.authorizer } : null),
      domainName: req.domainName,
      domainPrefix: req.domainPrefix,
      http: {
        method: req.method,
        path,
        protocol: req.protocol,
        sourceIp: req.sourceIp,
        userAgent: req.userAgent,
      },
      requestId: req.requestId,
      routeKey: req.routeKey,
      stage: req.stage,
      time: formatRequestTime(req.requestTimeEpoch),
      timeEpoch: req.requestTimeEpoch,
    },
    ...(body !== null ? { body } : null),
    ...(req.pathParameters && Object.keys(req.pathParameters).length > 0 ? { pathParameters: req.pathParameters } : null),
    isBase64Encoded: body !== null && req.binary,
    ...(req.stageVariables && Object.keys(req.stageVariables).length > 0 ? { stageVariables: req.stageVariables } : null),
  };
}
