/**
 * Bypass attempts against authentication and IP rules, through the real gateway process. Auth
 * decisions are made on the normalized path the router uses and the gateway forwards, so no spelling
 * of /admin may reach the upstream's /admin without a valid token, and no header trick may change
 * who the client is. Every attempt asserts on what the UPSTREAM saw, not only on the status.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Issuer, makeKey, mint, type SigningKey, startIssuer, unsigned } from '../helpers/jwt.js';
import { rawGet, rawRequest } from '../helpers/raw-http.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';

let up: Upstream;
let gw: RunningGateway;
let issuer: Issuer;
let key: SigningKey;
let other: SigningKey;

before(async () => {
  up = await startUpstream();
  key = await makeKey('good');
  other = await makeKey('attacker');
  issuer = await startIssuer([key]);
  gw = await startGateway(`
upstreams:
  app: { targets: [{ url: "${up.url}" }] }
apis:
  - name: site
    routes:
      - name: admin
        path: /admin
        plugins: { jwt: { issuer: "${issuer.url}", audience: [site] } }
        integration: { type: http, upstream: app }
      - name: admin-tree
        path: /admin/{proxy+}
        plugins: { jwt: { issuer: "${issuer.url}", audience: [site] } }
        integration: { type: http, upstream: app }
      - name: internal
        path: /internal
        plugins: { ip-restriction: { allow: ["10.0.0.0/8"] } }
        integration: { type: http, upstream: app }
      - name: public
        path: /{proxy+}
        integration: { type: http, upstream: app }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
  await issuer?.close();
});

/** Did the upstream receive a request for the protected resource? */
function upstreamSawAdmin(since: number): boolean {
  return up.seen.slice(since).some((r) => {
    const path = (r.url.split('?')[0] ?? '').toLowerCase();
    return path === '/admin' || path.startsWith('/admin/') || path === '/internal';
  });
}

const SPELLINGS = [
  '/admin',
  '/%61dmin',
  '/adm%69n',
  '/x/../admin',
  '/x/%2e%2e/admin',
  '/%2e/admin',
  '/./admin',
  '//admin',
  '/admin/.',
  '/admin/x/..',
  '/admin/..;/admin',
  '/admin%2fsecret',
  '/admin%5csecret',
  '/admin%00',
  '/admin\\secret',
  'http://evil.example/admin',
  '/admin?x=1#frag',
];

for (const target of SPELLINGS) {
  test(`no token: ${JSON.stringify(target)} never reaches /admin upstream`, async () => {
    const since = up.seen.length;
    const res = await rawRequest(gw.port, rawGet(target));
    assert.ok([400, 401, 404].includes(res.status), `status ${res.status} for ${target}`);
    assert.equal(upstreamSawAdmin(since), false, `upstream saw ${JSON.stringify(up.seen.slice(since).map((r) => r.url))}`);
  });
}

test('a mixed-case spelling is a different (public) path and is forwarded as written, never as /admin', async () => {
  const since = up.seen.length;
  const res = await rawRequest(gw.port, rawGet('/ADMIN'));
  assert.equal(res.status, 200);
  assert.deepEqual(
    up.seen.slice(since).map((r) => r.url),
    ['/ADMIN'],
  );
});

const BAD_TOKENS: [string, () => Promise<string>][] = [
  ['expired', () => mint(key, { iss: issuer.url, aud: 'site', sub: 'u' }, { expIn: -60 })],
  ['not yet valid', () => mint(key, { iss: issuer.url, aud: 'site', sub: 'u' }, { nbfIn: 600 })],
  ['another audience', () => mint(key, { iss: issuer.url, aud: 'other-site', sub: 'u' })],
  ['another issuer', () => mint(key, { iss: 'https://evil.example', aud: 'site', sub: 'u' })],
  ['signed by an unknown key with a known kid', () => mint(other, { iss: issuer.url, aud: 'site', sub: 'u' }, { kid: 'good' })],
  ['alg none', async () => unsigned({ iss: issuer.url, aud: 'site', sub: 'u', exp: Math.floor(Date.now() / 1000) + 300 })],
  ['embedded jwk header', () => mint(other, { iss: issuer.url, aud: 'site', sub: 'u' }, { header: { jwk: { kty: 'RSA' } }, kid: 'attacker' })],
  ['jku pointing elsewhere', () => mint(other, { iss: issuer.url, aud: 'site', sub: 'u' }, { header: { jku: 'http://127.0.0.1:1/jwks' }, kid: 'attacker' })],
];

for (const [name, make] of BAD_TOKENS) {
  test(`token ${name}: 401 and the upstream is not reached`, async () => {
    const since = up.seen.length;
    const token = await make();
    const res = await fetch(`${gw.url}/admin`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401);
    assert.equal(upstreamSawAdmin(since), false);
  });
}

test('tampered signature: 401', async () => {
  const good = await mint(key, { iss: issuer.url, aud: 'site', sub: 'u' });
  const [h, p, s] = good.split('.') as [string, string, string];
  // Flip a bit of the signature's bytes (editing base64url characters can leave the bytes unchanged:
  // the last character carries only some data bits).
  const sig = Buffer.from(s, 'base64url');
  sig[0] = (sig[0] ?? 0) ^ 0x01;
  const flipped = `${h}.${p}.${sig.toString('base64url')}`;
  const res = await fetch(`${gw.url}/admin`, { headers: { authorization: `Bearer ${flipped}` } });
  assert.equal(res.status, 401);
});

test('a valid token passes, and the path the upstream sees is the normalized one', async () => {
  const since = up.seen.length;
  const token = await mint(key, { iss: issuer.url, aud: 'site', sub: 'u' });
  const res = await rawRequest(gw.port, rawGet('/x/../admin/./reports', [`Authorization: Bearer ${token}`]));
  assert.equal(res.status, 200);
  assert.deepEqual(
    up.seen.slice(since).map((r) => r.url),
    ['/admin/reports'],
  );
});

test('X-Forwarded-For from an untrusted client does not satisfy an IP allow list', async () => {
  const since = up.seen.length;
  const res = await rawRequest(gw.port, rawGet('/internal', ['X-Forwarded-For: 10.1.2.3', 'X-Real-IP: 10.1.2.3', 'Forwarded: for=10.1.2.3']));
  assert.equal(res.status, 403);
  assert.equal(upstreamSawAdmin(since), false);
});

test('duplicate Host and oversized headers are refused before any route runs', async () => {
  const since = up.seen.length;
  const dup = await rawRequest(gw.port, 'GET /admin HTTP/1.1\r\nHost: a\r\nHost: b\r\nConnection: close\r\n\r\n');
  assert.equal(dup.status, 400);
  const big = await rawRequest(gw.port, rawGet('/admin', [`Authorization: Bearer ${'a'.repeat(20_000)}`]));
  assert.equal(big.status, 431);
  assert.equal(upstreamSawAdmin(since), false);
});
