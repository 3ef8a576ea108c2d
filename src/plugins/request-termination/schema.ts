import { type Static, Type } from '@sinclair/typebox';

export const schema = Type.Object(
  {
    status: Type.Optional(Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'Status code (default 503).' })),
    message: Type.Optional(Type.String({ default: 'Service Unavailable', description: 'Sent as {"message": ...} unless body is given.' })),
    body: Type.Optional(Type.String({ description: 'Raw body, sent instead of the JSON message.' })),
    contentType: Type.Optional(Type.String({ default: 'application/json', description: 'Content-Type of body.' })),
  },
  { additionalProperties: false, description: 'Answers every request of its scope at once, without calling the integration (maintenance windows, retired routes).' },
);
export type RequestTerminationConfig = Static<typeof schema>;
