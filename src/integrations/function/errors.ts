// The answers AWS API Gateway sends when a Lambda proxy integration fails, for REST and HTTP APIs.
// Evidence per row: docs/lambda-events.md ("Error answers"). Bodies are byte-exact as AWS sends them
// (REST's default gateway responses carry a space after the colon, HTTP APIs' do not).

import type { ApiType } from './events.js';
import type { ProxyAnswer } from './responses.js';

export type FunctionFailure =
  /** The result is not a valid proxy response (wrong shape, bad statusCode, extra key on REST...). */
  | 'malformedResponse'
  /** The handler threw / rejected, or returned a Lambda error payload (unhandled function error). */
  | 'functionError'
  /** The function ran longer than its own timeout (Lambda reports it as a function error). */
  | 'functionTimeout'
  /** API Gateway's integration timeout elapsed first (REST 29 s default, HTTP API 30 s max). */
  | 'integrationTimeout'
  /** The function does not exist (the Lambda Invoke call is rejected). */
  | 'functionNotFound'
  /** Concurrency limit reached (Lambda Invoke answers 429 TooManyRequestsException). */
  | 'throttled';

export interface ErrorAnswer {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

interface Row {
  status: number;
  body: string;
}

const REST_INTERNAL_500: Row = { status: 500, body: '{"message": "Internal server error"}' };
const REST_INTERNAL_502: Row = { status: 502, body: '{"message": "Internal server error"}' };
const HTTP_INTERNAL_500: Row = { status: 500, body: '{"message":"Internal Server Error"}' };

export const LAMBDA_ERROR_ANSWERS: Readonly<Record<ApiType, Readonly<Record<FunctionFailure, Row>>>> = {
  rest: {
    // Recorded: wrong-format, multi-headers-invalid, invalid-status-code, just-string -> 502.
    malformedResponse: REST_INTERNAL_502,
    // Recorded: empty-response (the handler raised) -> 502. Lambda docs: function error -> 502.
    functionError: REST_INTERNAL_502,
    functionTimeout: REST_INTERNAL_502,
    // Default INTEGRATION_TIMEOUT gateway response.
    integrationTimeout: { status: 504, body: '{"message": "Endpoint request timed out"}' },
    // Lambda docs: "If the Lambda API rejects the invocation request, API Gateway returns a 500".
    functionNotFound: REST_INTERNAL_500,
    throttled: REST_INTERNAL_500,
  },
  http: {
    // localstack aws-validated v1/v2 response-format tests: every failure -> 500.
    malformedResponse: HTTP_INTERNAL_500,
    functionError: HTTP_INTERNAL_500,
    functionTimeout: HTTP_INTERNAL_500,
    integrationTimeout: { status: 503, body: '{"message":"Service Unavailable"}' },
    functionNotFound: HTTP_INTERNAL_500,
    throttled: HTTP_INTERNAL_500,
  },
};

/** REST default gateway responses name the error type; HTTP APIs do not. */
const REST_ERROR_TYPE: Readonly<Record<FunctionFailure, string>> = {
  malformedResponse: 'InternalServerErrorException',
  functionError: 'InternalServerErrorException',
  functionTimeout: 'InternalServerErrorException',
  integrationTimeout: 'InternalServerErrorException',
  functionNotFound: 'InternalServerErrorException',
  throttled: 'InternalServerErrorException',
};

/** The answer for a failure. Gateway-wide headers (request ids, Date...) are the caller's business. */
export function lambdaErrorAnswer(failure: FunctionFailure, apiType: ApiType): ErrorAnswer {
  const row = LAMBDA_ERROR_ANSWERS[apiType][failure];
  const headers: [string, string][] =
    apiType === 'rest'
      ? [
          ['Content-Type', 'application/json'],
          ['x-amzn-ErrorType', REST_ERROR_TYPE[failure]],
        ]
      : [['Content-Type', 'application/json']];
  return { status: row.status, headers, body: Buffer.from(row.body, 'utf8') };
}

/** Turns a failed readResponseV1/V2 into the answer AWS sends; a successful answer passes through. */
export function finishProxyAnswer(answer: ProxyAnswer, apiType: ApiType): ErrorAnswer {
  if (answer.ok) return { status: answer.status, headers: answer.headers, body: answer.body };
  return lambdaErrorAnswer(answer.kind === 'functionError' ? 'functionError' : 'malformedResponse', apiType);
}
