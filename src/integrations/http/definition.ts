import type { ResponseHook } from '../../pipeline/types.js';
import { regexProblem } from '../../util/regex-safety.js';
import { IntegrationConfigError, type IntegrationDefinition, type IntegrationProblem } from '../types.js';
import { compileHeaderOps, HttpIntegration } from './index.js';
import { HttpIntegrationSchema } from './schema.js';

/** `type: http`: the streaming proxy to a named upstream (pools, balancing, retries) or a URL. */
export const httpIntegration: IntegrationDefinition<typeof HttpIntegrationSchema> = {
  type: 'http',
  description: 'Proxies the request to an upstream (a named pool or a URL), streaming both ways.',
  configSchema: HttpIntegrationSchema,
  create(ic, deps) {
    const problems: IntegrationProblem[] = [];
    let up: import('../../upstream/upstream.js').Upstream | undefined;
    if (ic.upstream !== undefined && ic.url !== undefined) problems.push({ path: [], message: 'give either "upstream" or "url", not both' });
    else if (ic.upstream !== undefined) {
      up = deps.upstream(ic.upstream);
      if (!up) {
        const known = deps.upstreamNames();
        problems.push({ path: ['upstream'], message: `unknown upstream "${ic.upstream}"${known.length ? `; defined: ${known.join(', ')}` : '; define it under "upstreams"'}` });
      } else if (ic.timeouts?.connectMs !== undefined && ic.timeouts.connectMs !== up.timeouts.connectMs) {
        // The connect deadline belongs to the connection, and the upstream's connections are shared by its routes.
        deps.warn(
          ['timeouts', 'connectMs'],
          `connectMs applies per upstream (its connections are shared by every route): this route's ${ic.timeouts.connectMs} is ignored, upstream "${ic.upstream}" connects within ${up.timeouts.connectMs} ms; set it under upstreams.${ic.upstream}.timeouts`,
        );
      }
    } else if (ic.url === undefined) problems.push({ path: [], message: 'an http integration needs "upstream" (a name from upstreams) or "url"' });
    if (ic.rewrite?.regex) {
      const problem = regexProblem(ic.rewrite.regex.pattern);
      if (problem) problems.push({ path: ['rewrite', 'regex', 'pattern'], message: problem });
    }
    const routePath = deps.route.path;
    if (ic.path !== undefined && routePath !== '$default') {
      const declared = new Set([...routePath.matchAll(/\{([^}+]+)\+?\}/g)].map((m) => m[1]));
      for (const m of ic.path.matchAll(/\{([^}+]+)\+?\}/g)) {
        if (!declared.has(m[1])) problems.push({ path: ['path'], message: `parameter {${m[1]}} is not in the route path ${routePath}` });
      }
    }
    if (problems.length > 0) throw new IntegrationConfigError(problems);
    // A private upstream only once the config is known to be good (it opens a pool). The route's
    // timeouts are its own upstream's: connectMs included (it is the pool's).
    up ??= deps.createUpstream(ic.url as string, ic.timeouts);
    const responseHooks: ResponseHook[] = [];
    const ops = compileHeaderOps(ic.responseHeaders);
    if (ops) responseHooks.push((ctx) => ops(ctx.response.headers));
    return { integration: new HttpIntegration(ic, up, routePath, deps.route.maxBodyBytes), responseHooks };
  },
};
