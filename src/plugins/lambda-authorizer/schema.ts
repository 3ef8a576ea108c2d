import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const schema = Type.Object(
  {
    function: Type.String({ minLength: 1, description: 'Name of the authorizer function in the top-level `functions` map.' }),
    format: Type.Optional(
      withDefault(
        Type.Union([Type.Literal('token'), Type.Literal('request'), Type.Literal('1.0'), Type.Literal('2.0')], {
          description:
            'The event the function gets and the answer it must give. token: {type: TOKEN, authorizationToken, methodArn} (one header); request: the request-shaped payload 1.0 event with type and methodArn (path parameters as received); 1.0 / 2.0: authorizer payload format 1.0 or 2.0 (identitySource, routeArn for 2.0; path parameters decoded). token and request answers need a principalId and scalar context values; 1.0 / 2.0 answers may omit principalId and nest context. Default token. (AWS: REST TOKEN and REQUEST authorizers; HTTP API authorizerPayloadFormatVersion.)',
        }),
        'token',
      ),
    ),
    simpleResponses: Type.Optional(
      withDefault(Type.Boolean({ description: 'format 2.0: the function answers {isAuthorized, context} instead of an IAM policy (enableSimpleResponses). Default false.' }), false),
    ),
    identitySource: Type.Optional(
      Type.Union([Type.String({ minLength: 1 }), Type.Array(Type.String({ minLength: 1 }))], {
        description:
          'Where the identity comes from: format token: one header (method.request.header.Authorization, the default). Other formats: a list (or comma-separated string) of method.request.header.X, method.request.querystring.Y, context.X, stageVariables.X (REST) or $request.header.X, $request.querystring.Y, $context.X, $stageVariables.X (default $request.header.Authorization for 1.0 and 2.0). A missing or empty source answers 401 without calling the function; the values are the cache key. An empty list (formats other than token) calls the function for every request and needs resultTtlSeconds: 0.',
      }),
    ),
    identityValidationExpression: Type.Optional(
      Type.String({ description: 'format token: a regular expression the whole token must match, or 401 without calling the function. Checked against catastrophic backtracking at load. An empty string means no validation (as AWS).' }),
    ),
    resultTtlSeconds: Type.Optional(
      withDefault(Type.Integer({ minimum: 0, maximum: 3600, description: 'How long a result (the policy, or the simple response) is cached per identity; 0 disables caching. Default 300, at most 3600 (as AWS).' }), 300),
    ),
    region: Type.Optional(withDefault(Type.String({ pattern: '^[a-z0-9-]+$', description: 'Region in the method ARN. Default us-east-1.' }), 'us-east-1')),
    accountId: Type.Optional(withDefault(Type.String({ pattern: '^[0-9]{12}$', description: 'Account id in the method ARN. Default 000000000000.' }), '000000000000')),
    apiId: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_.-]+$', description: 'API id in the method ARN. Default: the name of the API the route belongs to.' })),
    stage: Type.Optional(withDefault(Type.String({ pattern: '^(\\$default|[A-Za-z0-9_-]+)$', description: 'Stage in the method ARN and the event. Default $default.' }), '$default')),
    basePath: Type.Optional(
      Type.String({ pattern: '^/', description: 'A prefix of the request path that is not part of the resource path in the ARN (e.g. "/dev" for a REST stage served at /dev/...).' }),
    ),
    stageVariables: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Stage variables: the event\'s stageVariables and the stageVariables.X identity sources.' })),
    timeoutMs: Type.Optional(
      withDefault(Type.Integer({ minimum: 50, maximum: 900_000, description: 'Longest wait for the authorizer function (its own timeout applies too); exceeded answers 500. Default 29000.' }), 29_000),
    ),
    cacheSize: Type.Optional(
      withDefault(Type.Integer({ minimum: 1, maximum: 1_000_000, description: 'Most cached identities per authorizer; the oldest entry is dropped first. Default 10000.' }), 10_000),
    ),
  },
  {
    additionalProperties: false,
    description:
      'Lambda (custom) authorizer with API Gateway semantics: calls a function of `functions` with a token, request, 1.0 or 2.0 authorizer event, evaluates the returned IAM policy (or simple response) against each request\'s method ARN, caches the result per identity, and passes principalId and context to the integration.',
  },
);
export type LambdaAuthorizerConfig = Static<typeof schema>;
