/**
 * SigV4 verification (src/security/sigv4.ts) against requests signed by the AWS SDK's own signer,
 * plus the worked example of the AWS SigV4 documentation. Every request goes through the gateway's
 * path normalization first, as in the plugin: the signature must cover the path that is forwarded.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  type SigV4Credential,
  type SigV4Result,
  canonicalQuery,
  canonicalUri,
  EMPTY_SHA256,
  SigningKeyCache,
  sha256Hex,
  verifySigV4,
} from '../../src/security/sigv4.js';
import { normalizeTarget } from '../../src/server/path.js';
import { type Creds, type Signed, presign, rawHeadersOf, signRequest } from '../helpers/aws-iam.js';

const HOST = 'api.example.com';
const NOW = Date.UTC(2026, 10, 21, 12, 0, 0);
const AT = new Date(NOW);
const ALICE: SigV4Credential = { accessKeyId: 'AKIDEXAMPLEALICE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
const TEMP: SigV4Credential = { accessKeyId: 'ASIAEXAMPLETEMP1', secretAccessKey: 'tempsecret/abc+def', sessionToken: 'FwoGZXIvYXdzEXAMPLE//token+value=' };
const CREDS = new Map([ALICE, TEMP].map((c) => [c.accessKeyId, c]));

interface Opts {
  now?: number;
  region?: string;
  service?: string;
  maxSkewSec?: number;
  allowUnsignedPayload?: boolean;
  lookup?: (id: string) => SigV4Credential | undefined;
}

/** Verifies a signed request as the plugin does: normalized target, raw headers, body hash. */
function verify(s: Signed, o: Opts = {}): SigV4Result<SigV4Credential> & { path?: string } {
  const t = normalizeTarget(s.target);
  assert.ok(t.ok, `target ${s.target} must normalize`);
  const body = s.body === undefined ? undefined : Buffer.from(s.body);
  const r = verifySigV4(
    { method: s.method, path: t.path, rawQuery: t.rawQuery, rawHeaders: rawHeadersOf(s.headers), bodySha256: () => (body === undefined ? EMPTY_SHA256 : sha256Hex(body)) },
    {
      region: o.region ?? 'us-east-1',
      service: o.service ?? 'execute-api',
      maxSkewSec: o.maxSkewSec ?? 300,
      now: o.now ?? NOW,
      lookup: o.lookup ?? ((id) => CREDS.get(id)),
      allowUnsignedPayload: o.allowUnsignedPayload ?? false,
      keys: new SigningKeyCache(),
    },
  );
  return Object.assign(r, { path: t.path });
}

function assertFails(r: SigV4Result<SigV4Credential>, kind: string, errorType?: string) {
  assert.equal(r.ok, false, 'must be refused');
  if (r.ok) return;
  assert.equal(r.kind, kind, r.message);
  if (errorType !== undefined) assert.equal(r.errorType, errorType);
}

const sign = (c: Creds, input: Partial<Parameters<typeof signRequest>[1]>) => signRequest(c, { host: HOST, path: '/', signingDate: AT, ...input });

test('AWS documentation example (IAM ListUsers, 20150830T123600Z) verifies', () => {
  const headers = {
    Host: 'iam.amazonaws.com',
    'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
    'X-Amz-Date': '20150830T123600Z',
    Authorization:
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7',
  };
  const cred = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };
  const s: Signed = { method: 'GET', target: '/?Action=ListUsers&Version=2010-05-08', headers, body: undefined };
  const ok = verify(s, { service: 'iam', now: Date.UTC(2015, 7, 30, 12, 36, 0), lookup: (id) => (id === 'AKIDEXAMPLE' ? cred : undefined) });
  assert.equal(ok.ok, true, ok.ok ? '' : ok.message);
  const tampered = { ...s, target: '/?Action=ListUsers&Version=2010-05-09' };
  assertFails(verify(tampered, { service: 'iam', now: Date.UTC(2015, 7, 30, 12, 36, 0), lookup: () => cred }), 'signature', 'InvalidSignatureException');
});

