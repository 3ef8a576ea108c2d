/**
 * The configuration of the AWS-only integrations (REST non-proxy HTTP / AWS / MOCK integrations with
 * mapping templates, and the gateway responses they render): plain data, as the AWS importer
 * (src/openapi) produces it from `x-amazon-apigateway-integration` and
 * `x-amazon-apigateway-gateway-responses`. It lives with the integration so that the integration never
 * imports the importer (src/openapi re-exports these types).
 */

export type IntegrationType = 'aws_proxy' | 'aws' | 'http' | 'http_proxy' | 'mock';
export type PassthroughBehavior = 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER';
export type ContentHandling = 'CONVERT_TO_TEXT' | 'CONVERT_TO_BINARY';

/** A Lambda function named by an integration or authorizer URI. Parts may hold `${stageVariables.x}`. */
export interface LambdaFunctionRef {
  /** Function name (never a full ARN); may be or contain `${stageVariables.x}`. */
  name: string;
  region?: string;
  accountId?: string;
  /** Version or alias (`:live`, `:${stageVariables.alias}`), without the colon. */
  qualifier?: string;
}

export interface AwsIntegrationResponse {
  /** The key as written in `responses` ('default' or a selection regex such as `2\d{2}`). */
  key: string;
  /** The selection regex; absent for the 'default' response. */
  selectionPattern?: string;
  statusCode: string;
  responseParameters: Record<string, string>;
  responseTemplates: Record<string, string>;
  contentHandling?: string;
}

export interface AwsIntegration {
  type: IntegrationType;
  /** Raw, may contain `{param}` and `${stageVariables.x}`. */
  uri?: string;
  lambdaFunction?: LambdaFunctionRef;
  /** Upper-case. */
  httpMethod?: string;
  passthroughBehavior?: PassthroughBehavior;
  /** REST: 'integration.request.header.x' -> 'method.request.path.id' | "'static'" | ...; HTTP API: 'overwrite:header.x' -> '$request...'. */
  requestParameters: Record<string, string>;
  requestTemplates: Record<string, string>;
  /** Selection patterns in document order, the 'default' response last. */
  responses: AwsIntegrationResponse[];
  contentHandling?: ContentHandling;
  /** Defaults: 29000 for REST APIs, 30000 for HTTP APIs. */
  timeoutInMillis: number;
  /** HTTP APIs only ('2.0' assumed for Lambda proxy integrations that omit it, '1.0' otherwise). */
  payloadFormatVersion?: '1.0' | '2.0';
  connectionType?: string;
  connectionId?: string;
  credentials?: string;
  cacheKeyParameters?: string[];
  cacheNamespace?: string;
  /** HTTP APIs: AWS service integration subtype (e.g. SQS-SendMessage). Not served yet. */
  integrationSubtype?: string;
  tlsConfig?: { insecureSkipVerification?: boolean; serverNameToVerify?: string };
}

export interface AwsGatewayResponse {
  statusCode?: string;
  responseParameters: Record<string, string>;
  responseTemplates: Record<string, string>;
}

/** AWS's gateway response types ("Gateway response types for API Gateway"). */
export const GATEWAY_RESPONSE_TYPES = [
  'ACCESS_DENIED',
  'API_CONFIGURATION_ERROR',
  'AUTHORIZER_CONFIGURATION_ERROR',
  'AUTHORIZER_FAILURE',
  'BAD_REQUEST_BODY',
  'BAD_REQUEST_PARAMETERS',
  'DEFAULT_4XX',
  'DEFAULT_5XX',
  'EXPIRED_TOKEN',
  'INTEGRATION_FAILURE',
  'INTEGRATION_TIMEOUT',
  'INVALID_API_KEY',
  'INVALID_SIGNATURE',
  'MISSING_AUTHENTICATION_TOKEN',
  'QUOTA_EXCEEDED',
  'REQUEST_TOO_LARGE',
  'RESOURCE_NOT_FOUND',
  'THROTTLED',
  'UNAUTHORIZED',
  'UNSUPPORTED_MEDIA_TYPE',
  'WAF_FILTERED',
] as const;
