// The integration conformance suite against `type: aws-mapping` (src/integrations/aws/definition.ts):
// a MOCK mapping integration whose request template picks the status and whose response template renders $context.
import assert from 'node:assert/strict';
import { awsMappingIntegration } from '../../src/integrations/aws/definition.js';
import { integrationConformance } from '../helpers/integration-conformance.js';

const minimal = {
  type: 'aws-mapping',
  apiType: 'rest',
  resourcePath: '/probe',
  method: 'GET',
  apiId: 'conformance',
  accountId: '000000000000',
  stageVariables: { who: 'world' },
  integration: {
    type: 'mock',
    requestParameters: {},
    requestTemplates: { 'application/json': '{"statusCode": 202}' },
    responses: [{ key: 'default', statusCode: '202', responseParameters: {}, responseTemplates: { 'application/json': '{"at":"$context.resourcePath","hello":"$stageVariables.who"}' } }],
    timeoutInMillis: 29000,
  },
};

integrationConformance(awsMappingIntegration as never, async () => ({
  minimal,
  expect: { status: 202, body: (text) => assert.deepEqual(JSON.parse(text), { at: '/probe', hello: 'world' }) },
  bad: [
    { config: { ...minimal, accountId: 'abc' }, keyPath: '.accountId' },
    { config: { ...minimal, integration: { ...minimal.integration, type: 'aws_proxy' } }, keyPath: '.integration.type' },
  ],
}));
