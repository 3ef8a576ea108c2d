/**
 * The example plugin (docs/plugins.md walks through it): one response-phase hook, config compiled
 * once in create(), nothing done per request but the header edits themselves.
 */
import type { PluginDefinition } from '../../pipeline/types.js';
import { schema } from './schema.js';

export const responseHeaders: PluginDefinition<typeof schema> = {
  name: 'response-headers',
  priority: 100,
  phases: ['transformResponse'],
  description: 'Sets, adds or removes response headers.',
  configSchema: schema,
  create(config) {
    const remove = (config.remove ?? []).map((n) => n.toLowerCase());
    const set = Object.entries(config.set ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
    const add = Object.entries(config.add ?? {}).map(([k, v]) => [k.toLowerCase(), v] as const);
    return {
      transformResponse(ctx) {
        const h = ctx.response.headers;
        for (const n of remove) h.delete(n);
        for (const [k, v] of set) h.set(k, v);
        for (const [k, v] of add) h.append(k, v);
      },
    };
  },
};
