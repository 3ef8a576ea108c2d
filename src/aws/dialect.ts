/**
 * The AWS error dialect: every refusal on a route served from an AWS document is answered through
 * that API's gateway responses (x-amazon-apigateway-gateway-responses, AWS's defaults otherwise), so
 * a customised DEFAULT_4XX / DEFAULT_5XX (say, with Access-Control-Allow-Origin) applies to every
 * type the document does not customise, whichever plugin or integration refused the request.
 *
 * Plugins and integrations know nothing of this: they return or throw catalogue codes (src/errors),
 * and this table names the gateway response type each code is on AWS.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html
 */
import type { ErrorRenderer } from '../compile/types.js';
import { type ErrorCode, ERRORS } from '../errors/catalogue.js';
import { gatewayInput } from '../integrations/aws/index.js';
import type { GatewayResponseType, GatewayResponses } from '../integrations/aws/gateway-responses.js';

export const GATEWAY_RESPONSE_TYPE_OF: Readonly<Partial<Record<ErrorCode, GatewayResponseType>>> = Object.freeze({
  UPSTREAM_TIMEOUT: 'INTEGRATION_TIMEOUT',
  UPSTREAM_UNAVAILABLE: 'INTEGRATION_FAILURE',
  UPSTREAM_BAD_RESPONSE: 'INTEGRATION_FAILURE',
  UPSTREAM_RESPONSE_TOO_LARGE: 'INTEGRATION_FAILURE',
  BODY_TOO_LARGE: 'REQUEST_TOO_LARGE',
  INTERNAL_ERROR: 'DEFAULT_5XX',
  SERVICE_UNAVAILABLE: 'DEFAULT_5XX',
  ROUTE_NOT_FOUND: 'MISSING_AUTHENTICATION_TOKEN',
  METHOD_NOT_ALLOWED: 'MISSING_AUTHENTICATION_TOKEN',
  WAF_BLOCKED: 'WAF_FILTERED',
  IP_FORBIDDEN: 'ACCESS_DENIED',
  UNAUTHORIZED: 'UNAUTHORIZED',
  ACCESS_DENIED: 'ACCESS_DENIED',
  MISSING_AUTHENTICATION: 'MISSING_AUTHENTICATION_TOKEN',
  INVALID_SIGNATURE: 'INVALID_SIGNATURE',
  SIGNATURE_EXPIRED: 'EXPIRED_TOKEN',
  INVALID_API_KEY: 'INVALID_API_KEY',
  THROTTLED: 'THROTTLED',
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  BAD_REQUEST_BODY: 'BAD_REQUEST_BODY',
  BAD_REQUEST_PARAMETERS: 'BAD_REQUEST_PARAMETERS',
  UNSUPPORTED_MEDIA_TYPE: 'UNSUPPORTED_MEDIA_TYPE',
  AUTHORIZER_FAILURE: 'AUTHORIZER_FAILURE',
  AUTHORIZER_CONFIGURATION_ERROR: 'AUTHORIZER_CONFIGURATION_ERROR',
  ROUTE_MISCONFIGURED: 'API_CONFIGURATION_ERROR',
});

/**
 * Upstream failures other than timeouts are never 504 (INTEGRATION_FAILURE's documented default):
 * a refused or reset connection is 500, an invalid answer 502, as AWS answers an unreachable HTTP
 * endpoint and a malformed Lambda proxy answer (docs/aws-gateway-responses.md, "Upstream failures").
 * HTTP APIs answer 500 for both (their INTEGRATION_FAILURE default).
 */
const REST_DEFAULT_STATUS: Readonly<Partial<Record<ErrorCode, number>>> = Object.freeze({
  UPSTREAM_UNAVAILABLE: 500,
  UPSTREAM_BAD_RESPONSE: 502,
  UPSTREAM_RESPONSE_TOO_LARGE: 502,
  SERVICE_UNAVAILABLE: 503,
});

export function gatewayResponseTypeOf(code: ErrorCode, apiType: 'rest' | 'http' = 'rest'): GatewayResponseType {
  // HTTP APIs answer a missing signature 403 Forbidden; their MISSING_AUTHENTICATION_TOKEN is the 404 of an unknown route.
  if (apiType === 'http' && code === 'MISSING_AUTHENTICATION') return 'ACCESS_DENIED';
  return GATEWAY_RESPONSE_TYPE_OF[code] ?? (ERRORS[code].status >= 500 ? 'DEFAULT_5XX' : 'DEFAULT_4XX');
}

/**
 * Renders denials as one stage's gateway responses. REST answers also carry x-amzn-RequestId and the
 * denial's finer x-amzn-ErrorType; HTTP APIs answer reason phrases only (a denial's message is REST's).
 */
export function awsErrorDialect(gr: GatewayResponses, stage: string, vars: Record<string, string>): ErrorRenderer {
  const rest = gr.apiType === 'rest';
  return (d, ctx) => {
    const status = d.status ?? (rest ? REST_DEFAULT_STATUS[d.deny] : d.deny === 'SERVICE_UNAVAILABLE' ? 503 : undefined);
    const input = gatewayInput(ctx, stage, vars, { message: rest ? d.message : undefined, validationError: d.validationError, status });
    const a = gr.answer(gatewayResponseTypeOf(d.deny, gr.apiType), input);
    const headers: [string, string][] = a.headers;
    if (rest) {
      if (d.errorType !== undefined) {
        const at = headers.findIndex(([k]) => k === 'x-amzn-ErrorType');
        if (at !== -1) headers[at] = ['x-amzn-ErrorType', d.errorType];
      }
      headers.push(['x-amzn-RequestId', ctx.id]);
    }
    return { status: a.status, headers, body: a.body };
  };
}
