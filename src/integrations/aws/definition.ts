import { type Static, Type } from '@sinclair/typebox';
import { lazyModule } from '../../util/lazy.js';
import { UpstreamTimeouts } from '../../schemas/timeouts.js';
import { IntegrationConfigError, type IntegrationDefinition } from '../types.js';
import type { AwsIntegration as AwsIntegrationModel } from './model.js';

// The integration and its gateway responses pull in the VTL engine: loaded only when a config uses the type (start-up time).
const impl = lazyModule<typeof import('./index.js')>('./index.js', import.meta.url);
const responses = lazyModule<typeof import('./gateway-responses.js')>('./gateway-responses.js', import.meta.url);
const httpProxy = lazyModule<typeof import('./http-proxy.js')>('./http-proxy.js', import.meta.url);

const StringMap = Type.Record(Type.String(), Type.String());

/**
 * An API's gateway responses as API Gateway models them (x-amazon-apigateway-gateway-responses): how
 * the gateway's own answers render, by response type. Shared by the aws-mapping integration and the
 * native `gatewayResponses` of an API with an AWS error dialect.
 */
export const GatewayResponsesSchema = Type.Record(
  Type.String(),
  Type.Object(
    {
      statusCode: Type.Optional(Type.String({ description: 'Status of this response type (default: the type\'s own, e.g. 403 for MISSING_AUTHENTICATION_TOKEN).' })),
      responseParameters: StringMap,
      responseTemplates: StringMap,
    },
    { additionalProperties: false },
  ),
  { description: 'Gateway responses by type (DEFAULT_4XX, UNAUTHORIZED, ...), as x-amazon-apigateway-gateway-responses writes them.' },
);

/**
 * `type: aws-mapping`: API Gateway's non-proxy integrations (REST `http`, `aws` (a Lambda function) and
 * `mock`, with VTL request/response templates, parameter mappings and integration responses). The AWS
 * front end (src/aws/translate.ts) produces this config from `x-amazon-apigateway-integration`;
 * nothing in it refers to an OpenAPI document.
 */
export const AwsMappingSchema = Type.Object(
  {
    type: Type.Literal('aws-mapping'),
    integration: Type.Object(
      {
        type: Type.Union([Type.Literal('http'), Type.Literal('aws'), Type.Literal('mock')], { description: 'http: an HTTP endpoint; aws: a Lambda function (non-proxy); mock: no backend.' }),
        uri: Type.Optional(Type.String()),
        httpMethod: Type.Optional(Type.String()),
        passthroughBehavior: Type.Optional(Type.Union([Type.Literal('WHEN_NO_MATCH'), Type.Literal('WHEN_NO_TEMPLATES'), Type.Literal('NEVER')])),
        requestParameters: StringMap,
        requestTemplates: StringMap,
        responses: Type.Array(
          Type.Object(
            {
              key: Type.String(),
              selectionPattern: Type.Optional(Type.String()),
              statusCode: Type.String(),
              responseParameters: StringMap,
              responseTemplates: StringMap,
              contentHandling: Type.Optional(Type.String()),
            },
            { additionalProperties: false },
          ),
        ),
        contentHandling: Type.Optional(Type.Union([Type.Literal('CONVERT_TO_TEXT'), Type.Literal('CONVERT_TO_BINARY')])),
        timeoutInMillis: Type.Integer({ minimum: 50 }),
      },
      { additionalProperties: true, description: 'The integration as API Gateway models it (x-amazon-apigateway-integration, normalised by the importer).' },
    ),
    function: Type.Optional(Type.String({ minLength: 1, description: 'integration.type aws: the function (a name the config can invoke).' })),
    apiType: Type.Union([Type.Literal('rest'), Type.Literal('http')], { description: 'Whose $context and answer headers to follow.' }),
    resourcePath: Type.String({ description: 'The resource path ($context.resourcePath), without the stage prefix.' }),
    method: Type.String({ description: 'The method the route serves (upper-case, ANY included).' }),
    apiId: Type.String(),
    accountId: Type.String({ pattern: '^[0-9]{12}$' }),
    stageVariables: StringMap,
    binaryMediaTypes: Type.Optional(Type.Array(Type.String())),
    // How the integration's own failures answer.
    gatewayResponses: Type.Optional(GatewayResponsesSchema),
    endpointOverrides: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Integration URI origins to call instead.' })),
    templateBudget: Type.Optional(
      Type.Object(
        { inlineBytes: Type.Integer({ minimum: 0 }), inlineMs: Type.Integer({ minimum: 1 }), renderMs: Type.Integer({ minimum: 1 }) },
        { additionalProperties: false, description: 'Mapping-template CPU budget (default: server.limits.template*).' },
      ),
    ),
  },
  { additionalProperties: false, description: 'An API Gateway mapping-template integration (REST non-proxy http / aws / mock).' },
);
export type AwsMappingConfig = Static<typeof AwsMappingSchema>;

