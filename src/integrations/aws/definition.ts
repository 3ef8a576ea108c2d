import { type Static, Type } from '@sinclair/typebox';
import { lazyModule } from '../../util/lazy.js';
import { IntegrationConfigError, type IntegrationDefinition } from '../types.js';
import type { AwsIntegration as AwsIntegrationModel } from './model.js';

// The integration and its gateway responses pull in the VTL engine: loaded only when a config uses the type (start-up time).
const impl = lazyModule<typeof import('./index.js')>('./index.js', import.meta.url);
const responses = lazyModule<typeof import('./gateway-responses.js')>('./gateway-responses.js', import.meta.url);

const StringMap = Type.Record(Type.String(), Type.String());

/**
 * `type: aws-mapping`: API Gateway's non-proxy integrations (REST `http`, `aws` (a Lambda function) and
 * `mock`, with VTL request/response templates, parameter mappings and integration responses). The AWS
 * front end (src/aws/compile-aws.ts) produces this config from `x-amazon-apigateway-integration`;
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
    gatewayResponses: Type.Optional(
      Type.Record(
        Type.String(),
        Type.Object({ statusCode: Type.Optional(Type.String()), responseParameters: StringMap, responseTemplates: StringMap }, { additionalProperties: false }),
        { description: 'The API\'s gateway responses (x-amazon-apigateway-gateway-responses): how the integration\'s own failures answer.' },
      ),
    ),
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

export const awsMappingIntegration: IntegrationDefinition<AwsMappingConfig> = {
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
        ...(c.templateBudget !== undefined ? { templateBudget: c.templateBudget } : {}),
      }),
    };
  },
};
