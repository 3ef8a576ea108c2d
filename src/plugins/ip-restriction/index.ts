/**
 * ip-restriction: allow and deny lists of CIDRs, decided on ctx.clientIp (the address resolved through
 * server.trustedProxies only, see src/server/request-scan.ts). Deny wins; when `allow` is set, anything
 * not in it is refused; an address that cannot be parsed is refused whenever a list is set (fail closed).
 * The lists are node:net BlockLists built once in create(), with a bounded per-address answer cache
 * (CidrSet): a returning client costs two Map lookups.
 */
import { type Denial, denial } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { PluginDefinition } from '../../pipeline/types.js';
import { CidrSet, buildCidrList, isAddress } from './cidr.js';
import { schema } from './schema.js';

const IP_FORBIDDEN = denial('IP_FORBIDDEN');

export type { IpRestrictionConfig } from './schema.js';


export const ipRestriction: PluginDefinition<typeof schema> = {
  name: 'ip-restriction',
  priority: 3000,
  phases: ['onRequest'],
  description: 'Allows or refuses clients by IPv4/IPv6 CIDR (client address resolved through trusted proxies only).',
  configSchema: schema,
  create(config, deps) {
    const problems: { path: (string | number)[]; message: string }[] = [];
    const build = (key: 'allow' | 'deny') => {
      const entries = config[key];
      if (entries === undefined) return undefined;
      const { list, problems: p } = buildCidrList(entries);
      for (const x of p) problems.push({ path: [key, x.index], message: x.message });
      return new CidrSet(list);
    };
    const allow = build('allow');
    const deny = build('deny');
    if (config.allow !== undefined && config.allow.length === 0)
      problems.push({ path: ['allow'], message: 'an empty "allow" list refuses every client: list the allowed CIDRs, or use request-termination to close the route' });
    if (allow === undefined && deny === undefined) problems.push({ path: [], message: 'give "allow", "deny" or both' });
    if (problems.length > 0) throw Object.assign(new Error(problems.map((p) => p.message).join('; ')), { problems });

    const logger = deps.logger;
    const forbidden = (ctx: RequestContext, why: string): Denial => {
      if (logger.isLevelEnabled('debug')) logger.debug({ requestId: ctx.id, clientIp: ctx.clientIp, why }, 'ip-restriction refused the client');
      return IP_FORBIDDEN;
    };
    return {
      onRequest(ctx) {
        const ip = ctx.clientIp;
        if (deny?.has(ip)) return forbidden(ctx, 'deny');
        if (allow !== undefined && !allow.has(ip)) return forbidden(ctx, isAddress(ip) ? 'not allowed' : 'no client address');
        if (allow === undefined && !isAddress(ip)) return forbidden(ctx, 'no client address');
        return undefined;
      },
    };
  },
};
