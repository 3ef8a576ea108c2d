// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
/**
 * The aws-iam plugin in-process (test/helpers/inject.ts): requests signed by the AWS SDK's own signer
 * (@smithy/signature-v4) reach a function integration with their IAM identity, and an HTTP upstream
 * at exactly the path that was signed; everything else gets AWS's 403 answers.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { type Creds, presign, signRequest } from '../helpers/aws-iam.js';

const FN = `${ROOT}/test/fixtures/gateway-functions`;
const SECRET = 'tP+secret/value/FOR-tests-0123456789abcd';
const ALICE: Creds = { accessKeyId: 'AKIAALICE0000001', secretAccessKey: SECRET };
const TEMP: Creds = { accessKeyId: 'ASIATEMP00000001', secretAccessKey: 'temp/secret+2', sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+token/=' };

let up: Upstream;
let gw: InjectedGateway;
let host: string;

before(async () => {
  up = await startUpstream();
  gw = await injectGateway(
    `
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
functions:
  echo: { module: "${FN}/echo.mjs" }
apis:
  - name: secured
    errorDialect: aws-rest
    plugins:
      aws-iam:
        credentials:
          - accessKeyId: ${ALICE.accessKeyId}
            secretAccessKey: \${TP_IAM_SECRET}
            userArn: arn:aws:iam::123456789012:user/alice
            accountId: "123456789012"
            caller: AIDAALICEUNIQUEID
          - accessKeyId: ${TEMP.accessKeyId}
            secretAccessKey: "${TEMP.secretAccessKey}"
            sessionToken: "${TEMP.sessionToken}"
            userArn: arn:aws:sts::123456789012:assumed-role/ops/session1
            accountId: "123456789012"
            caller: "AROAOPS:session1"
    routes:
      - { name: v2, methods: [GET, POST], path: "/fn/v2/{id}", integration: { type: function, function: echo } }
      - { name: v1, methods: [GET, POST], path: "/fn/v1/{id}", integration: { type: function, function: echo, apiType: rest } }
      - { name: admin, path: /admin, integration: { type: http, upstream: backend } }
      - { name: rest, path: "/{proxy+}", integration: { type: http, upstream: backend } }
`,
    { env: { TP_IAM_SECRET: SECRET } },
  );
  host = new URL(gw.url).host;
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const sign = (c: Creds, input: { method?: string; path: string; query?: Record<string, string | string[]>; headers?: Record<string, string>; body?: string; signingDate?: Date }) =>
  signRequest(c, { host, ...input });

test('a GET signed by @smithy/signature-v4 passes and the IAM identity reaches a 2.0 event as authorizer.iam', async () => {
  const s = await sign(ALICE, { path: '/fn/v2/42', query: { q: 'a b', tag: ['x', 'y'] } });
  const res = await gw.send(s);
  assert.equal(res.status, 200, res.body);
  const { event } = JSON.parse(res.body) as { event: Record<string, any> };
  assert.deepEqual(event.requestContext.authorizer, {
    iam: {
      accessKey: ALICE.accessKeyId,
      accountId: '123456789012',
      callerId: 'AIDAALICEUNIQUEID',
      cognitoIdentity: null,
      principalOrgId: null,
      userArn: 'arn:aws:iam::123456789012:user/alice',
      userId: 'AIDAALICEUNIQUEID',
    },
  });
  assert.deepEqual(event.pathParameters, { id: '42' });
});

test('a signed POST with a body reaches a REST (1.0) event with requestContext.identity filled as AWS does', async () => {
  const s = await sign(TEMP, { method: 'POST', path: '/fn/v1/7', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });
  const res = await gw.send(s);
  assert.equal(res.status, 200, res.body);
  const { event } = JSON.parse(res.body) as { event: Record<string, any> };
  assert.equal(event.body, '{"order":1}');
  const id = event.requestContext.identity;
  assert.equal(id.accessKey, TEMP.accessKeyId);
  assert.equal(id.accountId, '123456789012');
  assert.equal(id.caller, 'AROAOPS:session1');
  assert.equal(id.user, 'AROAOPS:session1');
  assert.equal(id.userArn, 'arn:aws:sts::123456789012:assumed-role/ops/session1');
  assert.equal(id.sourceIp, '127.0.0.1');
  // The same request with a different body: refused before the function runs.
  const tampered = await gw.send(s, { body: '{"order":2}' });
  assert.equal(tampered.status, 403);
  assert.equal(tampered.headers['x-amzn-errortype'], 'InvalidSignatureException');
});

test('AWS answers: missing token, wrong secret, unknown key, forged session token', async () => {
  const none = await gw.send({ method: 'GET', target: '/fn/v2/1', headers: { host }, body: undefined });
  assert.equal(none.status, 403);
  assert.deepEqual(JSON.parse(none.body), { message: 'Missing Authentication Token' });
  assert.equal(none.headers['x-amzn-errortype'], 'MissingAuthenticationTokenException');

  const wrong = await gw.send(await sign({ ...ALICE, secretAccessKey: 'wrong' }, { path: '/fn/v2/1' }));
  assert.equal(wrong.status, 403);
  assert.equal(wrong.headers['x-amzn-errortype'], 'InvalidSignatureException');
  assert.match((JSON.parse(wrong.body) as { message: string }).message, /^The request signature we calculated does not match the signature you provided\./);

  const unknown = await gw.send(await sign({ accessKeyId: 'AKIANOBODY000000', secretAccessKey: 'x' }, { path: '/fn/v2/1' }));
  assert.equal(unknown.status, 403);
  assert.deepEqual(JSON.parse(unknown.body), { message: 'The security token included in the request is invalid.' });
  assert.equal(unknown.headers['x-amzn-errortype'], 'UnrecognizedClientException');

  const forged = await gw.send(await sign({ ...TEMP, sessionToken: 'forged' }, { path: '/fn/v2/1' }));
  assert.equal(forged.status, 403);
  assert.equal(forged.headers['x-amzn-errortype'], 'UnrecognizedClientException');
  assert.equal(up.seen.length, 0, 'nothing refused reached the upstream');
});

test('expired date and replay outside the skew: 403 "Signature expired"; a fresh signature passes', async () => {
  const old = await sign(ALICE, { path: '/orders', signingDate: new Date(Date.now() - 6 * 60_000) });
  const r = await gw.send(old);
  assert.equal(r.status, 403);
  assert.equal(r.headers['x-amzn-errortype'], 'InvalidSignatureException');
  assert.match((JSON.parse(r.body) as { message: string }).message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);
  const future = await gw.send(await sign(ALICE, { path: '/orders', signingDate: new Date(Date.now() + 6 * 60_000) }));
  assert.equal(future.status, 403);
  assert.match((JSON.parse(future.body) as { message: string }).message, /^Signature not yet current/);
  const fresh = await gw.send(await sign(ALICE, { path: '/orders' }));
  assert.equal(fresh.status, 200);
  assert.equal((JSON.parse(fresh.body) as { url: string }).url, '/orders');
});

test('presigned URL through the gateway', async () => {
  const p = await presign(ALICE, { host, path: '/reports', query: { year: '2026' } }, 60);
  const ok = await gw.send(p);
  assert.equal(ok.status, 200, ok.body);
  const seen = JSON.parse(ok.body) as { url: string };
  assert.ok(seen.url.startsWith('/reports?'), seen.url);
  const bad = await gw.send(p, { target: p.target.replace('year=2026', 'year=2027') });
  assert.equal(bad.status, 403);
});

test('normalized-path attacks: the decision is made on the path that is forwarded', async () => {
  const before = up.seen.length;
  // Signed for /public, sent as /public/../admin (forwarded as /admin): refused, the upstream never sees it.
  const pub = await sign(ALICE, { path: '/public' });
  for (const target of ['/public/../admin', '/public/%2e%2e/admin', '/public/./../admin', '//public/../admin']) {
    const r = await gw.send(pub, { target });
    assert.equal(r.status, 403, target);
    assert.equal(r.headers['x-amzn-errortype'], 'InvalidSignatureException', target);
  }
  // Signed with encoded dots (the SDK keeps %2e literally): the gateway resolves them, so refused.
  const enc = await sign(ALICE, { path: '/public/%2e%2e/admin' });
  assert.equal((await gw.send(enc)).status, 403);
  assert.equal(up.seen.length, before, 'no refused request reached the upstream');
  // Signed as /x/../admin: the SDK signs /admin, the gateway forwards /admin: accepted, and /admin is what arrives.
  const dots = await sign(ALICE, { path: '/x/../admin' });
  const ok = await gw.send(dots);
  assert.equal(ok.status, 200, ok.body);
  assert.equal((JSON.parse(ok.body) as { url: string }).url, '/admin');
  // Percent-encoded UTF-8 in the path: signed and forwarded byte for byte.
  const uni = await gw.send(await sign(ALICE, { path: '/caf%C3%A9/a%20b' }));
  assert.equal(uni.status, 200, uni.body);
  assert.equal((JSON.parse(uni.body) as { url: string }).url, '/caf%C3%A9/a%20b');
});

test('secrets, signatures and tokens never reach the logs', async () => {
  await gw.send(await sign({ ...ALICE, secretAccessKey: 'wrong' }, { path: '/fn/v2/1' }));
  const s = await sign(TEMP, { path: '/fn/v2/1' });
  await gw.send(s);
  await new Promise((r) => setTimeout(r, 200)); // access-log batches flush every 50 ms
  const text = JSON.stringify(gw.logs) + gw.stderr();
  assert.ok(gw.logs.length > 0);
  const sig = /Signature=([0-9a-f]{64})/.exec(s.headers.authorization as string)?.[1] as string;
  for (const secret of [SECRET, TEMP.secretAccessKey, TEMP.sessionToken as string, sig]) assert.ok(!text.includes(secret), 'a secret leaked into the logs');
});
