/**
 * `type: aws-http-proxy`: API Gateway's HTTP_PROXY integration — the native http proxy plus what AWS
 * adds to it: header and query `requestParameters` from AWS's mapping sources ('static', context.*,
 * method.request.*, stageVariables.*), applied after every plugin as the integration starts, and on
 * REST APIs the x-amzn-RequestId answer header on every answer the integration gives. The AWS front end
 * (src/aws/translate.ts) writes it for REST HTTP_PROXY integrations and for HTTP API proxies with
 * parameter mappings; a native file may write it too.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { Integration } from '../../compile/types.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { RequestHook, ResponseHook } from '../../pipeline/types.js';
import { UpstreamTimeouts } from '../../schemas/timeouts.js';
import { httpIntegration } from '../http/definition.js';
import { IntegrationConfigError, type IntegrationDefinition } from '../types.js';
import { proxyRequestParameters } from './proxy-parameters.js';

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
  },
  { additionalProperties: false, description: 'An API Gateway HTTP_PROXY integration (the http proxy with AWS request parameters and answer headers).' },
);
export type AwsHttpProxyConfig = Static<typeof AwsHttpProxySchema>;

const setRequestIdHeader: ResponseHook = (ctx) => {
  ctx.response.headers.set('x-amzn-requestid', ctx.id);
};

/** The http integration, with the parameter mapping applied as it starts (after every plugin has run). */
class MappedHttpIntegration implements Integration {
  readonly type = 'aws-http-proxy';
  readonly needsRequestBody?: boolean;
  constructor(
    private readonly inner: Integration,
    private readonly mapping: RequestHook,
  ) {
    if (inner.needsRequestBody !== undefined) this.needsRequestBody = inner.needsRequestBody;
  }
  invoke(ctx: RequestContext): void | Promise<void> {
    this.mapping(ctx);
    return this.inner.invoke(ctx);
  }
  describe(): Record<string, unknown> {
    return { ...this.inner.describe(), type: this.type };
  }
  close(): void {
    this.inner.close?.();
  }
}

export const awsHttpProxyIntegration: IntegrationDefinition<AwsHttpProxyConfig> = {
  type: 'aws-http-proxy',
  description: 'API Gateway HTTP_PROXY integrations: the http proxy with AWS header/query request parameters and REST answer headers.',
  configSchema: AwsHttpProxySchema,
  create(c, deps) {
    let mapping: RequestHook | undefined;
    try {
      mapping = proxyRequestParameters(c.requestParameters ?? {}, deps.route.stage ?? '$default', c.stageVariables ?? {}, deps.route.resourcePath ?? deps.route.path);
    } catch (e) {
      throw new IntegrationConfigError([{ path: ['requestParameters'], message: (e as Error).message }]);
    }
    const made = httpIntegration.create({ type: 'http', url: c.url, ...(c.path !== undefined ? { path: c.path } : {}), ...(c.timeouts !== undefined ? { timeouts: c.timeouts } : {}) }, deps);
    // REST answers carry x-amzn-RequestId whatever the integration (recorded on HTTP_PROXY answers too).
    const responseHooks = [...(c.apiType === 'rest' ? [setRequestIdHeader] : []), ...(made.responseHooks ?? [])];
    return { integration: mapping === undefined ? made.integration : new MappedHttpIntegration(made.integration, mapping), responseHooks };
  },
};
