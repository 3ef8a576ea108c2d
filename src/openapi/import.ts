/**
 * AWS importer: an API Gateway OpenAPI document (OpenAPI 3.0.x or Swagger 2.0, REST API or
 * HTTP API flavour) -> AwsApiModel, plus diagnostics.
 *
 * Pure: no I/O. Never throws on any input (a property test pins this): a broken document gives
 * `error` diagnostics and a best-effort model; every extension or field that is not supported
 * yet gives a `warning` that names it, with its position. Nothing is dropped silently.
 *
 * Extension shapes follow "Working with API Gateway extensions to OpenAPI"
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html)
 * and the per-extension pages cited next to each parser below; docs/aws-compatibility.md has
 * the table of what is supported.
 */
import { GATEWAY_RESPONSE_TYPES as GATEWAY_RESPONSE_TYPE_LIST, isApiKeyScheme, isIamScheme } from './types.js';
import { type Diagnostic, formatPath, sortDiagnostics } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import { isAwsServiceUri, parseLambdaUri } from './arn.js';
import { isRecord, type KeyPath, RefResolver, setKey, structuredCloneSafe } from './refs.js';
import type {
  ApiType,
  AwsApiModel,
  AwsCors,
  AwsGatewayResponse,
  AwsIntegration,
  AwsIntegrationResponse,
  AwsParameter,
  AwsRoute,
  AwsSecurityScheme,
  ContentHandling,
  IntegrationType,
  PassthroughBehavior,
} from './types.js';

export const EXT = 'x-amazon-apigateway-';

/** REST: 50 ms to 29 s; HTTP APIs: 50 ms to 30 s (both the AWS default when unset). */
export const DEFAULT_TIMEOUT_MS: Record<ApiType, number> = { rest: 29_000, http: 30_000 };

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch'] as const;
const INTEGRATION_TYPES = new Set<IntegrationType>(['aws_proxy', 'aws', 'http', 'http_proxy', 'mock']);
const PASSTHROUGH = new Set<PassthroughBehavior>(['WHEN_NO_MATCH', 'WHEN_NO_TEMPLATES', 'NEVER']);
const CONTENT_HANDLING = new Set<ContentHandling>(['CONVERT_TO_TEXT', 'CONVERT_TO_BINARY']);

/** Gateway response types (https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html). */
export const GATEWAY_RESPONSE_TYPES: ReadonlySet<string> = new Set(GATEWAY_RESPONSE_TYPE_LIST);

/** Extensions that are known but have no effect in Turnpike yet, with why (root level). */
const IGNORED_ROOT_EXTENSIONS: Record<string, string> = {
  [`${EXT}documentation`]: 'documentation parts are not served; ignored',
  [`${EXT}endpoint-configuration`]: 'endpoint types and VPC endpoints are AWS network settings; ignored',
  [`${EXT}security-policy`]: 'TLS security policies are set on the Turnpike listener, not per API; ignored',
  [`${EXT}endpoint-access-mode`]: 'endpoint access modes are AWS network settings; ignored',
};

const ROOT_FIELDS_2 = new Set([
  'swagger',
  'info',
  'host',
  'basePath',
  'schemes',
  'consumes',
  'produces',
  'paths',
  'definitions',
  'parameters',
  'responses',
  'securityDefinitions',
  'security',
  'tags',
  'externalDocs',
]);
const ROOT_FIELDS_3 = new Set(['openapi', 'info', 'servers', 'paths', 'components', 'security', 'tags', 'externalDocs']);
const PATH_ITEM_FIELDS = new Set(['$ref', 'summary', 'description', 'servers', 'parameters', ...METHODS]);
const OPERATION_FIELDS_2 = new Set([
  'tags',
  'summary',
  'description',
  'externalDocs',
  'operationId',
  'consumes',
  'produces',
  'parameters',
  'responses',
  'schemes',
  'deprecated',
  'security',
]);
const OPERATION_FIELDS_3 = new Set([
  'tags',
  'summary',
  'description',
  'externalDocs',
  'operationId',
  'parameters',
  'requestBody',
  'responses',
  'deprecated',
  'security',
]);
const INTEGRATION_FIELDS = new Set([
  'type',
  'uri',
  'httpMethod',
  'passthroughBehavior',
  'requestParameters',
  'requestTemplates',
  'responses',
  'contentHandling',
  'timeoutInMillis',
  'payloadFormatVersion',
  'connectionType',
  'connectionId',
  'credentials',
  'cacheKeyParameters',
  'cacheNamespace',
  'integrationSubtype',
  'tlsConfig',
  'description',
]);
const AUTHORIZER_FIELDS = new Set([
  'type',
  'authorizerUri',
  'authorizerCredentials',
  'authorizerPayloadFormatVersion',
  'enableSimpleResponses',
  'identitySource',
  'jwtConfiguration',
  'identityValidationExpression',
  'authorizerResultTtlInSeconds',
  'providerARNs',
]);

export interface ImportOptions {
  /** Overrides detection (`detectApiType`). */
  apiType?: ApiType;
}

export interface ImportResult {
  model: AwsApiModel;
  diagnostics: Diagnostic[];
}

// ---------------------------------------------------------------------------------------------
// API type detection

interface Signals {
  http: string[];
  rest: string[];
}

/**
 * REST API or HTTP API? HTTP APIs import only OpenAPI 3.0 and carry features REST APIs do not
 * have (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-open-api.html):
 * x-amazon-apigateway-cors, payloadFormatVersion, the $default route (isDefaultRoute), JWT
 * authorizers, authorizerPayloadFormatVersion, integrationSubtype, reusable
 * x-amazon-apigateway-integrations, and their exports add x-amazon-apigateway-importexport-version.
 * REST-only features (Swagger 2.0, request validators, gateway responses, API key source, binary
 * media types, mapping templates, integration responses, token and Cognito authorizers) win
 * when both kinds appear, because an HTTP API would drop them. Nothing points either way: REST.
 */
export function detectApiType(doc: unknown): ApiType {
  const s = collectSignals(doc);
  return s.rest.length === 0 && s.http.length > 0 ? 'http' : 'rest';
}

function collectSignals(doc: unknown): Signals {
  const s: Signals = { http: [], rest: [] };
  if (!isRecord(doc)) return s;
  if (doc.swagger !== undefined) s.rest.push('swagger 2.0');
  for (const k of ['request-validators', 'request-validator', 'gateway-responses', 'api-key-source', 'binary-media-types']) {
    if (doc[EXT + k] !== undefined) s.rest.push(EXT + k);
  }
  if (doc[`${EXT}cors`] !== undefined) s.http.push(`${EXT}cors`);
  if (doc[`${EXT}importexport-version`] !== undefined) s.http.push(`${EXT}importexport-version`);
  const components = isRecord(doc.components) ? doc.components : {};
  if (components[`${EXT}integrations`] !== undefined) s.http.push(`components.${EXT}integrations`);
  const schemes = {
    ...(isRecord(doc.securityDefinitions) ? doc.securityDefinitions : {}),
    ...(isRecord(components.securitySchemes) ? components.securitySchemes : {}),
  };
  for (const scheme of Object.values(schemes)) {
    const a = isRecord(scheme) ? scheme[`${EXT}authorizer`] : undefined;
    if (!isRecord(a)) continue;
    const type = typeof a.type === 'string' ? a.type.toLowerCase() : '';
    if (type === 'jwt') s.http.push('jwt authorizer');
    if (type === 'token' || type === 'cognito_user_pools') s.rest.push(`${type} authorizer`);
    if (a.authorizerPayloadFormatVersion !== undefined) s.http.push('authorizerPayloadFormatVersion');
  }
  const integrations: unknown[] = isRecord(components[`${EXT}integrations`]) ? Object.values(components[`${EXT}integrations`] as object) : [];
  if (isRecord(doc.paths)) {
    for (const [path, item] of Object.entries(doc.paths)) {
      if (path === '$default' || path === '/$default') s.http.push('$default route');
      if (!isRecord(item)) continue;
      for (const [k, op] of Object.entries(item)) {
        if (!isRecord(op) || !(METHODS.includes(k as (typeof METHODS)[number]) || k === `${EXT}any-method`)) continue;
        if (op.isDefaultRoute === true) s.http.push('isDefaultRoute');
        integrations.push(op[`${EXT}integration`]);
      }
    }
  }
  for (const i of integrations) {
    if (!isRecord(i)) continue;
    if (i.payloadFormatVersion !== undefined) s.http.push('payloadFormatVersion');
    if (i.integrationSubtype !== undefined) s.http.push('integrationSubtype');
    if (isRecord(i.requestTemplates) && Object.keys(i.requestTemplates).length > 0) s.rest.push('requestTemplates');
    if (isRecord(i.responses) && Object.keys(i.responses).length > 0) s.rest.push('integration responses');
  }
  return s;
}

