// The integration conformance suite against `type: function` (src/integrations/function/), with a real
// function module (test/fixtures/gateway-functions/echo.mjs) on the gateway's own function runtime.
import assert from 'node:assert/strict';
import { functionIntegration } from '../../src/integrations/function/definition.js';
import { ROOT } from '../helpers/gateway.js';
import { integrationConformance } from '../helpers/integration-conformance.js';

integrationConformance(functionIntegration as never, async () => ({
  preamble: `functions:\n  echo: { module: "${ROOT}/test/fixtures/gateway-functions/echo.mjs" }\n`,
  minimal: { type: 'function', function: 'echo' },
  expect: { status: 200, body: (text) => assert.equal((JSON.parse(text) as { event: { rawPath: string } }).event.rawPath, '/probe') },
  bad: [
    { config: { type: 'function', function: 'missing' }, keyPath: '.function' },
    { config: { type: 'function', function: 'echo', apiType: 'rest', payloadVersion: '2.0' }, keyPath: '.payloadVersion' },
  ],
}));
