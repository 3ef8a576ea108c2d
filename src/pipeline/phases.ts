/**
 * The request lifecycle, in order. This array is the contract; docs/architecture.md draws the same picture.
 *
 *   accept → match → onRequest → authenticate → authorize → rateLimit → transformRequest → beforeIntegration
 *          → INTEGRATION → transformResponse → beforeSend → send → log
 *
 * Request phases may answer early by returning a response; response phases run for every answer
 * (early ones too, so CORS or rate-limit headers land on errors); log runs after the response is sent.
 */
export const REQUEST_PHASES = ['onRequest', 'authenticate', 'authorize', 'rateLimit', 'transformRequest', 'beforeIntegration'] as const;
export const RESPONSE_PHASES = ['transformResponse', 'beforeSend'] as const;
export const LOG_PHASES = ['log'] as const;
export const PHASES = [...REQUEST_PHASES, ...RESPONSE_PHASES, ...LOG_PHASES] as const;

export type RequestPhase = (typeof REQUEST_PHASES)[number];
export type ResponsePhase = (typeof RESPONSE_PHASES)[number];
export type Phase = (typeof PHASES)[number];