// ---------------------------------------------------------------------------------------------
// The importer

export function importAwsDocument(doc: SourceDocument, opts: ImportOptions = {}): ImportResult {
  const diagnostics: Diagnostic[] = [...doc.warnings];
  try {
    const model = new Importer(doc, diagnostics, opts).run();
    return { model, diagnostics: sortDiagnostics(diagnostics) };
  } catch (e) {
    // A bug in the importer must not take the gateway down: report it as an error on the document.
    const message = e instanceof Error ? e.message : String(e);
    diagnostics.push({
      file: doc.file,
      line: 0,
      column: 0,
      path: '',
      message: `internal error while importing (please report): ${message}`,
      severity: 'error',
    });
    return { model: emptyModel(opts.apiType ?? 'rest'), diagnostics };
  }
}

function emptyModel(apiType: ApiType): AwsApiModel {
  return {
    apiType,
    title: '',
    version: '',
    binaryMediaTypes: [],
    apiKeySource: 'HEADER',
    gatewayResponses: {},
    requestValidators: {},
    securitySchemes: {},
    models: {},
    routes: [],
  };
}

class Importer {
  readonly #src: SourceDocument;
  readonly #out: Diagnostic[];
  readonly #opts: ImportOptions;
  readonly #refs: RefResolver;
  #swagger = false;
  #apiType: ApiType = 'rest';
  #model: AwsApiModel = emptyModel('rest');
  #defaultValidator: string | undefined;
  /** Routes AWS's import would not create, with why (see #security). */
  readonly #omitted = new Map<AwsRoute, string>();

  constructor(src: SourceDocument, out: Diagnostic[], opts: ImportOptions) {
    this.#src = src;
    this.#out = out;
    this.#opts = opts;
    this.#refs = new RefResolver(src.data, (path, severity, message) => this.#report(path, severity, message));
  }

