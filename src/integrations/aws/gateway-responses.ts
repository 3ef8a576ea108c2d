/**
 * AWS API Gateway "gateway responses": the answers API Gateway itself produces when a
 * request fails before or around the integration, and their customisation with
 * `x-amazon-apigateway-gateway-responses` (REST APIs only). See docs/aws-gateway-responses.md.
 *
 * Sources:
 * - default status codes: AWS, "Gateway response types for API Gateway",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 * - default template `{"message":$context.error.messageString}` and inheritance from
 *   DEFAULT_4XX/DEFAULT_5XX: same page and "Set up gateway responses to customize error responses",
 *   https://docs.aws.amazon.com/apigateway/latest/developerguide/customize-gateway-responses.html
 * - x-amzn-ErrorType values: recordings in /work/shared/aws-groundtruth/localstack (Missing
 *   Authentication Token, InternalServerErrorException) and AWS Knowledge Center "How do I
 *   troubleshoot HTTP 403 errors from API Gateway?" (AccessDenied/Forbidden/InvalidSignature).
 *
 * Everything that can be prepared is prepared in the constructor (templates compiled, header
 * mappings parsed, inheritance resolved per type); answer() only evaluates.
 */
import type { AwsGatewayResponse } from './model.js';
import { type CompiledTemplate, compileTemplate, mediaType, TemplateError, type TemplateRequest } from '../../templates/index.js';

export { GATEWAY_RESPONSE_TYPES } from './model.js';
import { GATEWAY_RESPONSE_TYPES } from './model.js';

export type GatewayResponseType = (typeof GATEWAY_RESPONSE_TYPES)[number];

export function isGatewayResponseType(s: string): s is GatewayResponseType {
  return (GATEWAY_RESPONSE_TYPES as readonly string[]).includes(s);
}

export interface GatewayResponseInput {
  requestId: string;
  stage: string;
  stageVariables: Record<string, string>;
  request: {
    headers: Readonly<Record<string, string | string[] | undefined>>;
    query: URLSearchParams;
    path: Readonly<Record<string, string>>;
  };
  /** Extra $context fields (authorizer, identity, httpMethod, resourcePath ...). */
  context?: Record<string, unknown>;
  /** Replaces the type's default $context.error.message, e.g. 'Missing required request parameters: [x]'. */
  message?: string;
  /** $context.error.validationErrorString (request validation details). */
  validationError?: string;
  /** The status when the API does not customise the type's status (e.g. 502 for a malformed Lambda answer). */
  defaultStatus?: number;
}

export interface GatewayAnswer {
  status: number;
  /** Content-Type first, then x-amzn-ErrorType (REST), then the customised headers. */
  headers: [string, string][];
  body: string;
}

export interface GatewayResponseDefault {
  /** AWS default status code (DEFAULT_4XX/DEFAULT_5XX have none in AWS; 400/500 are used when raised directly). */
  status: number;
  /** $context.error.message. null for AUTHORIZER_CONFIGURATION_ERROR (AWS answers `{"message": null}`). */
  message: string | null;
  /** x-amzn-ErrorType (REST APIs only). */
  errorType?: string;
  /** The body template the default answer is built from. */
  template: string;
}

/** AWS's documented default body template (GetGatewayResponse of any type returns it). */
export const DEFAULT_TEMPLATE = '{"message":$context.error.messageString}';
/**
 * Errors raised while a method executes (validation, integration, configuration) come back with a
 * space after the colon: `{"message": "Internal server error"}` is 36 bytes, the Content-Length
 * recorded with x-amzn-ErrorType InternalServerErrorException (test_apigateway_integrations,
 * TestApiGatewayHeaderRemapping), and `{"message": "Endpoint request timed out"}` is the widely
 * reported timeout body. Front-door errors (routing, keys, auth, throttling) use the compact
 * default template: `{"message":"Missing Authentication Token"}`.
 */
const SPACED_TEMPLATE = '{"message": $context.error.messageString}';

type Row = [status: number, message: string | null, errorType: string | undefined, spaced: boolean];

