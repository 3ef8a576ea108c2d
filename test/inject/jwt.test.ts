/**
 * The jwt plugin through the gateway in-process (inject tier): a real key server on 127.0.0.1 (discovery,
 * rotating JWKS, hit counting), tokens signed with jose, a function integration that echoes its event.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Issuer, makeKey, mint, movableClock, type SigningKey, startIssuer, unsigned } from '../helpers/jwt.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;
let iss: Issuer;
let k1: SigningKey;
let k2: SigningKey;
let evil: SigningKey;
let gw: InjectedGateway;
// The JWKS windows (5 s refresh interval, 5 s minimum TTL) pass by moving the plugins' clock, not by sleeping.
const clock = movableClock();

before(async () => {
  [k1, k2, evil] = await Promise.all([makeKey('k1'), makeKey('k2'), makeKey('evil')]);
  iss = await startIssuer([k1]);
  gw = await injectGateway(`
functions:
  echo: { module: "${FN}/echo.mjs" }
apis:
  - name: secured
    errorDialect: aws-http
    plugins:
      jwt: { issuer: "${iss.url}", audience: [api, client-abc] }
    routes:
      - { name: v2, methods: [GET], path: /v2, integration: { type: function, function: echo } }
      - { name: v1, methods: [GET], path: /v1, integration: { type: function, function: echo, payloadVersion: "1.0" } }
      - name: scoped
        methods: [GET]
        path: /scoped
        integration: { type: function, function: echo }
        plugins:
          jwt: { issuer: "${iss.url}", audience: [api], requiredScopes: [orders/read, orders/admin] }
      - name: query
        methods: [GET]
        path: /query
        integration: { type: mock }
        plugins:
          jwt: { issuer: "${iss.url}", audience: [api], identitySource: "$request.querystring.access_token" }
      - { name: open, methods: [GET], path: /open, integration: { type: mock }, plugins: { jwt: { enabled: false } } }
`, { clock });
});
after(async () => {
  await gw?.close();
  await iss?.close();
});

const get = (path: string, token?: string, prefix = 'Bearer ') =>
  gw.fetch(`${gw.url}${path}`, { headers: token === undefined ? {} : { authorization: `${prefix}${token}` } });

const claims = (extra: Record<string, unknown> = {}) => ({ iss: iss.url, aud: 'api', sub: 'user-1', ...extra });

async function expect401(res: Response, description?: string) {
  assert.equal(res.status, 401);
  assert.deepEqual(await res.json(), { message: 'Unauthorized' });
  const h = res.headers.get('www-authenticate');
  if (description === undefined) assert.equal(h, 'Bearer');
  else assert.equal(h, `Bearer scope="" error="invalid_token" error_description="${description}"`);
}

test('a valid token reaches a payload 2.0 function with requestContext.authorizer.jwt (claims as strings)', async () => {
  const res = await get('/v2', await mint(k1, claims({ 'cognito:groups': ['admins', 'ops'], level: 3 })));
  assert.equal(res.status, 200);
  const { event } = (await res.json()) as { event: { requestContext: { authorizer: { jwt: { claims: Record<string, string>; scopes: unknown } } } } };
  const jwt = event.requestContext.authorizer.jwt;
  assert.equal(jwt.claims.sub, 'user-1');
  assert.equal(jwt.claims.iss, iss.url);
  assert.equal(jwt.claims.level, '3');
  assert.equal(jwt.claims['cognito:groups'], '[admins ops]');
  assert.match(jwt.claims.exp as string, /^\d+$/);
  assert.equal(jwt.scopes, null);
});

test('payload 1.0 (HTTP API) gets requestContext.authorizer { claims, scopes }; the Bearer prefix is optional', async () => {
  const res = await get('/v1', await mint(k1, claims()), '');
  assert.equal(res.status, 200);
  const { event } = (await res.json()) as { event: { requestContext: { authorizer: { claims: Record<string, string>; scopes: unknown } } } };
  assert.equal(event.requestContext.authorizer.claims.sub, 'user-1');
  assert.equal(event.requestContext.authorizer.scopes, null);
});

test('missing, expired, future, wrong issuer, wrong audience, tampered, alg none: 401 with AWS www-authenticate', async () => {
  await expect401(await get('/v2'));
  await expect401(await get('/v2', 'Bearer'.slice(0, 0)));
  await expect401(await get('/v2', await mint(k1, claims(), { expIn: -10 })), 'the token has expired');
  await expect401(await get('/v2', await mint(k1, claims(), { nbfIn: 120 })), 'the token is not valid yet');
  await expect401(await get('/v2', await mint(k1, claims({ iss: 'https://other.example' }))), 'the token does not have a valid issuer');
  await expect401(await get('/v2', await mint(k1, claims({ aud: 'someone-else' }))), 'the token does not have a valid audience');
  const good = await mint(k1, claims());
  const [h, p] = good.split('.') as [string, string, string];
  const forged = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p, 'base64url').toString()), sub: 'admin' })).toString('base64url');
  await expect401(await get('/v2', `${h}.${forged}.${good.split('.')[2]}`), 'the token signature is invalid');
  await expect401(await get('/v2', `${unsigned(claims(), { kid: 'k1' })}AAAA`), 'the token signing algorithm is not allowed');
  await expect401(await get('/v2', 'not-a-jwt'), 'the token is malformed');
  // A key embedded in the token is ignored.
  await expect401(await get('/v2', await mint(evil, claims(), { kid: 'k1', header: { jwk: evil.publicJwk } })), 'the token signature is invalid');
});

test('Cognito-style access token: no aud, client_id matches the audience list', async () => {
  const res = await get('/v2', await mint(k1, { iss: iss.url, client_id: 'client-abc', token_use: 'access', sub: 's' }));
  assert.equal(res.status, 200);
  await expect401(await get('/v2', await mint(k1, { iss: iss.url, client_id: 'client-zzz' })), 'the token does not have a valid audience');
});

test('route scopes: one of them in scope/scp passes, scopes reach the event; none gives 403 Forbidden', async () => {
  const ok = await get('/scoped', await mint(k1, claims({ scope: 'profile orders/read' })));
  assert.equal(ok.status, 200);
  const { event } = (await ok.json()) as { event: { requestContext: { authorizer: { jwt: { scopes: string[] } } } } };
  assert.deepEqual(event.requestContext.authorizer.jwt.scopes, ['profile', 'orders/read']);
  assert.equal((await get('/scoped', await mint(k1, claims({ scp: ['orders/admin'] })))).status, 200);
  const no = await get('/scoped', await mint(k1, claims({ scope: 'profile' })));
  assert.equal(no.status, 403);
  assert.deepEqual(await no.json(), { message: 'Forbidden' });
  await expect401(await get('/scoped', await mint(k1, claims({ scope: 'orders/read' }), { expIn: -1 })), 'the token has expired');
});

test('identity source in the query string; a route with the plugin disabled is open', async () => {
  const t = await mint(k1, claims());
  assert.equal((await gw.fetch(`${gw.url}/query?access_token=${t}`)).status, 200);
  await expect401(await gw.fetch(`${gw.url}/query`));
  assert.equal((await get('/open')).status, 200);
});

test('JWKS: a kid flood fetches the key set at most once per 5 s; rotation is picked up; stale keys work while the endpoint is down', async () => {
  assert.equal((await get('/v2', await mint(k1, claims()))).status, 200);
  clock.advance(5_100);
  const start = iss.jwksHits;
  const answers = await Promise.all(Array.from({ length: 40 }, async (_, i) => (await get('/v2', await mint(evil, claims(), { kid: `random-${i}` }))).status));
  assert.ok(answers.every((s) => s === 401));
  for (let i = 0; i < 10; i++) assert.equal((await get('/v2', await mint(evil, claims(), { kid: `again-${i}` }))).status, 401);
  assert.ok(iss.jwksHits - start <= 1, `JWKS fetched ${iss.jwksHits - start} times for 50 unknown kids`);

  // Rotation: k2 is published; a token signed by it is accepted once the 5 s window has passed.
  iss.keys = [k1, k2];
  iss.cacheControl = 'max-age=1'; // clamped to the 5 s minimum TTL
  clock.advance(5_100);
  const rotated = await get('/v2', await mint(k2, claims()));
  assert.equal(rotated.status, 200);

  // Outage after the TTL: the stale keys still verify new tokens.
  iss.down = true;
  clock.advance(5_100);
  assert.equal((await get('/v2', await mint(k1, claims({ n: 1 })))).status, 200);
  assert.equal((await get('/v2', await mint(k2, claims({ n: 2 })))).status, 200);
  assert.equal((await get('/v2', await mint(k1, claims({ n: 3 })))).status, 200);
  iss.down = false;
  iss.cacheControl = 'max-age=600';
});
