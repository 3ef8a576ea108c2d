/**
 * Time-limit schemas shared by config sections and integrations: an upstream's timeouts are set on
 * the upstream (src/config/schema.ts) and overridden per route by the http integration. Outside
 * src/config so that the request path can build on them without importing config code.
 */
import { type Static, Type } from '@sinclair/typebox';

/** A duration in milliseconds whose description states its unit and default. */
export const Millis = (description: string, def: number) =>
  Type.Integer({ minimum: 1, maximum: 3_600_000, default: def, description: `${description} (milliseconds, default ${def})` });

export const UpstreamTimeouts = Type.Object(
  {
    connectMs: Type.Optional(Millis('Time to establish the TCP/TLS connection; exceeded -> 504', 5_000)),
    firstByteMs: Type.Optional(Millis('Time from sending the request to the response headers; exceeded -> 504', 30_000)),
    totalMs: Type.Optional(Millis('Whole exchange, including streaming the response body; exceeded -> 504 (or abort once streaming)', 60_000)),
    // No schema default: an unset idleMs means "no idle limit but totalMs", and a filled-in default would hide that.
    idleMs: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 3_600_000,
        description:
          'Longest silence of the upstream while its response body streams: from the headers to the first body chunk, then between chunks (time the gateway itself waits for a slow client does not count); exceeded -> the client connection is aborted (504 if nothing was sent yet). Default: no idle limit apart from totalMs (milliseconds)',
      }),
    ),
  },
  { additionalProperties: false, description: 'Upstream time limits (docs/proxying.md#timeouts); each fires within a few ms of its setting.' },
);

export type UpstreamTimeoutsConfig = Static<typeof UpstreamTimeouts>;
