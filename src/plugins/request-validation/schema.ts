import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const Parameter = Type.Object(
  {
    in: Type.Union([Type.Literal('header'), Type.Literal('query'), Type.Literal('path')], { description: 'Where the parameter is: a header (any case), a query parameter (its last value), a path parameter.' }),
    name: Type.String({ minLength: 1, maxLength: 256 }),
  },
  { additionalProperties: false },
);

export const schema = Type.Object(
  {
    parameters: Type.Optional(
      Type.Array(Parameter, {
        maxItems: 200,
        description: 'Required parameters: each must be present and not blank, else 400 BAD_REQUEST_PARAMETERS listing every missing name, in this order.',
      }),
    ),
    body: Type.Optional(
      Type.Object(
        {
          schemas: Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), {
            description:
              'JSON Schema per media type of the request (Content-Type without parameters; application/json when absent); "$default" for any other. A media type with no schema and no "$default" is not checked.',
          }),
          dialect: Type.Optional(
            withDefault(Type.Union([Type.Literal('draft-04'), Type.Literal('draft-07')], {
              description: 'JSON Schema version of the schemas. draft-04 is what AWS API Gateway models use (keywords of later drafts are ignored).',
            }), 'draft-07'),
          ),
          models: Type.Optional(
            Type.Record(Type.String({ minLength: 1 }), Type.Unknown(), {
              description: 'Named schemas that "$ref": "#/models/NAME" (also #/definitions/NAME, #/components/schemas/NAME) points to.',
            }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Validates required parameters, then the JSON body against a schema (400 BAD_REQUEST_PARAMETERS / BAD_REQUEST_BODY). Runs in transformRequest: after every authentication, authorization and limit check, so an unauthenticated caller never learns the schema.',
  },
);
export type RequestValidationConfig = Static<typeof schema>;
