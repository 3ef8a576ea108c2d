/**
 * A SAM / CloudFormation template as native config (DESIGN.md "AWS is a front end"): functions become
 * `functions` entries, every API an `apis` entry whose OpenAPI document is generated in memory (or
 * read from a local DefinitionUri / Body), usage plans and API keys the native `usagePlans` and
 * `apiKeys`. The result is validated and compiled exactly like a native file; a side map from native
 * key paths to template key paths (`sources`) lets every later problem point at the template's line.
 *
 * Pure: no I/O. Intrinsics are resolved by src/sam/intrinsics.ts with the Ref / GetAtt values a local
 * stack has (src/sam/ids.ts): API ids, function names and ARNs, SAM's generated resources
 * (ServerlessRestApi, <Fn>Role, <Api><Stage>Stage ...).
 */
import { createHash } from 'node:crypto';
import { dirname } from 'node:path';
import { formatPath } from '../config/diagnostics.js';
import type { SourceDocument } from '../config/load.js';
import { type ApiBuild, AuthApplier, addEvent, addRestCors, apiProps, emptyDocument, gatewayResponses, httpCors, methodSettings } from './apis.js';
import { type Origin, type Path, type Problem, TemplateContext, copySources, isRecord, num, str } from './context.js';
import { type FunctionInfo, functionNameOf, functionProps, localFolder, nativeFunction } from './functions.js';
import { apiHost, apiId, functionArn, resourceId, rootResourceId } from './ids.js';
import { type ResourceRefs, createResolver } from './intrinsics.js';
import { stackNameFromPath } from './pseudo.js';
import { type RawApis, collectRawApis } from './raw-apis.js';

export interface TransformOptions {
  parameterOverrides?: Record<string, string>;
  importValues?: Record<string, string>;
  region?: string;
  stackName?: string;
}

/** One API as served: for the start-up log and the docs' URLs. */
export interface ServedApi {
  logicalId: string;
  id: string;
  kind: 'rest' | 'http';
  stage: string;
  /** Path of the stage on its own host `{id}.execute-api.localhost` ('' for an HTTP API's $default stage). */
  hostPath: string;
  /** Path of the stage on any host (without a Host header); absent when it answers on its host only. */
  anyHostPath?: string;
}

export interface TransformResult {
  config: Record<string, unknown>;
  problems: Problem[];
  sources: ReadonlyMap<string, Origin>;
  apis: ServedApi[];
}

/** The key under which a generated document carries its template positions (read by src/aws/compile-aws.ts). */
export const SOURCE_KEY = 'x-turnpike-source';

const FUNCTION_TYPES = new Set(['AWS::Serverless::Function', 'AWS::Lambda::Function']);
const LAYER_TYPES = new Set(['AWS::Serverless::LayerVersion', 'AWS::Lambda::LayerVersion']);
/** Resources with no local effect: named once each (never silent), as ignored. */
const NOT_RUN: Readonly<Record<string, string>> = {
  'AWS::Lambda::Permission': 'invoke permissions are not enforced locally',
  'AWS::IAM::Role': 'IAM is not enforced locally',
  'AWS::IAM::Policy': 'IAM is not enforced locally',
  'AWS::IAM::ManagedPolicy': 'IAM is not enforced locally',
  'AWS::Logs::LogGroup': 'function logs go to the gateway\'s log',
};

const REST_API_KEYS = new Set(['Name', 'StageName', 'DefinitionBody', 'DefinitionUri', 'Auth', 'Cors', 'BinaryMediaTypes', 'GatewayResponses', 'MethodSettings', 'Variables', 'Description', 'OpenApiVersion', 'ApiKeySourceType', 'Tags', 'PropagateTags']);
const HTTP_API_KEYS = new Set(['Name', 'StageName', 'DefinitionBody', 'DefinitionUri', 'Auth', 'CorsConfiguration', 'StageVariables', 'Description', 'Tags', 'PropagateTags', 'FailOnWarnings']);

