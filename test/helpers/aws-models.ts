/** Builders for the importer's model types, so tests state only what matters. */

import { AwsIntegration, type AwsIntegrationOptions } from '../../src/integrations/aws/index.js';
import type { AwsIntegration as AwsIntegrationModel, AwsIntegrationResponse, AwsRoute } from '../../src/openapi/types.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { silentLogger } from './aws-harness.js';

export function resp(statusCode: string, extra: Partial<AwsIntegrationResponse> = {}): AwsIntegrationResponse {
  return { key: extra.selectionPattern ?? 'default', statusCode, responseParameters: {}, responseTemplates: {}, ...extra };
}

export function model(type: AwsIntegrationModel['type'], extra: Partial<AwsIntegrationModel> = {}): AwsIntegrationModel {
  return {
    type,
    requestParameters: {},
    requestTemplates: {},
    responses: [resp('200')],
    timeoutInMillis: 29000,
    passthroughBehavior: 'WHEN_NO_MATCH',
    ...extra,
  };
}

export function route(method: string, path: string): AwsRoute {
  return { method, path, parameters: [], security: [], apiKeyRequired: false, methodResponses: {}, location: `${path} ${method}` };
}

export const pools = new PoolRegistry();

export function build(m: AwsIntegrationModel, method: string, path: string, opts: Partial<AwsIntegrationOptions> = {}): AwsIntegration {
  return new AwsIntegration(m, {
    apiType: 'rest',
    stage: 'dev',
    stageVariables: {},
    route: route(method, path),
    resourcePath: path,
    pools,
    apiId: 'abc123defg',
    accountId: '111111111111',
    logger: silentLogger,
    ...opts,
  });
}
