import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const schema = Type.Object(
  {
    source: Type.Optional(
      withDefault(Type.Union([Type.Literal('HEADER'), Type.Literal('AUTHORIZER')], {
        description:
          'Where the key comes from, as AWS\'s apiKeySource: HEADER reads the x-api-key request header (default); AUTHORIZER reads `usageIdentifierKey` that an authorizer plugin (running earlier in the authenticate phase) left on ctx.principal.',
      }), 'HEADER'),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Requires an API key from `apiKeys` (403 {"message":"Forbidden"} without a valid one) and enforces the throttle and quota of the key\'s usage plan for this API/stage (429). See docs/api-keys.md.',
  },
);
export type ApiKeyPluginConfig = Static<typeof schema>;
