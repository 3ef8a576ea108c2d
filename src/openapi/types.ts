/**
 * The typed model of an API Gateway OpenAPI document (REST API or HTTP API), as the AWS
 * importer builds it and the gateway compiler consumes it. Everything here is plain data
 * (JSON-serialisable), so two imports of equivalent documents compare with deepEqual.
 *
 * Conventions:
 * - AWS enumerations are normalised to the case AWS's control-plane API uses
 *   (integration types lower-case as in the OpenAPI extension; passthroughBehavior,
 *   contentHandling, apiKeySource upper-case).
 * - Defaults AWS applies on import are applied here (timeoutInMillis, payloadFormatVersion,
 *   apiKeySource), so the compiler never has to know them.
 * - Schemas (`models`, request and response models) are resolved: every internal `$ref` is
 *   inlined, except a reference to a recursive model, which stays `{ "$ref": "#/models/<Name>" }`
 *   and is resolved against `AwsApiModel.models`.
 */

export type ApiType = 'rest' | 'http';

import type { AwsGatewayResponse, AwsIntegration, LambdaFunctionRef } from '../integrations/aws/model.js';
export type { AwsGatewayResponse, AwsIntegration, AwsIntegrationResponse, ContentHandling, IntegrationType, LambdaFunctionRef, PassthroughBehavior } from '../integrations/aws/model.js';
export { GATEWAY_RESPONSE_TYPES } from '../integrations/aws/model.js';

export interface AwsParameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema?: unknown;
}

export interface AwsRoute {
  /** Upper-case; 'ANY' for x-amazon-apigateway-any-method. */
  method: string;
  /** '/pets/{petId}', '/{proxy+}', or '$default' (HTTP APIs). */
  path: string;
  operationId?: string;
  parameters: AwsParameter[];
  requestBody?: { required: boolean; models: Record<string, unknown> };
  /** Validator name, after applying the document-level default. */
  requestValidator?: string;
  /** OR of ANDs, as OpenAPI writes it. */
  security: { scheme: string; scopes: string[] }[][];
  /** Every alternative of `security` includes the API key scheme (AWS writes `api_key`). */
  apiKeyRequired: boolean;
  /** From x-amazon-apigateway-auth ('AWS_IAM' means SigV4, which Turnpike cannot check yet). */
  authorizationType?: 'NONE' | 'AWS_IAM';
  /** Absent: the route must refuse traffic. */
  integration?: AwsIntegration;
  /**
   * Why Turnpike cannot run this route's integration (an AWS service action, an HTTP API
   * integrationSubtype, an integration type it does not know): the route answers 500 as AWS's
   * API_CONFIGURATION_ERROR and every other route serves. Derived at import (not exported).
   */
  unservable?: string;
  methodResponses: Record<string, { headers: string[]; models: Record<string, unknown> }>;
  /** Key path of the operation, for messages. */
  location: string;
}

export interface AwsCors {
  allowOrigins: string[];
  allowMethods: string[];
  allowHeaders: string[];
  exposeHeaders: string[];
  maxAge?: number;
  allowCredentials: boolean;
}

export interface AwsSecurityScheme {
  /** OpenAPI type: apiKey, oauth2, openIdConnect, http ... */
  type: string;
  name?: string;
  in?: string;
  /** x-amazon-apigateway-authorizer with normalised keys (type lower-case, TTL a number). */
  authorizer?: Record<string, unknown>;
  /** Parsed from authorizer.authorizerUri (derived: not exported). */
  authorizerFunction?: LambdaFunctionRef;
  /** x-amazon-apigateway-authtype (free-form for Lambda authorizers; 'awsSigv4' means IAM). */
  authType?: string;
  /** OpenAPI 3 openIdConnectUrl (an HTTP API JWT authorizer finds its issuer there). */
  openIdConnectUrl?: string;
}

export interface AwsApiModel {
  apiType: ApiType;
  title: string;
  version: string;
  basePath?: string;
  binaryMediaTypes: string[];
  apiKeySource: 'HEADER' | 'AUTHORIZER';
  gatewayResponses: Record<string, AwsGatewayResponse>;
  requestValidators: Record<string, { validateRequestBody: boolean; validateRequestParameters: boolean }>;
  cors?: AwsCors;
  securitySchemes: Record<string, AwsSecurityScheme>;
  models: Record<string, unknown>;
  routes: AwsRoute[];
  /** x-amazon-apigateway-minimum-compression-size (kept, not applied yet). */
  minimumCompressionSize?: number;
  /** x-amazon-apigateway-policy, as written (kept so the compiler can refuse it: not enforced yet). */
  resourcePolicy?: unknown;
  /**
   * Methods the import left out, as AWS's import does with a method whose security it cannot build
   * (a scheme that is not defined): the resource exists, the method does not, so a call answers as
   * for a missing method (REST 403 Missing Authentication Token, HTTP API 404), never unchecked.
   */
  omittedRoutes?: { method: string; path: string; reason: string }[];
}

/** The IAM forms of a scheme: `x-amazon-apigateway-authtype: awsSigv4` (as AWS exports IAM auth) or `aws_iam`. */
export function isIamScheme(s: AwsSecurityScheme | undefined): boolean {
  if (s === undefined || s.authorizer !== undefined || s.authType === undefined) return false;
  const t = s.authType.toLowerCase();
  return t === 'awssigv4' || t === 'aws_iam' || t === 'iam';
}

/** AWS writes `api_key` ({type: apiKey, name: x-api-key, in: header}) for "API key required". */
export function isApiKeyScheme(name: string, s: AwsSecurityScheme | undefined): boolean {
  if (name === 'api_key') return true;
  return !!s && s.type === 'apiKey' && s.in === 'header' && s.name?.toLowerCase() === 'x-api-key' && !s.authorizer && s.authType === undefined;
}