  #report(path: KeyPath, severity: 'error' | 'warning', message: string, atKey = false): void {
    let pos = { line: 0, column: 0 };
    try {
      pos = atKey ? this.#src.locateKey(path) : this.#src.locate(path);
    } catch {
      // a position is a courtesy; never fail the import over it
    }
    this.#out.push({ file: this.#src.file, line: pos.line, column: pos.column, path: formatPath(path), message, severity });
  }
  #error(path: KeyPath, message: string): void {
    this.#report(path, 'error', message);
  }
  #warn(path: KeyPath, message: string, atKey = false): void {
    this.#report(path, 'warning', message, atKey);
  }

  run(): AwsApiModel {
    const root = this.#src.data;
    if (!isRecord(root)) {
      this.#error([], 'an OpenAPI document must be a map with "openapi: 3.0.x" (or "swagger: \'2.0\'"), "info" and "paths"');
      return this.#model;
    }
    if (root.swagger !== undefined) {
      this.#swagger = true;
      if (shown(root.swagger) !== '2.0')
        this.#error(['swagger'], `unsupported Swagger version "${shown(root.swagger)}"; API Gateway imports Swagger 2.0 and OpenAPI 3.0`);
    } else if (typeof root.openapi === 'string' && /^3\.0(\.\d+)?$/.test(root.openapi)) {
      // supported
    } else if (typeof root.openapi === 'string' && root.openapi.startsWith('3.')) {
      this.#warn(['openapi'], `OpenAPI ${root.openapi} is read as 3.0 (API Gateway imports 3.0); 3.1-only features are ignored`);
    } else {
      this.#error(root.openapi === undefined ? [] : ['openapi'], 'missing or unsupported version: expected "openapi: 3.0.x" or "swagger: \'2.0\'"');
    }

    const signals = collectSignals(root);
    this.#apiType = this.#opts.apiType ?? (signals.rest.length === 0 && signals.http.length > 0 ? 'http' : 'rest');
    if (this.#opts.apiType === undefined && signals.rest.length > 0 && signals.http.length > 0) {
      this.#warn(
        [],
        `the document mixes HTTP API features (${unique(signals.http).join(', ')}) and REST API features (${unique(signals.rest).join(', ')}); imported as a REST API (pass apiType to choose)`,
      );
    }
    if (this.#apiType === 'http' && this.#swagger)
      this.#error(['swagger'], 'HTTP APIs import only OpenAPI 3.0 documents (AWS rejects Swagger 2.0 for HTTP APIs)');
    this.#model = emptyModel(this.#apiType);
    const m = this.#model;

    this.#info(root);
    this.#checkFields(root, [], this.#swagger ? ROOT_FIELDS_2 : ROOT_FIELDS_3, 'the document root');
    this.#basePath(root);
    this.#rootExtensions(root);
    if (this.#defaultValidator !== undefined && !Object.hasOwn(m.requestValidators, this.#defaultValidator)) {
      this.#error([`${EXT}request-validator`], `request validator "${this.#defaultValidator}" is not defined in ${EXT}request-validators`);
      this.#defaultValidator = undefined;
    }
    this.#modelsAndSchemes(root);
    this.#routes(root);
    return m;
  }

  #info(root: Record<string, unknown>): void {
    const info = root.info;
    // SAM writes DefinitionBody documents without `info` and API Gateway takes them (the API is named
    // by the template's resource, or on import by the caller): title stays '' and whoever serves the
    // model names the API (the file name for a bare document, the entry's name in a config).
    if (info === undefined) return;
    if (!isRecord(info)) {
      this.#error(['info'], '"info" must be a map (with "title" and "version")');
      return;
    }
    if (typeof info.title === 'string') this.#model.title = info.title;
    else if (info.title !== undefined) this.#error(['info', 'title'], '"info.title" must be a string: AWS names the API after it');
    if (typeof info.version === 'string' || typeof info.version === 'number') this.#model.version = String(info.version);
    else if (info.version !== undefined) this.#error(['info', 'version'], '"info.version" must be a string');
  }

  #basePath(root: Record<string, unknown>): void {
    let base: string | undefined;
    if (this.#swagger) {
      if (typeof root.basePath === 'string') base = root.basePath;
      else if (root.basePath !== undefined) this.#error(['basePath'], 'basePath must be a string such as "/v1"');
    } else if (Array.isArray(root.servers) && root.servers.length > 0) {
      // AWS exports: url "https://{id}.execute-api.{region}.amazonaws.com/{basePath}" with variables.basePath.default.
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-import-api-basePath.html
      const server = root.servers[0];
      if (isRecord(server) && typeof server.url === 'string') {
        const vars = isRecord(server.variables) ? server.variables : {};
        const expanded = server.url.replace(/\{([^}]+)\}/g, (whole, name: string) => {
          const v = vars[name];
          return isRecord(v) && typeof v.default === 'string' ? v.default : whole;
        });
        const path = expanded.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/]*/i, '');
        base = path.replace(/\/{2,}/g, '/');
      }
      if (root.servers.length > 1) this.#warn(['servers', 1], 'only the first server is used for the base path; other servers are ignored');
    }
    if (base === undefined) return;
    if (!base.startsWith('/')) base = `/${base}`;
    base = base.replace(/\/+$/, '');
    if (base !== '' && base !== '/') this.#model.basePath = base;
  }

  #rootExtensions(root: Record<string, unknown>): void {
    const m = this.#model;
    const rest = this.#apiType === 'rest';
    const restOnly = (key: string, why: string): boolean => {
      if (rest) return true;
      this.#warn([key], `${key} is a REST API feature; HTTP APIs ${why}, so it is ignored`, true);
      return false;
    };
    for (const [key, value] of Object.entries(root)) {
      if (!key.startsWith(EXT)) continue;
      const path = [key];
      switch (key.slice(EXT.length)) {
        case 'binary-media-types':
          // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-binary-media-types.html
          if (restOnly(key, 'decide base64 encoding from the content type themselves')) m.binaryMediaTypes = this.#stringList(value, path);
          break;
        case 'api-key-source': {
          // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-api-key-source.html
          if (!restOnly(key, 'have no API keys')) break;
          const v = typeof value === 'string' ? value.toUpperCase() : '';
          if (v === 'HEADER' || v === 'AUTHORIZER') m.apiKeySource = v;
          else this.#error(path, `${key} must be "HEADER" or "AUTHORIZER"`);
          break;
        }
        case 'gateway-responses':
          if (restOnly(key, 'have no gateway responses')) m.gatewayResponses = this.#gatewayResponses(value, path);
          break;
        case 'request-validators':
          if (restOnly(key, 'do not validate requests')) m.requestValidators = this.#requestValidators(value, path);
          break;
        case 'request-validator':
          if (!restOnly(key, 'do not validate requests')) break;
          if (typeof value === 'string') this.#defaultValidator = value;
          else this.#error(path, `${key} must be the name of a validator in ${EXT}request-validators`);
          break;
        case 'cors':
          // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-cors-configuration.html
          if (rest)
            this.#warn(path, `${key} applies to HTTP APIs only; REST APIs answer CORS with OPTIONS methods (mock integrations), so it is ignored`, true);
          else m.cors = this.#cors(value, path);
          break;
        case 'importexport-version': {
          // YAML reads an unquoted 1.0 as the number 1; any other value (an object too) is only named in the warning.
          const v = typeof value === 'number' ? value.toFixed(1) : shown(value);
          if (v !== '1.0') this.#warn(path, `${key} ${JSON.stringify(v)} is unknown; AWS documents only "1.0"`);
          break;
        }
        case 'minimum-compression-size':
          if (typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= 10_485_760) {
            m.minimumCompressionSize = value;
            this.#warn(path, `${key} is kept in the model but responses are not compressed yet`, true);
          } else this.#error(path, `${key} must be an integer from 0 to 10485760 (bytes)`);
          break;
        case 'policy':
          m.resourcePolicy = structuredCloneSafe(value);
          this.#warn(path, `${key} (resource policy) is not enforced yet: callers it would deny are let through`, true);
          break;
        default: {
          const why = IGNORED_ROOT_EXTENSIONS[key];
          if (why) this.#warn(path, `${key} is not supported yet: ${why}`, true);
          else this.#unknownExtension(path, key, 'the document root');
        }
      }
    }
    if (isRecord(root.components)) {
      for (const key of Object.keys(root.components)) {
        if (key.startsWith(EXT) && key !== `${EXT}integrations`) this.#unknownExtension(['components', key], key, 'components');
      }
    }
    if (Array.isArray(root.tags)) {
      root.tags.forEach((tag, i) => {
        if (!isRecord(tag)) return;
        for (const key of Object.keys(tag)) {
          if (key === `${EXT}tag-value`) this.#warn(['tags', i, key], `${key} is not supported yet: API tags are AWS resource tags; ignored`, true);
          else if (key.startsWith(EXT)) this.#unknownExtension(['tags', i, key], key, 'a tag');
        }
      });
    }
  }

  #unknownExtension(path: KeyPath, key: string, where: string): void {
    this.#warn(path, `unknown extension ${key} in ${where}: not an API Gateway extension Turnpike knows; ignored`, true);
  }

  /** Warns about fields that are neither known OpenAPI fields nor vendor extensions handled elsewhere. */
  #checkFields(obj: Record<string, unknown>, path: KeyPath, known: ReadonlySet<string>, where: string): void {
    for (const key of Object.keys(obj)) {
      if (known.has(key) || key.startsWith('x-')) continue;
      this.#warn([...path, key], `unknown field "${key}" in ${where} (${this.#swagger ? 'Swagger 2.0' : 'OpenAPI 3.0'}); ignored`, true);
    }
  }

  #gatewayResponses(value: unknown, path: KeyPath): Record<string, AwsGatewayResponse> {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-gateway-responses.html
    const out: Record<string, AwsGatewayResponse> = {};
    if (!isRecord(value)) {
      this.#error(path, `${EXT}gateway-responses must map response types (e.g. DEFAULT_4XX) to responses`);
      return out;
    }
    for (const [type, raw] of Object.entries(value)) {
      const p = [...path, type];
      if (!GATEWAY_RESPONSE_TYPES.has(type)) {
        this.#warn(p, `unknown gateway response type "${type}"; AWS types are ${[...GATEWAY_RESPONSE_TYPES].join(', ')}`, true);
        continue;
      }
      if (!isRecord(raw)) {
        this.#error(p, 'a gateway response must be a map with statusCode, responseParameters, responseTemplates');
        continue;
      }
      const r: AwsGatewayResponse = {
        responseParameters: this.#stringMap(raw.responseParameters, [...p, 'responseParameters']),
        responseTemplates: this.#stringMap(raw.responseTemplates, [...p, 'responseTemplates']),
      };
      const status = this.#statusCode(raw.statusCode, [...p, 'statusCode'], false);
      if (status !== undefined) r.statusCode = status;
      this.#checkFields(raw, p, new Set(['statusCode', 'responseParameters', 'responseTemplates']), 'a gateway response');
      setKey(out as Record<string, unknown>, type, r);
    }
    return out;
  }

  #requestValidators(value: unknown, path: KeyPath): AwsApiModel['requestValidators'] {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-request-validators.html
    const out: AwsApiModel['requestValidators'] = {};
    if (!isRecord(value)) {
      this.#error(path, `${EXT}request-validators must map validator names to { validateRequestBody, validateRequestParameters }`);
      return out;
    }
    for (const [name, raw] of Object.entries(value)) {
      const p = [...path, name];
      if (!isRecord(raw)) {
        this.#error(p, 'a request validator must be a map with validateRequestBody and validateRequestParameters (booleans)');
        continue;
      }
      setKey(out as Record<string, unknown>, name, {
        validateRequestBody: this.#bool(raw.validateRequestBody, [...p, 'validateRequestBody'], false),
        validateRequestParameters: this.#bool(raw.validateRequestParameters, [...p, 'validateRequestParameters'], false),
      });
      this.#checkFields(raw, p, new Set(['validateRequestBody', 'validateRequestParameters']), 'a request validator');
    }
    return out;
  }

  #cors(value: unknown, path: KeyPath): AwsCors | undefined {
    if (!isRecord(value)) {
      this.#error(path, `${EXT}cors must be a map (allowOrigins, allowMethods, allowHeaders, exposeHeaders, maxAge, allowCredentials)`);
      return undefined;
    }
    const cors: AwsCors = {
      allowOrigins: this.#stringList(value.allowOrigins, [...path, 'allowOrigins']),
      allowMethods: this.#stringList(value.allowMethods, [...path, 'allowMethods']),
      allowHeaders: this.#stringList(value.allowHeaders, [...path, 'allowHeaders']),
      exposeHeaders: this.#stringList(value.exposeHeaders, [...path, 'exposeHeaders']),
      allowCredentials: this.#bool(value.allowCredentials, [...path, 'allowCredentials'], false),
    };
    if (value.maxAge !== undefined) {
      if (typeof value.maxAge === 'number' && Number.isInteger(value.maxAge) && value.maxAge >= -1 && value.maxAge <= 86400) cors.maxAge = value.maxAge;
      else this.#error([...path, 'maxAge'], 'maxAge must be an integer number of seconds from -1 to 86400');
    }
    this.#checkFields(value, path, new Set(['allowOrigins', 'allowMethods', 'allowHeaders', 'exposeHeaders', 'maxAge', 'allowCredentials']), EXT + 'cors');
    return cors;
  }

  #modelsAndSchemes(root: Record<string, unknown>): void {
    const m = this.#model;
    const modelsAt: KeyPath = this.#swagger ? ['definitions'] : ['components', 'schemas'];
    const models = this.#swagger ? root.definitions : isRecord(root.components) ? root.components.schemas : undefined;
    if (isRecord(models)) {
      for (const [name, schema] of Object.entries(models)) setKey(m.models, name, this.#refs.schema(schema, [...modelsAt, name]));
    } else if (models !== undefined) this.#error(modelsAt, 'must map model names to JSON schemas');

    const schemesAt: KeyPath = this.#swagger ? ['securityDefinitions'] : ['components', 'securitySchemes'];
    const schemes = this.#swagger ? root.securityDefinitions : isRecord(root.components) ? root.components.securitySchemes : undefined;
    if (isRecord(schemes)) {
      for (const [name, raw] of Object.entries(schemes)) {
        const s = this.#securityScheme(raw, [...schemesAt, name]);
        if (s) setKey(m.securitySchemes as Record<string, unknown>, name, s);
      }
    } else if (schemes !== undefined) this.#error(schemesAt, 'must map security scheme names to security schemes');
  }

  #securityScheme(raw: unknown, at: KeyPath): AwsSecurityScheme | undefined {
    const found = this.#refs.deref(raw, at);
    if (!found) return undefined;
    const { value, path } = found;
    if (!isRecord(value) || typeof value.type !== 'string') {
      this.#error(path, 'a security scheme must be a map with a "type"');
      return undefined;
    }
    const s: AwsSecurityScheme = { type: value.type };
    if (typeof value.name === 'string') s.name = value.name;
    if (typeof value.in === 'string') s.in = value.in;
    if (typeof value.openIdConnectUrl === 'string') s.openIdConnectUrl = value.openIdConnectUrl;
    for (const [key, v] of Object.entries(value)) {
      if (key === `${EXT}authorizer`) {
        const a = this.#authorizer(v, [...path, key], s);
        if (a) {
          s.authorizer = a;
          if (typeof a.authorizerUri === 'string') {
            const fn = parseLambdaUri(a.authorizerUri);
            if (fn) s.authorizerFunction = fn;
            else
              this.#warn(
                [...path, key, 'authorizerUri'],
                'authorizerUri is not a Lambda function URI (arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations)',
              );
          }
        }
      } else if (key === `${EXT}authtype`) {
        // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authtype.html
        if (typeof v !== 'string') this.#error([...path, key], `${key} must be a string`);
        else {
          s.authType = v;
          // awsSigv4 (how AWS exports IAM auth) is enforced as SigV4 with the API's aws-iam credentials;
          // anything else without an authorizer is a scheme Turnpike cannot enforce: its routes refuse traffic.
          if (!isRecord(value[`${EXT}authorizer`]) && !isIamScheme(s))
            this.#warn([...path, key], `${key} "${v}" without ${EXT}authorizer is not an auth type Turnpike can enforce: routes using this scheme answer 500 and never reach their integration`);
        }
      } else if (key.startsWith(EXT)) this.#unknownExtension([...path, key], key, 'a security scheme');
    }
    if (s.authorizer === undefined && s.authType === undefined && !isApiKeyScheme(String(at[at.length - 1]), s))
      this.#warn(path, `security scheme of type ${s.type} has no ${EXT}authorizer: Turnpike cannot enforce it, so routes that require it answer 500 and never reach their integration`);
    return s;
  }

  /** https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-authorizer.html */
  #authorizer(raw: unknown, path: KeyPath, scheme: AwsSecurityScheme): Record<string, unknown> | undefined {
    if (!isRecord(raw)) {
      this.#error(path, `${EXT}authorizer must be a map with a "type" (token, request, cognito_user_pools, jwt)`);
      return undefined;
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      if (AUTHORIZER_FIELDS.has(k)) setKey(out, k, structuredCloneSafe(v));
      else this.#warn([...path, k], `unknown authorizer field "${k}"; ignored`, true);
    }
    if (raw.authorizerCredentials !== undefined)
      this.#warn([...path, 'authorizerCredentials'], 'authorizerCredentials (the IAM role API Gateway assumes to invoke the authorizer) are not used: Turnpike invokes the function itself', true);
    const type = typeof raw.type === 'string' ? raw.type.toLowerCase() : undefined;
    const allowed = this.#apiType === 'rest' ? ['token', 'request', 'cognito_user_pools'] : ['request', 'jwt'];
    if (type === undefined) this.#error(path, `an authorizer needs a "type": ${allowed.join(', ')}`);
    else {
      out.type = type;
      if (!allowed.includes(type)) {
        if (['token', 'request', 'cognito_user_pools', 'jwt'].includes(type))
          this.#warn(
            [...path, 'type'],
            `"${type}" authorizers are not available in ${this.#apiType === 'rest' ? 'REST' : 'HTTP'} APIs on AWS (${allowed.join(', ')} are)`,
          );
        else this.#error([...path, 'type'], `unknown authorizer type "${shown(raw.type)}"; expected one of ${allowed.join(', ')}`);
      }
    }
    const ttl = raw.authorizerResultTtlInSeconds;
    if (ttl !== undefined) {
      const n = typeof ttl === 'string' && /^\d+$/.test(ttl) ? Number(ttl) : ttl;
      if (typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 3600) out.authorizerResultTtlInSeconds = n;
      else {
        this.#error([...path, 'authorizerResultTtlInSeconds'], 'authorizerResultTtlInSeconds must be an integer from 0 to 3600');
        delete out.authorizerResultTtlInSeconds;
      }
    }
    if (raw.authorizerPayloadFormatVersion !== undefined) {
      const v = payloadVersion(raw.authorizerPayloadFormatVersion);
      if (v) out.authorizerPayloadFormatVersion = v;
      else {
        this.#error([...path, 'authorizerPayloadFormatVersion'], 'authorizerPayloadFormatVersion must be "1.0" or "2.0"');
        delete out.authorizerPayloadFormatVersion;
      }
    }
    for (const k of ['authorizerUri', 'authorizerCredentials', 'identitySource', 'identityValidationExpression']) {
      if (raw[k] !== undefined && typeof raw[k] !== 'string') {
        this.#error([...path, k], `${k} must be a string`);
        delete out[k];
      }
    }
    if (raw.enableSimpleResponses !== undefined && typeof raw.enableSimpleResponses !== 'boolean') {
      this.#error([...path, 'enableSimpleResponses'], 'enableSimpleResponses must be a boolean');
      delete out.enableSimpleResponses;
    }
    // A TOKEN authorizer reads the header the scheme names when identitySource is not given (AWS import does the same).
    if (type === 'token' && out.identitySource === undefined && scheme.in === 'header' && scheme.name)
      out.identitySource = `method.request.header.${scheme.name}`;
    if ((type === 'token' || type === 'request') && typeof out.authorizerUri !== 'string')
      this.#error(path, `a ${type} authorizer needs an authorizerUri (the Lambda function to call)`);
    if (
      type === 'cognito_user_pools' &&
      !(Array.isArray(raw.providerARNs) && raw.providerARNs.every((a) => typeof a === 'string') && raw.providerARNs.length > 0)
    ) {
      this.#error(path, 'a cognito_user_pools authorizer needs providerARNs (a list of user pool ARNs)');
    }
    if (type === 'jwt') {
      const jc = raw.jwtConfiguration;
      if (!isRecord(jc)) this.#error(path, 'a jwt authorizer needs jwtConfiguration { issuer, audience }');
      else if (typeof jc.issuer !== 'string' && scheme.openIdConnectUrl === undefined)
        this.#error([...path, 'jwtConfiguration'], 'jwtConfiguration.issuer is required unless the scheme has an openIdConnectUrl');
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Routes

  #routes(root: Record<string, unknown>): void {
    if (!isRecord(root.paths)) {
      this.#error(root.paths === undefined ? [] : ['paths'], '"paths" (a map of paths to operations) is required');
      return;
    }
    const seen = new Map<string, string>();
    for (const [rawPath, rawItem] of Object.entries(root.paths)) {
      const itemAt: KeyPath = ['paths', rawPath];
      if (rawPath.startsWith('x-')) continue;
      const isDefault = rawPath === '$default' || rawPath === '/$default';
      const path = isDefault ? '$default' : rawPath;
      if (isDefault && this.#apiType === 'rest') {
        this.#error(itemAt, 'the $default route exists only in HTTP APIs');
        continue;
      }
      if (!isDefault && !this.#checkPath(rawPath, itemAt)) continue;
      const found = this.#refs.deref(rawItem, itemAt);
      if (!found) continue;
      const { value: item, path: at } = found;
      if (!isRecord(item)) {
        this.#error(at, 'a path item must be a map of methods to operations');
        continue;
      }
      this.#checkFields(item, at, new Set([...PATH_ITEM_FIELDS, `${EXT}any-method`]), 'a path item');
      for (const k of Object.keys(item)) if (k.startsWith(EXT) && k !== `${EXT}any-method`) this.#unknownExtension([...at, k], k, 'a path item');
      if (item.trace !== undefined) this.#warn([...at, 'trace'], 'API Gateway has no TRACE method; the operation is ignored', true);
      for (const key of [...METHODS, `${EXT}any-method`]) {
        if (item[key] === undefined) continue;
        const method = key === `${EXT}any-method` ? 'ANY' : key.toUpperCase();
        if (isDefault && method !== 'ANY') {
          this.#error([...at, key], 'the $default route takes only x-amazon-apigateway-any-method');
          continue;
        }
        const id = `${method} ${path.toLowerCase()}`;
        const dup = seen.get(id);
        if (dup) {
          this.#error([...at, key], `duplicate route ${method} ${path} (also at ${dup})`);
          continue;
        }
        const route = this.#route(method, path, item, at, key);
        if (route === undefined) continue;
        seen.set(id, route.location);
        const omitted = this.#omitted.get(route);
        if (omitted !== undefined) (this.#model.omittedRoutes ??= []).push({ method, path, reason: omitted });
        else this.#model.routes.push(route);
      }
    }
  }

  #checkPath(path: string, at: KeyPath): boolean {
    if (!path.startsWith('/')) {
      this.#error(at, `path "${path}" must start with "/"`);
      return false;
    }
    const segments = path.split('/').slice(1);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i] as string;
      if (seg.includes('{') || seg.includes('}')) {
        const m = /^\{([A-Za-z0-9._-]+)(\+)?\}$/.exec(seg);
        if (!m) {
          this.#error(at, `path segment "${seg}" must be a whole {param} or {param+}; API Gateway has no partial-segment parameters`);
          return false;
        }
        if (m[2] && i !== segments.length - 1) {
          this.#error(at, `greedy parameter {${m[1]}+} must be the last path segment`);
          return false;
        }
      }
    }
    return true;
  }

  #route(method: string, path: string, item: Record<string, unknown>, itemAt: KeyPath, key: string): AwsRoute | undefined {
    const found = this.#refs.deref(item[key], [...itemAt, key]);
    if (!found) return undefined;
    const { value: op, path: at } = found;
    if (!isRecord(op)) {
      this.#error(at, 'an operation must be a map');
      return undefined;
    }
    const extra = key === `${EXT}any-method` ? ['isDefaultRoute'] : [];
    this.#checkFields(op, at, new Set([...(this.#swagger ? OPERATION_FIELDS_2 : OPERATION_FIELDS_3), ...extra, 'callbacks', 'servers']), 'an operation');
    if (op.callbacks !== undefined) this.#warn([...at, 'callbacks'], 'callbacks are not supported (API Gateway ignores them too)', true);
    if (op.servers !== undefined) this.#warn([...at, 'servers'], 'operation-level servers are ignored (API Gateway uses the document base path)', true);
    if (op.isDefaultRoute !== undefined && typeof op.isDefaultRoute !== 'boolean') this.#error([...at, 'isDefaultRoute'], 'isDefaultRoute must be a boolean');
    if (op.isDefaultRoute === true && path !== '$default')
      this.#warn([...at, 'isDefaultRoute'], 'isDefaultRoute is true but the path is not $default; the route keeps its path');

    const route: AwsRoute = {
      method,
      path,
      parameters: [],
      security: [],
      apiKeyRequired: false,
      methodResponses: {},
      location: formatPath(at),
    };
    if (typeof op.operationId === 'string') route.operationId = op.operationId;
    this.#parameters(route, item, itemAt, op, at);
    if (!this.#swagger && op.requestBody !== undefined) this.#requestBody(route, op.requestBody, [...at, 'requestBody']);
    if (route.requestBody && this.#apiType === 'http') {
      this.#warn(
        [...at, this.#swagger ? 'parameters' : 'requestBody'],
        'HTTP APIs do not validate request bodies; the body schema is kept for documentation only',
      );
    }
    this.#methodResponses(route, op, at);
    this.#security(route, op, at);

    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-request-validator.html
    const validator = op[`${EXT}request-validator`] ?? this.#defaultValidator;
    const validatorAt = [...at, `${EXT}request-validator`];
    if (validator !== undefined && this.#apiType === 'rest') {
      if (typeof validator !== 'string') this.#error(validatorAt, 'request-validator must be a validator name');
      else if (!Object.hasOwn(this.#model.requestValidators, validator)) {
        this.#error(validatorAt, `request validator "${validator}" is not defined in ${EXT}request-validators`);
      } else route.requestValidator = validator;
    } else if (op[`${EXT}request-validator`] !== undefined) {
      this.#warn([...at, `${EXT}request-validator`], 'HTTP APIs do not validate requests; ignored', true);
    }

    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-auth.html
    const auth = op[`${EXT}auth`];
    if (auth !== undefined) {
      const t = isRecord(auth) && typeof auth.type === 'string' ? auth.type.toUpperCase() : undefined;
      if (t === 'NONE' || t === 'AWS_IAM') {
        route.authorizationType = t;
        if (t === 'AWS_IAM')
          this.#warn([...at, `${EXT}auth`], 'AWS_IAM (SigV4): checked by the aws-iam plugin of the API that serves this document (docs/aws-iam.md); without one this route refuses traffic');
      } else this.#error([...at, `${EXT}auth`], `${EXT}auth must be { type: NONE | AWS_IAM }`);
    }

    const integrationRaw = op[`${EXT}integration`];
    if (integrationRaw === undefined) {
      this.#warn(at, `no ${EXT}integration: the route ${method} ${path} will refuse traffic`);
    } else {
      const found = this.#refs.deref(integrationRaw, [...at, `${EXT}integration`]);
      if (found) {
        const integration = this.#integration(found.value, found.path, route);
        if (integration) route.integration = integration;
      }
    }
    for (const k of Object.keys(op)) {
      if (k.startsWith(EXT) && ![`${EXT}integration`, `${EXT}request-validator`, `${EXT}auth`].includes(k))
        this.#unknownExtension([...at, k], k, 'an operation');
    }
    return route;
  }

  #parameters(route: AwsRoute, item: Record<string, unknown>, itemAt: KeyPath, op: Record<string, unknown>, opAt: KeyPath): void {
    const merged = new Map<string, AwsParameter>();
    const lists: [unknown, KeyPath][] = [
      [item.parameters, [...itemAt, 'parameters']],
      [op.parameters, [...opAt, 'parameters']],
    ];
    for (const [list, listAt] of lists) {
      if (list === undefined) continue;
      if (!Array.isArray(list)) {
        this.#error(listAt, 'parameters must be a list');
        continue;
      }
      list.forEach((raw, i) => {
        const found = this.#refs.deref(raw, [...listAt, i]);
        if (!found) return;
        const { value: p, path } = found;
        if (!isRecord(p) || typeof p.name !== 'string' || typeof p.in !== 'string') {
          this.#error(path, 'a parameter needs a "name" and an "in"');
          return;
        }
        if (p.in === 'body' && this.#swagger) {
          route.requestBody = {
            required: p.required === true,
            models: this.#modelsFor(p.schema ?? {}, [...path, 'schema'], this.#mediaTypes(op, 'consumes')),
          };
          return;
        }
        if (p.in !== 'path' && p.in !== 'query' && p.in !== 'header') {
          this.#warn([...path, 'in'], `${p.in} parameters are not supported (API Gateway maps path, query and header parameters); ignored`);
          return;
        }
        const param: AwsParameter = { name: p.name, in: p.in, required: p.in === 'path' ? true : p.required === true };
        const schema = this.#swagger ? swaggerParamSchema(p) : p.schema;
        if (schema !== undefined) param.schema = this.#refs.schema(schema, [...path, ...(this.#swagger ? [] : ['schema'])]);
        merged.set(`${p.in}\0${p.name}`, param);
      });
    }
    route.parameters = [...merged.values()];
  }

  #mediaTypes(op: Record<string, unknown>, key: 'consumes' | 'produces'): string[] {
    const root = this.#src.data as Record<string, unknown>;
    const list = op[key] ?? root[key];
    const types = Array.isArray(list) ? list.filter((t): t is string => typeof t === 'string') : [];
    return types.length > 0 ? types : ['application/json'];
  }

  #modelsFor(schema: unknown, at: KeyPath, types: string[]): Record<string, unknown> {
    const resolved = this.#refs.schema(schema, at);
    const out: Record<string, unknown> = {};
    for (const t of types) setKey(out, t, resolved);
    return out;
  }

  #content(content: unknown, at: KeyPath): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (content === undefined) return out;
    if (!isRecord(content)) {
      this.#error(at, 'content must map media types to { schema }');
      return out;
    }
    for (const [type, media] of Object.entries(content)) {
      const schema = isRecord(media) && media.schema !== undefined ? media.schema : {};
      setKey(out, type, this.#refs.schema(schema, [...at, type, 'schema']));
    }
    return out;
  }

  #requestBody(route: AwsRoute, raw: unknown, at: KeyPath): void {
    const found = this.#refs.deref(raw, at);
    if (!found) return;
    const { value, path } = found;
    if (!isRecord(value)) {
      this.#error(path, 'requestBody must be a map with "content"');
      return;
    }
    route.requestBody = { required: value.required === true, models: this.#content(value.content, [...path, 'content']) };
  }

  #methodResponses(route: AwsRoute, op: Record<string, unknown>, at: KeyPath): void {
    const responses = op.responses;
    if (responses === undefined) return;
    if (!isRecord(responses)) {
      this.#error([...at, 'responses'], 'responses must map status codes to responses');
      return;
    }
    for (const [code, raw] of Object.entries(responses)) {
      if (code.startsWith('x-')) continue;
      const found = this.#refs.deref(raw, [...at, 'responses', code]);
      if (!found) continue;
      const { value, path } = found;
      if (!isRecord(value)) {
        this.#error(path, 'a response must be a map');
        continue;
      }
      const headers = isRecord(value.headers) ? Object.keys(value.headers) : [];
      let models: Record<string, unknown> = {};
      if (this.#swagger) {
        if (value.schema !== undefined) models = this.#modelsFor(value.schema, [...path, 'schema'], this.#mediaTypes(op, 'produces'));
      } else models = this.#content(value.content, [...path, 'content']);
      setKey(route.methodResponses, code, { headers, models });
    }
  }

  #security(route: AwsRoute, op: Record<string, unknown>, at: KeyPath): void {
    const root = this.#src.data as Record<string, unknown>;
    const own = op.security !== undefined;
    const raw = own ? op.security : root.security;
    const rawAt: KeyPath = own ? [...at, 'security'] : ['security'];
    if (raw === undefined) return;
    if (!Array.isArray(raw)) {
      this.#error(rawAt, 'security must be a list of requirement maps ({ scheme: [scopes] })');
      return;
    }
    const security: AwsRoute['security'] = [];
    raw.forEach((req, i) => {
      if (!isRecord(req)) {
        this.#error([...rawAt, i], 'a security requirement must map scheme names to scope lists');
        return;
      }
      const all: AwsRoute['security'][number] = [];
      for (const [scheme, scopes] of Object.entries(req)) {
        if (!Object.hasOwn(this.#model.securitySchemes, scheme)) {
          // AWS imports such a document with a warning and does not create the method (its import
          // warning: "Any methods with security: '<name>' will not be created"). Turnpike does the same:
          // the method answers as a missing one, never without the check it asked for.
          const where = this.#swagger ? 'securityDefinitions' : 'components.securitySchemes';
          this.#warn(
            [...rawAt, i, scheme],
            `security scheme "${scheme}" is not defined in ${where}: as on AWS, the method ${route.method} ${route.path} is not created (it answers as a missing method); define the scheme to serve it`,
            true,
          );
          this.#omitted.set(route, `security scheme "${scheme}" is not defined`);
          continue;
        }
        all.push({ scheme, scopes: Array.isArray(scopes) ? scopes.filter((s): s is string => typeof s === 'string') : [] });
      }
      security.push(all);
    });
    route.security = security;
    route.apiKeyRequired = security.length > 0 && security.every((all) => all.some((s) => this.#isApiKeyScheme(s.scheme)));
    if (this.#apiType === 'http') {
      const nonKey = security.map((all) => all.filter((s) => !this.#isApiKeyScheme(s.scheme)));
      if (security.length > 1 || nonKey.some((all) => all.length > 1)) {
        this.#warn(rawAt, 'HTTP APIs allow one authorizer per route; AWS rejects several security requirements here');
      }
      if (route.apiKeyRequired) this.#warn(rawAt, 'HTTP APIs have no API keys; the api_key requirement is kept but AWS ignores it');
    }
  }

  #isApiKeyScheme(name: string): boolean {
    return isApiKeyScheme(name, this.#model.securitySchemes[name]);
  }

  // -------------------------------------------------------------------------------------------
  // Integrations: https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html

  /**
   * One integration Turnpike cannot run never rejects the document: `route.unservable` says why, the
   * route answers 500 (AWS's API_CONFIGURATION_ERROR body for the API type) and the others serve.
   */
  #integration(raw: unknown, at: KeyPath, route: AwsRoute): AwsIntegration | undefined {
    if (!isRecord(raw)) {
      this.#error(at, `${EXT}integration must be a map with a "type"`);
      return undefined;
    }
    const rest = this.#apiType === 'rest';
    const typeRaw = typeof raw.type === 'string' ? raw.type.toLowerCase() : undefined;
    if (typeRaw === undefined) {
      // No type, or not a string: not an integration at all (a type Turnpike does not know is a warning, below).
      this.#error(
        raw.type === undefined ? at : [...at, 'type'],
        `integration type must be one of aws_proxy, aws, http, http_proxy, mock (got ${JSON.stringify(raw.type) ?? 'nothing'})`,
      );
      return undefined;
    }
    if (!INTEGRATION_TYPES.has(typeRaw as IntegrationType)) {
      route.unservable = `integration type ${shown(raw.type)} is not one Turnpike can run`;
      this.#warn(
        [...at, 'type'],
        `integration type ${JSON.stringify(raw.type)} is not one Turnpike can run (aws_proxy, aws, http, http_proxy, mock): ${route.method} ${route.path} answers 500, the other routes serve`,
      );
      return undefined;
    }
    const type = typeRaw as IntegrationType;
    const it: AwsIntegration = { type, requestParameters: {}, requestTemplates: {}, responses: [], timeoutInMillis: DEFAULT_TIMEOUT_MS[this.#apiType] };
    if (!rest && type !== 'aws_proxy' && type !== 'http_proxy') {
      this.#warn([...at, 'type'], `HTTP APIs support only aws_proxy and http_proxy integrations (AWS warns and may reject "${type}")`);
    }

    for (const key of Object.keys(raw)) {
      if (!INTEGRATION_FIELDS.has(key) && key !== 'responseParameters') this.#warn([...at, key], `unknown integration field "${key}"; ignored`, true);
    }

    if (raw.uri !== undefined) {
      if (typeof raw.uri === 'string') it.uri = raw.uri;
      else this.#error([...at, 'uri'], 'uri must be a string');
    }
    if (it.uri === undefined && type !== 'mock' && raw.integrationSubtype === undefined) {
      this.#error(at, `a ${type} integration needs a "uri"`);
    }
    if (it.uri !== undefined) {
      if (type === 'aws' || type === 'aws_proxy') {
        const fn = parseLambdaUri(it.uri);
        if (fn) it.lambdaFunction = fn;
        else if (isAwsServiceUri(it.uri)) {
          route.unservable = `AWS service integration ${it.uri} is not supported yet`;
          this.#warn([...at, 'uri'], `AWS service integrations other than Lambda are not supported yet (issue 14): ${route.method} ${route.path} answers 500, the other routes serve`);
        }
        else this.#error([...at, 'uri'], `"${it.uri}" is not a Lambda function ARN nor an arn:aws:apigateway:... service URI`);
      } else if (type === 'http' || type === 'http_proxy') {
        // A stage variable may hold the whole URL (https://docs.aws.amazon.com/apigateway/latest/developerguide/amazon-api-gateway-using-stage-variables.html).
        if (!/^(https?:\/\/|\$\{stageVariables\.[A-Za-z0-9_]+\})/i.test(it.uri)) {
          this.#warn([...at, 'uri'], `"${it.uri}" is neither an http(s) URL nor a \${stageVariables.x} reference; calls to it will fail`);
        }
      }
    }
    if (raw.httpMethod !== undefined) {
      if (typeof raw.httpMethod === 'string') it.httpMethod = raw.httpMethod.toUpperCase();
      else this.#error([...at, 'httpMethod'], 'httpMethod must be a string');
    }
    if (it.lambdaFunction && it.httpMethod !== undefined && it.httpMethod !== 'POST') {
      // Recorded (localstack test_lambda_aws_proxy_integration_non_post_method): every call answers 500
      // {"message": "Internal server error"}; Turnpike answers so too instead of invoking the function.
      route.unservable = `Lambda functions are invoked with POST, not ${it.httpMethod}`;
      this.#warn([...at, 'httpMethod'], `Lambda functions are invoked with POST; AWS fails this integration's calls with httpMethod ${it.httpMethod}: ${route.method} ${route.path} answers 500`);
    }
    if (raw.passthroughBehavior !== undefined) {
      const v = typeof raw.passthroughBehavior === 'string' ? raw.passthroughBehavior.toUpperCase() : '';
      if (PASSTHROUGH.has(v as PassthroughBehavior)) it.passthroughBehavior = v as PassthroughBehavior;
      else this.#error([...at, 'passthroughBehavior'], 'passthroughBehavior must be when_no_match, when_no_templates or never');
    }
    if (raw.contentHandling !== undefined) {
      const v = typeof raw.contentHandling === 'string' ? raw.contentHandling.toUpperCase() : '';
      if (CONTENT_HANDLING.has(v as ContentHandling)) it.contentHandling = v as ContentHandling;
      else this.#error([...at, 'contentHandling'], 'contentHandling must be CONVERT_TO_TEXT or CONVERT_TO_BINARY');
    }
    if (raw.timeoutInMillis !== undefined) {
      const t = typeof raw.timeoutInMillis === 'string' && /^\d+$/.test(raw.timeoutInMillis) ? Number(raw.timeoutInMillis) : raw.timeoutInMillis;
      const max = DEFAULT_TIMEOUT_MS[this.#apiType];
      if (typeof t !== 'number' || !Number.isInteger(t) || t < 50)
        this.#error([...at, 'timeoutInMillis'], `timeoutInMillis must be an integer from 50 to ${max}`);
      else {
        it.timeoutInMillis = t;
        if (t > max) {
          this.#warn(
            [...at, 'timeoutInMillis'],
            rest
              ? `timeoutInMillis above ${max} needs an AWS quota increase (Regional and private REST APIs only); Turnpike honours ${t}`
              : `HTTP APIs allow at most ${max} ms; Turnpike honours ${t}`,
          );
        }
      }
    }
    if (raw.payloadFormatVersion !== undefined) {
      const v = payloadVersion(raw.payloadFormatVersion);
      if (!v) this.#error([...at, 'payloadFormatVersion'], 'payloadFormatVersion must be "1.0" or "2.0"');
      else if (rest)
        this.#warn(
          [...at, 'payloadFormatVersion'],
          'payloadFormatVersion applies to HTTP APIs only; REST Lambda proxy events are always format 1.0, so it is ignored',
        );
      else if (v === '2.0' && type !== 'aws_proxy')
        this.#error([...at, 'payloadFormatVersion'], `payloadFormatVersion 2.0 is for Lambda proxy integrations only; ${type} integrations use 1.0`);
      else it.payloadFormatVersion = v;
    }
    if (!rest && it.payloadFormatVersion === undefined) {
      if (type === 'aws_proxy') {
        it.payloadFormatVersion = '2.0';
        this.#warn(
          at,
          'payloadFormatVersion is missing; AWS requires it for HTTP API Lambda integrations. Assumed "2.0" (what the console picks); write it explicitly',
        );
      } else it.payloadFormatVersion = '1.0';
    }
    for (const k of ['connectionType', 'connectionId', 'credentials', 'cacheNamespace', 'integrationSubtype'] as const) {
      const v = raw[k];
      if (v === undefined) continue;
      if (typeof v !== 'string') {
        this.#error([...at, k], `${k} must be a string`);
        continue;
      }
      it[k] = k === 'connectionType' ? v.toUpperCase() : v;
    }
    if (it.connectionType === 'VPC_LINK')
      this.#warn([...at, 'connectionType'], 'VPC_LINK (private) integrations reach targets inside an AWS VPC; Turnpike calls the uri directly');
    else if (it.connectionType !== undefined && it.connectionType !== 'INTERNET')
      this.#error([...at, 'connectionType'], 'connectionType must be INTERNET or VPC_LINK');
    if (it.integrationSubtype !== undefined) {
      if (rest) {
        this.#warn([...at, 'integrationSubtype'], 'integrationSubtype applies to HTTP APIs only; ignored');
        delete it.integrationSubtype;
      } else {
        route.unservable = `AWS service integration ${it.integrationSubtype} is not supported yet`;
        this.#warn(
          [...at, 'integrationSubtype'],
          `AWS service integrations (${it.integrationSubtype}) are not supported yet (issue 14): ${route.method} ${route.path} answers 500, the other routes serve`,
        );
      }
    }
    if (raw.cacheKeyParameters !== undefined) it.cacheKeyParameters = this.#stringList(raw.cacheKeyParameters, [...at, 'cacheKeyParameters']);
    // Accepted (kept in the model, exported back) but with no effect yet: each says so at its key.
    if (it.cacheKeyParameters !== undefined && it.cacheKeyParameters.length > 0)
      this.#warn([...at, 'cacheKeyParameters'], 'cacheKeyParameters are kept but stage caching is not implemented yet (issue 15): every request reaches the integration', true);
    if (it.cacheNamespace !== undefined)
      this.#warn([...at, 'cacheNamespace'], 'cacheNamespace is kept but stage caching is not implemented yet (issue 15); ignored', true);
    if (it.connectionId !== undefined)
      this.#warn([...at, 'connectionId'], 'connectionId (a VPC link) is not used: Turnpike calls the uri directly', true);
    if (it.credentials !== undefined)
      this.#warn([...at, 'credentials'], 'credentials (the IAM role API Gateway assumes to call the integration) are not used: Turnpike calls the integration itself', true);
    if (raw.tlsConfig !== undefined && type === 'http_proxy')
      this.#warn([...at, 'tlsConfig'], 'tlsConfig is applied to non-proxy http integrations only; this http_proxy integration verifies TLS as usual', true);
    if (raw.tlsConfig !== undefined) {
      // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-extensions-integration-tls-config.html
      const tls = raw.tlsConfig;
      if (!isRecord(tls)) this.#error([...at, 'tlsConfig'], 'tlsConfig must be a map (insecureSkipVerification, serverNameToVerify)');
      else {
        it.tlsConfig = {};
        if (tls.insecureSkipVerification !== undefined)
          it.tlsConfig.insecureSkipVerification = this.#bool(tls.insecureSkipVerification, [...at, 'tlsConfig', 'insecureSkipVerification'], false);
        if (typeof tls.serverNameToVerify === 'string') it.tlsConfig.serverNameToVerify = tls.serverNameToVerify;
        this.#checkFields(tls, [...at, 'tlsConfig'], new Set(['insecureSkipVerification', 'serverNameToVerify']), 'tlsConfig');
      }
    }
    if (raw.requestParameters !== undefined) {
      it.requestParameters = this.#stringMap(raw.requestParameters, [...at, 'requestParameters']);
      if (rest) {
        for (const key of Object.keys(it.requestParameters)) {
          if (!/^integration\.request\.(header|querystring|path|multivalueheader|multivaluequerystring)\.[^.\s]+$/.test(key)) {
            this.#warn([...at, 'requestParameters', key], `"${key}" is not integration.request.{header|querystring|path}.NAME; AWS rejects it`, true);
          }
        }
      }
    }
    if (raw.requestTemplates !== undefined) {
      const templates = this.#stringMap(raw.requestTemplates, [...at, 'requestTemplates']);
      if (rest) it.requestTemplates = templates;
      else if (Object.keys(templates).length > 0) this.#warn([...at, 'requestTemplates'], 'HTTP APIs have no mapping templates; ignored', true);
    }
    if (raw.responses !== undefined) {
      if (rest) it.responses = this.#integrationResponses(raw.responses, [...at, 'responses']);
      else this.#warn([...at, 'responses'], 'HTTP APIs have no integration responses (use responseParameters); ignored', true);
    }
    if (raw.responseParameters !== undefined) {
      // HTTP APIs: { "200": { "overwrite:header.x": "..." } } (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-parameter-mapping.html)
      this.#warn(
        [...at, 'responseParameters'],
        'integration-level responseParameters (HTTP API response parameter mapping) are not supported yet; ignored',
        true,
      );
    }
    if (it.type === 'aws_proxy' || it.type === 'http_proxy') {
      if (it.contentHandling !== undefined)
        this.#warn([...at, 'contentHandling'], `contentHandling is not applied to ${type} integrations yet (binaryMediaTypes decide the encoding); ignored`, true);
      // An integrationSubtype's requestParameters are the service action's (QueueUrl, MessageBody): warned with it.
      if (it.type === 'aws_proxy' && it.integrationSubtype === undefined && Object.keys(it.requestParameters).length > 0)
        this.#warn([...at, 'requestParameters'], 'requestParameters are not applied to Lambda proxy integrations (the event carries the whole request); ignored', true);
      if (Object.keys(it.requestTemplates).length > 0)
        this.#warn([...at, 'requestTemplates'], `${type} integrations pass the request through; AWS ignores requestTemplates here`, true);
    }
    return it;
  }

  #integrationResponses(raw: unknown, at: KeyPath): AwsIntegrationResponse[] {
    // https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration-responses.html
    if (!isRecord(raw)) {
      this.#error(at, 'responses must map selection patterns ("default", "2\\\\d{2}") to responses');
      return [];
    }
    const out: AwsIntegrationResponse[] = [];
    let fallback: AwsIntegrationResponse | undefined;
    for (const [key, value] of Object.entries(raw)) {
      const p = [...at, key];
      if (!isRecord(value)) {
        this.#error(p, 'an integration response must be a map with a statusCode');
        continue;
      }
      const statusCode = this.#statusCode(value.statusCode, [...p, 'statusCode'], true);
      if (statusCode === undefined) continue;
      const r: AwsIntegrationResponse = {
        key,
        statusCode,
        responseParameters: this.#stringMap(value.responseParameters, [...p, 'responseParameters']),
        responseTemplates: this.#stringMap(value.responseTemplates, [...p, 'responseTemplates']),
      };
      if (key !== 'default') {
        r.selectionPattern = key;
        try {
          new RegExp(key);
        } catch {
          this.#error(p, `selection pattern "${key}" is not a valid regular expression`);
        }
      }
      if (value.contentHandling !== undefined) {
        const v = typeof value.contentHandling === 'string' ? value.contentHandling.toUpperCase() : '';
        if (CONTENT_HANDLING.has(v as ContentHandling)) r.contentHandling = v;
        else this.#error([...p, 'contentHandling'], 'contentHandling must be CONVERT_TO_TEXT or CONVERT_TO_BINARY');
      }
      this.#checkFields(value, p, new Set(['statusCode', 'responseParameters', 'responseTemplates', 'contentHandling']), 'an integration response');
      if (key === 'default') fallback = r;
      else out.push(r);
    }
    if (fallback) out.push(fallback);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Small readers

  #statusCode(v: unknown, at: KeyPath, required: boolean): string | undefined {
    if (v === undefined) {
      if (required) this.#error(at.slice(0, -1), 'statusCode is required (a string such as "200")');
      return undefined;
    }
    const s = typeof v === 'number' ? String(v) : v;
    if (typeof s === 'string' && /^[1-5]\d\d$/.test(s)) return s;
    this.#error(at, 'statusCode must be an HTTP status code such as "200"');
    return undefined;
  }

  #stringMap(v: unknown, at: KeyPath): Record<string, string> {
    const out: Record<string, string> = {};
    if (v === undefined || v === null) return out;
    if (!isRecord(v)) {
      this.#error(at, 'must be a map of strings');
      return out;
    }
    for (const [k, x] of Object.entries(v)) {
      if (typeof x === 'string') setKey(out, k, x);
      else this.#error([...at, k], 'must be a string');
    }
    return out;
  }

  #stringList(v: unknown, at: KeyPath): string[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) {
      this.#error(at, 'must be a list of strings');
      return [];
    }
    const out: string[] = [];
    v.forEach((x, i) => {
      if (typeof x === 'string') out.push(x);
      else this.#error([...at, i], 'must be a string');
    });
    return out;
  }

  #bool(v: unknown, at: KeyPath, fallback: boolean): boolean {
    if (v === undefined) return fallback;
    if (typeof v === 'boolean') return v;
    this.#error(at, 'must be true or false');
    return fallback;
  }
}

function payloadVersion(v: unknown): '1.0' | '2.0' | undefined {
  // AWS's own examples write it as a YAML/JSON number (payloadFormatVersion: 1.0), which parses to 1.
  if (v === '1.0' || v === 1) return '1.0';
  if (v === '2.0' || v === 2) return '2.0';
  return undefined;
}

/** Swagger 2.0 non-body parameters carry their schema keywords inline. */
const SWAGGER_PARAM_SCHEMA_KEYS = [
  'type',
  'format',
  'items',
  'collectionFormat',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'enum',
  'multipleOf',
];

function swaggerParamSchema(p: Record<string, unknown>): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const k of SWAGGER_PARAM_SCHEMA_KEYS) if (p[k] !== undefined) out[k] = p[k];
  return Object.keys(out).length > 0 ? out : undefined;
}

function unique(list: string[]): string[] {
  return [...new Set(list)];
}

/**
 * A document value as a diagnostic shows it. String() throws on an object without a prototype
 * (found by the importer's fuzz target); JSON names any value a parsed document can hold.
 */
function shown(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : (JSON.stringify(v) ?? typeof v);
}
