import { type Static, Type } from '@sinclair/typebox';
import { ERRORS } from '../../errors/catalogue.js';
import { withDefault } from '../schema-defaults.js';

export const schema = Type.Object(
  {
    status: Type.Optional(withDefault(Type.Integer({ minimum: 100, maximum: 599, description: 'Status code (default 503).' }), 503)),
    message: Type.Optional(withDefault(Type.String({ description: 'Sent as {"message": ...} unless body is given.' }), 'Service Unavailable')),
    body: Type.Optional(Type.String({ description: 'Raw body, sent instead of the JSON message.' })),
    contentType: Type.Optional(withDefault(Type.String({ description: 'Content-Type of body.' }), 'application/json')),
    code: Type.Optional(
      Type.Union(
        Object.keys(ERRORS).map((c) => Type.Literal(c)),
        {
          description:
            'Refuse with this error-catalogue code instead (docs/errors.md): the API\'s error dialect renders it (native JSON with code and request id, or the AWS gateway response of its type); status, message and body are then not used. E.g. ROUTE_NOT_FOUND for a retired route.',
        },
      ),
    ),
  },
  { additionalProperties: false, description: 'Answers every request of its scope at once, without calling the integration (maintenance windows, retired routes).' },
);
export type RequestTerminationConfig = Static<typeof schema>;
