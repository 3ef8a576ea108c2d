/**
 * The jwt verifier and JWKS cache against a real key server on 127.0.0.1 (keys rotate, can go
 * down, hits are counted) and real tokens signed with jose.
 */
import assert from 'node:assert/strict';
import { type ApiFlavor, PrincipalShapes, stringifyClaims } from '../../src/integrations/function/principal-shapes.js';
import { jwtConfigFromAws } from '../../src/aws/security.js';
import { createHmac } from 'node:crypto';
import { after, before, test } from 'node:test';
import { type JWK, SignJWT } from 'jose';
import type { AwsSecurityScheme } from '../../src/openapi/types.js';
import {
  type JwtConfig,
  JwtVerifier,
  jwtConfigProblems,
  REASONS,
  tokenScopes,
  type VerifiedToken,
  type VerifyResult,
} from '../../src/plugins/jwt/index.js';
import { maxAgeOf, RemoteJwks } from '../../src/security/jwks.js';
import { type Issuer, makeKey, mint, type SigningKey, startIssuer, unsigned } from '../helpers/jwt.js';

let iss: Issuer;
let k1: SigningKey;
let k2: SigningKey;
let attacker: SigningKey;
let attackerIss: Issuer;

before(async () => {
  [k1, k2, attacker] = await Promise.all([makeKey('k1'), makeKey('k2'), makeKey('evil')]);
  iss = await startIssuer([k1]);
  attackerIss = await startIssuer([attacker]);
});
after(async () => {
  await iss?.close();
  await attackerIss?.close();
});

/** A verifier with its own JWKS source and a controllable clock (the shared one is process-wide). */
/** Real time that a test can move: reading `t` follows the wall clock, assigning shifts it. A frozen
 * clock made this file flaky: a token minted in the next second had an `iat` "in the future". */
function liveClock(): { t: number } {
  let offset = 0;
  return {
    get t() {
      return Date.now() + offset;
    },
    set t(v: number) {
      offset = v - Date.now();
    },
  };
}

function verifier(cfg: Partial<JwtConfig> = {}, clock: { t: number } = liveClock()) {
  const now = () => clock.t;
  const remote = new RemoteJwks({ issuer: cfg.issuer ?? iss.url, now });
  const v = new JwtVerifier({ issuer: iss.url, audience: ['api'], ...cfg }, { now, remote });
  return { v, remote, clock };
}

const fail = (r: VerifyResult) => (r.ok ? 'ok' : r.description);

/** The event shapes a verified token's principal takes (what the plugin leaves on ctx.principal, as the function integration maps it). */
function shapesOf(t: VerifiedToken, flavor: ApiFlavor) {
  const p = { kind: t.kind, claims: t.claims, scopes: t.scopesOut };
  const s = new PrincipalShapes(flavor);
  return { authorizerV1: s.v1(p) as Record<string, unknown>, authorizerV2: s.v2(p) as Record<string, unknown>, templateContext: s.template(p) };
}

test('a valid RS256 token: keys found through OpenID discovery, claims stringified as AWS passes them', async () => {
  const { v } = verifier({ requiredScopes: ['read'] });
  const token = await mint(k1, { iss: iss.url, aud: 'api', sub: 'u1', scope: 'read write', 'cognito:groups': ['a', 'b'], n: 5, ok: true });
  const r = await v.verify(token);
  assert.ok(r.ok, fail(r));
  assert.equal(r.token.principalId, 'u1');
  assert.equal(r.token.kind, 'jwt');
  const shaped = shapesOf(r.token, 'http');
  const jwt = (shaped.authorizerV2 as { jwt: { claims: Record<string, string>; scopes: string[] } }).jwt;
  assert.equal(jwt.claims.sub, 'u1');
  assert.equal(jwt.claims.n, '5');
  assert.equal(jwt.claims.ok, 'true');
  assert.equal(jwt.claims['cognito:groups'], '[a b]');
  assert.equal(typeof jwt.claims.exp, 'string');
  assert.deepEqual(jwt.scopes, ['read', 'write']);
  assert.deepEqual(shaped.authorizerV1, { claims: jwt.claims, scopes: ['read', 'write'] });
  assert.deepEqual(shaped.templateContext, { claims: jwt.claims });
  // Cached: the synchronous lookup answers without verifying again.
  const c = v.cached(token);
  assert.ok(c?.ok);
});

