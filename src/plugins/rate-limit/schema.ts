import { type Static, Type } from '@sinclair/typebox';

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
      Type.Array(Type.String({ pattern: '^(consumer|apiKey|ip|route|stage|header:[!#$%&\'*+.^_`|~0-9A-Za-z-]+)$' }), {
        minItems: 1,
        default: ['ip'],
        description: 'What is counted together: consumer, apiKey, ip, route, stage, header:NAME; several are combined.',
      }),
    ),
    policy: Type.Optional(Type.Union([Type.Literal('local'), Type.Literal('redis')], { default: 'local' })),
    redis: Type.Optional(
      Type.Object(
        {
          url: Type.String({ description: 'redis:// or rediss:// URL.' }),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 1, default: 50, description: 'Per-call deadline.' })),
        },
        { additionalProperties: false },
      ),
    ),
    fallback: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('reject')], { default: 'local', description: 'What happens when Redis is unreachable: count locally, or answer 503.' }),
    ),
    headers: Type.Optional(Type.Boolean({ default: true, description: 'Send RateLimit-Limit, RateLimit-Remaining and RateLimit-Reset.' })),
  },
  { additionalProperties: false, description: 'Rate limiting: sliding windows and token buckets, local or in Redis. See docs/rate-limiting.md.' },
);
export type RateLimitConfig = Static<typeof schema>;
