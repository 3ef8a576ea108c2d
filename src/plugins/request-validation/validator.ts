/**
 * Request validation: required parameters, then the JSON body against a JSON Schema.
 *
 * AWS REST APIs' request validators (x-amazon-apigateway-request-validators) translate into this
 * plugin's config (src/aws/compile-aws.ts); the behaviour is AWS's where AWS defines it
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-method-request-validation.html;
 * the recordings in aws-groundtruth/localstack/test_apigateway_common.snapshot.json win;
 * docs/aws-request-validation.md has the evidence for each point):
 * - Parameters first. Every required path / query / header parameter must be present and not blank;
 *   otherwise BAD_REQUEST_PARAMETERS with `Missing required request parameters: [a, b]`, in the
 *   configured order (the AWS translator sorts them by AWS key: `method.request.header.*` <
 *   `method.request.path.*` < `method.request.querystring.*`, then by name). The body is not looked
 *   at when the parameters already failed.
 * - Body. The schema for the request's media type (Content-Type without parameters,
 *   `application/json` when absent) is used, else `$default`, else nothing is validated. The body
 *   is parsed as JSON (an empty body counts as `{}`); invalid JSON or a schema violation is
 *   BAD_REQUEST_BODY `Invalid request body`, with the violations in AWS's validationErrorString form.
 * - draft-04 schemas (AWS models): ajv 8 speaks draft-07, so each schema is rewritten once (see
 *   `rewrite`): boolean exclusiveMaximum/exclusiveMinimum become numeric bounds, keywords that
 *   draft 4 does not know (const, contains, propertyNames, if/then/else, OpenAPI's nullable ...)
 *   are dropped so they are ignored as a draft-4 validator ignores them, keys next to `$ref` are
 *   dropped. In both dialects `$ref`s to models (`#/models/Name`, `#/definitions/Name`,
 *   `#/components/schemas/Name`, `https://apigateway.amazonaws.com/restapis/<id>/models/Name`)
 *   point to the model registered once per models map.
 *
 * Compiled once: one ajv instance per models map (identity), one compiled function per schema
 * object (identity), so routes and content types that share a model share the function.
 */
