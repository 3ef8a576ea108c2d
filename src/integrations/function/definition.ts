import { IntegrationConfigError, type IntegrationDefinition } from '../types.js';
import { FunctionIntegration } from './index.js';
import { FunctionIntegrationSchema as FunctionSchema } from './schema.js';

/** `type: function`: a Lambda-style function of the config, with AWS's proxy events (1.0 / 2.0). */
export const functionIntegration: IntegrationDefinition<typeof FunctionSchema> = {
  type: 'function',
  description: 'Invokes a Lambda-style function with an API Gateway proxy event and maps its answer.',
  configSchema: FunctionSchema,
  create(config, deps) {
    // The Lambda proxy flavour follows the route's API (its apiType) unless set here.
    const ic = { ...config, apiType: config.apiType ?? deps.route.apiKind ?? 'http' };
    if (ic.apiType === 'rest' && ic.payloadVersion === '2.0') throw new IntegrationConfigError([{ path: ['payloadVersion'], message: 'REST APIs only have payload format 1.0' }]);
    const invoker = deps.invoker(ic.function);
    // An unknown function was already reported by the function lookup, at integration.function.
    if (!invoker) throw new IntegrationConfigError([]);
    return {
      integration: new FunctionIntegration(ic, {
        functionName: ic.function,
        invoker,
        routePath: deps.route.resourcePath ?? deps.route.path,
        routeMethods: deps.route.methods,
        apiName: deps.route.api,
        logger: deps.logger,
        ...(deps.route.stage !== undefined ? { stage: deps.route.stage } : {}),
      }),
    };
  },
};
