/**
 * The native configuration schema: the single source of truth for types, defaults,
 * validation and the published JSON Schema (schema/turnpike.schema.json).
 * Descriptions here become the reference docs, so they say what a key does and its default.
 * Each integration's config schema lives in its own folder (src/integrations/<type>/schema.ts) and the
 * pieces shared with them in src/schemas/, so the request path builds on them without importing
 * config code; this module assembles them into the whole.
 */
import { type Static, type TObject, type TSchema, Type } from '@sinclair/typebox';
import { FunctionIntegrationSchema } from '../integrations/function/schema.js';
import { HttpIntegrationSchema } from '../integrations/http/schema.js';
import { MockIntegrationSchema } from '../integrations/mock/schema.js';
import { GatewayResponsesSchema } from '../integrations/aws/definition.js';
import { Millis, UpstreamTimeouts } from '../schemas/timeouts.js';
import { DEFAULT_GROUPS, DEFAULT_TLS12_CIPHERS, DEFAULT_TLS13_SUITES } from './tls-policy.js';

// Config types of the parts defined elsewhere, so config types keep one place to be named from.
export type { FunctionIntegrationConfig } from '../integrations/function/schema.js';
export type { HttpIntegrationConfig } from '../integrations/http/schema.js';
export type { MockIntegrationConfig } from '../integrations/mock/schema.js';
export type { HeaderOpsConfig, QueryOpsConfig } from '../schemas/http-fields.js';
export type { UpstreamTimeoutsConfig } from '../schemas/timeouts.js';

export const Target = Type.Object(
  {
    url: Type.String({ pattern: '^https?://', description: 'http(s)://host:port[/base-path] of one upstream server.' }),
    weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 1000, default: 1, description: 'Relative share of traffic (default 1).' })),
  },
  { additionalProperties: false },
);

export const HealthCheck = Type.Object(
  {
    active: Type.Optional(
      Type.Object(
        {
          path: Type.Optional(Type.String({ pattern: '^/', default: '/', description: 'Probe path (GET), appended to the target base path.' })),
          intervalMs: Type.Optional(Type.Integer({ minimum: 100, default: 5_000, description: 'Time between probes of each target.' })),
          timeoutMs: Type.Optional(Type.Integer({ minimum: 10, default: 2_000, description: 'A probe slower than this fails.' })),
          healthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'Consecutive successful probes that bring an ejected target back.' })),
          unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 2, description: 'Consecutive failed probes that eject a target.' })),
          expectedStatuses: Type.Optional(Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), { minItems: 1, default: [200], description: 'Statuses that count as healthy (default [200]).' })),
        },
        { additionalProperties: false },
      ),
    ),
    passive: Type.Optional(
      Type.Object(
        {
          unhealthyThreshold: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 3, description: 'Consecutive connect failures/timeouts on real traffic that eject a target.' })),
          recoverAfterMs: Type.Optional(Type.Integer({ minimum: 100, default: 10_000, description: 'Ejection time before the target is tried again (when no active check decides).' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'Active and passive health checks of the targets (docs/load-balancing.md).' },
);

const IDEMPOTENT_METHODS = ['GET', 'HEAD', 'OPTIONS', 'PUT', 'DELETE', 'TRACE'];

export const Retries = Type.Object(
  {
    maxRetries: Type.Optional(Type.Integer({ minimum: 1, maximum: 10, default: 1, description: 'Retries after the first try (default 1, as Envoy).' })),
    statuses: Type.Optional(
      Type.Array(Type.Integer({ minimum: 500, maximum: 599 }), {
        default: [],
        description: 'Upstream statuses that are retried (e.g. [502, 503, 504]); default none: only connect failures, resets before any response byte and connect timeouts are retried.',
      }),
    ),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]+$' }), {
        minItems: 1,
        // No `default`: validation fills defaults in, and a filled-in list would hide retryNonIdempotent's "any method".
        description: `Methods that may be retried (default the idempotent ones: ${IDEMPOTENT_METHODS.join(', ')}); others need retryNonIdempotent.`,
      }),
    ),
    retryNonIdempotent: Type.Optional(
      Type.Boolean({ default: false, description: 'Allow POST, PATCH and other non-idempotent methods to be retried (default false). A streamed body is never re-sent once any of it was read.' }),
    ),
    budget: Type.Optional(
      Type.Object(
        {
          percent: Type.Optional(Type.Number({ minimum: 0, maximum: 100, default: 20, description: 'Retries may be at most this share of the requests to the upstream over the last 10 s (default 20).' })),
          minPerSecond: Type.Optional(Type.Number({ minimum: 0, maximum: 100_000, default: 3, description: 'Retries per second always allowed, whatever the traffic (default 3).' })),
        },
        { additionalProperties: false, description: 'Retry budget: beyond it a failure is answered without a retry (turnpike_upstream_retry_budget_exhausted_total).' },
      ),
    ),
    backoff: Type.Optional(
      Type.Object(
        {
          baseMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 25, description: 'Base of the fully jittered exponential backoff (default 25).' })),
          maxMs: Type.Optional(Type.Integer({ minimum: 0, maximum: 60_000, default: 250, description: 'Cap of one backoff delay (default 250).' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false, description: 'Retries to another target (docs/load-balancing.md#retries). Absent: no retries.' },
);

export const CircuitBreaker = Type.Object(
  {
    consecutiveFailures: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 5, description: 'Consecutive failures that open a closed target (default 5).' })),
    failureRatio: Type.Optional(
      Type.Object(
        {
          ratio: Type.Number({ exclusiveMinimum: 0, maximum: 1, description: 'Failed share of the requests in the window that opens the target (e.g. 0.5).' }),
          minRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000, default: 20, description: 'Requests needed in the window before the ratio is judged (default 20).' })),
          windowMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 3_600_000, default: 10_000, description: 'Window length (default 10000).' })),
        },
        { additionalProperties: false },
      ),
    ),
    openMs: Type.Optional(Type.Integer({ minimum: 10, maximum: 3_600_000, default: 30_000, description: 'How long an open target gets no traffic before probes are let through (default 30000).' })),
    halfOpenRequests: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 1, description: 'Probe requests let through at once while half-open (default 1).' })),
    failureStatuses: Type.Optional(
      Type.Array(Type.Integer({ minimum: 100, maximum: 599 }), {
        default: [502, 503, 504],
        description: 'Upstream statuses counted as failures, besides connect failures and timeouts (default [502, 503, 504]).',
      }),
    ),
  },
  { additionalProperties: false, description: 'Circuit breaker per target: closed, open, half-open (docs/load-balancing.md#circuit-breaker).' },
);