test('canonical URI and query match the SDK rules', () => {
  assert.equal(canonicalUri('/'), '/');
  assert.equal(canonicalUri('/caf%C3%A9/a%20b'), '/caf%25C3%25A9/a%2520b');
  assert.equal(canonicalUri('/a/./b/../c/'), '/a/c/');
  assert.equal(canonicalUri("/x!'()*"), '/x%21%27%28%29%2A');
  assert.equal(canonicalQuery('b=2&a=3&a=1&c'), 'a=1&a=3&b=2&c=');
  assert.equal(canonicalQuery('k=a%20b&k2=a+b&%7e=~'), 'k=a%20b&k2=a%2Bb&~=~');
  assert.equal(canonicalQuery('X-Amz-Signature=abc&a=1', 'X-Amz-Signature'), 'a=1');
  assert.equal(canonicalQuery('a=%E0%A4%A'), null);
});

test('GET with a query (repeated names, spaces, reserved characters) signed by the SDK verifies', async () => {
  const s = await sign(ALICE, { path: '/pets', query: { limit: '10', tag: ['b c', 'a&b'], 'sp ace': 'x/y?z', empty: '', uni: 'é☃' } });
  const r = verify(s);
  assert.equal(r.ok, true, r.ok ? '' : r.message);
  if (r.ok) {
    assert.equal(r.accessKeyId, ALICE.accessKeyId);
    assert.equal(r.form, 'header');
  }
});

test('POST with a body: signed hash header and body hash both verify; a changed body is refused', async () => {
  for (const applyChecksum of [true, false]) {
    const s = await sign(ALICE, { method: 'POST', path: '/orders', headers: { 'content-type': 'application/json' }, body: '{"n":1}', applyChecksum });
    assert.equal('x-amz-content-sha256' in s.headers, applyChecksum);
    assert.equal(verify(s).ok, true, `applyChecksum ${applyChecksum}`);
    assertFails(verify({ ...s, body: '{"n":2}' }), 'signature', 'InvalidSignatureException');
    assertFails(verify({ ...s, body: undefined }), 'signature');
  }
});

test('special characters in the path: percent-encoded UTF-8, space, plus, tilde, sub-delims', async () => {
  for (const path of ['/caf%C3%A9', '/a%20b/c%2Bd', '/~user/x', "/it's/(1)*", '/a;b=c/d', '/%E2%98%83/', '/files/a%2Fb']) {
    const s = await sign(ALICE, { path });
    const r = verify(s);
    assert.equal(r.ok, true, `${path}: ${r.ok ? '' : r.message}`);
  }
});

test('presigned URL (X-Amz-* query parameters) verifies; expiry and tampering refused', async () => {
  const s = await presign(ALICE, { host: HOST, path: '/reports/q1', query: { format: 'csv' }, signingDate: AT }, 120);
  assert.match(s.target, /X-Amz-Signature=/);
  assert.equal(s.headers.authorization, undefined);
  const r = verify(s);
  assert.equal(r.ok, true, r.ok ? '' : r.message);
  if (r.ok) assert.equal(r.form, 'query');
  assert.equal(verify(s, { now: NOW + 119_000 }).ok, true);
  assertFails(verify(s, { now: NOW + 121_000 }), 'expired', 'InvalidSignatureException');
  assertFails(verify(s, { now: NOW - 301_000 }), 'expired');
  assertFails(verify({ ...s, target: s.target.replace('format=csv', 'format=json') }), 'signature');
  assertFails(verify({ ...s, target: s.target.replace('/reports/q1', '/reports/q2') }), 'signature');
  assertFails(verify({ ...s, target: s.target.replace('X-Amz-Expires=120', 'X-Amz-Expires=99999') }), 'signature');
  // An extra parameter appended is not covered by the signature.
  assertFails(verify({ ...s, target: `${s.target}&admin=true` }), 'signature');
  // Presigned with a session token.
  const t = await presign(TEMP, { host: HOST, path: '/x', signingDate: AT }, 60);
  assert.match(t.target, /X-Amz-Security-Token=/);
  assert.equal(verify(t).ok, true);
  assertFails(verify({ ...t, target: t.target.replace(/X-Amz-Security-Token=[^&]+/, 'X-Amz-Security-Token=forged') }), 'token', 'UnrecognizedClientException');
});

