/** Shows the early-answer contract: an onRequest hook that returns a response. */
import { type ErrorCode, denial } from '../../errors/catalogue.js';
import type { EarlyResponse, PluginDefinition } from '../../pipeline/types.js';
import { schema } from './schema.js';

export const requestTermination: PluginDefinition<typeof schema> = {
  name: 'request-termination',
  priority: 10,
  phases: ['onRequest'],
  description: 'Answers with a fixed response without calling the integration.',
  configSchema: schema,
  create(config) {
    if (config.code !== undefined) {
      // A coded refusal: rendered by the route's error dialect like any other denial.
      const refusal = denial(config.code as ErrorCode);
      return { onRequest: () => refusal };
    }
    const answer: EarlyResponse = Object.freeze({
      status: config.status,
      headers: { 'content-type': config.body !== undefined ? config.contentType : 'application/json' },
      body: config.body ?? JSON.stringify({ message: config.message }),
    });
    return { onRequest: () => answer };
  },
};
