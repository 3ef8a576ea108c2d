import { awsHttpProxyIntegration, awsMappingIntegration } from './aws/definition.js';
import { functionIntegration } from './function/definition.js';
import { httpIntegration } from './http/definition.js';
import { mockIntegration } from './mock/definition.js';
import type { IntegrationDefinition } from './types.js';

/** Every bundled integration type. A new one is a folder with a definition, listed here (docs/integrations.md). */
export const BUNDLED_INTEGRATIONS: readonly IntegrationDefinition<never>[] = [
  httpIntegration as IntegrationDefinition<never>,
  mockIntegration as IntegrationDefinition<never>,
  functionIntegration as IntegrationDefinition<never>,
  awsMappingIntegration as IntegrationDefinition<never>,
  awsHttpProxyIntegration as IntegrationDefinition<never>,
];
