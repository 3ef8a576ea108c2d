/**
 * `type: aws-http-proxy`: API Gateway's HTTP_PROXY integration — the native http proxy plus what AWS
 * adds to it: header and query `requestParameters` from AWS's mapping sources ('static', context.*,
 * method.request.*, stageVariables.*), applied after every plugin as the integration starts, and on
 * REST APIs the x-amzn-RequestId answer header on every answer the integration gives and the
 * X-Amzn-Trace-Id / X-Amzn-Apigateway-Api-Id request headers (loaded on first use;
 * its schema and registry entry: ./definition.ts). The AWS front end
 * (src/aws/translate.ts) writes it for REST HTTP_PROXY integrations and for HTTP API proxies with
 * parameter mappings; a native file may write it too.
 */
import type { Integration } from '../../compile/types.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { RequestHook, ResponseHook } from '../../pipeline/types.js';
import { httpIntegration } from '../http/definition.js';
import { type CreatedIntegration, IntegrationConfigError, type IntegrationDeps } from '../types.js';
import type { AwsHttpProxyConfig } from './definition.js';
import { requestTraceId } from '../../util/trace-id.js';
import { proxyRequestParameters } from './proxy-parameters.js';

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

/**
 * The headers a REST HTTP_PROXY integration request carries beside the client's (recorded: LocalStack
 * test_http_integration_with_lambda[HTTP_PROXY], the backend saw X-Amzn-Trace-Id and
 * X-Amzn-Apigateway-Api-Id), as the non-proxy http integration sends them (./index.ts).
 */
function awsRequestHeaders(apiId: string): RequestHook {
  return (ctx) => {
    ctx.upstreamHeaders.set('x-amzn-trace-id', requestTraceId(ctx));
    ctx.upstreamHeaders.set('x-amzn-apigateway-api-id', apiId);
    return undefined;
  };
}

/** The integration of an `aws-http-proxy` config (the registry entry and schema: ./definition.ts). */
export function createAwsHttpProxy(c: AwsHttpProxyConfig, deps: IntegrationDeps): CreatedIntegration {
  let mapping: RequestHook | undefined;
  try {
    mapping = proxyRequestParameters(c.requestParameters ?? {}, deps.route.stage ?? '$default', c.stageVariables ?? {}, deps.route.resourcePath ?? deps.route.path);
  } catch (e) {
    throw new IntegrationConfigError([{ path: ['requestParameters'], message: (e as Error).message }]);
  }
  if (c.apiType === 'rest' && c.apiId !== undefined) {
    const added = awsRequestHeaders(c.apiId);
    const mapped = mapping;
    // AWS's headers first: a parameter mapping may not set them (AWS refuses such a mapping), so order only matters for clarity.
    mapping =
      mapped === undefined
        ? added
        : (ctx) => {
            added(ctx);
            return mapped(ctx);
          };
  }
  const made = httpIntegration.create({ type: 'http', url: c.url, preserveHost: false, ...(c.path !== undefined ? { path: c.path } : {}), ...(c.timeouts !== undefined ? { timeouts: c.timeouts } : {}) }, deps);
  // REST answers carry x-amzn-RequestId whatever the integration (recorded on HTTP_PROXY answers too).
  const responseHooks = [...(c.apiType === 'rest' ? [setRequestIdHeader] : []), ...(made.responseHooks ?? [])];
  return { integration: mapping === undefined ? made.integration : new MappedHttpIntegration(made.integration, mapping), responseHooks };
}