export const Dns = Type.Object(
  {
    resolver: Type.Optional(
      Type.String({
        pattern: '^(\\d{1,3}(\\.\\d{1,3}){3}|\\[[0-9A-Fa-f:.]+\\])(:\\d{1,5})?$',
        description: 'DNS server to ask (IPv4 or [IPv6], optional :port), e.g. 127.0.0.1:5353; default the system servers, then the OS resolver (/etc/hosts).',
      }),
    ),
    ttlMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000, description: 'Re-resolve after this long instead of the record TTL.' })),
    minTtlMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000, default: 1_000, description: 'Floor of the re-resolution interval (default 1000).' })),
    maxTtlMs: Type.Optional(Type.Integer({ minimum: 100, maximum: 86_400_000, default: 300_000, description: 'Ceiling of the re-resolution interval (default 300000).' })),
    family: Type.Optional(Type.Union([Type.Literal(4), Type.Literal(6), Type.Literal(0)], { default: 0, description: 'Address family: 4, 6 or 0 for both (default 0).' })),
  },
  { additionalProperties: false, description: 'Resolve targets given by host name in the gateway and re-resolve them when the TTL expires (docs/load-balancing.md#dns). Absent: the OS resolves each new connection.' },
);

export const Upstream = Type.Object(
  {
    targets: Type.Array(Target, { minItems: 1, description: 'Servers of this upstream.' }),
    balancer: Type.Optional(
      Type.Union(
        [Type.Literal('round-robin'), Type.Literal('weighted-round-robin'), Type.Literal('least-connections'), Type.Literal('p2c'), Type.Literal('consistent-hash')],
        { default: 'round-robin', description: 'Load-balancing algorithm (see docs/load-balancing.md).' },
      ),
    ),
    hashOn: Type.Optional(
      Type.String({
        pattern: '^(ip|path|header:[!#$%&\'*+.^_`|~0-9A-Za-z-]+|cookie:[^;=\\s]+)$',
        default: 'ip',
        description: "consistent-hash key: 'header:NAME', 'cookie:NAME', 'ip' or 'path' (default ip).",
      }),
    ),
    healthCheck: Type.Optional(HealthCheck),
    retries: Type.Optional(Retries),
    circuitBreaker: Type.Optional(CircuitBreaker),
    dns: Type.Optional(Dns),
    timeouts: Type.Optional(UpstreamTimeouts),
    connections: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100_000, default: 256, description: 'Maximum open connections per target (keep-alive pool size, default 256).' }),
    ),
    keepAliveMs: Type.Optional(Millis('Idle keep-alive time of a pooled upstream connection', 4_000)),
    tls: Type.Optional(
      Type.Object(
        {
          rejectUnauthorized: Type.Optional(Type.Boolean({ default: true, description: 'Verify the upstream certificate (default true).' })),
          ca: Type.Optional(Type.String({ description: 'PEM file with the CA bundle that signs the upstream certificate.' })),
          servername: Type.Optional(Type.String({ description: 'SNI name sent to the upstream.' })),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const FunctionDef = Type.Object(
  {
    module: Type.Optional(Type.String({ minLength: 1, description: 'Handler file (.mjs/.js/.cjs), relative to this config file.' })),
    // Lambda's own way to name code (what a SAM/CloudFormation template gives): runtime + handler + code folder.
    runtime: Type.Optional(
      Type.String({ pattern: '^[a-z0-9.]+$', description: 'Lambda runtime identifier (nodejs20.x, python3.12, provided.al2023, ...); default nodejs20.x. Used with `handler`.' }),
    ),
    handler: Type.Optional(
      Type.String({ minLength: 1, description: 'Lambda Handler, as a template writes it (`path/to/file.export` for Node and Python; the executable for provided runtimes), relative to `codeUri`. Instead of `module`.' }),
    ),
    codeUri: Type.Optional(Type.String({ minLength: 1, description: 'The function\'s code folder (LAMBDA_TASK_ROOT and its working directory), relative to this config file; default this file\'s folder.' })),
    layers: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Local layer folders (relative to this config file), made available as Lambda mounts /opt.' })),
    export: Type.Optional(Type.String({ minLength: 1, default: 'handler', description: 'Exported handler name (default handler).' })),
    runtimeCommand: Type.Optional(
      Type.Array(Type.String(), {
        minItems: 1,
        description:
          'A Lambda runtime interface client to run the function with (the handler is appended, or replaces an argument "{handler}"), e.g. ["aws_lambda_ric"] for ruby3.3: how java*, dotnet* and ruby* runtimes run; for other runtimes it replaces Turnpike\'s own client. Relative to the code folder (its working directory), or found on PATH.',
      }),
    ),
    endpoint: Type.Optional(
      Type.String({ pattern: '^https?://', description: 'Instead of a module: a Lambda Invoke API endpoint (e.g. the Runtime Interface Emulator).' }),
    ),
    remoteName: Type.Optional(Type.String({ minLength: 1, description: 'Function name at the endpoint (default: this entry\'s name).' })),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 900_000, default: 3000, description: 'Function timeout (default 3000, as Lambda).' })),
    concurrency: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 10, description: 'Maximum concurrent invocations / warm workers (default 10).' })),
    memoryMb: Type.Optional(Type.Integer({ minimum: 16, maximum: 10_240, default: 128, description: 'context.memoryLimitInMB and the worker heap limit (default 128).' })),
    environment: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Environment variables of the function.' })),
  },
  { additionalProperties: false },
);

