// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${stageVariables.x} is AWS syntax, not a template literal.
/**
 * Lambda function references in integration and authorizer URIs.
 *
 * Two forms (https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-swagger-extensions-integration.html,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-open-api.html):
 *   arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/FUNCTION_ARN/invocations
 *   arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]        (HTTP APIs accept the bare ARN)
 * Any part may be a stage variable (`${stageVariables.fn}`), including the whole function ARN
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/amazon-api-gateway-using-stage-variables.html).
 * Partitions other than `aws` (aws-cn, aws-us-gov) are accepted.
 */
import type { LambdaFunctionRef } from './types.js';

const INVOKE = /^arn:aws[a-z-]*:apigateway:([^:]*):lambda:path\/[0-9-]+\/functions\/(.+)\/invocations$/;
// Stage variable references contain no ':' so splitting the ARN on ':' is safe.
const FUNCTION_ARN = /^arn:aws[a-z-]*:lambda:([^:]*):([^:]*):function:([^:]+)(?::([^:]+))?$/;

/** The Lambda function an integration URI invokes, or undefined when it is not a Lambda URI. */
export function parseLambdaUri(uri: string): LambdaFunctionRef | undefined {
  const invoke = INVOKE.exec(uri);
  if (invoke) {
    const inner = invoke[2] as string;
    const fn = parseFunctionArn(inner);
    if (fn) return fn.region === undefined && invoke[1] ? { ...fn, region: invoke[1] } : fn;
    // `functions/${stageVariables.fn}/invocations`: the whole ARN (or a bare name) comes from a stage variable.
    if (inner.includes(':') && !/^\$\{stageVariables\.[A-Za-z0-9_]+\}$/.test(inner)) return undefined;
    return invoke[1] ? { name: inner, region: invoke[1] } : { name: inner };
  }
  return parseFunctionArn(uri);
}

/** True for `arn:...:apigateway:REGION:SERVICE:...` URIs of AWS service integrations other than Lambda. */
export function isAwsServiceUri(uri: string): boolean {
  return /^arn:aws[a-z-]*:apigateway:[^:]*:[^:]+:/.test(uri) && !INVOKE.test(uri);
}

function parseFunctionArn(arn: string): LambdaFunctionRef | undefined {
  const m = FUNCTION_ARN.exec(arn);
  if (!m) return undefined;
  const out: LambdaFunctionRef = { name: m[3] as string };
  if (m[1]) out.region = m[1];
  if (m[2]) out.accountId = m[2];
  if (m[4]) out.qualifier = m[4];
  return out;
}
