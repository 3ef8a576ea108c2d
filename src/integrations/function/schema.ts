import { type Static, Type } from '@sinclair/typebox';

/** `type: function`: the config of a Lambda-style function call (src/integrations/function/definition.ts). */
export const FunctionIntegrationSchema = Type.Object(
  {
    type: Type.Literal('function'),
    function: Type.String({ minLength: 1, description: 'Name of an entry in `functions`.' }),
    apiType: Type.Optional(
      // No schema default: an absent apiType means "the API's apiType", which this schema cannot see.
      Type.Union([Type.Literal('http'), Type.Literal('rest')], {
        description:
          'Whose Lambda proxy semantics to follow: an AWS HTTP API or a REST API (events, error answers, binary rules). Default: the API\'s apiType (routes translated from an AWS document need none of their own), else http. Kept for native configs that set it per route.',
      }),
    ),
    payloadVersion: Type.Optional(
      Type.Union([Type.Literal('1.0'), Type.Literal('2.0')], { description: 'Event payload format; default 2.0 for http, 1.0 for rest (REST APIs only have 1.0).' }),
    ),
    timeoutMs: Type.Optional(
      Type.Integer({ minimum: 50, maximum: 900_000, description: 'Integration timeout (default 29000 for rest, 30000 for http, as AWS).' }),
    ),
    binaryMediaTypes: Type.Optional(Type.Array(Type.String(), { description: 'REST semantics: content types delivered base64-encoded.' })),
    stageVariables: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Passed as the event\'s stageVariables.' })),
  },
  { additionalProperties: false },
);

export type FunctionIntegrationConfig = Static<typeof FunctionIntegrationSchema>;
