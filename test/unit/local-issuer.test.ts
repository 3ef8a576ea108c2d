/**
 * Local issuer mode (issue 12) in pieces: which issuers a setting redirects, the claims `turnpike
 * token` builds (Cognito's ID and access token claim sets), the signing key's file (0600, one key for
 * every process, untrusted files refused), and that the jwt verifier accepts the local key only when
 * redirected to it.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, test } from 'node:test';
import pino from 'pino';
import { parseExpiresIn } from '../../src/cli/token-command.js';
import { JwtVerifier, REASONS } from '../../src/plugins/jwt/index.js';
import { redirectOf } from '../../src/plugins/jwt/local-issuer.js';
import {
  ISSUER_OVERRIDES_ENV,
  LOCAL_ISSUER_ENV,
  localIssuerSettings,
  isCognitoIssuer,
  issuerOfSelector,
  LocalIssuerError,
  type LocalIssuerSettings,
  parseIssuerOverrides,
  parseLocalSelection,
  redirectFor,
} from '../../src/security/local-issuer.js';
import { buildClaims, DEFAULT_ACCESS_SCOPE, parseClaimArg, subFor, tokenUseFor } from '../../src/security/local-issuer-claims.js';
import { KEY_FILE, loadOrCreateSigningKey, publicJwks, readSigningKey, signToken } from '../../src/security/local-issuer-key.js';
import { pluginDeps } from '../helpers/plugin-deps.js';

const POOL = 'eu-west-1_AbC123';
const ISSUER = `https://cognito-idp.eu-west-1.amazonaws.com/${POOL}`;
const ARN = `arn:aws:cognito-idp:eu-west-1:123456789012:userpool/${POOL}`;
const NOW = Date.UTC(2026, 0, 1);
const ids = () => {
  let n = 0;
  return () => `id-${++n}`;
};
const settings = (local: LocalIssuerSettings['local'], overrides: Record<string, { jwksUri: string; issuer?: string }> = {}): LocalIssuerSettings => ({
  local,
  overrides: new Map(Object.entries(overrides)),
});

describe('selectors and settings', () => {
  test('a pool id, its ARN and its issuer URL name the same issuer; the pool id\'s prefix is its region', () => {
    assert.equal(issuerOfSelector(POOL), ISSUER);
    assert.equal(issuerOfSelector(ARN), ISSUER);
    assert.equal(issuerOfSelector(ISSUER), ISSUER);
    assert.equal(issuerOfSelector(POOL, 'us-east-1'), `https://cognito-idp.us-east-1.amazonaws.com/${POOL}`);
    assert.equal(issuerOfSelector('http://127.0.0.1:9000/realm'), 'http://127.0.0.1:9000/realm');
    assert.ok(isCognitoIssuer(ISSUER));
    assert.ok(!isCognitoIssuer('https://auth.example.com'));
  });

  test('anything else is an error that names the accepted forms', () => {
    assert.throws(() => issuerOfSelector('my-pool'), (e: Error) => e instanceof LocalIssuerError && /user pool id/.test(e.message));
    assert.throws(() => issuerOfSelector('arn:aws:cognito-idp:us-east-1:123456789012:userpool/eu-west-1_AbC123'), /region us-east-1 differs/);
  });

  test('--local-issuer without a value is every pool; a list is deduplicated issuers', () => {
    assert.equal(parseLocalSelection(true), 'all');
    assert.equal(parseLocalSelection(' '), 'all');
    assert.deepEqual(parseLocalSelection(`${POOL}, ${ARN},https://auth.example.com`), [ISSUER, 'https://auth.example.com']);
  });

  test('issuer overrides: JSON keyed by issuer, ARN or id; every mistake refused with the key named', () => {
    const o = parseIssuerOverrides(JSON.stringify({ [ARN]: { jwksUri: 'http://127.0.0.1:1/jwks', issuer: 'http://127.0.0.1:1' } }));
    assert.deepEqual([...o], [[ISSUER, { jwksUri: 'http://127.0.0.1:1/jwks', issuer: 'http://127.0.0.1:1' }]]);
    assert.throws(() => parseIssuerOverrides('{'), /not JSON/);
    assert.throws(() => parseIssuerOverrides('[]'), /JSON object/);
    assert.throws(() => parseIssuerOverrides(JSON.stringify({ [POOL]: { jwks: 'http://x' } })), /"eu-west-1_AbC123": unknown key "jwks"/);
    assert.throws(() => parseIssuerOverrides(JSON.stringify({ [POOL]: { jwksUri: 'file:///etc/passwd' } })), /jwksUri must be an http\(s\) URL/);
    assert.throws(() => parseIssuerOverrides(JSON.stringify({ [POOL]: { jwksUri: 'http://x', issuer: '' } })), /issuer must be a non-empty string/);
    assert.throws(() => parseIssuerOverrides(JSON.stringify({ [POOL]: { jwksUri: 'http://x' }, [ARN]: { jwksUri: 'http://y' } })), /overridden twice/);
  });

  test('redirects: none without settings; "all" is Cognito pools only; an override wins over local', () => {
    assert.equal(redirectFor(ISSUER, undefined), undefined);
    assert.deepEqual(redirectFor(ISSUER, settings('all')), { kind: 'local' });
    assert.equal(redirectFor('https://auth.example.com', settings('all')), undefined);
    assert.deepEqual(redirectFor('https://auth.example.com', settings(['https://auth.example.com'])), { kind: 'local' });
    assert.equal(redirectFor(ISSUER, settings(['https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_Other1'])), undefined);
    assert.equal(redirectFor(ISSUER, settings([])), undefined);
    assert.deepEqual(redirectFor(ISSUER, settings('all', { [ISSUER]: { jwksUri: 'http://x/jwks' } })), { kind: 'override', jwksUri: 'http://x/jwks' });
  });
});

describe('claims (turnpike token)', () => {
  test('an ID token has Cognito\'s ID token claims, in its order, and no scope', () => {
    const c = buildClaims({ issuer: ISSUER, username: 'alice', clientId: 'app1', groups: ['admin', 'dev'] }, NOW, ids());
    const iat = NOW / 1000;
    assert.deepEqual(c, {
      sub: subFor('alice'),
      'cognito:groups': ['admin', 'dev'],
      iss: ISSUER,
      'cognito:username': 'alice',
      origin_jti: 'id-1',
      aud: 'app1',
      event_id: 'id-2',
      token_use: 'id',
      auth_time: iat,
      exp: iat + 3600,
      iat,
      jti: 'id-3',
    });
    assert.deepEqual(Object.keys(c), ['sub', 'cognito:groups', 'iss', 'cognito:username', 'origin_jti', 'aud', 'event_id', 'token_use', 'auth_time', 'exp', 'iat', 'jti']);
  });

  test('an access token has client_id and no aud, username, the scopes space-separated, and no groups claim without groups', () => {
    const c = buildClaims({ issuer: ISSUER, clientId: 'app1', scopes: ['orders/read', 'orders/write'], expiresIn: 900 }, NOW, ids());
    assert.equal(c.token_use, 'access');
    assert.equal(c.client_id, 'app1');
    assert.equal(c.aud, undefined);
    assert.equal(c.username, 'test-user');
    assert.equal(c.scope, 'orders/read orders/write');
    assert.equal(c['cognito:groups'], undefined);
    assert.equal(c.exp, NOW / 1000 + 900);
    assert.equal(buildClaims({ issuer: ISSUER, tokenUse: 'access' }, NOW).scope, DEFAULT_ACCESS_SCOPE);
  });

  test('token use: access with scopes, id without; scopes on an ID token refused', () => {
    assert.equal(tokenUseFor({ scopes: ['a'] }), 'access');
    assert.equal(tokenUseFor({}), 'id');
    assert.equal(tokenUseFor({ tokenUse: 'access' }), 'access');
    assert.throws(() => tokenUseFor({ tokenUse: 'id', scopes: ['a'] }), /access tokens only/);
  });

  test('--claim values are JSON when they parse and replace defaults; bad input refused', () => {
    assert.deepEqual(parseClaimArg('email_verified=true'), ['email_verified', true]);
    assert.deepEqual(parseClaimArg('roles=["a","b"]'), ['roles', ['a', 'b']]);
    assert.deepEqual(parseClaimArg('email=a@example.com'), ['email', 'a@example.com']);
    assert.deepEqual(parseClaimArg('note=x=y'), ['note', 'x=y']);
    assert.throws(() => parseClaimArg('=x'), /NAME=VALUE/);
    const c = buildClaims({ issuer: ISSUER, claims: { aud: 'other', custom: 1 } }, NOW);
    assert.equal(c.aud, 'other');
    assert.equal(c.custom, 1);
    assert.throws(() => buildClaims({ issuer: ISSUER, scopes: ['a b'] }, NOW), /has a space/);
    assert.throws(() => buildClaims({ issuer: ISSUER, expiresIn: 1.5 }, NOW), /whole number/);
  });

  test('a stable UUID-shaped sub per username; an expired token on request; plain claims for a non-Cognito issuer', () => {
    assert.equal(subFor('bob'), subFor('bob'));
    assert.notEqual(subFor('bob'), subFor('alice'));
    assert.match(subFor('bob'), /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const expired = buildClaims({ issuer: ISSUER, expiresIn: -60 }, NOW);
    assert.equal((expired.exp as number) - (expired.iat as number), -60);
    const plain = buildClaims({ issuer: 'https://auth.example.com', clientId: 'api', scopes: ['read'] }, NOW, ids());
    assert.deepEqual(plain, { sub: subFor('test-user'), iss: 'https://auth.example.com', aud: 'api', scope: 'read', iat: NOW / 1000, exp: NOW / 1000 + 3600, jti: 'id-1' });
  });

  test('--expires-in takes seconds or a unit', () => {
    assert.equal(parseExpiresIn('90'), 90);
    assert.equal(parseExpiresIn('15m'), 900);
    assert.equal(parseExpiresIn('2h'), 7200);
    assert.equal(parseExpiresIn('1d'), 86_400);
    assert.equal(parseExpiresIn('-60'), -60);
    assert.throws(() => parseExpiresIn('soon'));
  });
});

describe('the signing key', () => {
  test('made once, 0600 in a 0700 folder, and read back as the same key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-li-'));
    assert.equal(readSigningKey(dir), undefined);
    const a = loadOrCreateSigningKey(dir);
    const b = loadOrCreateSigningKey(dir);
    assert.equal(a.kid, b.kid);
    assert.equal(statSync(join(dir, KEY_FILE)).mode & 0o777, 0o600);
    assert.equal(statSync(join(dir, 'local-issuer')).mode & 0o777, 0o700);
    assert.deepEqual(Object.keys(publicJwks(a).keys[0] ?? {}).sort(), ['alg', 'e', 'kid', 'kty', 'n', 'use']);
    assert.ok('d' in JSON.parse(readFileSync(join(dir, KEY_FILE), 'utf8')), 'the file holds the private key');
  });

  test('a key file others can read or write, or that is not a key, is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-li-'));
    loadOrCreateSigningKey(dir);
    chmodSync(join(dir, KEY_FILE), 0o644);
    assert.throws(() => readSigningKey(dir), (e: Error) => e instanceof LocalIssuerError && /mode is 644/.test(e.message));
    assert.throws(() => loadOrCreateSigningKey(dir), /mode is 644/);
    chmodSync(join(dir, KEY_FILE), 0o600);
    writeFileSync(join(dir, KEY_FILE), 'not json');
    assert.throws(() => readSigningKey(dir), /not a JSON private key/);
  });

  test('the verifier accepts a minted token only when redirected to the local key, and keeps the real iss', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-li-'));
    const key = loadOrCreateSigningKey(dir);
    const claims = buildClaims({ issuer: ISSUER, clientId: 'app1', groups: ['admin'] }, Date.now());
    const token = signToken(key, claims);
    const config = { cognito: { region: 'eu-west-1', userPoolId: POOL }, audience: ['app1'] };
    const local = new JwtVerifier(config, { redirect: { keys: publicJwks(key).keys } });
    const ok = await local.verify(token);
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.equal(ok.token.claims.iss, ISSUER);
    assert.deepEqual(ok.token.claims['cognito:groups'], ['admin']);
    assert.equal(local.remote, undefined, 'nothing is fetched from the real pool');
    // Another key set (the real pool's, here an empty inline one) does not know the local key.
    const real = new JwtVerifier({ ...config, keys: { keys: [] } });
    const refused = await real.verify(token);
    assert.equal(refused.ok, false);
    assert.equal(!refused.ok && refused.description, REASONS.kid);
    // A token whose signature is not the local key's is refused even when redirected.
    const other = loadOrCreateSigningKey(mkdtempSync(join(tmpdir(), 'turnpike-li-')));
    const forged = await local.verify(signToken({ ...other, kid: key.kid }, claims));
    assert.equal(!forged.ok && forged.description, REASONS.signature);
  });
});

describe('the jwt plugin\'s redirect (the process environment)', () => {
  const saved = { local: process.env[LOCAL_ISSUER_ENV], overrides: process.env[ISSUER_OVERRIDES_ENV], state: process.env.TURNPIKE_STATE_DIR };
  afterEach(() => {
    for (const [k, v] of [
      [LOCAL_ISSUER_ENV, saved.local],
      [ISSUER_OVERRIDES_ENV, saved.overrides],
      ['TURNPIKE_STATE_DIR', saved.state],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });

  test('the settings come from TURNPIKE_LOCAL_ISSUER / TURNPIKE_ISSUER_OVERRIDES, and are absent without them', () => {
    assert.equal(localIssuerSettings({}), undefined);
    assert.equal(localIssuerSettings({ [LOCAL_ISSUER_ENV]: '' }), undefined);
    assert.deepEqual(localIssuerSettings({ [LOCAL_ISSUER_ENV]: 'all' }), { local: 'all', overrides: new Map() });
    assert.deepEqual(localIssuerSettings({ [LOCAL_ISSUER_ENV]: POOL }), { local: [ISSUER], overrides: new Map() });
    assert.deepEqual(localIssuerSettings({ [ISSUER_OVERRIDES_ENV]: JSON.stringify({ [POOL]: { jwksUri: 'http://x/j' } }) })?.local, []);
    assert.throws(() => localIssuerSettings({ [LOCAL_ISSUER_ENV]: 'nonsense' }), LocalIssuerError);
  });

  test('without the environment nothing is redirected; with it, the local public key, announced once per gateway', () => {
    const lines: Record<string, unknown>[] = [];
    const logger = pino({ level: 'warn' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
    delete process.env[LOCAL_ISSUER_ENV];
    delete process.env[ISSUER_OVERRIDES_ENV];
    assert.equal(redirectOf(ISSUER, pluginDeps({ logger })), undefined);
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-li-'));
    process.env.TURNPIKE_STATE_DIR = dir;
    process.env[LOCAL_ISSUER_ENV] = 'all';
    const deps = pluginDeps({ logger });
    const r = redirectOf(ISSUER, deps);
    const key = readSigningKey(dir);
    assert.ok(key);
    assert.deepEqual(r, { keys: [key.publicJwk] });
    redirectOf(ISSUER, deps);
    assert.equal(lines.filter((l) => l.issuer === ISSUER).length, 1, 'announced once per gateway');
    assert.ok(!JSON.stringify(lines).includes('"d"'), 'no private key material in the log');
    assert.equal(redirectOf('https://auth.example.com', deps), undefined);
    process.env[ISSUER_OVERRIDES_ENV] = JSON.stringify({ [ISSUER]: { jwksUri: 'http://127.0.0.1:1/jwks', issuer: 'http://127.0.0.1:1' } });
    assert.deepEqual(redirectOf(ISSUER, deps), { keys: [key.publicJwk] }, 'a gateway keeps the settings it started with');
    assert.deepEqual(redirectOf(ISSUER, pluginDeps({ logger })), { jwksUri: 'http://127.0.0.1:1/jwks', issuer: 'http://127.0.0.1:1' });
  });
});
