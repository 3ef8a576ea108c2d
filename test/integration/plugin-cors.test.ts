/**
 * The cors plugin through the real gateway process and a real upstream that sends its own
 * (wrong) CORS headers, which the gateway must replace as AWS does.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { type RunningGateway, startGateway } from '../helpers/gateway.js';
import { type Upstream, deadPort, startUpstream } from '../helpers/upstream.js';

interface Answer {
  status: number;
  /** Lower-case names; every value of a repeated header, in order. */
  headers: Map<string, string[]>;
  body: string;
}

/** One request with exactly the headers given (fetch would add or refuse some), answer headers kept raw. */
function call(base: string, method: string, path: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${base}${path}`, { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const map = new Map<string, string[]>();
        for (let i = 0; i < res.rawHeaders.length; i += 2) {
          const k = (res.rawHeaders[i] as string).toLowerCase();
          map.set(k, [...(map.get(k) ?? []), res.rawHeaders[i + 1] as string]);
        }
        resolve({ status: res.statusCode ?? 0, headers: map, body: Buffer.concat(chunks).toString() });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

const one = (a: Answer, name: string): string | undefined => {
  const v = a.headers.get(name);
  if (v === undefined) return undefined;
  assert.equal(v.length, 1, `${name} must appear once, got ${JSON.stringify(v)}`);
  return v[0];
};
const corsHeaderNames = (a: Answer) => [...a.headers.keys()].filter((k) => k.startsWith('access-control-')).sort();
const varyOf = (a: Answer) => (a.headers.get('vary') ?? []).join(', ');

const APP = 'https://app.example.com';
let up: Upstream;
let gw: RunningGateway;

before(async () => {
  up = await startUpstream((req, res) => {
    // An upstream doing its own (conflicting) CORS: AWS ignores these when CORS is configured.
    res.writeHead(200, {
      'content-type': 'application/json',
      'access-control-allow-origin': 'https://upstream-says.example',
      'access-control-allow-methods': 'TRACE',
      'x-total-count': '42',
    });
    res.end(JSON.stringify({ method: req.method, origin: req.headers.origin ?? null }));
  });
  const dead = await deadPort();
  gw = await startGateway(`
upstreams:
  backend:
    targets: [{ url: "${up.url}" }]
apis:
  - name: web
    plugins:
      cors:
        allowOrigins: ["${APP}", "https://*.preview.example.com"]
        allowMethods: [GET, POST, PUT]
        allowHeaders: [Content-Type, X-Api-Key]
        exposeHeaders: [X-Total-Count]
        maxAge: 600
        allowCredentials: true
    routes:
      - name: items
        path: /items
        methods: [GET, POST, PUT, OPTIONS]
        integration: { type: http, upstream: backend }
      - name: dead
        path: /dead
        methods: [GET, OPTIONS]
        integration: { type: http, url: "http://127.0.0.1:${dead}" }
  - name: public
    plugins:
      cors: { allowOrigins: ["*"], allowMethods: ["*"], allowHeaders: ["*"] }
    routes:
      - name: open
        path: /open/{proxy+}
        integration: { type: http, upstream: backend }
`);
});
after(async () => {
  await gw?.stop();
  await up?.close();
});

test('preflight from an allowed origin: 204 from the gateway, AWS CORS headers, the upstream never called', async () => {
  const before = up.seen.length;
  const a = await call(gw.url, 'OPTIONS', '/items', {
    Origin: APP,
    'Access-Control-Request-Method': 'PUT',
    'Access-Control-Request-Headers': 'content-type,x-api-key',
  });
  assert.equal(a.status, 204);
  assert.equal(a.body, '');
  assert.equal(one(a, 'access-control-allow-origin'), APP);
  assert.equal(one(a, 'access-control-allow-credentials'), 'true');
  assert.equal(one(a, 'access-control-allow-methods'), 'GET,POST,PUT');
  assert.equal(one(a, 'access-control-allow-headers'), 'content-type,x-api-key');
  assert.equal(one(a, 'access-control-max-age'), '600');
  assert.equal(one(a, 'access-control-expose-headers'), undefined, 'expose headers belong to actual answers');
  assert.match(varyOf(a), /\bOrigin\b/);
  assert.equal(up.seen.length, before, 'a preflight must not reach the integration');
});

test('preflight denied (origin, method or header not allowed): 204 without any CORS header', async () => {
  const before = up.seen.length;
  const cases: Record<string, string>[] = [
    { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    { Origin: APP, 'Access-Control-Request-Method': 'DELETE' },
    { Origin: APP, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'x-api-key,x-not-allowed' },
  ];
  for (const h of cases) {
    const a = await call(gw.url, 'OPTIONS', '/items', h);
    assert.equal(a.status, 204, JSON.stringify(h));
    assert.deepEqual(corsHeaderNames(a), [], JSON.stringify(h));
  }
  assert.equal(up.seen.length, before);
});

test('actual request from an allowed origin: origin echoed, credentials, expose headers; the upstream\'s CORS headers replaced', async () => {
  const a = await call(gw.url, 'GET', '/items', { Origin: APP });
  assert.equal(a.status, 200);
  assert.equal(one(a, 'access-control-allow-origin'), APP);
  assert.equal(one(a, 'access-control-allow-credentials'), 'true');
  assert.equal(one(a, 'access-control-expose-headers'), 'x-total-count');
  assert.equal(one(a, 'access-control-allow-methods'), undefined, 'the upstream\'s own CORS headers are dropped');
  assert.equal(one(a, 'x-total-count'), '42');
  assert.match(varyOf(a), /\bOrigin\b/);
  assert.deepEqual(JSON.parse(a.body), { method: 'GET', origin: APP }, 'the Origin header is forwarded');
});

test('wildcard subdomain origins: any subdomain is echoed, the bare domain and look-alikes are not', async () => {
  for (const origin of ['https://pr-17.preview.example.com', 'https://a.b.preview.example.com']) {
    const a = await call(gw.url, 'POST', '/items', { Origin: origin });
    assert.equal(a.status, 200);
    assert.equal(one(a, 'access-control-allow-origin'), origin);
    const p = await call(gw.url, 'OPTIONS', '/items', { Origin: origin, 'Access-Control-Request-Method': 'POST' });
    assert.equal(p.status, 204);
    assert.equal(one(p, 'access-control-allow-origin'), origin);
  }
  for (const origin of ['https://preview.example.com', 'https://x.preview.example.com.evil.net', 'http://x.preview.example.com']) {
    const a = await call(gw.url, 'GET', '/items', { Origin: origin });
    assert.equal(a.status, 200);
    assert.deepEqual(corsHeaderNames(a), [], origin);
  }
});

test('actual request from a disallowed origin: answered, but with no CORS header (the upstream\'s dropped too)', async () => {
  const a = await call(gw.url, 'GET', '/items', { Origin: 'https://evil.example' });
  assert.equal(a.status, 200);
  assert.deepEqual(corsHeaderNames(a), []);
});

test('a request without Origin is left alone: no CORS work, the upstream\'s headers pass', async () => {
  const a = await call(gw.url, 'GET', '/items');
  assert.equal(a.status, 200);
  assert.equal(one(a, 'access-control-allow-origin'), 'https://upstream-says.example');
  assert.equal(one(a, 'access-control-allow-credentials'), undefined);
});

test('an OPTIONS request that is not a preflight (no Access-Control-Request-Method) goes to the integration', async () => {
  const a = await call(gw.url, 'OPTIONS', '/items', { Origin: APP });
  assert.equal(a.status, 200);
  assert.equal(JSON.parse(a.body).method, 'OPTIONS');
  assert.equal(one(a, 'access-control-allow-origin'), APP);
});

test('gateway errors of a CORS route carry the CORS headers (502, upstream down)', async () => {
  const a = await call(gw.url, 'GET', '/dead', { Origin: APP });
  assert.equal(a.status, 502);
  assert.equal(JSON.parse(a.body).code, 'UPSTREAM_UNAVAILABLE');
  assert.equal(one(a, 'access-control-allow-origin'), APP);
  assert.equal(one(a, 'access-control-allow-credentials'), 'true');
  assert.equal(one(a, 'access-control-expose-headers'), 'x-total-count');
});

test('"*" configuration: Access-Control-Allow-Origin "*", requested method and headers echoed, no Vary: Origin', async () => {
  const p = await call(gw.url, 'OPTIONS', '/open/a/b', {
    Origin: 'https://anyone.example',
    'Access-Control-Request-Method': 'PATCH',
    'Access-Control-Request-Headers': 'x-custom',
  });
  assert.equal(p.status, 204);
  assert.equal(one(p, 'access-control-allow-origin'), '*');
  assert.equal(one(p, 'access-control-allow-methods'), 'PATCH');
  assert.equal(one(p, 'access-control-allow-headers'), 'x-custom');
  assert.equal(one(p, 'access-control-allow-credentials'), undefined);
  assert.equal(one(p, 'access-control-max-age'), undefined);
  const a = await call(gw.url, 'GET', '/open/a/b', { Origin: 'https://anyone.example' });
  assert.equal(a.status, 200);
  assert.equal(one(a, 'access-control-allow-origin'), '*');
  assert.doesNotMatch(varyOf(a), /\bOrigin\b/);
});
