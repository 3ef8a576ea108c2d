/**
 * A real OpenID provider stand-in on 127.0.0.1 for jwt tests: discovery document, a JWKS endpoint
 * whose keys rotate, hit counters, an outage switch; and token minting with jose.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type CryptoKey, exportJWK, generateKeyPair, type JWK, type JWTPayload, SignJWT } from 'jose';

export interface SigningKey {
  kid: string;
  alg: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg = 'RS256'): Promise<SigningKey> {
  const opts = alg === 'EdDSA' ? { crv: 'Ed25519', extractable: true } : { extractable: true };
  const { privateKey, publicKey } = await generateKeyPair(alg, opts);
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
  return { kid, alg, privateKey, publicJwk };
}

export interface Issuer {
  /** http://127.0.0.1:PORT (the issuer string tokens carry). */
  url: string;
  jwksUri: string;
  /** Keys currently published. */
  keys: SigningKey[];
  /** JWKS fetches served (discovery not counted). */
  jwksHits: number;
  discoveryHits: number;
  /** When true every request answers 503. */
  down: boolean;
  /** Cache-Control sent with the JWKS (default max-age=600). */
  cacheControl: string;
  close(): Promise<void>;
}

export async function startIssuer(keys: SigningKey[]): Promise<Issuer> {
  const state: Issuer = {
    url: '',
    jwksUri: '',
    keys,
    jwksHits: 0,
    discoveryHits: 0,
    down: false,
    cacheControl: 'max-age=600',
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    if (state.down) {
      res.writeHead(503).end();
      return;
    }
    if (req.url === '/.well-known/openid-configuration') {
      state.discoveryHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ issuer: state.url, jwks_uri: state.jwksUri }));
      return;
    }
    if (req.url === '/jwks.json') {
      state.jwksHits++;
      res
        .writeHead(200, { 'content-type': 'application/json', 'cache-control': state.cacheControl })
        .end(JSON.stringify({ keys: state.keys.map((k) => k.publicJwk) }));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  state.url = `http://127.0.0.1:${port}`;
  state.jwksUri = `${state.url}/jwks.json`;
  state.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return state;
}

export interface MintOptions {
  /** Seconds from now (negative: already expired). Default 300. */
  expIn?: number | null;
  nbfIn?: number;
  iatIn?: number;
  header?: Record<string, unknown>;
  kid?: string | null;
}

/** A signed token: iss/aud/sub defaults given by the caller's claims. */
export async function mint(key: SigningKey | { secret: Uint8Array; alg: string }, claims: JWTPayload, o: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const payload: JWTPayload = { ...claims };
  if (o.expIn !== null) payload.exp = now + (o.expIn ?? 300);
  payload.iat = now + (o.iatIn ?? 0);
  if (o.nbfIn !== undefined) payload.nbf = now + o.nbfIn;
  const header: Record<string, unknown> = { alg: key.alg, typ: 'JWT', ...o.header };
  if ('kid' in key && o.kid !== null) header.kid = o.kid ?? key.kid;
  if (o.kid !== undefined && o.kid !== null) header.kid = o.kid;
  const jwt = new SignJWT(payload).setProtectedHeader(header as { alg: string });
  return jwt.sign('secret' in key ? key.secret : key.privateKey);
}

/** An unsigned `alg: none` token. */
export function unsigned(claims: JWTPayload, header: Record<string, unknown> = {}): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${b64({ alg: 'none', typ: 'JWT', ...header })}.${b64({ exp: now + 300, iat: now, ...claims })}.`;
}

/**
 * The plugins' clock (GatewayOptions.clock) moved by a test: real time plus an offset that `advance`
 * grows, so a cache window passes at once while tokens minted now keep valid `iat`/`exp` (a frozen
 * clock would see a token minted a second later as issued in the future).
 */
export function movableClock(): { now(): number; monotonic(): number; advance(ms: number): void } {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    monotonic: () => performance.now() + offset,
    advance(ms: number) {
      offset += ms;
    },
  };
}
