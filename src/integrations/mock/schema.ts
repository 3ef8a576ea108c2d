import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../../plugins/schema-defaults.js';
import { HEADER_NAME, HEADER_VALUE } from '../../schemas/http-fields.js';

/** `type: mock`: the config of a fixed answer (src/integrations/mock/definition.ts). */
export const MockIntegrationSchema = Type.Object(
  {
    type: Type.Literal('mock'),
    status: Type.Optional(withDefault(Type.Integer({ minimum: 100, maximum: 599, description: 'Status code (default 200).' }), 200)),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: HEADER_VALUE }), { description: 'Response headers.' }),
    ),
    body: Type.Optional(Type.Unknown({ description: 'Response body: a string is sent as is; anything else as JSON.' })),
  },
  { additionalProperties: false },
);

/** The config as written (defaulted properties optional); create() receives `IntegrationConfig<typeof MockIntegrationSchema>`. */
export type MockIntegrationConfig = Static<typeof MockIntegrationSchema>;
