// The integration conformance suite against `type: aws-http-proxy` (src/integrations/aws/http-proxy.ts), with a
// real upstream on 127.0.0.1: a REST HTTP_PROXY with a static header and a context mapping.
import assert from 'node:assert/strict';
import { awsHttpProxyIntegration } from '../../src/integrations/aws/definition.js';
import { integrationConformance } from '../helpers/integration-conformance.js';
import { startUpstream } from '../helpers/upstream.js';

integrationConformance(awsHttpProxyIntegration as never, async () => {
  const up = await startUpstream();
  const minimal = {
    type: 'aws-http-proxy',
    url: up.url,
    apiType: 'rest',
    requestParameters: { 'integration.request.header.x-static': "'fixed'", 'integration.request.querystring.rid': 'context.requestId' },
  };
  return {
    minimal,
    expect: {
      status: 200,
      body: (text) => {
        const seen = JSON.parse(text) as { url: string; headers: Record<string, string> };
        assert.equal(seen.headers['x-static'], 'fixed');
        assert.match(seen.url, /^\/probe\?rid=./);
      },
    },
    bad: [
      { config: { ...minimal, requestParameters: { 'integration.request.header.x': 'method.request.body' } }, keyPath: '.requestParameters' },
      { config: { ...minimal, url: 'ftp://example.com' }, keyPath: '.url' },
    ],
    close: () => up.close(),
  };
});
