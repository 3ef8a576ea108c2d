import { type Static, type TInteger, Type } from '@sinclair/typebox';
import { withDefault } from '../../plugins/schema-defaults.js';
import { HeaderOps, QueryOps } from '../../schemas/http-fields.js';
import { UpstreamTimeouts } from '../../schemas/timeouts.js';

const Rewrite = Type.Object(
  {
    stripPrefix: Type.Optional(Type.String({ pattern: '^/', description: 'Removed from the start of the forwarded path when present.' })),
    regex: Type.Optional(
      Type.Object(
        {
          pattern: Type.String({ minLength: 1, description: 'JavaScript regular expression matched against the path (checked for catastrophic backtracking).' }),
          replacement: Type.String({ description: 'Replacement; $1.. refer to capture groups.' }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

/**
 * A route's time limits override its upstream's key by key: an unset key keeps the upstream's value.
 * So, unlike `upstreams.*.timeouts`, no schema defaults here — compile applies schema defaults to an
 * integration's config (src/integrations/types.ts), and a filled-in `firstByteMs: 30000` would silently
 * replace the upstream's own setting.
 */
const inherited = (s: TInteger): TInteger => {
  const { default: _default, ...rest } = s;
  return { ...rest, description: (s.description ?? '').replace(/, default \d+\)$/, ", default: the upstream's)") } as TInteger;
};
const { connectMs, firstByteMs, totalMs, idleMs } = UpstreamTimeouts.properties;
const RouteTimeouts = Type.Object(
  {
    connectMs: Type.Optional(inherited(connectMs)),
    firstByteMs: Type.Optional(inherited(firstByteMs)),
    totalMs: Type.Optional(inherited(totalMs)),
    idleMs: Type.Optional(idleMs),
  },
  { additionalProperties: false, description: "This route's upstream time limits (docs/proxying.md#timeouts); an unset key keeps the upstream's." },
);

/** `type: http`: the config of the streaming proxy (src/integrations/http/definition.ts). */
export const HttpIntegrationSchema = Type.Object(
  {
    type: Type.Literal('http'),
    upstream: Type.Optional(Type.String({ minLength: 1, description: 'Name of an entry in `upstreams`.' })),
    url: Type.Optional(Type.String({ pattern: '^https?://', description: 'Shorthand for a one-target upstream: http(s)://host:port[/base-path].' })),
    path: Type.Optional(
      Type.String({ pattern: '^/', description: 'Template for the forwarded path, with the route\'s {params} (e.g. /v2/users/{id}); default: the request path.' }),
    ),
    rewrite: Type.Optional(Rewrite),
    requestHeaders: Type.Optional(HeaderOps),
    responseHeaders: Type.Optional(HeaderOps),
    query: Type.Optional(QueryOps),
    preserveHost: Type.Optional(withDefault(Type.Boolean({ description: 'Forward the client\'s Host header instead of the upstream\'s (default false).' }), false)),
    retryNonIdempotent: Type.Optional(
      Type.Boolean({ description: 'Overrides the upstream\'s retries.retryNonIdempotent for this route (e.g. true for a POST known to be idempotent).' }),
    ),
    timeouts: Type.Optional(RouteTimeouts),
  },
  { additionalProperties: false },
);

/**
 * The config as written (defaulted properties optional): what a translator such as the AWS front end
 * builds. create() receives `IntegrationConfig<typeof HttpIntegrationSchema>`, with the defaults applied.
 */
export type HttpIntegrationConfig = Static<typeof HttpIntegrationSchema>;
