/**
 * AWS exporter: AwsApiModel -> an OpenAPI 3.0.1 document with API Gateway extensions, in the
 * shape AWS's own exports use. Contract: `importAwsDocument` of the export gives a model
 * deep-equal to the one exported (a test pins it for every fixture).
 *
 * Defaults the importer applied (timeouts, payload format versions, the API key source) are
 * written out explicitly, and an HTTP API export carries x-amazon-apigateway-importexport-version
 * (as AWS's HTTP API exports do) so `detectApiType` recognises it.
 */
import { isRecord, MODEL_REF_PREFIX, setKey } from './refs.js';
import type { AwsApiModel, AwsIntegration, AwsRoute } from './types.js';

export interface ExportOptions {
  format: 'openapi3';
}

const EXT = 'x-amazon-apigateway-';

export function exportAwsDocument(model: AwsApiModel, _opts: ExportOptions = { format: 'openapi3' }): Record<string, unknown> {
  const doc: Record<string, unknown> = { openapi: '3.0.1', info: { title: model.title, version: model.version } };
  if (model.apiType === 'http') doc[`${EXT}importexport-version`] = '1.0';
  if (model.basePath !== undefined) {
    // AWS's export shape: the base path is a server variable.
    doc.servers = [{ url: '/{basePath}', variables: { basePath: { default: model.basePath.replace(/^\//, '') } } }];
  }

  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of model.routes) {
    const item = paths[route.path] ?? {};
    if (!Object.hasOwn(paths, route.path)) setKey(paths, route.path, item);
    const op = exportOperation(route, model);
    if (route.path === '$default') op.isDefaultRoute = true;
    setKey(item, route.method === 'ANY' ? `${EXT}any-method` : route.method.toLowerCase(), op);
  }
  doc.paths = paths;

  const components: Record<string, unknown> = {};
  if (Object.keys(model.models).length > 0) components.schemas = toDocRefs(model.models);
  const schemes: Record<string, unknown> = {};
  for (const [name, s] of Object.entries(model.securitySchemes)) {
    const out: Record<string, unknown> = { type: s.type };
    if (s.name !== undefined) out.name = s.name;
    if (s.in !== undefined) out.in = s.in;
    if (s.openIdConnectUrl !== undefined) out.openIdConnectUrl = s.openIdConnectUrl;
    if (s.authType !== undefined) out[`${EXT}authtype`] = s.authType;
    if (s.authorizer !== undefined) out[`${EXT}authorizer`] = s.authorizer;
    setKey(schemes, name, out);
  }
  // A route that requires an API key names AWS's `api_key` scheme; make sure it exists.
  if (model.routes.some((r) => r.apiKeyRequired && !r.security.some((all) => all.some((s) => s.scheme === 'api_key'))) && !schemes.api_key) {
    schemes.api_key = { type: 'apiKey', name: 'x-api-key', in: 'header' };
  }
  if (Object.keys(schemes).length > 0) components.securitySchemes = schemes;
  if (Object.keys(components).length > 0) doc.components = components;

  if (model.apiType === 'rest') {
    doc[`${EXT}api-key-source`] = model.apiKeySource;
    if (model.binaryMediaTypes.length > 0) doc[`${EXT}binary-media-types`] = [...model.binaryMediaTypes];
    if (Object.keys(model.gatewayResponses).length > 0) doc[`${EXT}gateway-responses`] = model.gatewayResponses;
    if (Object.keys(model.requestValidators).length > 0) doc[`${EXT}request-validators`] = model.requestValidators;
  }
  if (model.cors) doc[`${EXT}cors`] = model.cors;
  if (model.minimumCompressionSize !== undefined) doc[`${EXT}minimum-compression-size`] = model.minimumCompressionSize;
  if (model.resourcePolicy !== undefined) doc[`${EXT}policy`] = model.resourcePolicy;
  return doc;
}

function exportOperation(route: AwsRoute, model: AwsApiModel): Record<string, unknown> {
  const op: Record<string, unknown> = {};
  if (route.operationId !== undefined) op.operationId = route.operationId;
  if (route.parameters.length > 0) {
    op.parameters = route.parameters.map((p) => {
      const out: Record<string, unknown> = { name: p.name, in: p.in, required: p.required };
      if (p.schema !== undefined) out.schema = toDocRefs(p.schema);
      return out;
    });
  }
  if (route.requestBody) op.requestBody = { required: route.requestBody.required, content: content(route.requestBody.models) };
  const responses: Record<string, unknown> = {};
  for (const [code, r] of Object.entries(route.methodResponses)) {
    const out: Record<string, unknown> = { description: `${code} response` };
    if (r.headers.length > 0) {
      const headers: Record<string, unknown> = {};
      for (const h of r.headers) setKey(headers, h, { schema: { type: 'string' } });
      out.headers = headers;
    }
    if (Object.keys(r.models).length > 0) out.content = content(r.models);
    setKey(responses, code, out);
  }
  op.responses = responses;
  let security = route.security;
  if (route.apiKeyRequired && !security.every((all) => all.some((s) => s.scheme === 'api_key' || isApiKeyLike(model, s.scheme)))) {
    security = security.length === 0 ? [[{ scheme: 'api_key', scopes: [] }]] : security.map((all) => [...all, { scheme: 'api_key', scopes: [] }]);
  }
  // Always written (an empty list included): the export has no document-level security to fall back on.
  op.security = security.map((all) => {
    const req: Record<string, unknown> = {};
    for (const s of all) setKey(req, s.scheme, [...s.scopes]);
    return req;
  });
  if (route.requestValidator !== undefined) op[`${EXT}request-validator`] = route.requestValidator;
  if (route.authorizationType !== undefined) op[`${EXT}auth`] = { type: route.authorizationType };
  if (route.integration) op[`${EXT}integration`] = exportIntegration(route.integration);
  return op;
}

function isApiKeyLike(model: AwsApiModel, name: string): boolean {
  const s = model.securitySchemes[name];
  return !!s && s.type === 'apiKey' && s.in === 'header' && s.name?.toLowerCase() === 'x-api-key' && !s.authorizer && s.authType === undefined;
}

function content(models: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [type, schema] of Object.entries(models)) setKey(out, type, { schema: toDocRefs(schema) });
  return out;
}

function exportIntegration(it: AwsIntegration): Record<string, unknown> {
  const out: Record<string, unknown> = { type: it.type };
  if (it.uri !== undefined) out.uri = it.uri;
  if (it.httpMethod !== undefined) out.httpMethod = it.httpMethod;
  if (it.passthroughBehavior !== undefined) out.passthroughBehavior = it.passthroughBehavior.toLowerCase();
  if (Object.keys(it.requestParameters).length > 0) out.requestParameters = it.requestParameters;
  if (Object.keys(it.requestTemplates).length > 0) out.requestTemplates = it.requestTemplates;
  if (it.responses.length > 0) {
    const responses: Record<string, unknown> = {};
    for (const r of it.responses) {
      const o: Record<string, unknown> = { statusCode: r.statusCode };
      if (Object.keys(r.responseParameters).length > 0) o.responseParameters = r.responseParameters;
      if (Object.keys(r.responseTemplates).length > 0) o.responseTemplates = r.responseTemplates;
      if (r.contentHandling !== undefined) o.contentHandling = r.contentHandling;
      setKey(responses, r.key, o);
    }
    out.responses = responses;
  }
  if (it.contentHandling !== undefined) out.contentHandling = it.contentHandling;
  out.timeoutInMillis = it.timeoutInMillis;
  if (it.payloadFormatVersion !== undefined) out.payloadFormatVersion = it.payloadFormatVersion;
  if (it.connectionType !== undefined) out.connectionType = it.connectionType;
  if (it.connectionId !== undefined) out.connectionId = it.connectionId;
  if (it.credentials !== undefined) out.credentials = it.credentials;
  if (it.cacheKeyParameters !== undefined) out.cacheKeyParameters = [...it.cacheKeyParameters];
  if (it.cacheNamespace !== undefined) out.cacheNamespace = it.cacheNamespace;
  if (it.integrationSubtype !== undefined) out.integrationSubtype = it.integrationSubtype;
  if (it.tlsConfig !== undefined) out.tlsConfig = { ...it.tlsConfig };
  return out;
}

/** Model-form references (`#/models/X`) back to document form (`#/components/schemas/X`). */
function toDocRefs(v: unknown, depth = 0): unknown {
  if (depth > 500) return v;
  if (Array.isArray(v)) return v.map((x) => toDocRefs(x, depth + 1));
  if (!isRecord(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === '$ref' && typeof x === 'string' && x.startsWith(MODEL_REF_PREFIX)) setKey(out, k, `#/components/schemas/${x.slice(MODEL_REF_PREFIX.length)}`);
    else setKey(out, k, toDocRefs(x, depth + 1));
  }
  return out;
}