export const Integration = Type.Union([HttpIntegrationSchema, MockIntegrationSchema, FunctionIntegrationSchema], { description: 'What answers the route.' });

/** Plugin configuration maps are validated per plugin against each plugin's own schema (see buildConfigSchema). */
export const PluginsMap = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Plugins by name with their configuration; `enabled: false` turns off an inherited plugin.',
});

const RequestBuffering = Type.Boolean({
  default: false,
  description:
    "Read the whole request body (up to the body limit) before calling the integration, as nginx's proxy_request_buffering: a slow client then holds a buffer of at most the body limit, not an upstream connection. Routes served from an AWS document always buffer. Overrides the API's setting (default false: bodies stream).",
});

export const Route = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, description: 'Unique name within the API (default: "METHOD path").' })),
    methods: Type.Optional(
      Type.Array(Type.String({ pattern: '^[A-Z]+$' }), { minItems: 1, default: ['ANY'], description: 'HTTP methods in upper case, or ANY (default).' }),
    ),
    path: Type.String({ pattern: '^(/|\\$default$)', description: 'Path template: /users/{id}, /files/{proxy+} (greedy), or $default (catch-all).' }),
    stage: Type.Optional(
      Type.String({
        pattern: '^(\\$default|[A-Za-z0-9_-]{1,128})$',
        description:
          'The deployment stage this route belongs to (usage plans, authorizers and gateway responses see it). The path is then relative to the stage: it gets the basePath of the API\'s `stages` entry instead of the API\'s (`/` then answers with and without a trailing slash; $default stays the catch-all of the whole route table), and the entry\'s hosts and variables apply.',
      }),
    ),
    hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host names (exact or *.example.com); default: the API\'s hosts.' })),
    headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Header conditions: exact value, or ~regex.' })),
    query: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'Query conditions: exact value, or ~regex.' })),
    websocket: Type.Optional(Type.Boolean({ default: false, description: 'Allow WebSocket upgrades to be proxied on this route (default false).' })),
    allowEncodedSlashes: Type.Optional(
      Type.Boolean({ default: false, description: 'Pass %2F and %5C in the path through untouched instead of answering 400 (default false).' }),
    ),
    maxBodyBytes: Type.Optional(Type.Integer({ minimum: 0, description: 'Overrides server.limits.bodyBytes for this route.' })),
    requestBuffering: Type.Optional(RequestBuffering),
    integration: Integration,
    plugins: Type.Optional(PluginsMap),
  },
  { additionalProperties: false },
);