test('scopes are null in the authorizer when the route has no authorization scopes (as AWS)', async () => {
  const { v } = verifier();
  const r = await v.verify(await mint(k1, { iss: iss.url, aud: 'api', scope: 'read' }));
  assert.ok(r.ok, fail(r));
  assert.equal((shapesOf(r.token, 'http').authorizerV2 as { jwt: { scopes: unknown } }).jwt.scopes, null);
});

test('time claims: expired, not yet valid, issued in the future, no exp; clock skew tolerates small offsets', async () => {
  const { v } = verifier();
  const base = { iss: iss.url, aud: 'api' };
  assert.equal(fail(await v.verify(await mint(k1, base, { expIn: -5 }))), REASONS.expired);
  assert.equal(fail(await v.verify(await mint(k1, base, { nbfIn: 60 }))), REASONS.notYet);
  assert.equal(fail(await v.verify(await mint(k1, base, { iatIn: 60 }))), REASONS.future);
  assert.equal(fail(await v.verify(await mint(k1, base, { expIn: null }))), REASONS.noExp);
  const { v: lenient } = verifier({ clockSkewSec: 120 });
  assert.equal(fail(await lenient.verify(await mint(k1, base, { expIn: -5 }))), 'ok');
  assert.equal(fail(await lenient.verify(await mint(k1, base, { nbfIn: 60, iatIn: 60 }))), 'ok');
  assert.equal(fail(await lenient.verify(await mint(k1, base, { expIn: -300 }))), REASONS.expired);
});

test('a cached token stops being accepted when it expires', async () => {
  const { v, clock } = verifier();
  const token = await mint(k1, { iss: iss.url, aud: 'api' }, { expIn: 30 });
  assert.ok((await v.verify(token)).ok);
  clock.t += 31_000;
  assert.equal(fail(v.cached(token) as VerifyResult), REASONS.expired);
  assert.equal(fail(await v.verify(token)), REASONS.expired);
});

test('issuer and audience: wrong iss, wrong aud, aud list, client_id only when aud is absent (AWS)', async () => {
  const { v } = verifier({ audience: ['api', 'client-123'] });
  assert.equal(fail(await v.verify(await mint(k1, { iss: 'https://evil.example', aud: 'api' }))), REASONS.issuer);
  assert.equal(fail(await v.verify(await mint(k1, { iss: `${iss.url}/`, aud: 'api' }))), REASONS.issuer);
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, aud: 'other' }))), REASONS.audience);
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, aud: ['x', 'api'] }))), 'ok');
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, client_id: 'client-123', token_use: 'access' }))), 'ok');
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, client_id: 'client-999' }))), REASONS.audience);
  // Both present: aud decides, client_id is not consulted.
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, aud: 'other', client_id: 'client-123' }))), REASONS.audience);
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url }))), REASONS.audience);
});

