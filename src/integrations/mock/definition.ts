import type { IntegrationDefinition } from '../types.js';
import { MockIntegration } from './index.js';
import { MockIntegrationSchema } from './schema.js';

/** `type: mock`: a fixed answer, no upstream. */
export const mockIntegration: IntegrationDefinition<typeof MockIntegrationSchema> = {
  type: 'mock',
  description: 'Answers with a fixed status, headers and body.',
  configSchema: MockIntegrationSchema,
  create(config) {
    return { integration: new MockIntegration(config) };
  },
};