test('tampering with method, path, query, a signed header or the date is refused', async () => {
  const s = await sign(ALICE, { method: 'PUT', path: '/items/1', query: { v: '1' }, headers: { 'x-tenant': 'a', 'content-type': 'text/plain' }, body: 'hi' });
  assert.equal(verify(s).ok, true);
  assertFails(verify({ ...s, method: 'DELETE' }), 'signature');
  assertFails(verify({ ...s, target: s.target.replace('/items/1', '/items/2') }), 'signature');
  assertFails(verify({ ...s, target: s.target.replace('v=1', 'v=2') }), 'signature');
  assertFails(verify({ ...s, target: `${s.target}&v=2` }), 'signature');
  assertFails(verify({ ...s, headers: { ...s.headers, 'x-tenant': 'b' } }), 'signature');
  assertFails(verify({ ...s, headers: { ...s.headers, host: 'other.example.com' } }), 'signature');
  const later = '20261121T120100Z';
  assertFails(verify({ ...s, headers: { ...s.headers, 'x-amz-date': later } }), 'signature');
  const sig = s.headers.authorization as string;
  const flipped = sig.replace(/Signature=([0-9a-f])/, (_m, c: string) => `Signature=${c === '0' ? '1' : '0'}`);
  assertFails(verify({ ...s, headers: { ...s.headers, authorization: flipped } }), 'signature');
  // Removing a signed header from SignedHeaders changes the canonical request too.
  const fewer = sig.replace(';x-tenant', '');
  assert.notEqual(fewer, sig);
  assertFails(verify({ ...s, headers: { ...s.headers, authorization: fewer } }), 'signature');
});

test('wrong secret, unknown key, wrong region or service', async () => {
  const wrong = await sign({ ...ALICE, secretAccessKey: 'not-the-secret' }, { path: '/x' });
  assertFails(verify(wrong), 'signature', 'InvalidSignatureException');
  const unknown = await sign({ accessKeyId: 'AKIDUNKNOWN00000', secretAccessKey: 'x' }, { path: '/x' });
  const u = verify(unknown);
  assertFails(u, 'unknown-key', 'UnrecognizedClientException');
  if (!u.ok) assert.equal(u.message, 'The security token included in the request is invalid.');
  assertFails(verify(await sign(ALICE, { path: '/x', region: 'eu-west-1' })), 'signature');
  assertFails(verify(await sign(ALICE, { path: '/x', service: 's3' })), 'signature');
  assert.equal(verify(await sign(ALICE, { path: '/x', region: 'eu-west-1' }), { region: 'eu-west-1' }).ok, true);
});

test('time: within the skew passes, outside it is "Signature expired" / "not yet current"', async () => {
  const s = await sign(ALICE, { path: '/x' });
  assert.equal(verify(s, { now: NOW + 299_000 }).ok, true);
  assert.equal(verify(s, { now: NOW - 299_000 }).ok, true);
  const late = verify(s, { now: NOW + 301_000 });
  assertFails(late, 'expired', 'InvalidSignatureException');
  if (!late.ok) {
    assert.match(late.message, /^Signature expired: 20261121T120000Z is now earlier than 20261121T120001Z \(20261121T120501Z - 5 min\.\)$/);
    assert.equal(late.gatewayResponseType, 'EXPIRED_TOKEN');
  }
  const early = verify(s, { now: NOW - 301_000 });
  assertFails(early, 'expired');
  if (!early.ok) assert.match(early.message, /^Signature not yet current:/);
  assert.equal(verify(s, { now: NOW + 800_000, maxSkewSec: 900 }).ok, true);
});

test('session tokens: required, exact, and refused on a key that has none', async () => {
  const s = await sign(TEMP, { path: '/x' });
  assert.equal(s.headers['x-amz-security-token'], TEMP.sessionToken);
  assert.equal(verify(s).ok, true);
  assertFails(verify({ ...s, headers: { ...s.headers, 'x-amz-security-token': 'forged' } }), 'token', 'UnrecognizedClientException');
  const noToken = await sign({ accessKeyId: TEMP.accessKeyId, secretAccessKey: TEMP.secretAccessKey }, { path: '/x' });
  assertFails(verify(noToken), 'token');
  const extra = await sign({ ...ALICE, sessionToken: 'whatever' }, { path: '/x' });
  assertFails(verify(extra), 'token');
});

