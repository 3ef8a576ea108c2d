/**
 * AWS REST API request validation (`x-amazon-apigateway-request-validators` and
 * `x-amazon-apigateway-request-validator`), as API Gateway performs it before the integration:
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html
 *
 * Behaviour (the recordings in aws-groundtruth/localstack/test_apigateway_common.snapshot.json win;
 * docs/aws-request-validation.md has the evidence for each point):
 * - Parameters first. With validateRequestParameters, every required path / query / header
 *   parameter must be present and not blank; otherwise BAD_REQUEST_PARAMETERS with
 *   `Missing required request parameters: [a, b]`, names ordered by their AWS key
 *   (`method.request.header.*` < `method.request.path.*` < `method.request.querystring.*`, then by
 *   name). The body is not looked at when the parameters already failed.
 * - Body. With validateRequestBody, the model for the request's media type (Content-Type without
 *   parameters, `application/json` when absent) is used, else the `$default` model, else nothing is
 *   validated. The body is parsed as JSON (an empty body counts as `{}`); invalid JSON or a
 *   schema violation is BAD_REQUEST_BODY `Invalid request body`.
 * - Models are JSON Schema draft 4. ajv 8 speaks draft-07, so each schema is rewritten once
 *   (see `toDraft7`): boolean exclusiveMaximum/exclusiveMinimum become numeric bounds, keywords that
 *   draft 4 does not know (const, contains, propertyNames, if/then/else, OpenAPI's nullable ...)
 *   are dropped so they are ignored as a draft-4 validator ignores them, keys next to `$ref` are
 *   dropped, and `$ref`s to models (`#/models/Name`, `#/definitions/Name`,
 *   `#/components/schemas/Name`, `https://apigateway.amazonaws.com/restapis/<id>/models/Name`)
 *   point to the model registered once per API.
 *
 * Compiled once: one ajv instance per AwsApiModel, one compiled function per schema object
 * (identity), so routes and content types that share a model share the function.
 */
