// A handler that kills its worker never takes the gateway PROCESS down (the process tier); every other
// function-integration test runs in-process: test/inject/function.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;
let gw: RunningGateway;

before(async () => {
  gw = await startGateway(`
functions:
  echo: { module: "${FN}/echo.mjs", environment: { GREETING: hello } }
  plain: { module: "${FN}/plain.mjs" }
  throws: { module: "${FN}/throws.mjs" }
  slow: { module: "${FN}/slow.mjs", timeoutMs: 300 }
  malformed: { module: "${FN}/malformed.mjs" }
  exits: { module: "${FN}/exits.mjs" }
  callback: { module: "${FN}/callback.cjs" }
apis:
  - name: fns
    routes:
      - { name: v2, methods: [POST], path: "/v2/items/{id}", integration: { type: function, function: echo } }
      - { name: v1, methods: [GET], path: "/v1/items/{id}", integration: { type: function, function: echo, apiType: rest } }
      - { name: plain, path: /plain, integration: { type: function, function: plain } }
      - { name: throws-http, path: /throws-http, integration: { type: function, function: throws } }
      - { name: throws-rest, path: /throws-rest, integration: { type: function, function: throws, apiType: rest } }
      - { name: slow, path: /slow, integration: { type: function, function: slow } }
      - { name: integration-timeout, path: /integration-timeout, integration: { type: function, function: echo, timeoutMs: 50000 } }
      - { name: malformed-rest, path: /malformed-rest, integration: { type: function, function: malformed, apiType: rest } }
      - { name: exits, path: /exits, integration: { type: function, function: exits } }
      - { name: callback, path: "/cb/{id}", integration: { type: function, function: callback, apiType: rest } }
`);
});
after(async () => {
  await gw?.stop();
});

test('a handler that kills its worker never takes the gateway down', async () => {
  const pid = gw.proc.pid;
  const res = await fetch(`${gw.url}/exits`);
  assert.equal(res.status, 500);
  const again = await fetch(`${gw.url}/exits`);
  assert.equal(again.status, 500);
  assert.equal(gw.proc.exitCode, null);
  assert.equal(gw.proc.pid, pid);
  assert.equal((await fetch(`${gw.url}/plain`)).status, 200);
});