test('missing or malformed authentication', async () => {
  const none = verify({ method: 'GET', target: '/x', headers: { host: HOST }, body: undefined });
  assertFails(none, 'missing', 'MissingAuthenticationTokenException');
  if (!none.ok) {
    assert.equal(none.message, 'Missing Authentication Token');
    assert.equal(none.gatewayResponseType, 'MISSING_AUTHENTICATION_TOKEN');
  }
  assertFails(verify({ method: 'GET', target: '/x', headers: { host: HOST, authorization: 'Bearer abc' }, body: undefined }), 'incomplete', 'IncompleteSignatureException');
  const s = await sign(ALICE, { path: '/x' });
  const auth = s.headers.authorization as string;
  assertFails(verify({ ...s, headers: { ...s.headers, authorization: auth.replace(/, Signature=.*$/, '') } }), 'incomplete');
  // Host must be signed; the date header must be signed.
  const noHost = await signRequest(ALICE, { host: HOST, path: '/x', signingDate: AT });
  const h = noHost.headers.authorization as string;
  assertFails(verify({ ...noHost, headers: { ...noHost.headers, authorization: h.replace('host;', '') } }), 'incomplete');
  assertFails(verify({ ...noHost, headers: { ...noHost.headers, authorization: h.replace(';x-amz-date', '') } }), 'incomplete');
  const { 'x-amz-date': _d, ...noDate } = s.headers;
  assertFails(verify({ ...s, headers: noDate }), 'incomplete');
  // Both mechanisms at once.
  const p = await presign(ALICE, { host: HOST, path: '/x', signingDate: AT });
  assertFails(verify({ ...p, headers: { ...p.headers, authorization: auth } }), 'incomplete');
});

test('UNSIGNED-PAYLOAD is refused unless allowed; then the body is not covered', async () => {
  const s = await sign(ALICE, { method: 'POST', path: '/up', headers: { 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' }, body: 'abc' });
  assertFails(verify(s), 'signature');
  assert.equal(verify(s, { allowUnsignedPayload: true }).ok, true);
  assert.equal(verify({ ...s, body: 'other' }, { allowUnsignedPayload: true }).ok, true);
});

test('normalized path: the signature must cover the path the gateway routes and forwards', async () => {
  // The SDK removes dot segments from the canonical URI, as the gateway does from the path: agreed.
  const dots = await sign(ALICE, { path: '/public/../admin' });
  const r = verify(dots);
  assert.equal(r.path, '/admin');
  assert.equal(r.ok, true, 'the signer signed /admin and /admin is what is forwarded');
  // Signed for /public, sent as /public/../admin (forwarded as /admin): refused.
  const pub = await sign(ALICE, { path: '/public' });
  assertFails(verify({ ...pub, target: '/public/../admin' }), 'signature');
  assertFails(verify({ ...pub, target: '/public/%2e%2e/admin' }), 'signature');
  // Encoded dots: the SDK signs them literally (%252e), the gateway resolves them: refused, never a bypass.
  const enc = await sign(ALICE, { path: '/public/%2e%2e/admin' });
  const e = verify(enc);
  assert.equal(e.path, '/admin');
  assertFails(e, 'signature');
  // Doubled slashes merge on both sides.
  const dbl = await sign(ALICE, { path: '/a//b' });
  const d = verify(dbl);
  assert.equal(d.path, '/a/b');
  assert.equal(d.ok, true);
  // A path parameter segment is a literal name on both sides: signed /admin;x=1 is not /admin.
  const semi = await sign(ALICE, { path: '/admin;x=1' });
  assert.equal(verify(semi).ok, true);
  assertFails(verify({ ...semi, target: '/admin' }), 'signature');
  // Escapes of unreserved characters are decoded by the gateway (/%61dmin -> /admin): the SDK signed %2561: refused.
  const esc = await sign(ALICE, { path: '/%61dmin' });
  assertFails(verify(esc), 'signature');
});
