// The CLI's report of a cors config the plugin rejects (process output); the CORS behaviour itself
// runs in the in-process tier: test/inject/cors-routes.test.ts.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli, tempConfig } from '../helpers/gateway.js';

test('a cors config the plugin rejects is reported with its key path', async () => {
  const file = tempConfig(`
apis:
  - name: a
    routes:
      - path: /x
        plugins:
          cors: { allowOrigins: ["*"], allowCredentials: true }
        integration: { type: mock }
`);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /:\d+:\d+ apis\[0\]\.routes\[0\]\.plugins\.cors\.allow\w+: /);
});
