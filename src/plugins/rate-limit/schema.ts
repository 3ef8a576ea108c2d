import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

const Limit = Type.Object(
  {
    window: Type.Optional(
      Type.Union([Type.Literal('second'), Type.Literal('minute'), Type.Literal('hour'), Type.Literal('day')], {
        description: 'Sliding-window counter over this period (Kong semantics: the previous window weighted by its overlap plus the current one).',
      }),
    ),
    tokenBucket: Type.Optional(
      Type.Object(
        {
          rate: Type.Number({ minimum: 0, description: 'Tokens added per second (AWS throttling rate).' }),
          burst: Type.Integer({ minimum: 1, description: 'Bucket size (AWS throttling burst).' }),
        },
        { additionalProperties: false },
      ),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, description: 'Requests allowed per window (window limits only).' })),
  },
  { additionalProperties: false, description: 'Exactly one of `window` (with `limit`) or `tokenBucket`.' },
);

export const schema = Type.Object(
  {
    limits: Type.Array(Limit, { minItems: 1, description: 'Limits that stack: a request must pass every one.' }),
    key: Type.Optional(
      withDefault(Type.Array(Type.String({ pattern: '^(consumer|apiKey|ip|route|stage|header:[!#$%&\'*+.^_`|~0-9A-Za-z-]+)$' }), {
        minItems: 1,
        description: 'What is counted together: consumer, apiKey, ip, route, stage, header:NAME; several are combined.',
      }), ['ip']),
    ),
    policy: Type.Optional(withDefault(Type.Union([Type.Literal('local'), Type.Literal('redis')]), 'local')),
    redis: Type.Optional(
      Type.Object(
        {
          url: Type.String({ description: 'redis:// or rediss:// URL.' }),
          timeoutMs: Type.Optional(withDefault(Type.Integer({ minimum: 1, description: 'Per-call deadline.' }), 50)),
        },
        { additionalProperties: false },
      ),
    ),
    fallback: Type.Optional(
      withDefault(Type.Union([Type.Literal('local'), Type.Literal('reject')], { description: 'What happens when Redis is unreachable: count locally, or answer 503.' }), 'local'),
    ),
    headers: Type.Optional(withDefault(Type.Boolean({ description: 'Send RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.' }), true)),
  },
  { additionalProperties: false, description: 'Rate limiting: sliding windows and token buckets, local or in Redis. See docs/rate-limiting.md.' },
);
export type RateLimitConfig = Static<typeof schema>;
