// The AWS mapping-template integration is a registry type (`aws-mapping`) with its own schema: a native
// config can name it, and the AWS front end builds its non-proxy integrations through the registry.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import { BUNDLED_INTEGRATIONS } from '../../src/integrations/registry.js';

const open: EmbeddedGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});

const config = (extra: string) => `
apis:
  - name: m
    routes:
      - path: /m
        integration:
          type: aws-mapping
          apiType: rest
          resourcePath: /m
${extra}          apiId: m
          accountId: "000000000000"
          stageVariables: { who: world }
          integration:
            type: mock
            requestParameters: {}
            requestTemplates: { application/json: '{"statusCode": 201}' }
            responses:
              - { key: default, statusCode: "201", responseParameters: {}, responseTemplates: { application/json: '{"at":"$context.resourcePath","hello":"$stageVariables.who"}' } }
            timeoutInMillis: 29000
`;

test('aws-mapping is registered with its own schema and serves a MOCK integration with templates', async () => {
  assert.ok(BUNDLED_INTEGRATIONS.some((d) => d.type === 'aws-mapping'));
  const gw = await createGateway({ source: { text: config('          method: GET\n') } });
  open.push(gw);
  const res = await gw.inject({ url: '/m', headers: { 'content-type': 'application/json' } });
  assert.equal(res.status, 201, res.text());
  assert.deepEqual(res.json(), { at: '/m', hello: 'world' });
});

test('an aws-mapping config the schema refuses is a config error with its key path, not a crash', async () => {
  await assert.rejects(createGateway({ source: { text: config('') } }), (e: Error) => /method/.test(String((e as { message?: string }).message) + JSON.stringify((e as { diagnostics?: unknown }).diagnostics ?? '')));
});