export const Api = Type.Object(
  {
    name: Type.String({ minLength: 1, description: 'Unique API name (used in metrics and logs).' }),
    hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host names this API answers on; default any.' })),
    basePath: Type.Optional(Type.String({ pattern: '^/', description: 'Prefix prepended to every route path of this API.' })),
    plugins: Type.Optional(PluginsMap),
    requestBuffering: Type.Optional(RequestBuffering),
    errorDialect: Type.Optional(
      Type.Union([Type.Literal('native'), Type.Literal('aws-rest'), Type.Literal('aws-http')], {
        default: 'native',
        description:
          'How the gateway\'s own answers (refusals, upstream failures) are written on this API: native JSON {message, code, requestId}, or AWS API Gateway\'s default gateway responses of a REST or HTTP API. An API served from an AWS document always answers as that document\'s API type.',
      }),
    ),
    gatewayResponses: Type.Optional(GatewayResponsesSchema),
    apiType: Type.Optional(
      Type.Union([Type.Literal('rest'), Type.Literal('http')], {
        description:
          'The kind of AWS API this API behaves as for its function integrations: the Lambda proxy events, error answers and binary rules of a REST API or an HTTP API (default http). A function integration\'s own apiType wins. An API served from an AWS document is the document\'s kind.',
      }),
    ),
    routes: Type.Optional(Type.Array(Route, { description: 'Routes of this API (or give "openapi").' })),
    openapi: Type.Optional(
      Type.Union(
        [
          Type.String({ minLength: 1, description: 'An AWS API Gateway OpenAPI/Swagger document (relative to this file) whose routes this API serves.' }),
          // The documents a SAM/CloudFormation template generates travel this way (docs/sam-templates.md).
          Type.Object({}, { additionalProperties: true, description: 'The AWS API Gateway OpenAPI/Swagger document itself, inline.' }),
        ],
        { description: 'An AWS API Gateway OpenAPI/Swagger document whose routes this API serves: a file (relative to this file), or the document inline.' },
      ),
    ),
    stages: Type.Optional(
      Type.Record(
        Type.String({ pattern: '^(\\$default|[A-Za-z0-9_-]{1,128})$' }),
        Type.Object(
          {
            variables: Type.Optional(Type.Record(Type.String({ pattern: '^[A-Za-z0-9_]+$' }), Type.String(), { description: 'Stage variables.' })),
            hosts: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Host names of this stage\'s routes (with "openapi": serve the stage on them at / instead of at /{stage}).' })),
            basePath: Type.Optional(Type.String({ pattern: '^/', description: 'Prefix of the paths of the routes of this stage (in place of the API\'s basePath).' })),
          },
          { additionalProperties: false },
        ),
        { description: 'Deployment stages, named by routes\' `stage`. With "openapi": the stages to serve (default: dev for REST APIs, $default for HTTP APIs).', additionalProperties: false },
      ),
    ),
    endpointOverrides: Type.Optional(
      Type.Record(Type.String({ pattern: '^https?://' }), Type.String({ pattern: '^https?://' }), {
        description: 'With "openapi": integration URI origins to call instead (e.g. point an AWS endpoint at a local stand-in).',
      }),
    ),
  },
  { additionalProperties: false },
);