export function localApiKeyValue(logicalId: string): string {
  // 40 characters, as API Gateway's generated keys have; stable per logical id.
  return createHash('sha256').update(`turnpike:apikey:${logicalId}`).digest('base64url').slice(0, 40);
}

export function transformTemplate(template: SourceDocument, opts: TransformOptions = {}): TransformResult {
  const data = (isRecord(template.data) ? template.data : {}) as Record<string, unknown>;
  const region = opts.region ?? 'us-east-1';
  const accountId = '123456789012';
  const partition = region.startsWith('cn-') ? 'aws-cn' : region.startsWith('us-gov-') ? 'aws-us-gov' : 'aws';
  const resources = isRecord(data.Resources) ? data.Resources : {};
  const templateDir = dirname(template.file);

  // Ref / GetAtt values of every resource, SAM's generated ones included, known before anything resolves.
  const refs = new Map<string, ResourceRefs>();
  const functions = new Map<string, { name: string; arn: string }>();
  let implicitRest = false;
  let implicitHttp = false;
  for (const [id, raw] of Object.entries(resources)) {
    if (!isRecord(raw)) continue;
    const type = str(raw.Type) ?? '';
    const props = isRecord(raw.Properties) ? raw.Properties : {};
    if (FUNCTION_TYPES.has(type)) {
      const name = functionNameOf(id, props);
      const arn = functionArn(region, accountId, name, partition);
      functions.set(id, { name, arn });
      refs.set(id, { ref: name, attributes: { Arn: arn } });
      if (type === 'AWS::Serverless::Function' && props.Role === undefined) refs.set(`${id}Role`, { ref: `${id}Role`, attributes: { Arn: `arn:${partition}:iam::${accountId}:role/${id}Role`, RoleId: resourceId('role', id) } });
      for (const ev of Object.values(isRecord(props.Events) ? props.Events : {})) {
        if (!isRecord(ev)) continue;
        const p = isRecord(ev.Properties) ? ev.Properties : {};
        if (ev.Type === 'Api' && p.RestApiId === undefined) implicitRest = true;
        if (ev.Type === 'HttpApi' && p.ApiId === undefined) implicitHttp = true;
      }
    } else if (type === 'AWS::Serverless::Api' || type === 'AWS::ApiGateway::RestApi') {
      refs.set(id, { ref: apiId(id), attributes: { RootResourceId: rootResourceId(id), RestApiId: apiId(id) } });
      const stage = str(props.StageName);
      if (stage !== undefined) {
        refs.set(`${id}${stage.replace(/[^A-Za-z0-9]/g, '')}Stage`, { ref: stage, attributes: {} });
        refs.set(`${id}Deployment`, { ref: resourceId('deployment', id), attributes: {} });
      }
    } else if (type === 'AWS::Serverless::HttpApi' || type === 'AWS::ApiGatewayV2::Api') {
      refs.set(id, { ref: apiId(id), attributes: { ApiId: apiId(id), ApiEndpoint: `https://${apiId(id)}.execute-api.${region}.amazonaws.com` } });
    } else if (LAYER_TYPES.has(type)) {
      const name = typeof props.LayerName === 'string' ? props.LayerName : id;
      refs.set(id, { ref: `arn:${partition}:lambda:${region}:${accountId}:layer:${name}:1`, attributes: {} });
    } else if (type === 'AWS::ApiGateway::Stage') {
      refs.set(id, { ref: typeof props.StageName === 'string' ? props.StageName : id, attributes: {} });
    } else if (type.startsWith('AWS::ApiGateway') || type.startsWith('AWS::ApiGatewayV2')) {
      refs.set(id, { ref: resourceId(type, id), attributes: { ResourceId: resourceId(type, id), AuthorizerId: resourceId(type, id), RouteId: resourceId(type, id), IntegrationId: resourceId(type, id) } });
    } else if (type === 'AWS::IAM::Role') {
      refs.set(id, { ref: id, attributes: { Arn: `arn:${partition}:iam::${accountId}:role/${id}`, RoleId: resourceId('role', id) } });
    } else {
      // Ref of any other resource is its physical id; locally, its logical id (a table name, a queue name...).
      refs.set(id, { ref: id, attributes: {} });
    }
  }
  if (implicitRest) {
    const id = apiId('ServerlessRestApi');
    refs.set('ServerlessRestApi', { ref: id, attributes: { RootResourceId: rootResourceId('ServerlessRestApi') } });
    refs.set('ServerlessRestApiProdStage', { ref: 'Prod', attributes: {} });
    refs.set('ServerlessRestApiDeployment', { ref: resourceId('deployment', 'ServerlessRestApi'), attributes: {} });
  }
  if (implicitHttp) {
    const id = apiId('ServerlessHttpApi');
    refs.set('ServerlessHttpApi', { ref: id, attributes: { ApiId: id, ApiEndpoint: `https://${id}.execute-api.${region}.amazonaws.com` } });
    refs.set('ServerlessHttpApiApiGatewayDefaultStage', { ref: '$default', attributes: {} });
  }

  const resolver = createResolver({
    template: data,
    ...(opts.parameterOverrides !== undefined ? { parameterOverrides: opts.parameterOverrides } : {}),
    ...(opts.importValues !== undefined ? { importValues: opts.importValues } : {}),
    pseudo: { region, accountId, partition, stackName: opts.stackName ?? stackNameFromPath(template.file) },
    resource: (id) => refs.get(id),
  });
  const ctx = new TemplateContext(resolver, { region, accountId, partition }, templateDir);
  // Every condition is evaluated, used or not, as CloudFormation checks them before it creates anything.
  if (isRecord(data.Conditions)) for (const name of Object.keys(data.Conditions)) resolver.condition(name);

  const globals = isRecord(data.Globals) ? data.Globals : {};
  for (const k of Object.keys(globals)) if (!['Function', 'Api', 'HttpApi'].includes(k)) ctx.unsupported(['Globals', k], `Globals.${k}: not implemented by Turnpike; ignored`);
  const section = (k: string) => (isRecord(globals[k]) ? (globals[k] as Record<string, unknown>) : undefined);

  // Resources in template order; those whose Condition is false do not exist.
  const live: [string, Record<string, unknown>, string][] = [];
  for (const [id, raw] of Object.entries(resources)) {
    if (!isRecord(raw)) {
      ctx.error(['Resources', id], 'a resource must be a map with a Type');
      continue;
    }
    const type = str(raw.Type);
    if (type === undefined) {
      ctx.error(['Resources', id], 'a resource needs a Type');
      continue;
    }
    const cond = str(raw.Condition);
    if (cond !== undefined && !resolver.condition(cond)) continue;
    live.push([id, raw, type]);
  }

  // Layers first: functions name them.
  const layerFolders = new Map<string, string>();
  for (const [id, raw, type] of live) {
    if (!LAYER_TYPES.has(type)) continue;
    const key = type === 'AWS::Serverless::LayerVersion' ? 'ContentUri' : 'Content';
    const props = isRecord(raw.Properties) ? raw.Properties : {};
    const content = ctx.resolve(props[key], ['Resources', id, 'Properties', key]);
    const folder = localFolder(ctx, content, ['Resources', id, 'Properties', key], key);
    const arn = refs.get(id)?.ref;
    if (typeof folder === 'string' && arn !== undefined) layerFolders.set(arn, folder);
  }

  const config: Record<string, unknown> = {};
  const nativeFunctions: Record<string, unknown> = {};
  const fnInfos: FunctionInfo[] = [];
  const apiBuilds: ApiBuild[] = [];
  const byId = new Map<string, ApiBuild>();
  const raw: RawApis = collectRawApis(ctx, live, refs);

  for (const [id, res, type] of live) {
    if (FUNCTION_TYPES.has(type)) {
      const serverless = type === 'AWS::Serverless::Function';
      const { props, origin } = functionProps(ctx, id, res, serverless, serverless ? section('Function') : undefined);
      const f = functions.get(id) as { name: string; arn: string };
      const info: FunctionInfo = { logicalId: id, name: f.name, arn: f.arn, props, at: ['Resources', id], serverless };
      const native = nativeFunction(ctx, info, origin, layerFolders);
      if (native !== undefined) nativeFunctions[f.name] = native;
      fnInfos.push(info);
    } else if (type === 'AWS::Serverless::Api' || type === 'AWS::Serverless::HttpApi') {
      const kind = type === 'AWS::Serverless::Api' ? 'rest' : 'http';
      const { props, origin } = apiProps(ctx, id, res, section(kind === 'rest' ? 'Api' : 'HttpApi'), kind === 'rest' ? 'Api' : 'HttpApi');
      const build = newApi(ctx, id, kind, props, origin, false);
      if (build !== undefined) {
        apiBuilds.push(build);
        byId.set(build.id, build);
      }
    } else if (LAYER_TYPES.has(type) || raw.handled.has(id)) {
      // read above
    } else if (NOT_RUN[type] !== undefined) {
      ctx.warn(['Resources', id, 'Type'], `${type} ${id}: ${NOT_RUN[type]}; ignored`);
    } else {
      ctx.warn(['Resources', id, 'Type'], `${type} ${id}: this resource type is not run locally; ignored (Ref answers its logical id)`);
    }
  }
  for (const b of raw.apis) {
    apiBuilds.push(b);
    byId.set(b.id, b);
  }

  // Events: each function's Api / HttpApi events onto their API (an implicit one when they name none).
  const auths = new Map<ApiBuild, AuthApplier>();
  const authOf = (b: ApiBuild) => {
    let a = auths.get(b);
    if (a === undefined) auths.set(b, (a = new AuthApplier(ctx, b, (v) => str(v))));
    return a;
  };
  for (const b of apiBuilds) authOf(b);
  const implicit = (kind: 'rest' | 'http'): ApiBuild | undefined => {
    const logicalId = kind === 'rest' ? 'ServerlessRestApi' : 'ServerlessHttpApi';
    const id = apiId(logicalId);
    let b = byId.get(id);
    if (b === undefined) {
      const section2 = kind === 'rest' ? 'Api' : 'HttpApi';
      const { props, origin } = apiProps(ctx, logicalId, undefined, section(section2), section2);
      // The implicit REST API's stage is always Prod, its HTTP API's $default (SAM).
      props.StageName = kind === 'rest' ? 'Prod' : '$default';
      b = newApi(ctx, logicalId, kind, props, origin, true);
      if (b === undefined) return undefined;
      apiBuilds.push(b);
      byId.set(id, b);
      authOf(b);
    }
    return b;
  };
  for (const fn of fnInfos) {
    const events = fn.props.Events;
    if (events === undefined) continue;
    const eventsAt: Path = ['Resources', fn.logicalId, 'Properties', 'Events'];
    if (!isRecord(events)) {
      ctx.error(eventsAt, 'Events must be a map of named events');
      continue;
    }
    for (const [name, ev] of Object.entries(events)) {
      const at: Path = [...eventsAt, name];
      const event = ctx.resolve(ev, at);
      if (!isRecord(event)) continue;
      const type = str(event.Type);
      if (type !== 'Api' && type !== 'HttpApi') {
        ctx.warn([...at, 'Type'], `event type ${type ?? '(none)'} is not run locally (only Api and HttpApi events are served); ignored`);
        continue;
      }
      const props = isRecord(event.Properties) ? event.Properties : {};
      const propsAt: Path = [...at, 'Properties'];
      const named = str(type === 'Api' ? props.RestApiId : props.ApiId);
      const kind = type === 'Api' ? 'rest' : 'http';
      const api = named === undefined ? implicit(kind) : byId.get(named);
      if (api === undefined) {
        if (named !== undefined) ctx.error([...propsAt, type === 'Api' ? 'RestApiId' : 'ApiId'], `"${named}" is not an API of this template (use !Ref of an ${type === 'Api' ? 'AWS::Serverless::Api' : 'AWS::Serverless::HttpApi'} resource)`);
        continue;
      }
      if (api.kind !== kind) {
        ctx.error([...propsAt, type === 'Api' ? 'RestApiId' : 'ApiId'], `an ${type} event needs ${kind === 'rest' ? 'a REST API (AWS::Serverless::Api)' : 'an HTTP API (AWS::Serverless::HttpApi)'}; ${api.logicalId} is not one`);
        continue;
      }
      addEvent(ctx, api, fn, props, propsAt, authOf(api));
    }
  }
  for (const b of apiBuilds) {
    // CORS preflight methods first: the default authorizer then applies to them too, as SAM does
    // (unless Auth.AddDefaultAuthorizerToCorsPreflight is false).
    if (b.kind === 'rest' && b.props.Cors !== undefined) addRestCors(ctx, b, b.props.Cors, b.origin('Cors'));
    authOf(b).finish();
  }

  // Native API entries: one per API, or with several APIs two (by host, and by path: see docs/sam-templates.md).
  const several = apiBuilds.length > 1;
  const nativeApis: Record<string, unknown>[] = [];
  const served: ServedApi[] = [];
  const nativeNames = new Map<ApiBuild, string[]>();
  for (const b of apiBuilds) {
    // A DefinitionUri document is served as written: it cannot be moved under a prefix, so with several
    // APIs it answers on its host only.
    const byPath = several && b.doc !== undefined;
    if (several && !byPath) ctx.warn(b.origin('DefinitionUri'), `with several APIs in the template, ${b.logicalId} (served from its DefinitionUri) answers only on its host ${apiHost(b.id)}`);
    const entries = several ? [{ name: b.logicalId, hosts: [apiHost(b.id)] }, ...(byPath ? [{ name: `${b.logicalId}.path`, prefix: `/${b.id}` }] : [])] : [{ name: b.logicalId }];
    const names: string[] = [];
    const stagePath = b.kind === 'http' && b.stage === '$default' ? '' : `/${b.stage}`;
    for (const e of entries) {
      const i = nativeApis.length;
      const entry: Record<string, unknown> = { name: e.name };
      if ('hosts' in e) entry.hosts = e.hosts;
      entry.openapi = b.doc !== undefined ? withSources(template, b, 'prefix' in e ? e.prefix : undefined) : (b.definitionUri as string);
      entry.stages = { [b.stage]: Object.keys(b.variables).length > 0 ? { variables: b.variables } : {} };
      if (Object.keys(b.plugins).length > 0) entry.plugins = b.plugins;
      ctx.map(['apis', i], b.at);
      ctx.map(['apis', i, 'openapi'], b.definitionUri !== undefined ? b.origin('DefinitionUri') : b.at);
      ctx.map(['apis', i, 'stages'], b.origin('StageName'));
      ctx.map(['apis', i, 'plugins'], b.origin('MethodSettings'));
      nativeApis.push(entry);
      names.push(e.name);
    }
    nativeNames.set(b, names);
    served.push({ logicalId: b.logicalId, id: b.id, kind: b.kind, stage: b.stage, hostPath: stagePath, ...(several && !byPath ? {} : { anyHostPath: several ? `/${b.id}${stagePath}` : stagePath }) });
  }

  // Usage plans and API keys: SAM's Auth.UsagePlan and the raw resources.
  const usagePlans: Record<string, Record<string, unknown>> = { ...raw.usagePlans };
  const apiKeys: Record<string, unknown>[] = [...raw.apiKeys];
  for (const [plan, stages] of raw.planStages) {
    const p = usagePlans[plan];
    if (p === undefined) continue;
    const list: Record<string, string>[] = [];
    for (const { apiId: aid, stage } of stages) {
      const b = byId.get(aid);
      if (b === undefined) continue;
      for (const n of nativeNames.get(b) ?? []) list.push({ api: n, stage });
    }
    p.apiStages = list;
  }
  for (const b of apiBuilds) {
    if (b.usagePlan === undefined) continue;
    const { props, at } = b.usagePlan;
    const mode = (str(props.CreateUsagePlan) ?? 'NONE').toUpperCase();
    if (mode === 'NONE') continue;
    if (mode !== 'PER_API' && mode !== 'SHARED' && mode !== 'SINGLE') {
      ctx.error([...at, 'CreateUsagePlan'], `CreateUsagePlan must be PER_API, SHARED or NONE, not ${mode}`);
      continue;
    }
    const shared = mode !== 'PER_API';
    const planName = shared ? 'ServerlessUsagePlan' : `${b.logicalId}UsagePlan`;
    const keyName = shared ? 'ServerlessApiKey' : `${b.logicalId}ApiKey`;
    const plan = (usagePlans[planName] ??= { apiStages: [] });
    const throttle = isRecord(props.Throttle) ? props.Throttle : undefined;
    if (throttle !== undefined) plan.throttle = { rateLimit: num(throttle.RateLimit) ?? 10000, burstLimit: Math.round(num(throttle.BurstLimit) ?? 5000) };
    const quota = isRecord(props.Quota) ? props.Quota : undefined;
    if (quota !== undefined) {
      const limit = num(quota.Limit);
      const period = str(quota.Period)?.toUpperCase();
      if (limit === undefined || period === undefined) ctx.error([...at, 'Quota'], 'a quota needs Limit and Period (DAY, WEEK or MONTH)');
      else plan.quota = { limit: Math.round(limit), period, ...(num(quota.Offset) !== undefined ? { offset: num(quota.Offset) } : {}) };
    }
    for (const k of Object.keys(props)) if (!['CreateUsagePlan', 'Throttle', 'Quota', 'Description', 'UsagePlanName', 'Tags'].includes(k)) ctx.unsupported([...at, k], `${k}: not implemented by Turnpike; ignored`);
    for (const n of nativeNames.get(b) ?? []) (plan.apiStages as Record<string, string>[]).push({ api: n, stage: b.stage });
    if (!apiKeys.some((k) => k.name === keyName)) {
      const value = localApiKeyValue(keyName);
      apiKeys.push({ id: resourceId('apikey', keyName), name: keyName, hash: `sha256:${createHash('sha256').update(value).digest('hex')}`, usagePlans: [planName] });
      ctx.warn(at, `API key ${keyName} (usage plan ${planName}): AWS generates its value on deploy; Turnpike serves it locally as ${value} (send it in x-api-key)`);
    }
    ctx.map(['usagePlans', planName], at);
  }

  if (Object.keys(nativeFunctions).length > 0) config.functions = nativeFunctions;
  config.apis = nativeApis;
  if (apiKeys.length > 0) config.apiKeys = apiKeys;
  if (Object.keys(usagePlans).length > 0) config.usagePlans = usagePlans;
  ctx.map([], []);
  if (nativeApis.length === 0) ctx.warn(['Resources'], 'the template defines no API (no AWS::Serverless::Api / HttpApi, AWS::ApiGateway::RestApi, AWS::ApiGatewayV2::Api, and no function with an Api or HttpApi event): nothing is served');
  if (!isRecord(data.Resources)) ctx.error(['Resources'], 'a template needs a Resources map');

  for (const p of resolver.problems) ctx.problems.push({ path: p.path, message: p.message, severity: p.severity });
  return { config, problems: ctx.problems, sources: ctx.sources, apis: served };
}