const REST_ROWS: Record<GatewayResponseType, Row> = {
  ACCESS_DENIED: [403, 'User is not authorized to access this resource', 'AccessDeniedException', false],
  API_CONFIGURATION_ERROR: [500, 'Internal server error', 'InternalServerErrorException', true],
  AUTHORIZER_CONFIGURATION_ERROR: [500, null, 'AuthorizerConfigurationException', true],
  AUTHORIZER_FAILURE: [500, 'Internal server error', 'AuthorizerFailureException', true],
  BAD_REQUEST_BODY: [400, 'Invalid request body', 'BadRequestException', true],
  BAD_REQUEST_PARAMETERS: [400, 'Missing required request parameters: []', 'BadRequestException', true],
  DEFAULT_4XX: [400, 'Bad Request', 'BadRequestException', false],
  DEFAULT_5XX: [500, 'Internal server error', 'InternalServerErrorException', true],
  EXPIRED_TOKEN: [403, 'Signature expired', 'InvalidSignatureException', false],
  INTEGRATION_FAILURE: [504, 'Internal server error', 'InternalServerErrorException', true],
  INTEGRATION_TIMEOUT: [504, 'Endpoint request timed out', 'InternalServerErrorException', true],
  INVALID_API_KEY: [403, 'Forbidden', 'ForbiddenException', false],
  INVALID_SIGNATURE: [
    403,
    'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
    'InvalidSignatureException',
    false,
  ],
  MISSING_AUTHENTICATION_TOKEN: [403, 'Missing Authentication Token', 'MissingAuthenticationTokenException', false],
  QUOTA_EXCEEDED: [429, 'Limit Exceeded', 'LimitExceededException', false],
  REQUEST_TOO_LARGE: [413, 'Request Too Long', 'RequestTooLargeException', false],
  RESOURCE_NOT_FOUND: [404, 'Not Found', 'ResourceNotFoundException', false],
  THROTTLED: [429, 'Too Many Requests', 'TooManyRequestsException', false],
  UNAUTHORIZED: [401, 'Unauthorized', 'UnauthorizedException', false],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Unsupported Media Type', 'BadRequestException', true],
  WAF_FILTERED: [403, 'Forbidden', 'ForbiddenException', false],
};

/** HTTP APIs: reason-phrase messages, compact JSON, no x-amzn-ErrorType, no customisation. */
const HTTP_ROWS: Record<GatewayResponseType, [number, string]> = {
  ACCESS_DENIED: [403, 'Forbidden'],
  API_CONFIGURATION_ERROR: [500, 'Internal Server Error'],
  AUTHORIZER_CONFIGURATION_ERROR: [500, 'Internal Server Error'],
  AUTHORIZER_FAILURE: [500, 'Internal Server Error'],
  BAD_REQUEST_BODY: [400, 'Bad Request'],
  BAD_REQUEST_PARAMETERS: [400, 'Bad Request'],
  DEFAULT_4XX: [400, 'Bad Request'],
  DEFAULT_5XX: [500, 'Internal Server Error'],
  EXPIRED_TOKEN: [403, 'Forbidden'],
  INTEGRATION_FAILURE: [500, 'Internal Server Error'],
  INTEGRATION_TIMEOUT: [503, 'Service Unavailable'],
  INVALID_API_KEY: [403, 'Forbidden'],
  INVALID_SIGNATURE: [403, 'Forbidden'],
  MISSING_AUTHENTICATION_TOKEN: [404, 'Not Found'],
  QUOTA_EXCEEDED: [429, 'Too Many Requests'],
  REQUEST_TOO_LARGE: [413, 'Request Entity Too Large'],
  RESOURCE_NOT_FOUND: [404, 'Not Found'],
  THROTTLED: [429, 'Too Many Requests'],
  UNAUTHORIZED: [401, 'Unauthorized'],
  UNSUPPORTED_MEDIA_TYPE: [415, 'Unsupported Media Type'],
  WAF_FILTERED: [403, 'Forbidden'],
};

