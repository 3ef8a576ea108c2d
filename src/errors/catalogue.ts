/**
 * The one catalogue of coded errors the gateway answers with (DESIGN habit 2).
 * Tests assert on `code` and `status`, never on the prose of `message`.
 * Every error body is JSON: {"message": ..., "code": ..., "requestId": ...}.
 */
export const ERRORS = {
  ROUTE_NOT_FOUND: { status: 404, message: 'Not Found' },
  METHOD_NOT_ALLOWED: { status: 405, message: 'Method Not Allowed' },
  BAD_REQUEST: { status: 400, message: 'Bad Request' },
  BAD_PATH: { status: 400, message: 'Bad Request: invalid request path' },
  ENCODED_SLASH: { status: 400, message: 'Bad Request: encoded slash or backslash in path' },
  DUPLICATE_HOST: { status: 400, message: 'Bad Request: duplicate Host header' },
  BAD_HEADER: { status: 400, message: 'Bad Request: malformed header' },
  REQUEST_TIMEOUT: { status: 408, message: 'Request Timeout' },
  BODY_TOO_LARGE: { status: 413, message: 'Payload Too Large' },
  URI_TOO_LONG: { status: 414, message: 'URI Too Long' },
  HEADERS_TOO_LARGE: { status: 431, message: 'Request Header Fields Too Large' },
  TOO_MANY_HEADERS: { status: 431, message: 'Request Header Fields Too Large: too many headers' },
  INTERNAL_ERROR: { status: 500, message: 'Internal Server Error' },
  UPSTREAM_UNAVAILABLE: { status: 502, message: 'Bad Gateway: upstream connection failed' },
  UPSTREAM_BAD_RESPONSE: { status: 502, message: 'Bad Gateway: invalid response from upstream' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'Gateway Timeout' },
  WEBSOCKET_NOT_ALLOWED: { status: 400, message: 'Bad Request: WebSocket upgrade not allowed on this route' },
  IP_FORBIDDEN: { status: 403, message: 'Forbidden' },
  WAF_BLOCKED: { status: 403, message: 'Forbidden' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** An expected failure with a catalogue code; thrown by integrations, caught by the pipeline. */
export class GatewayError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  constructor(code: ErrorCode, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? ERRORS[code].message, options);
    this.code = code;
    this.status = ERRORS[code].status;
  }
}

/** Serialises an error body. JSON.stringify on the id guards against hostile ids (they are validated anyway). */
export function errorBody(code: ErrorCode, requestId: string): string {
  const e = ERRORS[code];
  return `{"message":${JSON.stringify(e.message)},"code":"${code}","requestId":${JSON.stringify(requestId)}}`;
}