import Ajv2007Module, { type AnySchema, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import type { AwsApiModel, AwsParameter, AwsRoute } from '../openapi/types.js';

const Ajv = Ajv2007Module.default;
type AjvInstance = InstanceType<typeof Ajv>;
const addFormats = addFormatsModule.default;

export type RequestValidationFailureKind = 'BAD_REQUEST_PARAMETERS' | 'BAD_REQUEST_BODY';

export interface RequestToValidate {
  body: Buffer | undefined;
  contentType: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: URLSearchParams;
  pathParams: Readonly<Record<string, string>>;
}

export type RequestValidationResult = { ok: true } | { ok: false; kind: RequestValidationFailureKind; message: string };

export interface RequestValidator {
  validate(req: RequestToValidate): RequestValidationResult;
}

/** A model that cannot be compiled (an unresolvable `$ref`, an invalid pattern, a malformed schema). */
export class RequestValidatorCompileError extends Error {
  /** `METHOD /path` of the route. */
  readonly route: string;
  /** The content type whose model failed. */
  readonly contentType: string;
  constructor(route: string, contentType: string, message: string) {
    super(`request validation for ${route}: the model for "${contentType}" cannot be compiled: ${message}`);
    this.name = 'RequestValidatorCompileError';
    this.route = route;
    this.contentType = contentType;
  }
}

export const INVALID_BODY_MESSAGE = 'Invalid request body';
const OK: RequestValidationResult = Object.freeze({ ok: true });
const INVALID_BODY: RequestValidationResult = Object.freeze({ ok: false, kind: 'BAD_REQUEST_BODY', message: INVALID_BODY_MESSAGE });
/** AWS uses the application/json model when the request has no Content-Type. */
const DEFAULT_CONTENT_TYPE = 'application/json';
const AWS_MODEL_URL = /^https?:\/\/apigateway\.[a-z0-9.-]*amazonaws\.com(?:\.cn)?\/restapis\/[^/]+\/models\/([^/?#]+)$/i;
/** Draft-4 formats (JSON Schema draft 4, section 7.3) plus regex; other formats are ignored, as draft 4 allows. */
const DRAFT4_FORMATS = ['date-time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'regex'] as const;
const FORMATS = new Set<string>(DRAFT4_FORMATS);

// ---------------------------------------------------------------------------------------------
// Per-API compile state

interface ApiState {
  ajv: AjvInstance;
  /** Model name -> the URI it is registered under in `ajv`. */
  modelUris: Map<string, string>;
  compiled: WeakMap<object, ValidateFunction>;
}

const states = new WeakMap<AwsApiModel, ApiState>();

function stateFor(model: AwsApiModel): ApiState {
  let s = states.get(model);
  if (!s) {
    const ajv = new Ajv({
      strict: false,
      allErrors: false,
      logger: false,
      // Only what JSON.parse put on the object counts (`required: ["constructor"]` must not be met by the prototype).
      ownProperties: true,
      // Draft 4 patterns are ECMA 262 regular expressions; without the u flag more of them compile as written.
      unicodeRegExp: false,
      useDefaults: false,
      coerceTypes: false,
      validateFormats: true,
      addUsedSchema: false,
    });
    addFormats(ajv, { mode: 'full', formats: [...DRAFT4_FORMATS] });
    s = { ajv, modelUris: new Map(), compiled: new WeakMap() };
    states.set(model, s);
  }
  return s;
}

/** The model a `$ref` names, or undefined when it is not a reference to a model of this API. */
function modelNameOf(ref: string): string | undefined {
  const decode = (s: string): string => {
    let out = s;
    try {
      out = decodeURIComponent(s);
    } catch {
      // keep the raw text
    }
    return out.replace(/~1/g, '/').replace(/~0/g, '~');
  };
  for (const prefix of ['#/models/', '#/definitions/', '#/components/schemas/']) {
    if (ref.startsWith(prefix)) {
      const rest = ref.slice(prefix.length);
      return rest.includes('/') ? undefined : decode(rest);
    }
  }
  const m = AWS_MODEL_URL.exec(ref);
  return m?.[1] !== undefined ? decode(m[1]) : undefined;
}

/** Registers a model (and, through its references, the models it uses) once per API; returns its URI. */
function modelUri(state: ApiState, model: AwsApiModel, name: string): string {
  const known = state.modelUris.get(name);
  if (known !== undefined) return known;
  if (!Object.hasOwn(model.models, name)) throw new Error(`$ref to model "${name}", which the API does not define`);
  const uri = `https://models.turnpike.invalid/m${state.modelUris.size}`;
  state.modelUris.set(name, uri); // before rewriting: a recursive model refers to itself
  try {
    const rewritten = toDraft7(model.models[name], state, model);
    state.ajv.addSchema((isRecord(rewritten) ? { ...rewritten, $id: uri } : rewritten) as AnySchema, uri);
  } catch (e) {
    state.modelUris.delete(name);
    throw e;
  }
  return uri;
}

// ---------------------------------------------------------------------------------------------
// Draft 4 -> ajv (draft-07) rewrite

const SCHEMA_KEYS = new Set(['not', 'additionalItems', 'additionalProperties']);
const SCHEMA_MAP_KEYS = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_LIST_KEYS = new Set(['allOf', 'anyOf', 'oneOf']);
const PLAIN_KEYS = new Set([
  'type',
  'enum',
  'required',
  'multipleOf',
  'maximum',
  'minimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'maxProperties',
  'minProperties',
  'title',
  'description',
  'default',
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function setKey(obj: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
  else obj[key] = value;
}

/**
 * A draft-4 schema as ajv's draft-07 dialect must see it to validate the same way. Keeps only
 * draft-4 validation keywords (so draft-6+ keywords stay inert, as in draft 4), turns boolean
 * exclusiveMaximum/exclusiveMinimum into numeric ones, drops `$schema`/`id` and keys next to `$ref`,
 * and points model references at the registered models. Throws on a reference it cannot resolve.
 */
function toDraft7(schema: unknown, state: ApiState, model: AwsApiModel, depth = 0): unknown {
  if (depth > 200) throw new Error('schema is nested more than 200 levels deep');
  if (typeof schema === 'boolean') return schema;
  if (!isRecord(schema)) return {}; // not a schema: draft 4 would refuse the model; constrain nothing
  if (typeof schema.$ref === 'string') {
    const name = modelNameOf(schema.$ref);
    if (name === undefined) throw new Error(`$ref "${schema.$ref}" does not name a model of this API`);
    return { $ref: modelUri(state, model, name) };
  }
  const out: Record<string, unknown> = {};
  const sub = (v: unknown): unknown => toDraft7(v, state, model, depth + 1);
  for (const [key, value] of Object.entries(schema)) {
    if (PLAIN_KEYS.has(key)) {
      if (key === 'required' && !(Array.isArray(value) && value.length > 0)) continue; // draft 3 `required: true`, or empty
      setKey(out, key, value);
    } else if (SCHEMA_KEYS.has(key)) {
      setKey(out, key, typeof value === 'boolean' ? value : sub(value));
    } else if (key === 'items') {
      setKey(out, key, Array.isArray(value) ? value.map(sub) : sub(value));
    } else if (SCHEMA_MAP_KEYS.has(key) || key === 'dependencies') {
      if (!isRecord(value)) continue;
      const m: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) setKey(m, k, key === 'dependencies' && Array.isArray(v) ? v : sub(v));
      setKey(out, key, m);
    } else if (SCHEMA_LIST_KEYS.has(key)) {
      if (Array.isArray(value) && value.length > 0) setKey(out, key, value.map(sub));
    } else if (key === 'format') {
      if (typeof value === 'string' && FORMATS.has(value)) out.format = value;
    }
    // Everything else ($schema, id, exclusive bounds (below), const, contains, propertyNames,
    // if/then/else, examples, OpenAPI's nullable/discriminator/readOnly, x-*) is not a draft-4
    // validation keyword: dropped, so it constrains nothing.
  }
  // Draft 4: exclusiveMaximum/exclusiveMinimum are booleans that modify maximum/minimum.
  if (schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
    delete out.maximum;
    out.exclusiveMaximum = schema.maximum;
  }
  if (schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
    delete out.minimum;
    out.exclusiveMinimum = schema.minimum;
  }
  return out;
}

function compileSchema(state: ApiState, model: AwsApiModel, schema: unknown): ValidateFunction {
  if (isRecord(schema)) {
    const cached = state.compiled.get(schema);
    if (cached) return cached;
  }
  const fn = state.ajv.compile(toDraft7(schema, state, model) as AnySchema);
  if (isRecord(schema)) state.compiled.set(schema, fn);
  return fn;
}

// ---------------------------------------------------------------------------------------------
// The validator

interface RequiredParam {
  in: AwsParameter['in'];
  name: string;
  /** Header names compare case-insensitively. */
  lower: string;
}

const LOCATION_KEY: Record<AwsParameter['in'], string> = { header: 'header', path: 'path', query: 'querystring' };

/** AWS lists missing parameters ordered by `method.request.<location>.<name>`. */
function awsKey(p: AwsParameter): string {
  return `method.request.${LOCATION_KEY[p.in]}.${p.name}`;
}

function blank(v: string | undefined): boolean {
  return v === undefined || v.trim() === '';
}

function headerValue(headers: RequestToValidate['headers'], lower: string): string | undefined {
  let v = headers[lower];
  if (v === undefined) {
    for (const k of Object.keys(headers)) {
      if (k.toLowerCase() === lower) {
        v = headers[k];
        break;
      }
    }
  }
  if (Array.isArray(v)) return v.length === 0 ? undefined : v.some((x) => !blank(x)) ? 'x' : '';
  return v;
}

function isMissing(p: RequiredParam, req: RequestToValidate): boolean {
  switch (p.in) {
    case 'header':
      return blank(headerValue(req.headers, p.lower));
    case 'query': {
      // method.request.querystring.<name> is the last value when a name repeats.
      const all = req.query.getAll(p.name);
      return blank(all[all.length - 1]);
    }
    case 'path':
      return blank(Object.hasOwn(req.pathParams, p.name) ? req.pathParams[p.name] : undefined);
  }
}

/** The media type of a Content-Type header value: parameters dropped, trimmed, lower-case. */
export function mediaTypeOf(contentType: string | undefined): string {
  if (contentType === undefined) return DEFAULT_CONTENT_TYPE;
  const semi = contentType.indexOf(';');
  const t = (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
  return t === '' ? DEFAULT_CONTENT_TYPE : t;
}

class CompiledRequestValidator implements RequestValidator {
  readonly #params: readonly RequiredParam[];
  readonly #bodies: ReadonlyMap<string, ValidateFunction>;
  readonly #fallback: ValidateFunction | undefined;

  constructor(params: RequiredParam[], bodies: Map<string, ValidateFunction>) {
    this.#params = params;
    this.#bodies = bodies;
    this.#fallback = bodies.get('$default');
  }

  validate(req: RequestToValidate): RequestValidationResult {
    let missing: string[] | undefined;
    for (const p of this.#params) {
      if (isMissing(p, req)) (missing ??= []).push(p.name);
    }
    if (missing) return { ok: false, kind: 'BAD_REQUEST_PARAMETERS', message: `Missing required request parameters: [${missing.join(', ')}]` };
    if (this.#bodies.size === 0) return OK;
    const fn = this.#bodies.get(mediaTypeOf(req.contentType)) ?? this.#fallback;
    if (!fn) return OK; // no model for this content type: AWS does not validate the body
    let data: unknown;
    if (req.body === undefined || req.body.length === 0) data = {};
    else {
      try {
        data = JSON.parse(req.body.toString('utf8'));
      } catch {
        return INVALID_BODY;
      }
    }
    return fn(data) ? OK : INVALID_BODY;
  }
}

/**
 * The validator for one route, or undefined when the route has no validator or the validator has
 * nothing to check (no required parameters to look for, no body model to apply). Compiles every
 * model now; throws RequestValidatorCompileError when one cannot be compiled.
 */
export function compileRequestValidator(route: AwsRoute, model: AwsApiModel): RequestValidator | undefined {
  const name = route.requestValidator;
  if (name === undefined || !Object.hasOwn(model.requestValidators, name)) return undefined;
  const v = model.requestValidators[name];
  if (!v) return undefined;

  const params: RequiredParam[] = [];
  if (v.validateRequestParameters) {
    const required = route.parameters.filter((p) => p.required);
    required.sort((a, b) => {
      const ka = awsKey(a);
      const kb = awsKey(b);
      return ka < kb ? -1 : ka > kb ? 1 : 0;
    });
    for (const p of required) {
      const pname = p.in === 'path' && p.name.endsWith('+') ? p.name.slice(0, -1) : p.name;
      params.push({ in: p.in, name: pname, lower: pname.toLowerCase() });
    }
  }

  const bodies = new Map<string, ValidateFunction>();
  if (v.validateRequestBody && route.requestBody) {
    const state = stateFor(model);
    for (const [contentType, schema] of Object.entries(route.requestBody.models)) {
      const key = contentType === '$default' ? '$default' : mediaTypeOf(contentType);
      if (bodies.has(key)) continue;
      try {
        bodies.set(key, compileSchema(state, model, schema));
      } catch (e) {
        throw new RequestValidatorCompileError(`${route.method} ${route.path}`, contentType, (e as Error).message);
      }
    }
  }

  if (params.length === 0 && bodies.size === 0) return undefined;
  return new CompiledRequestValidator(params, bodies);
}
