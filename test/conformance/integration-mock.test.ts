// The integration conformance suite against `type: mock` (src/integrations/mock/).
import { mockIntegration } from '../../src/integrations/mock/definition.js';
import { integrationConformance } from '../helpers/integration-conformance.js';

integrationConformance(mockIntegration as never, async () => ({
  minimal: { type: 'mock' },
  expect: { status: 200 },
  bad: [
    { config: { type: 'mock', status: 'teapot' }, keyPath: '.status' },
    { config: { type: 'mock', headers: 7 }, keyPath: '.headers' },
  ],
}));
