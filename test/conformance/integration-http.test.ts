// The integration conformance suite against `type: http` (src/integrations/http/), with a real upstream on 127.0.0.1.
import assert from 'node:assert/strict';
import { httpIntegration } from '../../src/integrations/http/definition.js';
import { integrationConformance } from '../helpers/integration-conformance.js';
import { startUpstream } from '../helpers/upstream.js';

integrationConformance(httpIntegration as never, async () => {
  const up = await startUpstream();
  return {
    minimal: { type: 'http', url: up.url },
    expect: { status: 200, body: (text) => assert.equal((JSON.parse(text) as { url: string }).url, '/probe') },
    bad: [
      { config: { type: 'http', upstream: 'nowhere' }, keyPath: '.upstream' },
      { config: { type: 'http', url: 'ftp://example.com' }, keyPath: '.url' },
    ],
    close: () => up.close(),
  };
});
