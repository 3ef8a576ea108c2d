/**
 * The jwt plugin's side of local issuer mode (docs/local-cognito.md): for an issuer the serving
 * process's command line points elsewhere (src/security/local-issuer.ts), the keys to verify with —
 * the local issuer's public key, or an override's JWKS URL — and, for an override that says so, the
 * `iss` to expect instead. Nothing else about verification changes: algorithms, kid, audience, expiry
 * and scopes are checked exactly as against the real issuer.
 */
import type { JWK } from 'jose';
import type { PluginDeps } from '../../pipeline/types.js';
import { isCognitoIssuer, localIssuerSettings, redirectFor } from '../../security/local-issuer.js';
import { loadOrCreateSigningKey, publicJwks } from '../../security/local-issuer-key.js';
import { stateKey } from '../state.js';
import type { VerifierOptions } from './index.js';

/** The local public key set, read (or made) once per config version: a reload picks up a replaced key. */
const LOCAL_KEYS = stateKey('jwt:local-issuer-keys', () => ({ keys: undefined as readonly JWK[] | undefined, file: '' }));
/** The process's settings, read once per gateway (a gateway's mode does not change across reloads). */
const SETTINGS = stateKey('jwt:local-issuer-settings', () => ({ value: localIssuerSettings() }));
/** Issuers already announced in this gateway's log (each once, not once per route and reload). */
const ANNOUNCED = stateKey('jwt:local-issuer-announced', () => new Set<string>());

/** Where a verifier of `issuer` takes its keys from, or undefined for the issuer's own (no local mode). */
export function redirectOf(issuer: string, deps: Pick<PluginDeps, 'state' | 'logger'>): VerifierOptions['redirect'] {
  const r = redirectFor(issuer, deps.state.gateway.get(SETTINGS).value);
  if (r === undefined) return undefined;
  const announced = deps.state.gateway.get(ANNOUNCED);
  const first = !announced.has(issuer);
  announced.add(issuer);
  if (r.kind === 'override') {
    if (first) deps.logger.warn({ issuer, jwksUri: r.jwksUri, ...(r.issuer !== undefined ? { acceptedIssuer: r.issuer } : {}) }, 'issuer override: tokens of this issuer are verified against another key set (development only)');
    return r.issuer === undefined ? { jwksUri: r.jwksUri } : { jwksUri: r.jwksUri, issuer: r.issuer };
  }
  const local = deps.state.config.get(LOCAL_KEYS);
  if (local.keys === undefined) {
    const key = loadOrCreateSigningKey();
    local.keys = publicJwks(key).keys;
    local.file = key.file;
  }
  if (first) {
    const pool = /\/([\w-]+_[0-9a-zA-Z]+)$/.exec(issuer)?.[1];
    const mint = isCognitoIssuer(issuer) && pool !== undefined ? `turnpike token --user-pool ${pool}` : `turnpike token --issuer ${issuer}`;
    deps.logger.warn({ issuer, keyFile: local.file, mint }, 'local issuer: tokens of this issuer are verified against the local development key; never use --local-issuer in production');
  }
  return { keys: local.keys };
}
