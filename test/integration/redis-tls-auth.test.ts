/**
 * Redis connection settings by URL: a private redis-server that speaks only TLS and requires a
 * password. The gateway reaches it with `rediss://:password@host:port` and trusts the test CA through
 * NODE_EXTRA_CA_CERTS (Node's standard way to add a private CA). The limit is enforced in that Redis;
 * a wrong password is an unavailable store: the configured fallback (reject -> 503), never a hang.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { createClient } from 'redis';
import { createPki } from '../helpers/certs.js';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type PrivateRedis, startRedisServer } from '../helpers/redis.js';

const pki = createPki();
if (pki === undefined) throw new Error('the openssl CLI is needed to make the test CA (apt-get install openssl)');
const serverCert = pki.server('redis', ['localhost']);
const PASSWORD = `pw-${randomUUID()}`;
let redis: PrivateRedis;
const gateways: RunningGateway[] = [];

before(async () => {
  redis = await startRedisServer({ password: PASSWORD, tls: { cert: serverCert.cert, key: serverCert.key, ca: pki.ca.cert } });
});
after(async () => {
  await Promise.all(gateways.map((g) => g.stop()));
  await redis?.kill();
});

function config(url: string): string {
  return `
apis:
  - name: limited
    routes:
      - path: /rl
        integration: { type: mock, body: { ok: true } }
        plugins:
          rate-limit:
            limits: [{ window: minute, limit: 5 }]
            key: [route]
            policy: redis
            redis: { url: '${url}', timeoutMs: 2000 } # the first call connects (TLS + AUTH): slow on a loaded CI machine; this test is not about deadlines
            fallback: reject
`;
}

async function statuses(g: RunningGateway, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = Date.now();
    const r = await fetch(`${g.url}/rl`, { signal: AbortSignal.timeout(5_000) });
    await r.arrayBuffer();
    assert.ok(Date.now() - t0 < 3_000, 'a request waited on Redis for seconds');
    out.push(r.status);
  }
  return out;
}

test('rediss:// with a password: the limit is counted in the TLS Redis', async () => {
  const g = await startGateway(config(redis.url), { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
  gateways.push(g);
  assert.deepEqual(await statuses(g, 8), [200, 200, 200, 200, 200, 429, 429, 429]);
  // The counters are really in that server: read them over TLS with the password.
  const client = createClient({ url: redis.url, socket: { tls: true, ca: pki.ca.certPem } });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const keys = await client.keys('turnpike:*');
    assert.ok(keys.length > 0, 'no rate-limit keys in the TLS Redis');
  } finally {
    await client.close();
  }
});

test('a wrong password is an unavailable store: fallback reject answers 503 at once', async () => {
  const wrong = redis.url.replace(encodeURIComponent(PASSWORD), 'not-the-password');
  const g = await startGateway(config(wrong), { env: { NODE_EXTRA_CA_CERTS: pki.ca.cert } });
  gateways.push(g);
  const got = await statuses(g, 3);
  assert.deepEqual(got, [503, 503, 503]);
  await g.waitForLog((l) => typeof l.msg === 'string' && /Redis unavailable/.test(l.msg), 3_000);
  // The password never reaches the log.
  assert.ok(!g.logs.some((l) => JSON.stringify(l).includes(PASSWORD)));
});

test('without the CA the certificate is refused (TLS is verified, not just encrypted)', async () => {
  const g = await startGateway(config(redis.url));
  gateways.push(g);
  assert.deepEqual(await statuses(g, 2), [503, 503]);
});