export const Limits = Type.Object(
  {
    headerBytes: Type.Optional(Type.Integer({ minimum: 1024, maximum: 1_048_576, default: 16_384, description: 'Request line + headers, bytes; exceeded -> 431 (default 16384).' })),
    headerCount: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'Number of request headers; exceeded -> 431 (default 100).' })),
    urlBytes: Type.Optional(Type.Integer({ minimum: 64, maximum: 1_048_576, default: 8_192, description: 'Request target length; exceeded -> 414 (default 8192).' })),
    bodyBytes: Type.Optional(Type.Integer({ minimum: 0, default: 10_485_760, description: 'Request body bytes; exceeded -> 413 (default 10 MiB).' })),
    headersTimeoutMs: Type.Optional(Millis('Time a client has to send the request headers; exceeded -> 408', 10_000)),
    requestTimeoutMs: Type.Optional(Millis('Time a client has to send the whole request, body included; exceeded -> 408', 30_000)),
    keepAliveTimeoutMs: Type.Optional(Millis('Idle time of a client keep-alive connection (HTTP/1.1), and of an HTTP/2 connection with no open stream', 5_000)),
    // Overload bounds (docs/limits-and-safety.md, "Connections and overload"). 0 turns a bound off.
    maxConnections: Type.Optional(
      Type.Integer({ minimum: 0, default: 10_000, description: 'Open client connections per listener (HTTP, HTTPS) and process; a connection past it is refused (closed at once) and counted (default 10000, 0: no bound).' }),
    ),
    maxConnectionsPerClient: Type.Optional(
      Type.Integer({ minimum: 0, default: 1_000, description: 'Open connections from one client address per process; past it a new one is refused (default 1000, 0: no bound).' }),
    ),
    maxRequestsPerClient: Type.Optional(
      Type.Integer({ minimum: 0, default: 1_000, description: 'Requests in progress from one client address per process; past it -> 429 CLIENT_REQUEST_LIMIT (default 1000, 0: no bound).' }),
    ),
    shedEventLoopLagMs: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 60_000, default: 0, description: 'Event-loop lag (ms) past which new requests are answered 503 OVERLOADED with Retry-After until the lag falls back (default 0: off).' }),
    ),
    http2MaxConcurrentStreams: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10_000, default: 100, description: 'SETTINGS_MAX_CONCURRENT_STREAMS advertised to HTTP/2 clients (default 100; applies to new connections).' }),
    ),
    http2MaxStreamsPerConnection: Type.Optional(
      Type.Integer({ minimum: 0, default: 10_000, description: 'Streams one HTTP/2 connection may open in its life; then it gets GOAWAY (NO_ERROR) and the client reconnects (default 10000, 0: no bound).' }),
    ),
    http2MaxResetsPer10s: Type.Optional(
      Type.Integer({ minimum: 0, default: 200, description: 'Streams an HTTP/2 client may cancel (RST_STREAM) on one connection within 10 s; past it the connection gets GOAWAY (ENHANCE_YOUR_CALM) and is closed (default 200, 0: no bound).' }),
    ),
    // Issue 11 (slow bodies, bounded upstream answers): docs/limits-and-safety.md#slow-request-bodies.
    bodyIdleTimeoutMs: Type.Optional(Millis('Longest pause between two chunks of a request body while the gateway is reading it; exceeded -> 408', 10_000)),
    bodyMinBytesPerSecond: Type.Optional(
      Type.Integer({
        minimum: 0,
        default: 500,
        description: 'Minimum request body rate once bodyMinRateGraceMs has passed: a body may take bodyMinRateGraceMs plus 1 s per this many bytes; slower -> 408 (default 500, 0 = off).',
      }),
    ),
    bodyMinRateGraceMs: Type.Optional(Millis('Time every request body gets before bodyMinBytesPerSecond applies', 10_000)),
    upstreamResponseBytes: Type.Optional(
      Type.Integer({
        minimum: 1024,
        default: 10_485_760,
        description: 'Largest upstream answer the gateway holds in memory (AWS non-proxy http integrations); larger -> 502 UPSTREAM_RESPONSE_TOO_LARGE (default 10 MiB, as AWS). Streamed answers are not limited.',
      }),
    ),
    websocketIdleTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 86_400_000,
        default: 600_000,
        description: 'A proxied WebSocket tunnel with no byte in either direction for this long is closed on both sides (milliseconds, default 600000; 0 = never).',
      }),
    ),
    // Mapping-template CPU budget (src/templates/offthread.ts, docs/limits-and-safety.md "Template budget").
    templateInlineBytes: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_485_760, default: 65_536, description: 'Mapping templates: bodies up to this size render on the event loop; larger ones on a render thread (default 65536).' })),
    templateInlineMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000, default: 20, description: 'Mapping templates: event-loop time a render may take before it moves to a render thread (default 20 ms).' })),
    templateRenderMs: Type.Optional(Millis('Mapping templates: deadline of one render, queueing included; exceeded -> 500 TEMPLATE_BUDGET_EXCEEDED', 10_000)),
  },
  { additionalProperties: false },
);

const TlsCertificate = Type.Object(
  {
    hosts: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'SNI host names this certificate is served for (exact, or *.example.com for one label).' }),
    cert: Type.String({ minLength: 1, description: 'PEM certificate file (chain after the leaf), relative to this config file.' }),
    key: Type.String({ minLength: 1, description: 'PEM private key file (unencrypted), relative to this config file.' }),
  },
  { additionalProperties: false },
);

