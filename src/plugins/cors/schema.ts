import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

/** An RFC 9110 token: a header or method name, or `*`. */
const TOKEN = '^[!#$%&\'*+.^_`|~0-9A-Za-z-]+$';

export const schema = Type.Object(
  {
    allowOrigins: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description:
          'Origins allowed to read responses (Access-Control-Allow-Origin): exact origins such as "https://app.example.com", "*" (any origin), "https://*" or "http://*" (any origin with that scheme, as AWS), or "https://*.example.com" (any subdomain; a Turnpike extension, AWS does not accept it). No path, no trailing slash.',
      }),
    ),
    allowMethods: Type.Optional(
      Type.Array(Type.String({ pattern: TOKEN }), { description: 'Methods a preflight may ask for (Access-Control-Allow-Methods), or "*" for any.' }),
    ),
    allowHeaders: Type.Optional(
      Type.Array(Type.String({ pattern: TOKEN }), { description: 'Request headers a preflight may ask for (Access-Control-Allow-Headers), case-insensitive, or "*" for any.' }),
    ),
    exposeHeaders: Type.Optional(
      Type.Array(Type.String({ pattern: TOKEN }), { description: 'Response headers scripts may read (Access-Control-Expose-Headers), or "*".' }),
    ),
    maxAge: Type.Optional(
      Type.Integer({ minimum: -1, maximum: 86400, description: 'Seconds a browser may cache a preflight answer (Access-Control-Max-Age); AWS accepts -1 to 86400. Not sent when unset.' }),
    ),
    allowCredentials: Type.Optional(
      withDefault(Type.Boolean({ description: 'Send Access-Control-Allow-Credentials: true. Not allowed together with the "*" origin (browsers refuse that combination).' }), false),
    ),
  },
  {
    additionalProperties: false,
    description:
      'CORS with AWS HTTP API corsConfiguration semantics: answers preflight requests itself and adds Access-Control-* headers to every answer of the route (errors included), replacing the integration\'s own.',
  },
);
export type CorsConfig = Static<typeof schema>;