function buildDefaults(): Record<'rest' | 'http', Record<GatewayResponseType, GatewayResponseDefault>> {
  const rest = {} as Record<GatewayResponseType, GatewayResponseDefault>;
  const http = {} as Record<GatewayResponseType, GatewayResponseDefault>;
  for (const t of GATEWAY_RESPONSE_TYPES) {
    const [status, message, errorType, spaced] = REST_ROWS[t];
    const r: GatewayResponseDefault = { status, message, template: spaced ? SPACED_TEMPLATE : DEFAULT_TEMPLATE };
    if (errorType !== undefined) r.errorType = errorType;
    rest[t] = Object.freeze(r);
    const [hs, hm] = HTTP_ROWS[t];
    http[t] = Object.freeze({ status: hs, message: hm, template: DEFAULT_TEMPLATE });
  }
  return { rest: Object.freeze(rest), http: Object.freeze(http) };
}

export const DEFAULT_GATEWAY_RESPONSES: Readonly<Record<'rest' | 'http', Readonly<Record<GatewayResponseType, GatewayResponseDefault>>>> = Object.freeze(
  buildDefaults(),
);

// ---------------------------------------------------------------------------
// Configuration errors

export interface GatewayResponseProblem {
  /** Gateway response type (key under x-amazon-apigateway-gateway-responses). */
  type: string;
  /** 'statusCode', 'responseParameters.<key>' or 'responseTemplates.<content type>'. */
  field: string;
  message: string;
}

/** Thrown by the constructor when a customisation cannot be served (AWS refuses such a document too). */
export class GatewayResponseConfigError extends Error {
  readonly problems: readonly GatewayResponseProblem[];
  constructor(problems: GatewayResponseProblem[]) {
    super(`invalid x-amazon-apigateway-gateway-responses: ${problems.map((p) => `${p.type}.${p.field}: ${p.message}`).join('; ')}`);
    this.name = 'GatewayResponseConfigError';
    this.problems = problems;
  }
}

// ---------------------------------------------------------------------------
// Compiled pieces

type ValueSource =
  | { kind: 'static'; value: string }
  | { kind: 'header'; name: string; multi: boolean }
  | { kind: 'query'; name: string; multi: boolean }
  | { kind: 'path'; name: string }
  | { kind: 'context'; path: string[] }
  | { kind: 'stage'; name: string };

interface HeaderMapping {
  name: string;
  lower: string;
  source: ValueSource;
}

type BodyRenderer = { kind: 'default'; spaced: boolean } | { kind: 'vtl'; template: CompiledTemplate } | { kind: 'substitute'; source: string };

interface BodyChoice {
  contentType: string;
  lower: string;
  renderer: BodyRenderer;
}

interface Plan {
  type: GatewayResponseType;
  status: number;
  /** The API set this type's status (its own, or through DEFAULT_4XX/5XX): it wins over a default status. */
  statusCustomised: boolean;
  message: string | null;
  errorType: string | undefined;
  headers: HeaderMapping[];
  /** Non-empty. The first entry with lower === 'application/json', if any, is the fallback. */
  bodies: BodyChoice[];
  /** Default body style when a render fails. */
  spacedFallback: boolean;
}

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const HEADER_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const PARAM_NAME = /^[^\s]+$/;

function parseSource(expr: string): ValueSource | string {
  const e = expr.trim();
  if (e.length >= 2 && e.startsWith("'") && e.endsWith("'")) {
    const value = e.slice(1, -1);
    if (!HEADER_VALUE.test(value)) return 'the static value contains characters not allowed in a header';
    return { kind: 'static', value };
  }
  const prefixes: Array<[string, (rest: string) => ValueSource]> = [
    ['method.request.multivalueheader.', (n) => ({ kind: 'header', name: n.toLowerCase(), multi: true })],
    ['method.request.header.', (n) => ({ kind: 'header', name: n.toLowerCase(), multi: false })],
    ['method.request.multivaluequerystring.', (n) => ({ kind: 'query', name: n, multi: true })],
    ['method.request.querystring.', (n) => ({ kind: 'query', name: n, multi: false })],
    ['method.request.path.', (n) => ({ kind: 'path', name: n })],
    ['stageVariables.', (n) => ({ kind: 'stage', name: n })],
    ['context.', (n) => ({ kind: 'context', path: n.split('.') })],
  ];
  for (const [prefix, make] of prefixes) {
    if (e.startsWith(prefix)) {
      const rest = e.slice(prefix.length);
      if (!rest || !PARAM_NAME.test(rest) || (prefix === 'context.' && rest.split('.').some((s) => s === ''))) {
        return `"${expr}" names no parameter`;
      }
      return make(rest);
    }
  }
  return `unsupported mapping expression "${expr}" (use 'static', method.request.header|querystring|path.NAME, context.NAME or stageVariables.NAME)`;
}

