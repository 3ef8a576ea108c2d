import { type Static, Type } from '@sinclair/typebox';
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
    preserveHost: Type.Optional(Type.Boolean({ default: false, description: 'Forward the client\'s Host header instead of the upstream\'s (default false).' })),
    retryNonIdempotent: Type.Optional(
      Type.Boolean({ description: 'Overrides the upstream\'s retries.retryNonIdempotent for this route (e.g. true for a POST known to be idempotent).' }),
    ),
    timeouts: Type.Optional(UpstreamTimeouts),
  },
  { additionalProperties: false },
);

export type HttpIntegrationConfig = Static<typeof HttpIntegrationSchema>;