export const ServerTls = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'HTTPS listen port (default 8443; --https-port overrides it).' })),
    certificates: Type.Optional(Type.Array(TlsCertificate, { description: 'Certificates chosen by the SNI host name the client sends. Re-read on every config reload.' })),
    default: Type.Optional(
      Type.Object(
        {
          cert: Type.String({ minLength: 1, description: 'PEM certificate file.' }),
          key: Type.String({ minLength: 1, description: 'PEM private key file.' }),
        },
        { additionalProperties: false, description: 'Certificate served when the client sends no SNI name or one no entry covers (default: the first entry of certificates).' },
      ),
    ),
    http2: Type.Optional(Type.Boolean({ default: true, description: 'Offer HTTP/2 through ALPN beside HTTP/1.1 (default true).' })),
    clientCa: Type.Optional(Type.String({ minLength: 1, description: 'PEM file of the CA(s) that sign client certificates (mutual TLS).' })),
    requestClientCert: Type.Optional(
      Type.Union([Type.Literal('none'), Type.Literal('optional'), Type.Literal('required')], {
        default: 'none',
        description: 'Mutual TLS: none (default); optional (a verified certificate reaches integrations); required (handshake fails without a certificate signed by clientCa).',
      }),
    ),
    minVersion: Type.Optional(Type.Union([Type.Literal('TLSv1.2'), Type.Literal('TLSv1.3')], { default: 'TLSv1.2', description: 'Lowest TLS version accepted (default TLSv1.2).' })),
    ciphers: Type.Optional(
      Type.String({
        minLength: 1,
        default: DEFAULT_TLS12_CIPHERS,
        description:
          'TLS 1.2 cipher suites as an OpenSSL cipher list, in the order the server prefers them (the server order wins). Default: ECDHE key exchange with AES-GCM or ChaCha20-Poly1305 only (forward secrecy and AEAD, RFC 9325 §4.2, Mozilla intermediate). Set it to allow legacy suites for old clients, e.g. static RSA (see docs/tls.md). Every entry must match a suite this build supports; anonymous and NULL-encryption suites are refused.',
      }),
    ),
    cipherSuites: Type.Optional(
      Type.String({
        minLength: 1,
        default: DEFAULT_TLS13_SUITES,
        description: `TLS 1.3 cipher suites, colon-separated, in the order the server prefers them (default ${DEFAULT_TLS13_SUITES}).`,
      }),
    ),
    groups: Type.Optional(
      Type.String({
        minLength: 1,
        default: DEFAULT_GROUPS,
        description: `Key-exchange groups for ECDHE (TLS 1.2) and key shares (TLS 1.3), colon-separated, in preference order (default ${DEFAULT_GROUPS}); "auto" means OpenSSL's own default list.`,
      }),
    ),
    redirectHttp: Type.Optional(Type.Boolean({ default: false, description: 'The plain HTTP listener answers every request with a 308 redirect to https (default false).' })),
  },
  { additionalProperties: false, description: 'HTTPS listener (HTTP/1.1 and HTTP/2), certificates per host name, mutual TLS. See docs/tls.md.' },
);

/** Redis connection shared by counters (server.counters.redis; also the default of rate-limit's `redis`). */
export const RedisCounters = Type.Object(
  {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: ${REDIS_URL} is the config interpolation syntax, not a template literal.
    url: Type.String({ pattern: '^rediss?://', description: 'redis://[user:pass@]host:port[/db], or rediss:// for TLS. `${REDIS_URL}` interpolation works.' }),
    timeoutMs: Type.Optional(Type.Integer({ minimum: 1, maximum: 60_000, default: 50, description: 'Per-call deadline (ms, default 50): slower or failed calls apply `fallback`.' })),
    prefix: Type.Optional(
      Type.String({ pattern: '^[A-Za-z0-9_.:-]{0,64}$', description: 'Extra key namespace after `turnpike:` (several gateways or environments on one Redis). Default none.' }),
    ),
  },
  { additionalProperties: false },
);

