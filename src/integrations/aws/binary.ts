/**
 * Binary payloads of REST non-proxy integrations: the API's `binaryMediaTypes` and `contentHandling`
 * (CONVERT_TO_TEXT / CONVERT_TO_BINARY) on the integration request and on integration responses.
 * The conversion tables of AWS's "Content type conversions in API Gateway" page are the spec;
 * docs/aws-integrations.md ("Binary payloads") lists each rule with its evidence.
 */
import { mediaType } from '../../templates/index.js';
import { matchesBinaryMediaTypes } from '../function/events.js';

export type ContentHandling = 'CONVERT_TO_TEXT' | 'CONVERT_TO_BINARY';

/** A payload as API Gateway sees it: text (a JS string) or a binary blob (a Buffer). */
export type Payload = string | Buffer;

/** Does a Content-Type (or the first media range of an Accept header) match the API's binaryMediaTypes? */
export function isBinaryType(headerValue: string | undefined, binaryMediaTypes: readonly string[] | undefined): boolean {
  if (headerValue === undefined || binaryMediaTypes === undefined || binaryMediaTypes.length === 0) return false;
  // "When a request contains multiple media types in its Accept header, API Gateway honors only the first".
  const comma = headerValue.indexOf(',');
  return matchesBinaryMediaTypes(mediaType(comma === -1 ? headerValue : headerValue.slice(0, comma)), binaryMediaTypes);
}

export function normalizeContentHandling(v: string | undefined): ContentHandling | undefined {
  const u = v?.toUpperCase();
  return u === 'CONVERT_TO_TEXT' || u === 'CONVERT_TO_BINARY' ? u : undefined;
}

/** Thrown when a text payload must become binary but is not base64 (AWS: 500, an API configuration error). */
export class BinaryConversionError extends Error {}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Strict base64 decoding: AWS answers 500 for a body that is not base64 (recorded by LocalStack's
 * AWS-validated test_apigw_s3_binary_support_request_convert_to_binary: the text "this is a UTF8 text
 * typed object" and raw gzip bytes both fail). Padding may be omitted.
 */
export function decodeBase64Strict(text: string): Buffer {
  const s = text.trim();
  const unpadded = s.replace(/=+$/, '');
  if (!BASE64.test(s) || unpadded.length % 4 === 1 || (s.length !== unpadded.length && s.length % 4 !== 0)) {
    throw new BinaryConversionError('the payload is not a base64-encoded string');
  }
  return Buffer.from(s, 'base64');
}

/** Bytes as API Gateway's UTF-8 text: invalid sequences become U+FFFD. */
export function asText(p: Payload): string {
  return typeof p === 'string' ? p : p.toString('utf8');
}

/**
 * The integration request payload *before* the request template (first table of the AWS page).
 * - binary request (Content-Type matches binaryMediaTypes): CONVERT_TO_TEXT -> base64 string (what
 *   `$input.body` then holds); unset or CONVERT_TO_BINARY -> the bytes untouched.
 * - text request: UTF-8 text; CONVERT_TO_BINARY is applied after the template (`requestToBinary`).
 */
export function requestPayload(body: Buffer, binaryRequest: boolean, handling: ContentHandling | undefined): Payload {
  if (binaryRequest) return handling === 'CONVERT_TO_TEXT' ? body.toString('base64') : body;
  return body.toString('utf8');
}

/** CONVERT_TO_BINARY of a text request: "Base64-decoded binary blob" (500 when it is not base64). */
export function requestToBinary(p: Payload, binaryRequest: boolean, handling: ContentHandling | undefined): Payload {
  if (binaryRequest || handling !== 'CONVERT_TO_BINARY' || typeof p !== 'string') return p;
  return decodeBase64Strict(p);
}

/**
 * What the method response must be (second table of the AWS page), given whether the integration
 * response payload is binary (its Content-Type matches binaryMediaTypes) and whether the first Accept
 * media type matches binaryMediaTypes:
 *   CONVERT_TO_TEXT -> text; CONVERT_TO_BINARY -> binary; unset -> binary iff Accept is binary.
 */
export function responseWantsBinary(binaryAccept: boolean, handling: ContentHandling | undefined): boolean {
  if (handling === 'CONVERT_TO_TEXT') return false;
  if (handling === 'CONVERT_TO_BINARY') return true;
  return binaryAccept;
}

/**
 * The integration response payload as the response template sees it:
 * - binary payload, text wanted -> base64 string ("Base64-encoded string");
 * - binary payload, binary wanted -> the bytes ("Binary data");
 * - text payload -> UTF-8 text (a base64 decode, if wanted, happens after the template: `responseToBinary`).
 */
export function responsePayload(body: Buffer, binaryPayload: boolean, wantsBinary: boolean): Payload {
  if (binaryPayload) return wantsBinary ? body : body.toString('base64');
  return body.toString('utf8');
}

/**
 * A text payload that must leave as binary: "Base64-decoded blob". A Lambda non-proxy function that
 * returns a base64 string (AWS's "Convert text data to a binary payload" example) produces the JSON
 * string `"iVBOR..."`; its quotes are removed before decoding.
 */
export function responseToBinary(p: Payload, wantsBinary: boolean, lambda: boolean): Payload {
  if (!wantsBinary || typeof p !== 'string') return p;
  let text = p;
  if (lambda) {
    const t = p.trim();
    if (t.length >= 2 && t.startsWith('"') && t.endsWith('"')) {
      try {
        const v = JSON.parse(t) as unknown;
        if (typeof v === 'string') text = v;
      } catch {
        /* not a JSON string: decode as is */
      }
    }
  }
  return decodeBase64Strict(text);
}