import Ajv2007Module, { type AnySchema, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { LinearRegExp } from '../../util/linear-regex.js';
import { isCatastrophic } from '../../util/regex-safety.js';

const Ajv = Ajv2007Module.default;
type AjvInstance = InstanceType<typeof Ajv>;
const addFormats = addFormatsModule.default;

export type RequestValidationFailureKind = 'BAD_REQUEST_PARAMETERS' | 'BAD_REQUEST_BODY';
export type Dialect = 'draft-04' | 'draft-07';
type Models = Readonly<Record<string, unknown>>;
type ParamIn = 'header' | 'query' | 'path';

export interface RequestToValidate {
  body: Buffer | undefined;
  contentType: string | undefined;
  headers: Readonly<Record<string, string | string[] | undefined>>;
  query: URLSearchParams;
  pathParams: Readonly<Record<string, string>>;
}

export type RequestValidationResult =
  | { ok: true }
  | { ok: false; kind: RequestValidationFailureKind; message: string; /** AWS's $context.error.validationErrorString */ details: string };

export interface RequestValidator {
  /** Whether any body schema applies (the body must be read first). */
  readonly readsBody: boolean;
  validate(req: RequestToValidate): RequestValidationResult;
}

/** A model that cannot be compiled (an unresolvable `$ref`, an invalid pattern, a malformed schema). */
export class RequestValidatorCompileError extends Error {
  /** The content type whose schema failed. */
  readonly contentType: string;
  constructor(contentType: string, message: string) {
    super(`the schema for "${contentType}" cannot be compiled: ${message}`);
    this.name = 'RequestValidatorCompileError';
    this.contentType = contentType;
  }
}

export const INVALID_BODY_MESSAGE = 'Invalid request body';
const OK: RequestValidationResult = Object.freeze({ ok: true });
/** AWS uses the application/json model when the request has no Content-Type. */
const DEFAULT_CONTENT_TYPE = 'application/json';
const AWS_MODEL_URL = /^https?:\/\/apigateway\.[a-z0-9.-]*amazonaws\.com(?:\.cn)?\/restapis\/[^/]+\/models\/([^/?#]+)$/i;
/** Draft-4 formats (JSON Schema draft 4, section 7.3) plus regex; other formats are ignored, as draft 4 allows. */
const DRAFT4_FORMATS = ['date-time', 'email', 'hostname', 'ipv4', 'ipv6', 'uri', 'regex'] as const;
const FORMATS: ReadonlySet<string> = new Set<string>(DRAFT4_FORMATS);

// ---------------------------------------------------------------------------------------------
// Per-models compile state

interface ApiState {
  dialect: Dialect;
  models: Models;
  ajv: AjvInstance;
  /** Model name -> the URI it is registered under in `ajv`. */
  modelUris: Map<string, string>;
  compiled: WeakMap<object, ValidateFunction>;
}

const NO_MODELS: Models = Object.freeze({});

/**
 * Compile state keyed by the models map (one ajv per API), then by dialect: what lets the routes of an
 * API that share a model share its compiled function. One per config version (the plugin keeps it in
 * deps.state.config), so it goes with the version and no two gateways share an ajv.
 */
export class ValidatorStates {
  readonly #byModels = new WeakMap<object, Partial<Record<Dialect, ApiState>>>();

  for(models: Models, dialect: Dialect): ApiState {
    let byDialect = this.#byModels.get(models);
    if (byDialect === undefined) {
      byDialect = {};
      this.#byModels.set(models, byDialect);
    }
    return (byDialect[dialect] ??= newApiState(models, dialect));
  }
}

/**
 * The regex engine ajv compiles `pattern` and `patternProperties` with. A pattern safe-regex2 passes
 * runs on V8 (fastest); one it flags (nested or ambiguous quantifiers: the OWASP e-mail pattern takes
 * over a minute on a 38-byte value) runs on the linear-time engine (src/util/linear-regex.ts), so a
 * crafted body costs O(length x pattern) whatever the pattern. A flagged pattern the linear engine
 * cannot run (backreferences, lookaround) throws: the model is refused at load with its key path.
 */
export const safePatternEngine = Object.assign(
  (pattern: string, flags: string): { test(s: string): boolean } => (isCatastrophic(pattern) ? new LinearRegExp(pattern, flags) : new RegExp(pattern, flags)),
  // Not "new RegExp": ajv's generated code must call this function, not V8's constructor.
  { code: 'safePatternEngine' },
);

function newApiState(models: Models, dialect: Dialect): ApiState {
  const ajv = new Ajv({
    strict: false,
    // Every violation, for validationErrorString (only failing requests pay for it).
    allErrors: true,
    logger: false,
    // Only what JSON.parse put on the object counts (`required: ["constructor"]` must not be met by the prototype).
    ownProperties: true,
    // Draft 4 patterns are ECMA 262 regular expressions; without the u flag more of them compile as written.
    unicodeRegExp: false,
    useDefaults: false,
    coerceTypes: false,
    validateFormats: true,
    addUsedSchema: false,
    code: { regExp: safePatternEngine },
  });
  addFormats(ajv, { mode: 'full', formats: [...DRAFT4_FORMATS] });
  return { dialect, models, ajv, modelUris: new Map(), compiled: new WeakMap() };
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
function modelUri(state: ApiState, name: string): string {
  const known = state.modelUris.get(name);
  if (known !== undefined) return known;
  if (!Object.hasOwn(state.models, name)) throw new Error(`$ref to model "${name}", which is not defined`);
  const uri = `https://models.turnpike.invalid/m${state.modelUris.size}`;
  state.modelUris.set(name, uri); // before rewriting: a recursive model refers to itself
  try {
    const rewritten = rewrite(state.models[name], state);
    state.ajv.addSchema((isRecord(rewritten) ? { ...rewritten, $id: uri } : rewritten) as AnySchema, uri);
  } catch (e) {
    state.modelUris.delete(name);
    throw e;
  }
  return uri;
}

// ---------------------------------------------------------------------------------------------
// Draft 4 -> ajv (draft-07) rewrite, and model references in both dialects

const SCHEMA_KEYS: ReadonlySet<string> = new Set(['not', 'additionalItems', 'additionalProperties']);
const SCHEMA_MAP_KEYS: ReadonlySet<string> = new Set(['properties', 'patternProperties', 'definitions']);
const SCHEMA_LIST_KEYS: ReadonlySet<string> = new Set(['allOf', 'anyOf', 'oneOf']);
const PLAIN_KEYS: ReadonlySet<string> = new Set([
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
 * A schema as ajv's draft-07 dialect must see it to validate the same way. draft-04: keeps only
 * draft-4 validation keywords (so draft-6+ keywords stay inert, as in draft 4), turns boolean
 * exclusiveMaximum/exclusiveMinimum into numeric ones, drops `$schema`/`id` and keys next to `$ref`.
 * Both: points model references at the registered models. Throws on a reference it cannot resolve.
 */
function rewrite(schema: unknown, state: ApiState, depth = 0): unknown {
  if (depth > 200) throw new Error('schema is nested more than 200 levels deep');
  if (typeof schema === 'boolean') return schema;
  if (!isRecord(schema)) return {}; // not a schema: draft 4 would refuse the model; constrain nothing
  if (typeof schema.$ref === 'string') {
    const name = modelNameOf(schema.$ref);
    if (name === undefined) throw new Error(`$ref "${schema.$ref}" does not name a model`);
    return { $ref: modelUri(state, name) };
  }
  const draft4 = state.dialect === 'draft-04';
  const out: Record<string, unknown> = {};
  const sub = (v: unknown): unknown => rewrite(v, state, depth + 1);
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
      if (!draft4 || (typeof value === 'string' && FORMATS.has(value))) out.format = value;
    } else if (!draft4 && key !== '$schema' && key !== '$id' && key !== 'id') {
      setKey(out, key, value); // later-draft keywords apply as written (their subschemas' $refs are not rewritten)
    }
    // Everything else ($schema, id, exclusive bounds (below), const, contains, propertyNames,
    // if/then/else, examples, OpenAPI's nullable/discriminator/readOnly, x-*) is not a draft-4
    // validation keyword: dropped, so it constrains nothing.
  }
  // Draft 4: exclusiveMaximum/exclusiveMinimum are booleans that modify maximum/minimum.
  if (draft4 && schema.exclusiveMaximum === true && typeof schema.maximum === 'number') {
    delete out.maximum;
    out.exclusiveMaximum = schema.maximum;
  }
  if (draft4 && schema.exclusiveMinimum === true && typeof schema.minimum === 'number') {
    delete out.minimum;
    out.exclusiveMinimum = schema.minimum;
  }
  return out;
}

function compileSchema(state: ApiState, schema: unknown): ValidateFunction {
  if (isRecord(schema)) {
    const cached = state.compiled.get(schema);
    if (cached) return cached;
  }
  const fn = state.ajv.compile(rewrite(schema, state) as AnySchema);
  if (isRecord(schema)) state.compiled.set(schema, fn);
  return fn;
}

// ---------------------------------------------------------------------------------------------
// The validator

interface RequiredParam {
  in: ParamIn;
  name: string;
  /** Header names compare case-insensitively. */
  lower: string;
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
  readonly readsBody: boolean;

  constructor(params: RequiredParam[], bodies: Map<string, ValidateFunction>) {
    this.#params = params;
    this.#bodies = bodies;
    this.readsBody = bodies.size > 0;
    this.#fallback = bodies.get('$default');
  }

  validate(req: RequestToValidate): RequestValidationResult {
    let missing: string[] | undefined;
    for (const p of this.#params) {
      if (isMissing(p, req)) (missing ??= []).push(p.name);
    }
    if (missing) {
      const message = `Missing required request parameters: [${missing.join(', ')}]`;
      return { ok: false, kind: 'BAD_REQUEST_PARAMETERS', message, details: message };
    }
    if (this.#bodies.size === 0) return OK;
    const fn = this.#bodies.get(mediaTypeOf(req.contentType)) ?? this.#fallback;
    if (!fn) return OK; // no schema for this content type: AWS does not validate the body
    let data: unknown;
    if (req.body === undefined || req.body.length === 0) data = {};
    else {
      try {
        data = JSON.parse(req.body.toString('utf8'));
      } catch (e) {
        return { ok: false, kind: 'BAD_REQUEST_BODY', message: INVALID_BODY_MESSAGE, details: `[Invalid JSON: ${(e as Error).message}]` };
      }
    }
    if (fn(data)) return OK;
    return { ok: false, kind: 'BAD_REQUEST_BODY', message: INVALID_BODY_MESSAGE, details: validationErrorString(fn.errors ?? [], data) };
  }
}

export interface ValidatorSpec {
  parameters?: readonly { in: ParamIn; name: string }[] | undefined;
  body?: { schemas: Readonly<Record<string, unknown>>; dialect?: Dialect | undefined; models?: Readonly<Record<string, unknown>> | undefined } | undefined;
}

/**
 * The validator for a spec, or undefined when it has nothing to check. Compiles every schema now;
 * throws RequestValidatorCompileError when one cannot be compiled.
 */
export function compileRequestValidator(spec: ValidatorSpec, states: ValidatorStates = new ValidatorStates()): RequestValidator | undefined {
  const params: RequiredParam[] = (spec.parameters ?? []).map((p) => ({ in: p.in, name: p.name, lower: p.name.toLowerCase() }));
  const bodies = new Map<string, ValidateFunction>();
  if (spec.body !== undefined) {
    const state = states.for(spec.body.models ?? NO_MODELS, spec.body.dialect ?? 'draft-07');
    for (const [contentType, schema] of Object.entries(spec.body.schemas)) {
      const key = contentType === '$default' ? '$default' : mediaTypeOf(contentType);
      if (bodies.has(key)) continue;
      try {
        bodies.set(key, compileSchema(state, schema));
      } catch (e) {
        throw new RequestValidatorCompileError(contentType, (e as Error).message);
      }
    }
  }
  if (params.length === 0 && bodies.size === 0) return undefined;
  return new CompiledRequestValidator(params, bodies);
}

// ---------------------------------------------------------------------------------------------
// validationErrorString: API Gateway validates models with a draft-4 validator (java
// json-schema-validator) and fills $context.error.validationErrorString with its reports as
// `[report, report]`. These are its wordings for the common keywords; others get ajv's message.

const j = (v: unknown): string => JSON.stringify(v) ?? 'null';

function typeOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function valueAt(data: unknown, pointer: string): unknown {
  if (pointer === '') return data;
  let cur: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (cur === null || typeof cur !== 'object' || !Object.hasOwn(cur, seg)) return undefined;
    cur = (cur as Record<string, unknown>)[seg];
  }
  return cur;
}

export function validationErrorString(errors: readonly import('ajv').ErrorObject[], data: unknown): string {
  const out: string[] = [];
  const missingAt = new Map<string, string[]>();
  const extraAt = new Map<string, string[]>();
  for (const e of errors) {
    const p = e.params as Record<string, unknown>;
    const value = valueAt(data, e.instancePath);
    switch (e.keyword) {
      case 'required': {
        const list = missingAt.get(e.instancePath);
        if (list === undefined) {
          const fresh = [String(p.missingProperty)];
          missingAt.set(e.instancePath, fresh);
          out.push(`\0required${e.instancePath}`);
        } else list.push(String(p.missingProperty));
        break;
      }
      case 'additionalProperties': {
        const list = extraAt.get(e.instancePath);
        if (list === undefined) {
          extraAt.set(e.instancePath, [String(p.additionalProperty)]);
          out.push(`\0extra${e.instancePath}`);
        } else list.push(String(p.additionalProperty));
        break;
      }
      case 'type':
        out.push(`instance type (${typeOf(value)}) does not match any allowed primitive type (allowed: ${j(String(p.type).split(','))})`);
        break;
      case 'enum':
        out.push(`instance value (${j(value)}) not found in enum (possible values: ${j(p.allowedValues)})`);
        break;
      case 'minimum':
        out.push(`numeric instance is lower than the required minimum (minimum: ${String(p.limit)}, found: ${String(value)})`);
        break;
      case 'maximum':
        out.push(`numeric instance is greater than the required maximum (maximum: ${String(p.limit)}, found: ${String(value)})`);
        break;
      case 'exclusiveMinimum':
        out.push(`numeric instance is not strictly greater than the required minimum ${String(p.limit)}`);
        break;
      case 'exclusiveMaximum':
        out.push(`numeric instance is not strictly lower than the required maximum ${String(p.limit)}`);
        break;
      case 'minLength':
        out.push(`string ${j(value)} is too short (length: ${String(value).length}, required minimum: ${String(p.limit)})`);
        break;
      case 'maxLength':
        out.push(`string ${j(value)} is too long (length: ${String(value).length}, required maximum: ${String(p.limit)})`);
        break;
      case 'pattern':
        out.push(`ECMA 262 regex ${j(p.pattern)} does not match input string ${j(value)}`);
        break;
      case 'minItems':
        out.push(`array is too short: must have at least ${String(p.limit)} elements but instance has ${Array.isArray(value) ? value.length : 0} elements`);
        break;
      case 'maxItems':
        out.push(`array is too long: must have at most ${String(p.limit)} elements but instance has ${Array.isArray(value) ? value.length : 0} elements`);
        break;
      default:
        out.push(`${e.instancePath || 'instance'} ${e.message ?? 'is invalid'}`);
    }
  }
  const text = out.map((m) => {
    if (m.startsWith('\0required')) return `object has missing required properties (${j((missingAt.get(m.slice(9)) ?? []).sort())})`;
    if (m.startsWith('\0extra')) return `object instance has properties which are not allowed by the schema: ${j((extraAt.get(m.slice(6)) ?? []).sort())}`;
    return m;
  });
  return `[${text.join(', ')}]`;
}