/** Where usage plans count (docs/api-keys.md, "Counters"). */
export const Counters = Type.Object(
  {
    policy: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('redis')], {
        default: 'local',
        description: 'Where usage-plan throttles and quotas (api-key) count: local (default; in memory, per node, shared by its workers) or redis (shared by every node using the same Redis).',
      }),
    ),
    redis: Type.Optional(RedisCounters),
    workerTimeoutMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 60_000,
        default: 200,
        description:
          'With --workers N: deadline (ms, default 200) of a worker\'s call to its primary\'s counter store (local rate limits, concurrency slots, usage plans); a slower answer applies the fallback. TURNPIKE_COUNTERS_TIMEOUT_MS, when set, wins.',
      }),
    ),
    fallback: Type.Optional(
      Type.Union([Type.Literal('local'), Type.Literal('reject')], {
        default: 'local',
        description: 'When the counter store does not answer in time (Redis down, a stalled cluster primary): count in local memory (default) or answer 503.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Shared counters for usage plans; `redis` is also the default connection of rate-limit\'s policy redis.' },
);

export const Server = Type.Object(
  {
    trustedProxies: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'CIDRs (v4/v6) whose X-Forwarded-* headers are trusted; default none.',
      }),
    ),
    limits: Type.Optional(Limits),
    accessLog: Type.Optional(Type.Boolean({ default: true, description: 'One JSON access-log line per request on stdout (default true).' })),
    logLevel: Type.Optional(
      Type.Union([Type.Literal('fatal'), Type.Literal('error'), Type.Literal('warn'), Type.Literal('info'), Type.Literal('debug'), Type.Literal('trace')], {
        default: 'info',
        description: 'Log level (default info).',
      }),
    ),
    shutdownGraceMs: Type.Optional(Millis('How long SIGTERM waits for in-flight requests before closing them', 10_000)),
    tls: Type.Optional(ServerTls),
    database: Type.Optional(
      Type.Object(
        {
          url: Type.String({
            pattern: '^postgres(ql)?://',
            // biome-ignore lint/suspicious/noTemplateCurlyInString: ${VAR} is the config interpolation syntax, not a template literal.
            description: 'Cluster mode (docs/cluster.md): serve the config stored in this PostgreSQL database; this file then only gives the node-local server block. postgres://user:pass@host:port/db[?sslmode=require]; ${VAR} works here.',
          }),
          pollIntervalMs: Type.Optional(Type.Integer({ minimum: 100, default: 5000, description: 'Version polling, the fallback for lost notifications (default 5000).' })),
          cache: Type.Optional(
            Type.Union([Type.String({ minLength: 1 }), Type.Literal(false)], { description: 'Last-good-config cache file (mode 0600), or false for none. Default: under TURNPIKE_STATE_DIR or the OS temp dir.' }),
          ),
        },
        { additionalProperties: false },
      ),
    ),
    counters: Type.Optional(Counters),
    functionRunAs: Type.Optional(
      Type.String({
        pattern: '^(auto|inherit|[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?)$',
        default: 'auto',
        description:
          'User function processes run as (docs/functions.md "Isolation"): auto (default: nobody when the gateway runs as root, else the gateway\'s own user), inherit (the gateway\'s user), USER, USER:GROUP, UID or UID:GID. Read at start.',
      }),
    ),
  },
  { additionalProperties: false },
);

/** API keys (docs/api-keys.md): only the SHA-256 of each key value is stored; `turnpike keys` manages them. */
export const ApiKey = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$', description: 'Stable identifier of the key (requestContext.identity.apiKeyId); never the key itself.' }),
    name: Type.String({ minLength: 1, maxLength: 1024, description: 'Human-readable name (AWS: up to 1024 characters).' }),
    hash: Type.String({
      pattern: '^sha256:[0-9a-f]{64}$',
      description: 'sha256:<64 lower-case hex> of the key value. Plaintext keys are never stored in the config: `turnpike keys create` prints the key once and writes its hash.',
    }),
    enabled: Type.Optional(Type.Boolean({ default: true, description: 'false revokes the key: requests with it get 403 (default true).' })),
    usagePlans: Type.Optional(
      Type.Array(Type.String({ minLength: 1 }), {
        description: 'Names of entries in `usagePlans`. As on AWS, a key is accepted only on APIs/stages one of its plans covers, and at most one of its plans may cover a given API/stage.',
      }),
    ),
    createdAt: Type.Optional(
      Type.String({ format: 'date-time', description: 'When the key was created (ISO 8601); the quota `offset` applies to the period containing it.' }),
    ),
  },
  { additionalProperties: false },
);

