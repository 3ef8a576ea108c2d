import type { PluginDefinition } from '../pipeline/types.js';
import { apiKey } from './api-key/index.js';
import { awsIam } from './aws-iam/index.js';
import { concurrencyLimit } from './concurrency-limit/index.js';
import { cors } from './cors/index.js';
import { ipRestriction } from './ip-restriction/index.js';
import { jwt } from './jwt/index.js';
import { lambdaAuthorizer } from './lambda-authorizer/index.js';
import { rateLimit } from './rate-limit/index.js';
import { requestTermination } from './request-termination/index.js';
import { requestValidation } from './request-validation/index.js';
import { responseHeaders } from './response-headers/index.js';
import { waf } from './waf/index.js';

/** Every bundled plugin. A new plugin starts as a copy of a sibling folder and is listed here. */
export const BUNDLED_PLUGINS: readonly PluginDefinition<never>[] = [
  cors as PluginDefinition<never>,
  responseHeaders as PluginDefinition<never>,
  requestTermination as PluginDefinition<never>,
  requestValidation as PluginDefinition<never>,
  apiKey as PluginDefinition<never>,
  awsIam as PluginDefinition<never>,
  jwt as PluginDefinition<never>,
  lambdaAuthorizer as PluginDefinition<never>,
  ipRestriction as PluginDefinition<never>,
  waf as PluginDefinition<never>,
  rateLimit as PluginDefinition<never>,
  concurrencyLimit as PluginDefinition<never>,
];

export function pluginSchemas(plugins: readonly PluginDefinition<never>[] = BUNDLED_PLUGINS) {
  return Object.fromEntries(plugins.map((p) => [p.name, p.configSchema]));
}
