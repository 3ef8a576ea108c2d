import { awsHttpProxyIntegration, awsMappingIntegration } from './aws/definition.js';
import { functionIntegration } from './function/definition.js';
import { httpIntegration } from './http/definition.js';
import { mockIntegration } from './mock/definition.js';
import type { IntegrationDefinition } from './types.js';

/**
 * Every bundled integration type. A new one is a folder with a schema and a definition typed from it
 * (`IntegrationDefinition<typeof schema>`), listed here (docs/integrations.md). No cast: each
 * definition's create() is typed by its own schema, and the list holds them as `<never>` (any type).
 */
export const BUNDLED_INTEGRATIONS: readonly IntegrationDefinition<never>[] = [httpIntegration, mockIntegration, functionIntegration, awsMappingIntegration, awsHttpProxyIntegration];