/** Usage plans (docs/api-keys.md): throttle and quota per API key on the APIs/stages the plan lists, with AWS semantics. */
export const UsagePlan = Type.Object(
  {
    description: Type.Optional(Type.String()),
    throttle: Type.Optional(
      Type.Object(
        {
          rateLimit: Type.Number({ minimum: 0, description: 'Steady-state requests per second per key (token bucket refill rate; may be fractional).' }),
          burstLimit: Type.Integer({ minimum: 0, description: 'Bucket capacity: requests a key may send at once after being idle. 0 refuses every request.' }),
        },
        { additionalProperties: false, description: 'Token bucket per key; over it -> 429 {"message":"Too Many Requests"}.' },
      ),
    ),
    quota: Type.Optional(
      Type.Object(
        {
          limit: Type.Integer({ minimum: 0, description: 'Requests per key per period.' }),
          period: Type.Union([Type.Literal('DAY'), Type.Literal('WEEK'), Type.Literal('MONTH')], {
            description: 'UTC calendar period: DAY from 00:00 UTC, WEEK from Sunday 00:00 UTC, MONTH from the 1st 00:00 UTC.',
          }),
          offset: Type.Optional(
            Type.Integer({ minimum: 0, default: 0, description: 'As AWS: requests subtracted from the limit in the initial period (the one containing the key\'s createdAt). Default 0.' }),
          ),
        },
        { additionalProperties: false, description: 'Requests per key per period; exhausted -> 429 {"message":"Limit Exceeded"}.' },
      ),
    ),
    apiStages: Type.Array(
      Type.Object(
        {
          api: Type.String({ minLength: 1, description: 'Name of an entry in `apis`.' }),
          stage: Type.Optional(Type.String({ minLength: 1, description: 'For APIs served from "openapi": the stage; omitted: every stage of the API.' })),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, description: 'APIs (and stages) this plan gives access to.' },
    ),
  },
  { additionalProperties: false },
);

export const ConfigSchema = Type.Object(
  {
    $schema: Type.Optional(Type.String()),
    version: Type.Optional(Type.Literal(1, { description: 'Config format version (1).' })),
    server: Type.Optional(Server),
    upstreams: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]+$' }), Upstream, { description: 'Named upstreams.', additionalProperties: false }),
    ),
    functions: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_-]{1,64}$' }), FunctionDef, { description: 'Lambda-style functions by name.', additionalProperties: false }),
    ),
    plugins: Type.Optional(PluginsMap),
    apis: Type.Array(Api, { description: 'APIs and their routes.' }),
    apiKeys: Type.Optional(Type.Array(ApiKey, { description: 'API keys, checked on routes with the api-key plugin (docs/api-keys.md).' })),
    usagePlans: Type.Optional(
      Type.Record(Type.String({ pattern: '^[A-Za-z0-9_.-]{1,128}$' }), UsagePlan, {
        description: 'Usage plans by name: throttle and quota per API key (docs/api-keys.md).',
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false, title: 'Turnpike configuration' },
);

export type GatewayConfig = Static<typeof ConfigSchema>;
export type ApiConfig = Static<typeof Api>;
export type RouteConfig = Static<typeof Route>;
export type UpstreamConfig = Static<typeof Upstream>;
export type HealthCheckConfig = Static<typeof HealthCheck>;
export type RetriesConfig = Static<typeof Retries>;
export type CircuitBreakerConfig = Static<typeof CircuitBreaker>;
export type DnsConfig = Static<typeof Dns>;
export type FunctionDefConfig = Static<typeof FunctionDef>;
export type LimitsConfig = Static<typeof Limits>;
export type ServerTlsConfig = Static<typeof ServerTls>;
export type CountersConfig = Static<typeof Counters>;
export type ApiKeyConfig = Static<typeof ApiKey>;
export type UsagePlanConfig = Static<typeof UsagePlan>;

/**
 * The full schema with every bundled plugin's config schema in place of the open PluginsMap,
 * so validation (and editor completion from the published JSON Schema) covers plugin names and options.
 */
export function buildConfigSchema(pluginSchemas: Readonly<Record<string, TObject>>, integrationSchemas: readonly TObject[] = [HttpIntegrationSchema, MockIntegrationSchema, FunctionIntegrationSchema]): TSchema {
  const properties: Record<string, TSchema> = {};
  for (const [name, schema] of Object.entries(pluginSchemas)) {
    properties[name] = Type.Optional(Type.Object(
      { ...schema.properties, enabled: Type.Optional(Type.Boolean({ default: true, description: 'false turns off a plugin inherited from the API or global level.' })) },
      { additionalProperties: false, description: schema.description },
    ));
  }
  const plugins = Type.Object(properties, { additionalProperties: false, description: PluginsMap.description });
  const integration = Type.Union([...integrationSchemas], { description: Integration.description });
  const route = Type.Object({ ...Route.properties, integration, plugins: Type.Optional(plugins) }, { additionalProperties: false });
  const api = Type.Object({ ...Api.properties, plugins: Type.Optional(plugins), routes: Type.Optional(Type.Array(route)) }, { additionalProperties: false });
  return Type.Object(
    { ...ConfigSchema.properties, plugins: Type.Optional(plugins), apis: Type.Array(api, { description: 'APIs and their routes.' }) },
    { additionalProperties: false, title: 'Turnpike configuration', $id: 'https://turnpike.dev/schema/turnpike.schema.json' },
  );
}
