// AWS-document routes carry a real `stage`; the api-key plugin's usage-plan coverage reads it (never the route name).
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import { hashApiKey } from '../../src/security/api-keys.js';
import { ROOT } from '../helpers/gateway.js';

const KEY = 's'.repeat(40);
const open: EmbeddedGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});

test('every route of an AWS document has its stage; a usage plan for one stage does not admit the key on another', async () => {
  const gw = await createGateway({
    source: {
      file: `${ROOT}/inline.yaml`,
      text: `
usagePlans:
  devOnly: { apiStages: [{ api: secured, stage: dev }] }
apiKeys:
  - { id: key1, name: ci, hash: "${hashApiKey(KEY)}", usagePlans: [devOnly] }
apis:
  - name: secured
    openapi: ${ROOT}/test/fixtures/aws/secured/openapi.yaml
    stages: { dev: {}, prod: {} }
  - name: native
    routes:
      - { path: /n, integration: { type: mock } }
`,
    },
  });
  open.push(gw);
  const routes = gw.table.routes;
  for (const r of routes.filter((r) => r.api === 'secured')) assert.ok(r.stage === 'dev' || r.stage === 'prod', `${r.id} has stage ${r.stage}`);
  assert.ok(routes.some((r) => r.stage === 'prod' && r.path.startsWith('/prod/')));
  for (const r of routes.filter((r) => r.api === 'native')) assert.equal(r.stage, undefined);

  assert.equal((await gw.inject({ url: '/dev/keyed', headers: { 'x-api-key': KEY } })).status, 200);
  assert.equal((await gw.inject({ url: '/prod/keyed', headers: { 'x-api-key': KEY } })).status, 403);
  assert.equal((await gw.inject({ url: '/prod/keyed' })).status, 403);
});
