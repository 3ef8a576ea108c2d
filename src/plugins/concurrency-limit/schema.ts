import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const schema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Requests in flight at most on this route, per node (also with --workers N); the next one gets 503.' }),
    retryAfterSeconds: Type.Optional(withDefault(Type.Integer({ minimum: 0, maximum: 86_400, description: 'Value of the Retry-After header on a refusal (default 1).' }), 1)),
  },
  {
    additionalProperties: false,
    description: 'Concurrency limit: at most `max` requests in flight on the route; beyond it 503 {"message":"Service Unavailable"} with Retry-After. See docs/concurrency-limit.md.',
  },
);
export type ConcurrencyLimitConfig = Static<typeof schema>;
