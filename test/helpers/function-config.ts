// The function-integration test config, shared by the in-process tier (test/inject/function.test.ts)
// and the process tier (test/integration/function.test.ts, the worker-killing handler).
import { ROOT } from './gateway.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;

export const FUNCTIONS_CONFIG = `
functions:
  echo: { module: "${FN}/echo.mjs", environment: { GREETING: hello } }
  plain: { module: "${FN}/plain.mjs" }
  throws: { module: "${FN}/throws.mjs" }
  slow: { module: "${FN}/slow.mjs", timeoutMs: 300 }
  malformed: { module: "${FN}/malformed.mjs" }
  exits: { module: "${FN}/exits.mjs" }
  callback: { module: "${FN}/callback.cjs" }
  lambdaStyle: { runtime: nodejs20.x, codeUri: "${FN}", handler: echo.handler, environment: { GREETING: lambda } }
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
      - { name: lambda-style, path: /lambda-style, integration: { type: function, function: lambdaStyle } }
`;
