import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const schema = Type.Object(
  {
    status: Type.Optional(withDefault(Type.Integer({ minimum: 100, maximum: 599, description: 'Status code (default 503).' }), 503)),
    message: Type.Optional(withDefault(Type.String({ description: 'Sent as {"message": ...} unless body is given.' }), 'Service Unavailable')),
    body: Type.Optional(Type.String({ description: 'Raw body, sent instead of the JSON message.' })),
    contentType: Type.Optional(withDefault(Type.String({ description: 'Content-Type of body.' }), 'application/json')),
  },
  { additionalProperties: false, description: 'Answers every request of its scope at once, without calling the integration (maintenance windows, retired routes).' },
);
export type RequestTerminationConfig = Static<typeof schema>;