const SIMPLE_VAR = /\$(?:\{([A-Za-z][\w-]*(?:\.[A-Za-z_][\w-]*)*)\}|([A-Za-z][\w]*(?:\.[A-Za-z_][\w-]*)*))/g;

/** AWS's documented semantics: simple variable substitution of $context.* / $stageVariables.* references. */
function substitute(source: string, root: Record<string, unknown>): string {
  return source.replace(SIMPLE_VAR, (whole, braced: string | undefined, bare: string | undefined) => {
    const path = (braced ?? bare ?? '').split('.');
    if (path[0] !== 'context' && path[0] !== 'stageVariables') return whole;
    const v = lookup(root, path);
    return v === undefined ? '' : v;
  });
}

function lookup(root: unknown, path: readonly string[]): string | undefined {
  let cur: unknown = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  if (cur === null || cur === undefined) return undefined;
  if (typeof cur === 'string') return cur;
  if (typeof cur === 'number' || typeof cur === 'boolean' || typeof cur === 'bigint') return String(cur);
  return undefined;
}

function defaultBody(message: string | null, spaced: boolean): string {
  return `{"message":${spaced ? ' ' : ''}${JSON.stringify(message)}}`;
}

function headerValue(v: string | string[] | undefined, multi: boolean): string | undefined {
  if (v === undefined) return undefined;
  if (typeof v === 'string') return v;
  if (v.length === 0) return undefined;
  return multi ? v.join(',') : v[v.length - 1];
}

function findHeader(headers: Readonly<Record<string, string | string[] | undefined>>, lower: string): string | string[] | undefined {
  if (Object.hasOwn(headers, lower)) return headers[lower];
  for (const k of Object.keys(headers)) if (k.toLowerCase() === lower) return headers[k];
  return undefined;
}

/** Accept header media types, highest q first (stable), without parameters. */
function acceptList(accept: string | undefined): string[] {
  if (!accept) return [];
  const items: Array<{ t: string; q: number; i: number }> = [];
  accept.split(',').forEach((part, i) => {
    const [type, ...params] = part.split(';');
    const t = (type ?? '').trim().toLowerCase();
    if (!t) return;
    let q = 1;
    for (const p of params) {
      const m = /^\s*q\s*=\s*([0-9.]+)\s*$/i.exec(p);
      if (m) q = Number(m[1]);
    }
    if (q > 0) items.push({ t, q, i });
  });
  return items.sort((a, b) => b.q - a.q || a.i - b.i).map((x) => x.t);
}

// ---------------------------------------------------------------------------

export class GatewayResponses {
  readonly apiType: 'rest' | 'http';
  /** Notes for the operator (e.g. a template AWS would accept that the VTL engine cannot parse). */
  readonly warnings: readonly string[];
  readonly #plans: Record<GatewayResponseType, Plan>;

