/**
 * Raw API Gateway resources as the OpenAPI document AWS would export for the API they build:
 * `AWS::ApiGateway::RestApi` (Body, a local BodyS3Location) with its `Resource` tree, `Method`s and
 * their integrations, `Authorizer`s, `GatewayResponse`s, `Stage` / `Deployment` (the stage served),
 * `ApiKey` / `UsagePlan` / `UsagePlanKey` (native `apiKeys` / `usagePlans`); and `AWS::ApiGatewayV2::Api`
 * (Body, or quick create with Target) with its `Route`s, `Integration`s, `Authorizer`s and `Stage`.
 * The export shapes are those of the API Gateway OpenAPI extensions
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions.html).
 */
import { createHash } from 'node:crypto';
import type { ApiBuild } from './apis.js';
import { emptyDocument } from './apis.js';
import { type Path, type TemplateContext, bool, copySources, isRecord, num, str } from './context.js';
import { apiId } from './ids.js';
import type { ResourceRefs } from './intrinsics.js';

export interface RawApis {
  apis: ApiBuild[];
  /** Logical ids read here (no "not run locally" warning for them). */
  handled: Set<string>;
  usagePlans: Record<string, Record<string, unknown>>;
  apiKeys: Record<string, unknown>[];
  /** Usage plan name -> the API ids and stages it covers (native names are known later). */
  planStages: Map<string, { apiId: string; stage: string }[]>;
}

type Live = readonly [string, Record<string, unknown>, string][];

const REST_TYPES = new Set(['AWS::ApiGateway::RestApi', 'AWS::ApiGateway::Resource', 'AWS::ApiGateway::Method', 'AWS::ApiGateway::Deployment', 'AWS::ApiGateway::Stage', 'AWS::ApiGateway::ApiKey', 'AWS::ApiGateway::UsagePlan', 'AWS::ApiGateway::UsagePlanKey', 'AWS::ApiGateway::Authorizer', 'AWS::ApiGateway::GatewayResponse', 'AWS::ApiGateway::Account', 'AWS::ApiGateway::Model', 'AWS::ApiGateway::RequestValidator']);
const V2_TYPES = new Set(['AWS::ApiGatewayV2::Api', 'AWS::ApiGatewayV2::Route', 'AWS::ApiGatewayV2::Integration', 'AWS::ApiGatewayV2::Stage', 'AWS::ApiGatewayV2::Authorizer', 'AWS::ApiGatewayV2::Deployment']);

