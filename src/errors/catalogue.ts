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
  UPSTREAM_RESPONSE_TOO_LARGE: { status: 502, message: 'Bad Gateway: upstream response too large' },
  SERVICE_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
  UPSTREAM_TIMEOUT: { status: 504, message: 'Gateway Timeout' },
  WEBSOCKET_NOT_ALLOWED: { status: 400, message: 'Bad Request: WebSocket upgrade not allowed on this route' },
  IP_FORBIDDEN: { status: 403, message: 'Forbidden' },
  WAF_BLOCKED: { status: 403, message: 'Forbidden' },
  // Denials a plugin returns (rendered in the route's dialect: native JSON, or the API's AWS gateway responses).
  UNAUTHORIZED: { status: 401, message: 'Unauthorized' },
  ACCESS_DENIED: { status: 403, message: 'Forbidden' },
  MISSING_AUTHENTICATION: { status: 403, message: 'Forbidden: missing authentication' },
  INVALID_SIGNATURE: { status: 403, message: 'Forbidden: invalid request signature' },
  SIGNATURE_EXPIRED: { status: 403, message: 'Forbidden: request signature expired' },
  INVALID_API_KEY: { status: 403, message: 'Forbidden' },
  THROTTLED: { status: 429, message: 'Too Many Requests' },
  QUOTA_EXCEEDED: { status: 429, message: 'Too Many Requests: quota exceeded' },
  CONCURRENCY_LIMITED: { status: 503, message: 'Service Unavailable: too many requests in progress' },
  // Listener-level overload answers (src/server/overload.ts), before any route is matched.
  OVERLOADED: { status: 503, message: 'Service Unavailable: the gateway is overloaded, retry later' },
  CLIENT_REQUEST_LIMIT: { status: 429, message: 'Too Many Requests: too many requests in progress from this address' },
  // The admin listener's Host allow-list (src/admin/host.ts): 421 Misdirected Request, RFC 9110 §15.5.20.
  ADMIN_HOST_NOT_ALLOWED: { status: 421, message: 'Misdirected Request: this Host is not served by the admin listener' },
  COUNTERS_UNAVAILABLE: { status: 503, message: 'Service Unavailable' },
  BAD_REQUEST_BODY: { status: 400, message: 'Bad Request: invalid request body' },
  BAD_REQUEST_PARAMETERS: { status: 400, message: 'Bad Request: missing required request parameters' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported Media Type' },
  AUTHORIZER_FAILURE: { status: 500, message: 'Internal Server Error: the authorizer failed' },
  AUTHORIZER_CONFIGURATION_ERROR: { status: 500, message: 'Internal Server Error: the authorizer is misconfigured' },
  /** The route needs a security construct or part the gateway cannot enforce or serve: it refuses (fails closed). */
  ROUTE_MISCONFIGURED: { status: 500, message: 'Internal Server Error: this route cannot be served as configured' },
  /** A mapping template did not render within server.limits.templateRenderMs (AWS routes answer their 500 gateway response). */
  TEMPLATE_BUDGET_EXCEEDED: { status: 500, message: 'Internal Server Error: the mapping template took too long' },
  // The Admin API's answers (src/admin): the same body shape, with the detail in `message`.
  RESOURCE_NOT_FOUND: { status: 404, message: 'Not Found' },
  CONFLICT: { status: 409, message: 'Conflict' },
  PRECONDITION_FAILED: { status: 412, message: 'Precondition Failed' },
  /** A change that would leave the whole config invalid; the body lists every diagnostic. */
  CONFIG_REJECTED: { status: 400, message: 'Bad Request: the resulting configuration is invalid' },
  /** A write to a config store that cannot be written (a file-backed store serving a read-only file). */
  CONFIG_READ_ONLY: { status: 405, message: 'Method Not Allowed: the config store is read-only' },
  /** The config store (PostgreSQL) cannot be reached; retry after Retry-After. */
  STORE_UNAVAILABLE: { status: 503, message: 'Service Unavailable: the config store cannot be reached' },
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

/**
 * What a request-phase hook returns to refuse a request: a catalogue code, rendered by the route's
 * error dialect (native JSON `{message, code, requestId}`, or the API's AWS gateway responses).
 * Plugins never build error bodies themselves, so one API's customised answers apply to every refusal.
 */
export interface Denial {
  readonly deny: ErrorCode;
  /** Replaces the code's default message (e.g. an authorizer's explicit-deny text; AWS's $context.error.message). */
  readonly message?: string;
  /** Extra response headers: WWW-Authenticate, Retry-After, RateLimit-*. */
  readonly headers?: Readonly<Record<string, string>>;
  /** Validation details (AWS's $context.error.validationErrorString). */
  readonly validationError?: string;
  /**
   * For dialects with typed answers (AWS): the status this failure has when the API does not
   * customise its type's status (a malformed Lambda answer is 502 under INTEGRATION_FAILURE, not 504).
   */
  readonly status?: number;
  /** A finer name for the failure than its code, where a dialect has one (AWS REST: x-amzn-ErrorType, e.g. IncompleteSignatureException). */
  readonly errorType?: string;
}

/** A frozen denial, for hooks that refuse the same way every time (no allocation per request). */
export function denial(code: ErrorCode, extra?: Omit<Denial, 'deny'>): Denial {
  return Object.freeze({ deny: code, ...extra });
}

export function isDenial(v: unknown): v is Denial {
  return typeof v === 'object' && v !== null && typeof (v as { deny?: unknown }).deny === 'string';
}

/** Serialises an error body. JSON.stringify on the id guards against hostile ids (they are validated anyway). */
export function errorBody(code: ErrorCode, requestId: string, message?: string): string {
  return `{"message":${JSON.stringify(message ?? ERRORS[code].message)},"code":"${code}","requestId":${JSON.stringify(requestId)}}`;
}