  constructor(apiType: 'rest' | 'http', custom: Readonly<Record<string, AwsGatewayResponse>> | undefined) {
    this.apiType = apiType;
    const warnings: string[] = [];
    const problems: GatewayResponseProblem[] = [];
    const defaults = DEFAULT_GATEWAY_RESPONSES[apiType];
    const customs = new Map<GatewayResponseType, { status?: number; headers: HeaderMapping[]; bodies: BodyChoice[] }>();

    const entries = apiType === 'rest' ? Object.entries(custom ?? {}) : [];
    if (apiType === 'http' && custom && Object.keys(custom).length > 0) {
      warnings.push('HTTP APIs do not support gateway response customisation; x-amazon-apigateway-gateway-responses is ignored');
    }
    for (const [type, gr] of entries) {
      if (!isGatewayResponseType(type)) {
        problems.push({ type, field: '', message: `unknown gateway response type (AWS types: ${GATEWAY_RESPONSE_TYPES.join(', ')})` });
        continue;
      }
      customs.set(type, this.#compileCustom(type, gr, problems, warnings));
    }
    if (problems.length > 0) throw new GatewayResponseConfigError(problems);

    const plans = {} as Record<GatewayResponseType, Plan>;
    for (const type of GATEWAY_RESPONSE_TYPES) {
      const d = defaults[type];
      const spaced = d.template === SPACED_TEMPLATE;
      // AWS: a type without customisation inherits a customised DEFAULT_4XX / DEFAULT_5XX of its status class.
      const own = customs.get(type);
      const fallbackType: GatewayResponseType = d.status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX';
      const c = own ?? customs.get(fallbackType);
      plans[type] = c
        ? {
            type,
            status: c.status ?? d.status,
            statusCustomised: c.status !== undefined,
            message: d.message,
            errorType: d.errorType,
            headers: c.headers,
            bodies: c.bodies,
            spacedFallback: spaced,
          }
        : {
            type,
            status: d.status,
            statusCustomised: false,
            message: d.message,
            errorType: d.errorType,
            headers: [],
            bodies: [{ contentType: 'application/json', lower: 'application/json', renderer: { kind: 'default', spaced } }],
            spacedFallback: spaced,
          };
    }
    this.#plans = plans;
    this.warnings = Object.freeze(warnings);
  }

  #compileCustom(
    type: GatewayResponseType,
    gr: AwsGatewayResponse,
    problems: GatewayResponseProblem[],
    warnings: string[],
  ): { status?: number; headers: HeaderMapping[]; bodies: BodyChoice[] } {
    let status: number | undefined;
    if (gr.statusCode !== undefined && gr.statusCode !== '') {
      const n = Number(gr.statusCode);
      if (!/^[1-5][0-9][0-9]$/.test(String(gr.statusCode).trim()) || !Number.isInteger(n)) {
        problems.push({ type, field: 'statusCode', message: `"${gr.statusCode}" is not an HTTP status code (100-599)` });
      } else status = n;
    }

    const headers: HeaderMapping[] = [];
    for (const [key, expr] of Object.entries(gr.responseParameters ?? {})) {
      const field = `responseParameters.${key}`;
      const prefix = 'gatewayresponse.header.';
      if (!key.startsWith(prefix)) {
        problems.push({ type, field, message: `keys must be ${prefix}NAME` });
        continue;
      }
      const name = key.slice(prefix.length);
      if (!TOKEN.test(name)) {
        problems.push({ type, field, message: `"${name}" is not a valid header name` });
        continue;
      }
      if (typeof expr !== 'string') {
        problems.push({ type, field, message: 'the value must be a string' });
        continue;
      }
      const source = parseSource(expr);
      if (typeof source === 'string') {
        problems.push({ type, field, message: source });
        continue;
      }
      const lower = name.toLowerCase();
      const at = headers.findIndex((h) => h.lower === lower);
      if (at !== -1) headers.splice(at, 1);
      headers.push({ name, lower, source });
    }

    const bodies: BodyChoice[] = [];
    for (const [ct, source] of Object.entries(gr.responseTemplates ?? {})) {
      const field = `responseTemplates.${ct}`;
      const lower = mediaType(ct);
      if (!lower?.includes('/')) {
        problems.push({ type, field, message: `"${ct}" is not a media type` });
        continue;
      }
      if (typeof source !== 'string') {
        problems.push({ type, field, message: 'the template must be a string' });
        continue;
      }
      let renderer: BodyRenderer;
      try {
        renderer = { kind: 'vtl', template: compileTemplate(source, `gateway response ${type} ${ct}`) };
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        // AWS does not run gateway-response templates through VTL (simple substitution only),
        // so a template VTL cannot parse is still valid there: serve it by substitution.
        warnings.push(`gateway response ${type} ${ct}: ${e.message}; served with simple variable substitution`);
        renderer = { kind: 'substitute', source };
      }
      bodies.push({ contentType: ct, lower, renderer });
    }
    if (bodies.length === 0) {
      // A customisation without templates keeps AWS's default template.
      bodies.push({ contentType: 'application/json', lower: 'application/json', renderer: { kind: 'default', spaced: false } });
    }
    const out: { status?: number; headers: HeaderMapping[]; bodies: BodyChoice[] } = { headers, bodies };
    if (status !== undefined) out.status = status;
    return out;
  }

