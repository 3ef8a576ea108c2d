/**
 * A SigV4 test client that signs with the AWS SDK's own signer (@smithy/signature-v4 +
 * @aws-crypto/sha256-js), so the gateway is tested against what real AWS clients send.
 */
import http from 'node:http';
import { Sha256 } from '@aws-crypto/sha256-js';
import { SignatureV4 } from '@smithy/signature-v4';

export interface Creds {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SignInput {
  method?: string;
  host: string;
  /** The path as it goes on the wire (already percent-encoded). The signer sees exactly this. */
  path: string;
  query?: Record<string, string | string[]>;
  headers?: Record<string, string>;
  body?: string;
  region?: string;
  service?: string;
  signingDate?: Date;
  /** false: no x-amz-content-sha256 header (the verifier must hash the body itself). */
  applyChecksum?: boolean;
}

export interface Signed {
  method: string;
  /** Wire path + '?' + query, ready for http.request. */
  target: string;
  headers: Record<string, string>;
  body: string | undefined;
}

/** The SDK's query serialisation (escapeUri on names and values, sorted). */
export function wireQuery(query: Record<string, string | string[] | null>): string {
  const esc = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  const parts: string[] = [];
  for (const k of Object.keys(query).sort()) {
    const v = query[k];
    if (v === null || v === undefined) parts.push(esc(k));
    else for (const x of Array.isArray(v) ? v : [v]) parts.push(`${esc(k)}=${esc(x)}`);
  }
  return parts.join('&');
}

function signer(creds: Creds, input: SignInput): SignatureV4 {
  return new SignatureV4({
    credentials: creds,
    region: input.region ?? 'us-east-1',
    service: input.service ?? 'execute-api',
    sha256: Sha256,
    applyChecksum: input.applyChecksum ?? true,
  });
}

function request(input: SignInput) {
  return {
    method: input.method ?? 'GET',
    protocol: 'http:',
    hostname: input.host.split(':')[0] as string,
    port: input.host.includes(':') ? Number(input.host.split(':')[1]) : undefined,
    path: input.path,
    query: { ...(input.query ?? {}) },
    headers: { host: input.host, ...(input.headers ?? {}) },
    body: input.body,
  };
}

/** Signs with an Authorization header. */
export async function signRequest(creds: Creds, input: SignInput): Promise<Signed> {
  const r = await signer(creds, input).sign(request(input), input.signingDate ? { signingDate: input.signingDate } : {});
  const q = wireQuery(r.query as Record<string, string | string[]>);
  return { method: r.method, target: `${r.path}${q ? `?${q}` : ''}`, headers: r.headers as Record<string, string>, body: input.body };
}

/** A presigned URL (X-Amz-* in the query). */
export async function presign(creds: Creds, input: SignInput, expiresIn = 300): Promise<Signed> {
  const opts: { expiresIn: number; signingDate?: Date } = { expiresIn };
  if (input.signingDate) opts.signingDate = input.signingDate;
  const r = await signer(creds, input).presign(request(input), opts);
  const q = wireQuery(r.query as Record<string, string | string[]>);
  return { method: r.method, target: `${r.path}${q ? `?${q}` : ''}`, headers: r.headers as Record<string, string>, body: input.body };
}

/** Node rawHeaders from a header object. */
export function rawHeadersOf(headers: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(headers)) out.push(k, v);
  return out;
}

export interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** Sends exactly this method, target and headers (no client-side normalisation of the path). */
export function send(baseUrl: string, s: Signed, override: Partial<Signed> = {}): Promise<Answer> {
  const m = { ...s, ...override };
  const u = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method: m.method, path: m.target, headers: m.headers, agent: false, setHost: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error('timeout')));
    req.end(m.body);
  });
}
