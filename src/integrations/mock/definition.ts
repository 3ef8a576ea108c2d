import { MockIntegration as MockSchema, type MockIntegrationConfig } from '../../config/schema.js';
import type { IntegrationDefinition } from '../types.js';
import { MockIntegration } from './index.js';

/** `type: mock`: a fixed answer, no upstream. */
export const mockIntegration: IntegrationDefinition<MockIntegrationConfig> = {
  type: 'mock',
  description: 'Answers with a fixed status, headers and body.',
  configSchema: MockSchema,
  create(config) {
    return { integration: new MockIntegration(config) };
  },
};