  /** The status a type answers with (after customisation), without building an answer. */
  status(type: GatewayResponseType): number {
    return this.#plans[type].status;
  }

  answer(type: GatewayResponseType, input: GatewayResponseInput): GatewayAnswer {
    const plan = this.#plans[type];
    if (!plan) throw new TypeError(`unknown gateway response type ${String(type)}`);
    const message = input.message !== undefined ? input.message : plan.message;
    const status = input.defaultStatus !== undefined && !plan.statusCustomised ? input.defaultStatus : plan.status;

    if (this.apiType === 'http') {
      return { status, headers: [['content-type', 'application/json']], body: defaultBody(message, false) };
    }

    const error = {
      message,
      messageString: JSON.stringify(message),
      responseType: type,
      validationErrorString: input.validationError ?? '',
    };
    const context: Record<string, unknown> = { ...(input.context ?? {}), requestId: input.requestId, stage: input.stage, error };

    const body = this.#chooseBody(plan, findHeader(input.request.headers, 'accept'));
    let text: string;
    const r = body.renderer;
    if (r.kind === 'default') text = defaultBody(message, r.spaced);
    else if (r.kind === 'substitute') text = substitute(r.source, { context, stageVariables: input.stageVariables });
    else {
      try {
        text = r.template.render(templateRequest(input), { context, stageVariables: { ...input.stageVariables } }).output;
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
        text = defaultBody(message, plan.spacedFallback);
      }
    }

    const headers: [string, string][] = [['content-type', body.contentType]];
    if (plan.errorType) headers.push(['x-amzn-ErrorType', plan.errorType]);
    for (const h of plan.headers) {
      const v = this.#value(h.source, input, context);
      if (v === undefined || v === '' || !HEADER_VALUE.test(v)) continue;
      const at = headers.findIndex(([n]) => n.toLowerCase() === h.lower);
      if (at !== -1) headers.splice(at, 1);
      headers.push([h.name, v]);
    }
    return { status, headers, body: text };
  }

  #chooseBody(plan: Plan, accept: string | string[] | undefined): BodyChoice {
    const bodies = plan.bodies;
    if (bodies.length > 1) {
      for (const t of acceptList(headerValue(accept, true))) {
        const hit = bodies.find((b) => b.lower === t);
        if (hit) return hit;
      }
      const json = bodies.find((b) => b.lower === 'application/json');
      if (json) return json;
    }
    return bodies[0]!;
  }

  #value(src: ValueSource, input: GatewayResponseInput, context: Record<string, unknown>): string | undefined {
    switch (src.kind) {
      case 'static':
        return src.value;
      case 'header':
        return headerValue(findHeader(input.request.headers, src.name), src.multi);
      case 'query': {
        const all = input.request.query.getAll(src.name);
        if (all.length === 0) return undefined;
        return src.multi ? all.join(',') : all[all.length - 1];
      }
      case 'path':
        return Object.hasOwn(input.request.path, src.name) ? input.request.path[src.name] : undefined;
      case 'stage':
        return Object.hasOwn(input.stageVariables, src.name) ? input.stageVariables[src.name] : undefined;
      case 'context':
        return lookup(context, src.path);
    }
  }
}

function templateRequest(input: GatewayResponseInput): TemplateRequest {
  // Prototype-less: request names such as `constructor` or `__proto__` are plain keys.
  const header: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(input.request.headers)) {
    const s = headerValue(v, false);
    if (s !== undefined) header[k] = s;
  }
  const querystring: Record<string, string> = Object.create(null);
  for (const k of new Set(input.request.query.keys())) {
    const all = input.request.query.getAll(k);
    querystring[k] = all[all.length - 1]!;
  }
  return { body: '', path: Object.assign(Object.create(null), input.request.path), querystring, header };
}