function overrideOrigin(origin: string, overrides: Readonly<Record<string, string>> | undefined): string {
  const o = overrides?.[origin];
  return o === undefined ? origin : o.replace(/\/+$/, '');
}

export const awsMappingIntegration: IntegrationDefinition<typeof AwsMappingSchema> = {
  type: 'aws-mapping',
  description: 'API Gateway mapping-template integrations: REST non-proxy HTTP, AWS (Lambda) and MOCK integrations with VTL templates.',
  configSchema: AwsMappingSchema,
  create(c, deps) {
    let invoker: ReturnType<typeof deps.invoker>;
    if (c.integration.type === 'aws') {
      if (c.function === undefined) throw new IntegrationConfigError([{ path: ['function'], message: 'an aws integration needs a Lambda function (other AWS services are not supported)' }]);
      invoker = deps.invoker(c.function);
      // An unknown function was already reported by the function lookup.
      if (invoker === undefined) throw new IntegrationConfigError([]);
    }
    if (deps.pools === undefined) throw new Error('the aws-mapping integration needs the pool registry');
    const gatewayResponses = new (responses().GatewayResponses)(c.apiType, c.gatewayResponses);
    return {
      integration: new (impl().AwsIntegration)(c.integration as AwsIntegrationModel, {
        apiType: c.apiType,
        stage: deps.route.stage ?? '$default',
        stageVariables: { ...c.stageVariables },
        route: { method: c.method },
        resourcePath: c.resourcePath,
        ...(invoker !== undefined ? { invoker } : {}),
        pools: deps.pools,
        rewriteOrigin: (origin) => overrideOrigin(origin, c.endpointOverrides),
        apiId: c.apiId,
        accountId: c.accountId,
        logger: deps.logger,
        gatewayResponses,
        ...(c.binaryMediaTypes !== undefined ? { binaryMediaTypes: c.binaryMediaTypes } : {}),
        ...((c.templateBudget ?? deps.templateBudget) !== undefined ? { templateBudget: c.templateBudget ?? deps.templateBudget } : {}),
      }),
    };
  },
};

/**
 * `type: aws-http-proxy`: API Gateway's HTTP_PROXY integration, the http proxy plus AWS's header/query
 * request parameters and REST answer headers (./http-proxy.ts, loaded when a config uses it).
 */
export const AwsHttpProxySchema = Type.Object(
  {
    type: Type.Literal('aws-http-proxy'),
    url: Type.String({ pattern: '^https?://', description: 'Origin of the HTTP endpoint: http(s)://host[:port].' }),
    path: Type.Optional(Type.String({ pattern: '^/', description: 'Template for the forwarded path, with the route\'s {params}; default: the request path.' })),
    timeouts: Type.Optional(UpstreamTimeouts),
    apiType: Type.Union([Type.Literal('rest'), Type.Literal('http')], { description: 'rest: answers carry x-amzn-RequestId, as API Gateway REST APIs send on HTTP_PROXY answers.' }),
    requestParameters: Type.Optional(
      Type.Record(Type.String(), Type.String(), {
        description:
          "Header and query parameters of the integration request, as API Gateway writes them: 'integration.request.header.X' -> \"'static'\", 'context.requestId', 'method.request.header.Y', 'stageVariables.Z' (REST), or an HTTP API's 'overwrite:header.X'. Body sources are refused.",
      }),
    ),
    stageVariables: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Values of the stageVariables.X sources.' })),
    apiId: Type.Optional(
      Type.String({ minLength: 1, description: 'apiType rest: the API id sent as X-Amzn-Apigateway-Api-Id (with X-Amzn-Trace-Id) on every integration request, as AWS sends it.' }),
    ),
  },
  { additionalProperties: false, description: 'An API Gateway HTTP_PROXY integration (the http proxy with AWS request parameters and answer headers).' },
);
export type AwsHttpProxyConfig = Static<typeof AwsHttpProxySchema>;

export const awsHttpProxyIntegration: IntegrationDefinition<typeof AwsHttpProxySchema> = {
  type: 'aws-http-proxy',
  description: 'API Gateway HTTP_PROXY integrations: the http proxy with AWS header/query request parameters and REST answer headers.',
  configSchema: AwsHttpProxySchema,
  create: (c, deps) => httpProxy().createAwsHttpProxy(c, deps),
};