export function collectRawApis(ctx: TemplateContext, live: Live, refs: ReadonlyMap<string, ResourceRefs>): RawApis {
  const out: RawApis = { apis: [], handled: new Set(), usagePlans: {}, apiKeys: [], planStages: new Map() };
  const props = new Map<string, { type: string; p: Record<string, unknown>; at: Path }>();
  for (const [id, res, type] of live) {
    if (!REST_TYPES.has(type) && !V2_TYPES.has(type)) continue;
    out.handled.add(id);
    const at: Path = ['Resources', id, 'Properties'];
    const raw = isRecord(res.Properties) ? res.Properties : {};
    const p: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(raw)) {
      const r = ctx.resolve(v, [...at, k]);
      if (r !== undefined) p[k] = r;
    }
    props.set(id, { type, p, at });
  }
  const ofType = (t: string) => [...props.entries()].filter(([, v]) => v.type === t);
  const byApiId = new Map<string, ApiBuild>();

  // REST APIs.
  for (const [id, { p, at }] of ofType('AWS::ApiGateway::RestApi')) {
    const b = newBuild(id, 'rest', at);
    if (p.Body !== undefined) {
      if (!isRecord(p.Body)) ctx.error([...at, 'Body'], 'Body must be an OpenAPI document (a map)');
      else {
        b.doc = structuredClone(p.Body);
        if (!isRecord(b.doc.paths)) b.doc.paths = {};
        copySources(b.docSources, b.doc, [], [...at, 'Body']);
      }
    } else if (p.BodyS3Location !== undefined) {
      const s = str(p.BodyS3Location);
      if (s === undefined || /^s3:\/\//.test(s)) {
        ctx.error([...at, 'BodyS3Location'], 'BodyS3Location names an S3 object: give a local file path instead (as before `aws cloudformation package`)');
        continue;
      }
      b.definitionUri = s;
      b.origin = (k) => (k === 'DefinitionUri' ? [...at, 'BodyS3Location'] : at);
    } else b.doc = emptyDocument('rest', str(p.Name) ?? id);
    if (b.doc !== undefined && Array.isArray(p.BinaryMediaTypes)) b.doc['x-amazon-apigateway-binary-media-types'] = p.BinaryMediaTypes.map(String);
    if (b.doc !== undefined && str(p.ApiKeySourceType) !== undefined) b.doc['x-amazon-apigateway-api-key-source'] = str(p.ApiKeySourceType);
    for (const k of Object.keys(p)) if (!['Name', 'Body', 'BodyS3Location', 'BinaryMediaTypes', 'ApiKeySourceType', 'Description', 'EndpointConfiguration', 'Tags', 'FailOnWarnings'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
    byApiId.set(b.id, b);
    out.apis.push(b);
  }

  // Resource tree: path of each AWS::ApiGateway::Resource id.
  const resourcePaths = new Map<string, string>();
  const resourceOf = new Map<string, { parent: string; part: string; api: string }>();
  for (const [id, { p }] of ofType('AWS::ApiGateway::Resource')) {
    const ref = refs.get(id)?.ref;
    if (ref !== undefined) resourceOf.set(ref, { parent: str(p.ParentId) ?? '', part: str(p.PathPart) ?? '', api: str(p.RestApiId) ?? '' });
  }
  const roots = new Map<string, string>();
  for (const b of out.apis) roots.set(refs.get(b.logicalId)?.attributes.RootResourceId ?? '', b.id);
  const pathOf = (resId: string, depth = 0): string | undefined => {
    if (roots.has(resId)) return '/';
    if (depth > 64) return undefined;
    const known = resourcePaths.get(resId);
    if (known !== undefined) return known;
    const r = resourceOf.get(resId);
    if (r === undefined) return undefined;
    const parent = pathOf(r.parent, depth + 1);
    if (parent === undefined) return undefined;
    const path = parent === '/' ? `/${r.part}` : `${parent}/${r.part}`;
    resourcePaths.set(resId, path);
    return path;
  };

  // Authorizers (REST and HTTP) by their Ref id.
  const authorizers = new Map<string, { name: string; scheme: Record<string, unknown>; api: string; at: Path }>();
  for (const [id, { p, at }] of ofType('AWS::ApiGateway::Authorizer')) {
    const type = (str(p.Type) ?? '').toUpperCase();
    const name = str(p.Name) ?? id;
    let scheme: Record<string, unknown>;
    if (type === 'COGNITO_USER_POOLS') {
      const src = str(p.IdentitySource) ?? 'method.request.header.Authorization';
      scheme = { type: 'apiKey', name: src.replace(/^method\.request\.header\./, ''), in: 'header', 'x-amazon-apigateway-authtype': 'cognito_user_pools', 'x-amazon-apigateway-authorizer': { type: 'cognito_user_pools', providerARNs: Array.isArray(p.ProviderARNs) ? p.ProviderARNs.map(String) : [] } };
    } else if (type === 'TOKEN' || type === 'REQUEST') {
      const a: Record<string, unknown> = { type: type.toLowerCase(), authorizerUri: str(p.AuthorizerUri) ?? '', authorizerResultTtlInSeconds: num(p.AuthorizerResultTtlInSeconds) ?? 300 };
      const src = str(p.IdentitySource);
      if (src !== undefined) a.identitySource = src;
      if (str(p.IdentityValidationExpression) !== undefined) a.identityValidationExpression = str(p.IdentityValidationExpression);
      const header = type === 'TOKEN' ? (src ?? 'method.request.header.Authorization').replace(/^method\.request\.header\./, '') : 'Unused';
      scheme = { type: 'apiKey', name: header, in: 'header', 'x-amazon-apigateway-authtype': 'custom', 'x-amazon-apigateway-authorizer': a };
    } else {
      ctx.error([...at, 'Type'], `authorizer Type must be TOKEN, REQUEST or COGNITO_USER_POOLS, not ${type || '(none)'}`);
      continue;
    }
    authorizers.set(refs.get(id)?.ref ?? id, { name, scheme, api: str(p.RestApiId) ?? '', at });
  }

  // Methods.
  const keyScheme = new Set<ApiBuild>();
  for (const [id, { p, at }] of ofType('AWS::ApiGateway::Method')) {
    const b = byApiId.get(str(p.RestApiId) ?? '');
    if (b === undefined || b.doc === undefined) {
      if (b === undefined) ctx.error([...at, 'RestApiId'], 'RestApiId must be !Ref of an AWS::ApiGateway::RestApi of this template');
      continue;
    }
    const path = pathOf(str(p.ResourceId) ?? '');
    if (path === undefined) {
      ctx.error([...at, 'ResourceId'], 'ResourceId must be !Ref of an AWS::ApiGateway::Resource of this API, or !GetAtt Api.RootResourceId');
      continue;
    }
    const method = (str(p.HttpMethod) ?? '').toUpperCase();
    const key = method === 'ANY' ? 'x-amazon-apigateway-any-method' : method.toLowerCase();
    const op: Record<string, unknown> = { responses: {} };
    const integ = isRecord(p.Integration) ? restIntegration(ctx, p.Integration, [...at, 'Integration']) : undefined;
    if (integ !== undefined) op['x-amazon-apigateway-integration'] = integ;
    if (Array.isArray(p.MethodResponses)) {
      const responses: Record<string, unknown> = {};
      for (const r of p.MethodResponses) {
        if (!isRecord(r)) continue;
        const headers: Record<string, unknown> = {};
        if (isRecord(r.ResponseParameters)) for (const h of Object.keys(r.ResponseParameters)) headers[h.replace(/^method\.response\.header\./, '')] = { type: 'string' };
        responses[str(r.StatusCode) ?? '200'] = { description: `${str(r.StatusCode) ?? '200'} response`, ...(Object.keys(headers).length > 0 ? { headers } : {}) };
      }
      op.responses = responses;
    }
    if (isRecord(p.RequestParameters)) {
      op.parameters = Object.entries(p.RequestParameters).flatMap(([name, req]) => {
        const m = /^method\.request\.(header|querystring|path)\.(.+)$/.exec(name);
        return m ? [{ name: m[2], in: m[1] === 'querystring' ? 'query' : m[1], required: m[1] === 'path' ? true : bool(req) === true, type: 'string' }] : [];
      });
    }
    const requirement: Record<string, string[]> = {};
    const authType = (str(p.AuthorizationType) ?? 'NONE').toUpperCase();
    if (authType === 'CUSTOM' || authType === 'COGNITO_USER_POOLS') {
      const a = authorizers.get(str(p.AuthorizerId) ?? '');
      if (a === undefined) ctx.error([...at, 'AuthorizerId'], 'AuthorizerId must be !Ref of an AWS::ApiGateway::Authorizer of this template');
      else {
        const defs = (b.doc.securityDefinitions ??= {}) as Record<string, unknown>;
        defs[a.name] = a.scheme;
        requirement[a.name] = Array.isArray(p.AuthorizationScopes) ? p.AuthorizationScopes.map(String) : [];
      }
    } else if (authType === 'AWS_IAM') {
      ((b.doc.securityDefinitions ??= {}) as Record<string, unknown>).sigv4 = { type: 'apiKey', name: 'Authorization', in: 'header', 'x-amazon-apigateway-authtype': 'awsSigv4' };
      requirement.sigv4 = [];
    }
    if (bool(p.ApiKeyRequired) === true) {
      requirement.api_key = [];
      keyScheme.add(b);
    }
    if (Object.keys(requirement).length > 0) op.security = [requirement];
    for (const k of Object.keys(p)) if (!['RestApiId', 'ResourceId', 'HttpMethod', 'Integration', 'MethodResponses', 'RequestParameters', 'AuthorizationType', 'AuthorizerId', 'AuthorizationScopes', 'ApiKeyRequired', 'OperationName'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
    const paths = b.doc.paths as Record<string, Record<string, unknown>>;
    paths[path] ??= {};
    (paths[path] as Record<string, unknown>)[key] = op;
    b.docSources.push([['paths', path, key], at], [['paths', path, key, 'x-amazon-apigateway-integration'], [...at, 'Integration']]);
    void id;
  }
  for (const b of keyScheme) if (b.doc !== undefined) ((b.doc.securityDefinitions ??= {}) as Record<string, unknown>).api_key = { type: 'apiKey', name: 'x-api-key', in: 'header' };

  // Gateway responses.
  for (const [, { p, at }] of ofType('AWS::ApiGateway::GatewayResponse')) {
    const b = byApiId.get(str(p.RestApiId) ?? '');
    if (b?.doc === undefined) continue;
    const type = str(p.ResponseType);
    if (type === undefined) continue;
    const grs = (b.doc['x-amazon-apigateway-gateway-responses'] ??= {}) as Record<string, unknown>;
    grs[type] = {
      ...(str(p.StatusCode) !== undefined ? { statusCode: str(p.StatusCode) } : {}),
      ...(isRecord(p.ResponseParameters) ? { responseParameters: p.ResponseParameters } : {}),
      ...(isRecord(p.ResponseTemplates) ? { responseTemplates: p.ResponseTemplates } : {}),
    };
    b.docSources.push([['x-amazon-apigateway-gateway-responses', type], at]);
  }

  // Stages (a Stage resource, else a Deployment's StageName): the first one found is served.
  const stageSet = new Set<ApiBuild>();
  const setStage = (b: ApiBuild | undefined, name: string | undefined, vars: unknown, at: Path) => {
    if (b === undefined || name === undefined) return;
    if (stageSet.has(b)) {
      if (b.stage !== name) ctx.warn(at, `API ${b.logicalId} has several stages; Turnpike serves one (${b.stage}); stage ${name} is not served`);
      return;
    }
    stageSet.add(b);
    b.stage = name;
    b.origin = ((prev) => (k: string) => (k === 'StageName' ? [...at, 'StageName'] : prev(k)))(b.origin);
    if (isRecord(vars)) for (const [k, v] of Object.entries(vars)) b.variables[k] = str(v) ?? '';
  };
  for (const [, { p, at }] of ofType('AWS::ApiGateway::Stage')) setStage(byApiId.get(str(p.RestApiId) ?? ''), str(p.StageName), p.Variables, at);
  for (const [, { p, at }] of ofType('AWS::ApiGateway::Deployment')) setStage(byApiId.get(str(p.RestApiId) ?? ''), str(p.StageName), isRecord(p.StageDescription) ? p.StageDescription.Variables : undefined, at);

  // HTTP APIs.
  for (const [id, { p, at }] of ofType('AWS::ApiGatewayV2::Api')) {
    if (str(p.ProtocolType) !== undefined && str(p.ProtocolType) !== 'HTTP') {
      ctx.warn([...at, 'ProtocolType'], `${str(p.ProtocolType)} APIs are not served; ignored`);
      continue;
    }
    const b = newBuild(id, 'http', at);
    b.stage = '$default';
    if (p.Body !== undefined && isRecord(p.Body)) {
      b.doc = structuredClone(p.Body);
      if (!isRecord(b.doc.paths)) b.doc.paths = {};
      copySources(b.docSources, b.doc, [], [...at, 'Body']);
    } else if (p.BodyS3Location !== undefined) {
      ctx.error([...at, 'BodyS3Location'], 'BodyS3Location names an S3 object: give the document as Body');
      continue;
    } else b.doc = emptyDocument('http', str(p.Name) ?? id);
    const target = str(p.Target);
    if (target !== undefined && b.doc !== undefined) {
      // Quick create: one route (RouteKey, default $default) to the Lambda function or URL.
      const routeKey = str(p.RouteKey) ?? '$default';
      addV2Route(b, routeKey, { type: target.startsWith('arn:') ? 'aws_proxy' : 'http_proxy', httpMethod: target.startsWith('arn:') ? 'POST' : 'ANY', uri: target, payloadFormatVersion: '2.0' }, undefined, [...at, 'Target']);
    }
    if (isRecord(p.CorsConfiguration) && b.doc !== undefined) {
      const c = p.CorsConfiguration;
      b.doc['x-amazon-apigateway-cors'] = { ...(c.AllowOrigins ? { allowOrigins: c.AllowOrigins } : {}), ...(c.AllowMethods ? { allowMethods: c.AllowMethods } : {}), ...(c.AllowHeaders ? { allowHeaders: c.AllowHeaders } : {}), ...(c.ExposeHeaders ? { exposeHeaders: c.ExposeHeaders } : {}), ...(num(c.MaxAge) !== undefined ? { maxAge: num(c.MaxAge) } : {}), ...(bool(c.AllowCredentials) !== undefined ? { allowCredentials: bool(c.AllowCredentials) } : {}) };
    }
    for (const k of Object.keys(p)) if (!['Name', 'ProtocolType', 'Body', 'Target', 'RouteKey', 'CorsConfiguration', 'Description', 'Tags', 'DisableExecuteApiEndpoint', 'FailOnWarnings'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
    byApiId.set(b.id, b);
    out.apis.push(b);
  }
  const integrations = new Map<string, { x: Record<string, unknown>; at: Path }>();
  for (const [id, { p, at }] of ofType('AWS::ApiGatewayV2::Integration')) {
    const type = (str(p.IntegrationType) ?? '').toUpperCase();
    const x: Record<string, unknown> = { type: type.toLowerCase(), uri: str(p.IntegrationUri) ?? '', httpMethod: str(p.IntegrationMethod) ?? (type === 'AWS_PROXY' ? 'POST' : 'ANY'), payloadFormatVersion: str(p.PayloadFormatVersion) ?? (type === 'AWS_PROXY' ? '2.0' : '1.0') };
    if (num(p.TimeoutInMillis) !== undefined) x.timeoutInMillis = num(p.TimeoutInMillis);
    if (isRecord(p.RequestParameters)) x.requestParameters = p.RequestParameters;
    if (str(p.IntegrationSubtype) !== undefined) x.integrationSubtype = str(p.IntegrationSubtype);
    integrations.set(refs.get(id)?.ref ?? id, { x, at });
  }
  const v2Authorizers = new Map<string, { name: string; scheme: Record<string, unknown> }>();
  for (const [id, { p, at }] of ofType('AWS::ApiGatewayV2::Authorizer')) {
    const type = (str(p.AuthorizerType) ?? '').toUpperCase();
    const name = str(p.Name) ?? id;
    const sources = Array.isArray(p.IdentitySource) ? p.IdentitySource.map(String) : [];
    if (type === 'JWT') {
      const jc = isRecord(p.JwtConfiguration) ? p.JwtConfiguration : {};
      v2Authorizers.set(refs.get(id)?.ref ?? id, { name, scheme: { type: 'oauth2', 'x-amazon-apigateway-authorizer': { type: 'jwt', jwtConfiguration: { ...(str(jc.Issuer) ? { issuer: str(jc.Issuer) } : {}), audience: Array.isArray(jc.Audience) ? jc.Audience.map(String) : [] }, identitySource: sources[0] ?? '$request.header.Authorization' } } });
    } else if (type === 'REQUEST') {
      v2Authorizers.set(refs.get(id)?.ref ?? id, {
        name,
        scheme: { type: 'apiKey', name: 'Unused', in: 'header', 'x-amazon-apigateway-authorizer': { type: 'request', authorizerUri: str(p.AuthorizerUri) ?? '', authorizerPayloadFormatVersion: str(p.AuthorizerPayloadFormatVersion) ?? '2.0', ...(bool(p.EnableSimpleResponses) !== undefined ? { enableSimpleResponses: bool(p.EnableSimpleResponses) } : {}), ...(sources.length > 0 ? { identitySource: sources.join(', ') } : {}), authorizerResultTtlInSeconds: num(p.AuthorizerResultTtlInSeconds) ?? 0 } },
      });
    } else ctx.error([...at, 'AuthorizerType'], `AuthorizerType must be JWT or REQUEST, not ${type || '(none)'}`);
  }
  for (const [, { p, at }] of ofType('AWS::ApiGatewayV2::Route')) {
    const b = byApiId.get(str(p.ApiId) ?? '');
    if (b?.doc === undefined) {
      if (b === undefined) ctx.error([...at, 'ApiId'], 'ApiId must be !Ref of an AWS::ApiGatewayV2::Api of this template');
      continue;
    }
    const target = str(p.Target) ?? '';
    const integ = integrations.get(target.replace(/^integrations\//, ''));
    if (integ === undefined) {
      ctx.error([...at, 'Target'], 'Target must be integrations/ followed by !Ref of an AWS::ApiGatewayV2::Integration of this template');
      continue;
    }
    const authType = (str(p.AuthorizationType) ?? 'NONE').toUpperCase();
    let security: Record<string, string[]> | undefined;
    if (authType === 'JWT' || authType === 'CUSTOM') {
      const a = v2Authorizers.get(str(p.AuthorizerId) ?? '');
      if (a === undefined) ctx.error([...at, 'AuthorizerId'], 'AuthorizerId must be !Ref of an AWS::ApiGatewayV2::Authorizer of this template');
      else {
        const components = (b.doc.components ??= {}) as Record<string, unknown>;
        ((components.securitySchemes ??= {}) as Record<string, unknown>)[a.name] = a.scheme;
        security = { [a.name]: Array.isArray(p.AuthorizationScopes) ? p.AuthorizationScopes.map(String) : [] };
      }
    } else if (authType === 'AWS_IAM') ctx.unsupported([...at, 'AuthorizationType'], 'AWS_IAM routes need the aws-iam plugin and credentials: the route refuses traffic');
    addV2Route(b, str(p.RouteKey) ?? '$default', integ.x, security, at);
  }
  for (const [, { p, at }] of ofType('AWS::ApiGatewayV2::Stage')) {
    const b = byApiId.get(str(p.ApiId) ?? '');
    if (b === undefined) continue;
    b.stage = str(p.StageName) ?? '$default';
    b.origin = ((prev) => (k: string) => (k === 'StageName' ? [...at, 'StageName'] : prev(k)))(b.origin);
    if (isRecord(p.StageVariables)) for (const [k, v] of Object.entries(p.StageVariables)) b.variables[k] = str(v) ?? '';
  }
  for (const b of out.apis) {
    if (b.kind === 'rest' && !stageSet.has(b)) {
      ctx.warn(b.at, `REST API ${b.logicalId} has no AWS::ApiGateway::Stage or Deployment with a StageName; served as stage "dev"`);
      b.stage = 'dev';
    }
  }

  // API keys and usage plans.
  const keyRefs = new Map<string, string>();
  for (const [id, { p, at }] of ofType('AWS::ApiGateway::ApiKey')) {
    const value = str(p.Value);
    const name = str(p.Name) ?? id;
    const keyValue = value ?? createHash('sha256').update(`turnpike:apikey:${id}`).digest('base64url').slice(0, 40);
    if (value === undefined) ctx.warn(at, `API key ${id}: AWS generates its value on deploy; Turnpike serves it locally as ${keyValue} (send it in x-api-key)`);
    const entry: Record<string, unknown> = { id: (refs.get(id)?.ref ?? id).slice(0, 64), name, hash: `sha256:${createHash('sha256').update(keyValue).digest('hex')}`, usagePlans: [] };
    if (bool(p.Enabled) === false) entry.enabled = false;
    out.apiKeys.push(entry);
    keyRefs.set(refs.get(id)?.ref ?? id, name);
  }
  const planRefs = new Map<string, string>();
  for (const [id, { p, at }] of ofType('AWS::ApiGateway::UsagePlan')) {
    const plan: Record<string, unknown> = { apiStages: [] };
    if (isRecord(p.Throttle)) plan.throttle = { rateLimit: num(p.Throttle.RateLimit) ?? 10000, burstLimit: Math.round(num(p.Throttle.BurstLimit) ?? 5000) };
    if (isRecord(p.Quota)) {
      const limit = num(p.Quota.Limit);
      const period = str(p.Quota.Period)?.toUpperCase();
      if (limit === undefined || period === undefined) ctx.error([...at, 'Quota'], 'a quota needs Limit and Period (DAY, WEEK or MONTH)');
      else plan.quota = { limit: Math.round(limit), period, ...(num(p.Quota.Offset) !== undefined ? { offset: num(p.Quota.Offset) } : {}) };
    }
    const stages: { apiId: string; stage: string }[] = [];
    if (Array.isArray(p.ApiStages))
      p.ApiStages.forEach((s, i) => {
        if (!isRecord(s)) return;
        if (s.Throttle !== undefined) ctx.unsupported([...at, 'ApiStages', i, 'Throttle'], 'per-method throttling of a plan is not implemented; ignored');
        stages.push({ apiId: str(s.ApiId) ?? '', stage: str(s.Stage) ?? '' });
      });
    out.usagePlans[id] = plan;
    out.planStages.set(id, stages);
    planRefs.set(refs.get(id)?.ref ?? id, id);
  }
  for (const [, { p, at }] of ofType('AWS::ApiGateway::UsagePlanKey')) {
    const key = out.apiKeys.find((k) => k.name === keyRefs.get(str(p.KeyId) ?? ''));
    const plan = planRefs.get(str(p.UsagePlanId) ?? '');
    if (key === undefined || plan === undefined) {
      ctx.error(at, 'KeyId and UsagePlanId must be !Ref of an AWS::ApiGateway::ApiKey and an AWS::ApiGateway::UsagePlan of this template');
      continue;
    }
    (key.usagePlans as string[]).push(plan);
  }
  for (const [id, { type, at }] of props) {
    if (type === 'AWS::ApiGateway::Account' || type === 'AWS::ApiGateway::Model' || type === 'AWS::ApiGateway::RequestValidator' || type === 'AWS::ApiGatewayV2::Deployment')
      ctx.unsupported(at.slice(0, 2), `${type} ${id}: not run locally; ignored`);
  }
  return out;
}

function newBuild(logicalId: string, kind: 'rest' | 'http', at: Path): ApiBuild {
  const res: Path = at.slice(0, 2);
  return { logicalId, id: apiId(logicalId), kind, stage: kind === 'http' ? '$default' : 'dev', implicit: false, at: res, props: {}, origin: () => res, docSources: [], variables: {}, plugins: {} };
}

function addV2Route(b: ApiBuild, routeKey: string, integration: Record<string, unknown>, security: Record<string, string[]> | undefined, at: Path): void {
  if (b.doc === undefined) return;
  const [method, path] = routeKey === '$default' ? ['ANY', '$default'] : routeKey.split(' ', 2);
  const key = (method ?? 'ANY').toUpperCase() === 'ANY' ? 'x-amazon-apigateway-any-method' : (method as string).toLowerCase();
  const paths = b.doc.paths as Record<string, Record<string, unknown>>;
  paths[path ?? '$default'] ??= {};
  (paths[path ?? '$default'] as Record<string, unknown>)[key] = { 'x-amazon-apigateway-integration': { ...integration }, responses: {}, ...(security !== undefined ? { security: [security] } : {}) };
  b.docSources.push([['paths', path ?? '$default', key], at]);
}

/** A Method's Integration as x-amazon-apigateway-integration. */
function restIntegration(ctx: TemplateContext, i: Record<string, unknown>, at: Path): Record<string, unknown> {
  const type = (str(i.Type) ?? '').toLowerCase();
  const x: Record<string, unknown> = { type };
  if (str(i.Uri) !== undefined) x.uri = str(i.Uri);
  if (str(i.IntegrationHttpMethod) !== undefined) x.httpMethod = str(i.IntegrationHttpMethod);
  if (isRecord(i.RequestTemplates)) x.requestTemplates = i.RequestTemplates;
  if (isRecord(i.RequestParameters)) x.requestParameters = i.RequestParameters;
  if (str(i.PassthroughBehavior) !== undefined) x.passthroughBehavior = str(i.PassthroughBehavior)?.toLowerCase();
  if (num(i.TimeoutInMillis) !== undefined) x.timeoutInMillis = num(i.TimeoutInMillis);
  if (str(i.ContentHandling) !== undefined) x.contentHandling = str(i.ContentHandling);
  if (Array.isArray(i.IntegrationResponses)) {
    const responses: Record<string, unknown> = {};
    for (const r of i.IntegrationResponses) {
      if (!isRecord(r)) continue;
      const key = str(r.SelectionPattern) ?? 'default';
      responses[key === '' ? 'default' : key] = {
        statusCode: str(r.StatusCode) ?? '200',
        ...(isRecord(r.ResponseParameters) ? { responseParameters: r.ResponseParameters } : {}),
        ...(isRecord(r.ResponseTemplates) ? { responseTemplates: r.ResponseTemplates } : {}),
        ...(str(r.ContentHandling) !== undefined ? { contentHandling: str(r.ContentHandling) } : {}),
      };
    }
    x.responses = responses;
  }
  for (const k of Object.keys(i)) if (!['Type', 'Uri', 'IntegrationHttpMethod', 'RequestTemplates', 'RequestParameters', 'PassthroughBehavior', 'TimeoutInMillis', 'ContentHandling', 'IntegrationResponses', 'Credentials', 'CacheKeyParameters', 'CacheNamespace', 'ConnectionType'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
  for (const k of ['Credentials', 'CacheKeyParameters', 'CacheNamespace']) if (i[k] !== undefined) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
  return x;
}
