import type { TObject } from '@sinclair/typebox';
import type { PluginDefinition } from '../pipeline/types.js';
import { lazyModule } from '../util/lazy.js';
import { schema as apiKeySchema } from './api-key/schema.js';
import { schema as awsIamSchema } from './aws-iam/schema.js';
import { schema as concurrencyLimitSchema } from './concurrency-limit/schema.js';
import { schema as corsSchema } from './cors/schema.js';
import { schema as ipRestrictionSchema } from './ip-restriction/schema.js';
import { schema as jwtSchema } from './jwt/schema.js';
import { schema as lambdaAuthorizerSchema } from './lambda-authorizer/schema.js';
import { schema as rateLimitSchema } from './rate-limit/schema.js';
import { schema as requestTerminationSchema } from './request-termination/schema.js';
import { schema as requestValidationSchema } from './request-validation/schema.js';
import { schema as responseHeadersSchema } from './response-headers/schema.js';
import { schema as wafSchema } from './waf/schema.js';

/**
 * A bundled plugin as listed here: its name and config schema (schema.ts, light: validation needs every
 * plugin's schema) are at hand; its implementation (index.ts, which may pull in jose, Redis, the WAF rule
 * set, ...) is loaded the first time a compiled config creates the plugin or asks for its priority or
 * phases (src/util/lazy.ts). A config that uses no plugin loads no plugin code.
 */
function lazyPlugin<M>(name: string, configSchema: TObject, load: () => M, pick: (m: M) => unknown): PluginDefinition<never> {
  let def: PluginDefinition<never> | undefined;
  const impl = (): PluginDefinition<never> => {
    if (def === undefined) {
      const d = pick(load()) as PluginDefinition<never>;
      // The registry line and the plugin folder must agree; a mismatch is a bug here, not a config error.
      if (d.name !== name || d.configSchema !== configSchema) throw new Error(`plugin registry: "${name}" does not match its folder's index.ts/schema.ts`);
      def = d;
    }
    return def;
  };
  return {
    name,
    configSchema,
    get priority() {
      return impl().priority;
    },
    get phases() {
      return impl().phases;
    },
    get description() {
      return impl().description;
    },
    get needsRequestBody() {
      return impl().needsRequestBody;
    },
    create: (config, deps) => impl().create(config, deps),
  };
}

const url = import.meta.url;

/** Every bundled plugin. A new plugin starts as a copy of a sibling folder and is listed here. */
export const BUNDLED_PLUGINS: readonly PluginDefinition<never>[] = [
  lazyPlugin('cors', corsSchema, lazyModule<typeof import('./cors/index.js')>('./cors/index.js', url), (m) => m.cors),
  lazyPlugin('response-headers', responseHeadersSchema, lazyModule<typeof import('./response-headers/index.js')>('./response-headers/index.js', url), (m) => m.responseHeaders),
  lazyPlugin('request-termination', requestTerminationSchema, lazyModule<typeof import('./request-termination/index.js')>('./request-termination/index.js', url), (m) => m.requestTermination),
  lazyPlugin('request-validation', requestValidationSchema, lazyModule<typeof import('./request-validation/index.js')>('./request-validation/index.js', url), (m) => m.requestValidation),
  lazyPlugin('api-key', apiKeySchema, lazyModule<typeof import('./api-key/index.js')>('./api-key/index.js', url), (m) => m.apiKey),
  lazyPlugin('aws-iam', awsIamSchema, lazyModule<typeof import('./aws-iam/index.js')>('./aws-iam/index.js', url), (m) => m.awsIam),
  lazyPlugin('jwt', jwtSchema, lazyModule<typeof import('./jwt/index.js')>('./jwt/index.js', url), (m) => m.jwt),
  lazyPlugin('lambda-authorizer', lambdaAuthorizerSchema, lazyModule<typeof import('./lambda-authorizer/index.js')>('./lambda-authorizer/index.js', url), (m) => m.lambdaAuthorizer),
  lazyPlugin('ip-restriction', ipRestrictionSchema, lazyModule<typeof import('./ip-restriction/index.js')>('./ip-restriction/index.js', url), (m) => m.ipRestriction),
  lazyPlugin('waf', wafSchema, lazyModule<typeof import('./waf/index.js')>('./waf/index.js', url), (m) => m.waf),
  lazyPlugin('rate-limit', rateLimitSchema, lazyModule<typeof import('./rate-limit/index.js')>('./rate-limit/index.js', url), (m) => m.rateLimit),
  lazyPlugin('concurrency-limit', concurrencyLimitSchema, lazyModule<typeof import('./concurrency-limit/index.js')>('./concurrency-limit/index.js', url), (m) => m.concurrencyLimit),
];

export function pluginSchemas(plugins: readonly PluginDefinition<never>[] = BUNDLED_PLUGINS) {
  return Object.fromEntries(plugins.map((p) => [p.name, p.configSchema]));
}
