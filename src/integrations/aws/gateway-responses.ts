/**
 * API Gateway's default gateway responses: the answers API Gateway itself produces when a
 * request fails before or around the integration (docs: "Gateway response types for API Gateway",
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html).
 *
 * REST bodies come from the default template `{"message":$context.error.messageString}` and are sent
 * with a space after the colon: `{"message": "Internal server error"}` is 36 bytes, the
 * Content-Length recorded for every 500 in test_apigateway_integrations.snapshot.json
 * (TestApiGatewayHeaderRemapping). HTTP APIs answer without the space (`{"message":"Internal Server Error"}`,
 * see src/integrations/function/errors.ts).
 *
 * `x-amzn-ErrorType: InternalServerErrorException` is recorded on REST 500s; for the other
 * types the error-type header is left out rather than guessed.
 */

export type GatewayResponseType =
  | 'ACCESS_DENIED'
  | 'API_CONFIGURATION_ERROR'
  | 'AUTHORIZER_CONFIGURATION_ERROR'
  | 'AUTHORIZER_FAILURE'
  | 'BAD_REQUEST_PARAMETERS'
  | 'BAD_REQUEST_BODY'
  | 'DEFAULT_4XX'
  | 'DEFAULT_5XX'
  | 'EXPIRED_TOKEN'
  | 'INTEGRATION_FAILURE'
  | 'INTEGRATION_TIMEOUT'
  | 'INVALID_API_KEY'
  | 'INVALID_SIGNATURE'
  | 'MISSING_AUTHENTICATION_TOKEN'
  | 'QUOTA_EXCEEDED'
  | 'REQUEST_TOO_LARGE'
  | 'RESOURCE_NOT_FOUND'
  | 'THROTTLED'
  | 'UNAUTHORIZED'
  | 'UNSUPPORTED_MEDIA_TYPE'
  | 'WAF_FILTERED';

export interface GatewayResponseAnswer {
  status: number;
  /** Exact body bytes as text. */
  body: string;
  /** The `$context.error.message` the body was built from (customised responses need it). */
  message: string;
  /** Value of `x-amzn-ErrorType` (REST only), when known. */
  errorType?: string;
}

/** Default status per type (AWS table; DEFAULT_4XX/5XX have none, 400/500 are what their members fall back to). */
const STATUS: Readonly<Record<GatewayResponseType, number>> = {
  ACCESS_DENIED: 403,
  API_CONFIGURATION_ERROR: 500,
  AUTHORIZER_CONFIGURATION_ERROR: 500,
  AUTHORIZER_FAILURE: 500,
  BAD_REQUEST_PARAMETERS: 400,
  BAD_REQUEST_BODY: 400,
  DEFAULT_4XX: 400,
  DEFAULT_5XX: 500,
  EXPIRED_TOKEN: 403,
  INTEGRATION_FAILURE: 504,
  INTEGRATION_TIMEOUT: 504,
  INVALID_API_KEY: 403,
  INVALID_SIGNATURE: 403,
  MISSING_AUTHENTICATION_TOKEN: 403,
  QUOTA_EXCEEDED: 429,
  REQUEST_TOO_LARGE: 413,
  RESOURCE_NOT_FOUND: 404,
  THROTTLED: 429,
  UNAUTHORIZED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  WAF_FILTERED: 403,
};

/** REST API messages ($context.error.message) for the default answers. */
const REST_MESSAGE: Readonly<Record<GatewayResponseType, string>> = {
  ACCESS_DENIED: 'User is not authorized to access this resource',
  API_CONFIGURATION_ERROR: 'Internal server error',
  AUTHORIZER_CONFIGURATION_ERROR: 'Internal server error',
  AUTHORIZER_FAILURE: 'Internal server error',
  BAD_REQUEST_PARAMETERS: 'Bad request',
  BAD_REQUEST_BODY: 'Invalid request body',
  DEFAULT_4XX: 'Bad request',
  DEFAULT_5XX: 'Internal server error',
  EXPIRED_TOKEN: 'The security token included in the request is expired',
  // Observed in API Gateway execution logs ("Execution failed due to a network error communicating with endpoint").
  INTEGRATION_FAILURE: 'Network error communicating with endpoint',
  INTEGRATION_TIMEOUT: 'Endpoint request timed out',
  INVALID_API_KEY: 'Forbidden',
  INVALID_SIGNATURE: 'The request signature we calculated does not match the signature you provided',
  MISSING_AUTHENTICATION_TOKEN: 'Missing Authentication Token',
  QUOTA_EXCEEDED: 'Limit Exceeded',
  REQUEST_TOO_LARGE: 'Request Too Long',
  RESOURCE_NOT_FOUND: 'Not Found',
  THROTTLED: 'Too Many Requests',
  UNAUTHORIZED: 'Unauthorized',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
  WAF_FILTERED: 'Forbidden',
};

/** HTTP APIs use the reason phrase in title case. */
const HTTP_MESSAGE: Readonly<Partial<Record<GatewayResponseType, string>>> = {
  API_CONFIGURATION_ERROR: 'Internal Server Error',
  AUTHORIZER_CONFIGURATION_ERROR: 'Internal Server Error',
  AUTHORIZER_FAILURE: 'Internal Server Error',
  DEFAULT_5XX: 'Internal Server Error',
  INTEGRATION_FAILURE: 'Internal Server Error',
  INTEGRATION_TIMEOUT: 'Service Unavailable',
  UNSUPPORTED_MEDIA_TYPE: 'Unsupported Media Type',
};

/** `{"message": "<text>"}` (REST) / `{"message":"<text>"}` (HTTP API), the message JSON-escaped. */
export function gatewayResponseBody(message: string, apiType: 'rest' | 'http'): string {
  return apiType === 'rest' ? `{"message": ${JSON.stringify(message)}}` : `{"message":${JSON.stringify(message)}}`;
}

/** AWS's default answer for a gateway response type. `message` replaces the default message text. */
export function defaultGatewayResponse(type: GatewayResponseType, apiType: 'rest' | 'http', message?: string): GatewayResponseAnswer {
  let status = STATUS[type];
  // HTTP APIs answer an integration timeout with 503 (src/integrations/function/errors.ts, AWS HTTP API docs).
  if (apiType === 'http' && type === 'INTEGRATION_TIMEOUT') status = 503;
  if (apiType === 'http' && type === 'INTEGRATION_FAILURE') status = 500;
  const text = message ?? (apiType === 'rest' ? REST_MESSAGE[type] : (HTTP_MESSAGE[type] ?? REST_MESSAGE[type]));
  const answer: GatewayResponseAnswer = { status, body: gatewayResponseBody(text, apiType), message: text };
  if (apiType === 'rest' && status >= 500) answer.errorType = 'InternalServerErrorException';
  return answer;
}
