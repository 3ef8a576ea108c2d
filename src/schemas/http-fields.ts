/**
 * Schemas of HTTP message parts that several config sections share (the http and mock integrations,
 * the config's own sections). They live outside src/config so that the request path can build on
 * them without importing config code (docs/architecture.md, "Import boundaries").
 */
import { type Static, Type } from '@sinclair/typebox';

/** RFC 9110 §5.1 token, and a field value without CR, LF or NUL. */
export const HEADER_NAME = '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$';
export const HEADER_VALUE = '^[^\\r\\n\\u0000]*$';

export const HeaderOps = Type.Object(
  {
    add: Type.Optional(
      Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: HEADER_VALUE }), {
        description: 'Headers appended (an existing header of the same name is kept).',
      }),
    ),
    set: Type.Optional(
      Type.Record(Type.String({ pattern: HEADER_NAME }), Type.String({ pattern: HEADER_VALUE }), {
        description: 'Headers set, replacing any existing value.',
      }),
    ),
    remove: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Header names removed.' })),
  },
  { additionalProperties: false },
);

export const QueryOps = Type.Object(
  {
    add: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'Query parameters appended.' })),
    set: Type.Optional(Type.Record(Type.String({ minLength: 1 }), Type.String(), { description: 'Query parameters set, replacing existing ones.' })),
    remove: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Query parameter names removed.' })),
  },
  { additionalProperties: false },
);

export type HeaderOpsConfig = Static<typeof HeaderOps>;
export type QueryOpsConfig = Static<typeof QueryOps>;