/** A new API from its (merged, resolved) properties: its document started from DefinitionBody or empty. */
function newApi(ctx: TemplateContext, logicalId: string, kind: 'rest' | 'http', props: Record<string, unknown>, origin: (key: string) => Path, implicit: boolean): ApiBuild | undefined {
  const at: Path = implicit ? ['Resources'] : ['Resources', logicalId];
  const known = kind === 'rest' ? REST_API_KEYS : HTTP_API_KEYS;
  for (const k of Object.keys(props)) if (!known.has(k)) ctx.unsupported(origin(k), `${k}: not implemented by Turnpike; ignored`);
  const stage = str(props.StageName) ?? (kind === 'http' ? '$default' : undefined);
  if (stage === undefined) {
    ctx.error(at, 'an AWS::Serverless::Api needs a StageName');
    return undefined;
  }
  const b: ApiBuild = {
    logicalId,
    id: apiId(logicalId),
    kind,
    stage,
    implicit,
    at,
    props,
    origin,
    docSources: [],
    variables: {},
    plugins: {},
  };
  const vars = kind === 'rest' ? props.Variables : props.StageVariables;
  if (isRecord(vars)) for (const [k, v] of Object.entries(vars)) b.variables[k] = str(v) ?? '';
  const title = str(props.Name) ?? logicalId;
  if (props.DefinitionBody !== undefined) {
    if (!isRecord(props.DefinitionBody)) {
      ctx.error(origin('DefinitionBody'), 'DefinitionBody must be an OpenAPI document (a map)');
      return undefined;
    }
    b.doc = structuredClone(props.DefinitionBody);
    if (!isRecord(b.doc.paths)) b.doc.paths = {};
    copySources(b.docSources, b.doc, [], [...origin('DefinitionBody')]);
  } else if (props.DefinitionUri !== undefined) {
    const uri = localFolder(ctx, props.DefinitionUri, origin('DefinitionUri'), 'DefinitionUri');
    if (uri === null || uri === undefined) return undefined;
    b.definitionUri = uri;
    for (const k of ['Auth', 'Cors', 'CorsConfiguration', 'BinaryMediaTypes', 'GatewayResponses'])
      if (props[k] !== undefined) ctx.unsupported(origin(k), `${k} with a DefinitionUri: the document is served as written (write this in the document itself); ignored`);
  } else b.doc = emptyDocument(kind, title);
  b.docSources.push([[], at]);
  if (b.doc !== undefined) {
    const doc = b.doc;
    if (kind === 'rest') {
      if (Array.isArray(props.BinaryMediaTypes)) doc['x-amazon-apigateway-binary-media-types'] = props.BinaryMediaTypes.map((t) => String(t).replace(/~1/g, '/'));
      const gr = gatewayResponses(ctx, props.GatewayResponses, origin('GatewayResponses'));
      if (gr !== undefined) {
        doc['x-amazon-apigateway-gateway-responses'] = gr;
        b.docSources.push([['x-amazon-apigateway-gateway-responses'], origin('GatewayResponses')]);
      }
      const src = str(props.ApiKeySourceType);
      if (src !== undefined) doc['x-amazon-apigateway-api-key-source'] = src;
    } else {
      const cors = httpCors(ctx, props.CorsConfiguration, origin('CorsConfiguration'));
      if (cors !== undefined) {
        doc['x-amazon-apigateway-cors'] = cors;
        b.docSources.push([['x-amazon-apigateway-cors'], origin('CorsConfiguration')]);
      }
    }
  }
  const throttling = kind === 'rest' ? methodSettings(ctx, props.MethodSettings, origin('MethodSettings')) : undefined;
  if (throttling !== undefined) b.plugins['rate-limit'] = throttling;
  if (kind === 'rest' && isRecord(props.Auth) && props.Auth.UsagePlan !== undefined) {
    if (isRecord(props.Auth.UsagePlan)) b.usagePlan = { props: props.Auth.UsagePlan, at: [...origin('Auth'), 'UsagePlan'] };
    else ctx.error([...origin('Auth'), 'UsagePlan'], 'UsagePlan must be a map (CreateUsagePlan, Quota, Throttle)');
  }
  return b;
}

/**
 * The generated document with its side map into the template under SOURCE_KEY: formatted document
 * key path -> [template key path, line, column]. Plain data, so it survives validation's copy and a
 * worker's re-parse of the same text; src/aws/compile-aws.ts reads it and reports there.
 */
function withSources(template: SourceDocument, b: ApiBuild, pathPrefix: string | undefined): Record<string, unknown> {
  const at: Record<string, [string, number, number]> = {};
  for (const [gen, tpl] of b.docSources) {
    const pos = template.locate(tpl);
    at[formatPath(gen)] = [formatPath(tpl), pos.line, pos.column];
  }
  return { ...(b.doc as Record<string, unknown>), [SOURCE_KEY]: { file: template.file, at, ...(pathPrefix !== undefined ? { pathPrefix } : {}) } };
}
