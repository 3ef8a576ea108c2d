import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

export const Credential = Type.Object(
  {
    accessKeyId: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_+=.@-]+$', description: 'The access key id clients sign with (AKIA..., ASIA...).' }),
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${ENV_VAR} is the config interpolation syntax, not a template literal.
    secretAccessKey: Type.String({ minLength: 1, description: 'The secret access key. Write it as ${ENV_VAR}: the loader interpolates it; it is never logged.' }),
    sessionToken: Type.Optional(
      Type.String({ minLength: 1, description: 'For temporary credentials: requests must carry exactly this X-Amz-Security-Token (header or presigned query).' }),
    ),
    userArn: Type.String({ minLength: 1, description: 'requestContext.identity.userArn / authorizer.iam.userArn, e.g. arn:aws:iam::123456789012:user/alice.' }),
    accountId: Type.String({ pattern: '^[0-9]{12}$', description: 'The 12-digit account id of the caller (requestContext.identity.accountId).' }),
    caller: Type.Optional(
      Type.String({
        minLength: 1,
        description:
          'The IAM unique id AWS reports as identity.caller/user and iam.callerId/userId (AIDA... for a user, AROA...:session for a role). Defaults to the access key id.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const schema = Type.Object(
  {
    credentials: Type.Array(Credential, { minItems: 1, description: 'Access keys accepted for SigV4-signed requests and the identity each one stands for.' }),
    region: Type.Optional(withDefault(Type.String({ pattern: '^[a-z0-9-]+$', description: 'Region the credential scope must name.' }), 'us-east-1')),
    service: Type.Optional(withDefault(Type.String({ pattern: '^[a-z0-9-]+$', description: 'Service the credential scope must name.' }), 'execute-api')),
    maxSkewSec: Type.Optional(
      withDefault(Type.Integer({
        minimum: 1,
        maximum: 3600,
        description: 'How far the request time (X-Amz-Date or Date) may be from the gateway clock, in seconds. API Gateway allows 5 minutes.',
      }), 300),
    ),
    allowUnsignedPayload: Type.Optional(
      withDefault(Type.Boolean({
        description: 'Accept x-amz-content-sha256: UNSIGNED-PAYLOAD (the body is then NOT covered by the signature). Off by default.',
      }), false),
    ),
  },
  {
    additionalProperties: false,
    description: 'AWS_IAM authorization: verifies AWS Signature Version 4 (Authorization header or presigned URL) against the configured access keys; the caller reaches integrations as requestContext.identity / authorizer.iam.',
  },
);
export type AwsIamConfig = Static<typeof schema>;
export type AwsIamCredential = Static<typeof Credential>;
