import { type Static, Type } from '@sinclair/typebox';

export const schema = Type.Object(
  {
    set: Type.Optional(Type.Record(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), Type.String(), { description: 'Headers set on every response, replacing any value.' })),
    add: Type.Optional(Type.Record(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$' }), Type.String(), { description: 'Headers appended to every response.' })),
    remove: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Header names removed from every response.' })),
  },
  { additionalProperties: false, description: 'Sets, adds or removes response headers (runs on every answer, errors included).' },
);
export type ResponseHeadersConfig = Static<typeof schema>;