test('signatures: tampered payload, tampered signature, alg none, HS256 made with the RSA public key (confusion)', async () => {
  const { v } = verifier();
  const good = await mint(k1, { iss: iss.url, aud: 'api', sub: 'u1' });
  const [h, p, s] = good.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url');
  assert.equal(fail(await v.verify(`${h}.${forged}.${s}`)), REASONS.signature);
  const flipped = `${s.slice(0, -4)}${s.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
  assert.equal(fail(await v.verify(`${h}.${p}.${flipped}`)), REASONS.signature);
  assert.equal(fail(await v.verify(unsigned({ iss: iss.url, aud: 'api' }, { kid: 'k1' }))), REASONS.malformed);
  assert.equal(fail(await v.verify(`${unsigned({ iss: iss.url, aud: 'api' }, { kid: 'k1' })}c2ln`)), REASONS.alg);
  assert.equal(fail(await v.verify(unsigned({ iss: iss.url, aud: 'api' }, { alg: 'None', kid: 'k1' }) + 'eA')), REASONS.alg);
  // The classic confusion: HMAC keyed with the public key's bytes, alg HS256, kid of the RSA key.
  for (const secret of [JSON.stringify(k1.publicJwk), k1.publicJwk.n as string]) {
    const head = Buffer.from(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: 'k1' })).toString('base64url');
    const body = Buffer.from(JSON.stringify({ iss: iss.url, aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 })).toString('base64url');
    const sig = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
    assert.equal(fail(await v.verify(`${head}.${body}.${sig}`)), REASONS.alg);
  }
  // Explicit algorithms: RS256 only refuses a PS256 token signed by the same RSA key.
  const { v: rsOnly } = verifier({ algorithms: ['RS256'] });
  const psKey = await makeKey('k1', 'PS256');
  assert.equal(fail(await rsOnly.verify(await mint(psKey, { iss: iss.url, aud: 'api' }))), REASONS.alg);
});

test('header key material is never trusted or fetched: jwk, jku, x5u, x5c', async () => {
  const { v } = verifier();
  const claims = { iss: iss.url, aud: 'api', sub: 'admin' };
  const before = attackerIss.jwksHits + attackerIss.discoveryHits;
  // Attacker signs with its own key and embeds it, reusing the real kid.
  assert.equal(fail(await v.verify(await mint(attacker, claims, { kid: 'k1', header: { jwk: attacker.publicJwk } }))), REASONS.signature);
  assert.equal(fail(await v.verify(await mint(attacker, claims, { kid: 'k1', header: { jku: attackerIss.jwksUri } }))), REASONS.signature);
  assert.equal(fail(await v.verify(await mint(attacker, claims, { kid: 'evil', header: { jku: attackerIss.jwksUri, x5u: attackerIss.jwksUri } }))), REASONS.kid);
  assert.equal(fail(await v.verify(await mint(attacker, claims, { kid: 'k1', header: { x5c: ['MIIB'] } }))), REASONS.signature);
  assert.equal(attackerIss.jwksHits + attackerIss.discoveryHits, before, 'nothing a token names is ever fetched');
});

test('unknown kid: one refresh then reject; a flood of random kids fetches the JWKS at most once per 5 s', async () => {
  const { v, clock } = verifier();
  assert.ok((await v.verify(await mint(k1, { iss: iss.url, aud: 'api' }))).ok);
  clock.t += 6_000;
  const start = iss.jwksHits;
  const flood = await Promise.all(
    Array.from({ length: 50 }, async (_, i) => fail(await v.verify(await mint(attacker, { iss: iss.url, aud: 'api' }, { kid: `rand-${i}` })))),
  );
  assert.ok(flood.every((d) => d === REASONS.kid));
  assert.equal(iss.jwksHits - start, 1, 'one refresh for the whole flood');
  for (let i = 0; i < 20; i++) assert.equal(fail(await v.verify(await mint(attacker, { iss: iss.url, aud: 'api' }, { kid: `more-${i}` }))), REASONS.kid);
  assert.equal(iss.jwksHits - start, 1, 'still inside the 5 s window');
  clock.t += 5_001;
  assert.equal(fail(await v.verify(await mint(attacker, { iss: iss.url, aud: 'api' }, { kid: 'later' }))), REASONS.kid);
  assert.equal(iss.jwksHits - start, 2, 'the window has passed: one more refresh');
});

test('rotation: a new kid is picked up by a refresh; TTL from Cache-Control; stale keys served while the endpoint is down', async () => {
  const { v, remote, clock } = verifier();
  iss.keys = [k1];
  iss.cacheControl = 'public, max-age=60';
  assert.ok((await v.verify(await mint(k1, { iss: iss.url, aud: 'api' }))).ok);
  const hits = remote.fetches;
  iss.keys = [k1, k2];
  clock.t += 5_001;
  const r = await v.verify(await mint(k2, { iss: iss.url, aud: 'api' }));
  assert.ok(r.ok, fail(r));
  assert.equal(remote.fetches, hits + 1);
  // Outage after the TTL: the stale keys keep working; the background refresh fails quietly.
  iss.down = true;
  clock.t += 61_000;
  for (let i = 0; i < 3; i++) {
    const s = await v.verify(await mint(k1, { iss: iss.url, aud: 'api', n: i }));
    assert.ok(s.ok, fail(s));
    await new Promise((res) => setTimeout(res, 20));
  }
  assert.ok(remote.lastError !== undefined, 'the refresh was attempted and failed');
  iss.down = false;
  iss.cacheControl = 'max-age=600';
  // Keys removed at the issuer stop verifying after a refresh.
  iss.keys = [k2];
  clock.t += 6_000;
  await remote.getKeys(); // kicks the background refresh (TTL passed)
  await new Promise((res) => setTimeout(res, 100));
  assert.equal(fail(await v.verify(await mint(k1, { iss: iss.url, aud: 'api', n: 'x' }))), REASONS.kid);
  iss.keys = [k1];
});

test('no keys ever fetched and the endpoint down: rejected, and retries are rate-limited too', async () => {
  const down = await startIssuer([k1]);
  down.down = true;
  try {
    const clock = { t: Date.now() };
    const now = () => clock.t;
    const remote = new RemoteJwks({ issuer: down.url, now });
    const v = new JwtVerifier({ issuer: down.url, audience: ['api'] }, { now, remote });
    for (let i = 0; i < 5; i++) assert.equal(fail(await v.verify(await mint(k1, { iss: down.url, aud: 'api', i }))), REASONS.keys);
    assert.equal(down.discoveryHits, 0, 'a down endpoint answers 503 before counting');
  } finally {
    await down.close();
  }
});

test('inline keys (ES256, EdDSA), a token without kid against a single fitting key; symmetric keys refused', async () => {
  const es = await makeKey('es', 'ES256');
  const ed = await makeKey('ed', 'EdDSA');
  const v = new JwtVerifier({ issuer: 'https://issuer.example', audience: ['api'], keys: { keys: [es.publicJwk, ed.publicJwk] as JWK[] } as JwtConfig['keys'] });
  const claims = { iss: 'https://issuer.example', aud: 'api' };
  assert.equal(fail(await v.verify(await mint(es, claims))), 'ok');
  assert.equal(fail(await v.verify(await mint(ed, claims))), 'ok');
  assert.equal(fail(await v.verify(await mint(es, claims, { kid: null }))), 'ok');
  // ES256 token naming the EdDSA key: wrong key type for the alg.
  assert.equal(fail(await v.verify(await mint(es, claims, { kid: 'ed' }))), REASONS.kid);
  assert.deepEqual(
    jwtConfigProblems({ issuer: 'x', audience: ['a'], keys: { keys: [{ kty: 'oct', k: 'c2VjcmV0' } as { kty: string }] } }).map((p) => p.path.join('.')),
    ['keys.keys.0'],
  );
});

test('HS256 with a shared secret; RS tokens refused by it; HS never allowed with a key set', async () => {
  const secret = 'a-very-long-shared-secret-of-32+chars!';
  const v = new JwtVerifier({ issuer: 'https://hs.example', audience: ['api'], secret });
  const claims = { iss: 'https://hs.example', aud: 'api' };
  const hs = { secret: new TextEncoder().encode(secret), alg: 'HS256' };
  assert.equal(fail(await v.verify(await mint(hs, claims))), 'ok');
  assert.equal(fail(await v.verify(await mint({ secret: new TextEncoder().encode('another-secret-of-enough-length-xx'), alg: 'HS256' }, claims))), REASONS.signature);
  assert.equal(fail(await v.verify(await mint(k1, claims))), REASONS.alg);
  assert.deepEqual(
    jwtConfigProblems({ issuer: 'x', audience: ['a'], algorithms: ['RS256', 'HS256'] }).map((p) => p.path.join('.')),
    ['algorithms.1'],
  );
  assert.deepEqual(
    jwtConfigProblems({ issuer: 'x', audience: ['a'], secret, algorithms: ['HS256', 'RS256'], jwksUri: 'https://x/jwks' }).map((p) => p.path.join('.')),
    ['jwksUri', 'algorithms.1'],
  );
  assert.deepEqual(jwtConfigProblems({ issuer: 'x' }).map((p) => p.path.join('.')), ['audience']);
  assert.deepEqual(jwtConfigProblems({ audience: ['a'] }).map((p) => p.path.join('.')), ['']);
});

test('Cognito: issuer from region and pool id; access token (client_id) and ID token (aud); REST claims and kind', async () => {
  const cfg: JwtConfig = { cognito: { region: 'eu-west-1', userPoolId: 'eu-west-1_AbC123' }, audience: ['client-1'] };
  const issuer = 'https://cognito-idp.eu-west-1.amazonaws.com/eu-west-1_AbC123';
  const clock = { t: Date.now() };
  const remote = new RemoteJwks({ jwksUri: iss.jwksUri, now: () => clock.t });
  const v = new JwtVerifier(cfg, { remote });
  assert.equal(v.issuer, issuer);
  const access = await v.verify(await mint(k1, { iss: issuer, client_id: 'client-1', token_use: 'access', scope: 'aws.cognito.signin.user.admin' }));
  assert.ok(access.ok, fail(access));
  assert.equal(access.token.kind, 'cognito');
  assert.ok((await v.verify(await mint(k1, { iss: issuer, aud: 'client-1', token_use: 'id', 'cognito:groups': ['admin', 'dev'] }))).ok);
  const rest = new JwtVerifier({ ...cfg, requireAudience: false, challenge: false, audience: undefined }, { remote });
  const r = await rest.verify(await mint(k1, { iss: issuer, aud: 'whatever', 'cognito:groups': ['admin', 'dev'], email_verified: true }));
  assert.ok(r.ok, fail(r));
  const restV1 = shapesOf(r.token, 'rest').authorizerV1;
  assert.deepEqual(Object.keys(restV1), ['claims']);
  assert.equal((restV1 as { claims: Record<string, string> }).claims['cognito:groups'], 'admin,dev');
  assert.equal((restV1 as { claims: Record<string, string> }).claims.email_verified, 'true');
});

test('jwtConfigFromAws: HTTP API jwt authorizer and REST cognito_user_pools', () => {
  const http: AwsSecurityScheme = {
    type: 'oauth2',
    authorizer: {
      type: 'jwt',
      identitySource: '$request.header.Authorization',
      jwtConfiguration: { issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1', audience: ['abc'] },
    },
  };
  assert.deepEqual(jwtConfigFromAws(http, ['read']), {
    audience: ['abc'],
    issuer: 'https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool1',
    cognito: { region: 'us-east-1', userPoolId: 'us-east-1_Pool1' },
    identitySource: '$request.header.Authorization',
    requiredScopes: ['read'],
  });
  const oidc: AwsSecurityScheme = {
    type: 'openIdConnect',
    openIdConnectUrl: 'https://auth.example.com/.well-known/openid-configuration',
    authorizer: { type: 'jwt', jwtConfiguration: { audience: ['x'] } },
  };
  assert.equal(jwtConfigFromAws(oidc).issuer, 'https://auth.example.com');
  const rest: AwsSecurityScheme = {
    type: 'apiKey',
    name: 'Authorization',
    in: 'header',
    authType: 'cognito_user_pools',
    authorizer: { type: 'cognito_user_pools', providerARNs: ['arn:aws:cognito-idp:eu-central-1:123456789012:userpool/eu-central-1_XyZ9'] },
  };
  assert.deepEqual(jwtConfigFromAws(rest, []), {
    requireAudience: false,
    challenge: false,
    cognito: { region: 'eu-central-1', userPoolId: 'eu-central-1_XyZ9' },
    identitySource: 'method.request.header.Authorization',
  });
  assert.deepEqual(jwtConfigProblems(jwtConfigFromAws(rest)), []);
  assert.throws(
    () => jwtConfigFromAws({ type: 'apiKey', authorizer: { type: 'cognito_user_pools', providerARNs: ['nope'] } }),
    (e: Error & { problems?: { path: unknown[] }[] }) => e.problems?.[0]?.path.join('.') === 'providerARNs.0',
  );
  assert.throws(() => jwtConfigFromAws({ type: 'apiKey', authorizer: { type: 'token' } }), /not a JWT authorizer/);
});

test('helpers: scopes from scope and scp, claim strings, Cache-Control max-age', () => {
  assert.deepEqual(tokenScopes({ scope: 'a  b', scp: ['c', 'a'] }), ['a', 'b', 'c']);
  assert.deepEqual(tokenScopes({ scp: 'x y' }), ['x', 'y']);
  assert.deepEqual(stringifyClaims({ a: 1, b: [1, 'x'], c: { d: 1 }, e: null }, 'http'), { a: '1', b: '[1 x]', c: '{"d":1}', e: '' });
  assert.equal(maxAgeOf('public, max-age=300'), 300);
  assert.equal(maxAgeOf('max-age=300, s-maxage=60'), 60);
  assert.equal(maxAgeOf('no-store'), 0);
  assert.equal(maxAgeOf(null), undefined);
});

test('crit and b64 header parameters are refused', async () => {
  const { v } = verifier();
  const t = await new SignJWT({ iss: iss.url, aud: 'api', exp: Math.floor(Date.now() / 1000) + 60 })
    .setProtectedHeader({ alg: 'RS256', kid: 'k1', crit: ['exp'], exp: 1 } as never)
    .sign(k1.privateKey)
    .catch(() => undefined);
  if (t !== undefined) assert.equal(fail(await v.verify(t)), REASONS.malformed);
});
