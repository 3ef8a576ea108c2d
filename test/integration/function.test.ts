// A handler that kills its worker never takes the gateway PROCESS down (the process tier); every other
// function-integration test runs in-process: test/inject/function.test.ts.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { FUNCTIONS_CONFIG } from '../helpers/function-config.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';

let gw: RunningGateway;

before(async () => {
  gw = await startGateway(FUNCTIONS_CONFIG);
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
