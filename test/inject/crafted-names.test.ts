// Issue 11 (crafted bodies on AWS routes): query parameters and headers named after Object.prototype
// members (constructor, __proto__, toString, valueOf, hasOwnProperty) are plain names on every route
// type: non-proxy REST (mock template, http with parameter mappings), HTTP_PROXY on REST and HTTP APIs,
// native http and function routes. Before the fix every non-proxy route answered 500 to them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { craftedConfig, PROTO_HEADERS, PROTO_NAMES, PROTO_QUERY } from './crafted-config.js';

let up: Upstream;
let gw: InjectedGateway;
let httpGw: InjectedGateway;

before(async () => {
  up = await startUpstream();
  const { dir, config, httpApi } = craftedConfig(up.url);
  gw = await injectGateway(config, { dir });
  httpGw = await injectGateway(httpApi, { fileName: 'http.json' });
});
after(async () => {
  await Promise.all([gw?.close(), httpGw?.close()]);
  await up?.close();
});

const get = (path: string) => (path === '/hproxy' ? httpGw : gw).fetch(`${path}?${PROTO_QUERY}`, { headers: PROTO_HEADERS });

test('REST non-proxy mock: $input.params(name) and $input.params() see every proto name as a plain name', async () => {
  const res = await get('/dev/mock');
  assert.equal(res.status, 200);
  const body = (await res.json()) as Record<string, string>;
  for (const n of PROTO_NAMES) assert.equal(body[n], `q-${n}`, n); // querystring before header, as AWS looks them up
  for (const n of PROTO_NAMES) assert.match(body.all ?? '', new RegExp(`${n}=q-${n}`));
});

test('REST non-proxy http: mapped query parameters and headers with proto names reach the upstream', async () => {
  const res = await get('/dev/mapped');
  assert.equal(res.status, 200);
  const seen = (await res.json()) as { url: string; headers: Record<string, string> };
  const q = new URL(seen.url, 'http://x').searchParams;
  for (const n of PROTO_NAMES) assert.equal(q.get(n), `q-${n}`, n);
  for (const n of PROTO_NAMES.filter((x) => x !== '__proto__')) assert.equal(seen.headers[`x-${n.toLowerCase()}`], `h-${n}`, n);
});

for (const [label, path] of [
  ['REST HTTP_PROXY', '/dev/proxy'],
  ['HTTP API HTTP_PROXY', '/hproxy'],
  ['native http', '/native/up'],
] as const) {
  test(`${label}: proto-named query parameters and headers pass through`, async () => {
    const res = await get(path);
    assert.equal(res.status, 200);
    const seen = (await res.json()) as { url: string; headers: Record<string, string> };
    const q = new URL(seen.url, 'http://x').searchParams;
    for (const n of PROTO_NAMES) assert.equal(q.get(n), `q-${n}`, n);
    for (const n of PROTO_NAMES.filter((x) => x !== '__proto__')) assert.equal(seen.headers[n.toLowerCase()], `h-${n}`, n);
  });
}

for (const [label, path, v] of [
  ['native function, payload 1.0', '/native/fn1', 1],
  ['native function, payload 2.0', '/native/fn2', 2],
] as const) {
  test(`${label}: the event carries proto-named parameters and headers as plain keys`, async () => {
    const res = await get(path);
    assert.equal(res.status, 200);
    const { event } = (await res.json()) as { event: Record<string, Record<string, unknown>> };
    const qs = event.queryStringParameters as Record<string, string>;
    const headers = event.headers as Record<string, string>;
    for (const n of PROTO_NAMES) assert.ok(Object.hasOwn(qs, n) && qs[n] === `q-${n}`, `${n} in queryStringParameters`);
    for (const n of PROTO_NAMES.filter((x) => x !== '__proto__')) {
      const key = Object.keys(headers).find((k) => k.toLowerCase() === n.toLowerCase());
      assert.equal(key !== undefined ? headers[key] : undefined, `h-${n}`, `${n} header (payload ${v})`);
    }
  });
}

test('a __proto__ header on a non-proxy route is a plain name too', async () => {
  // fetch() cannot send a header named __proto__ through the Headers class reliably: use send().
  const res = await gw.send({ method: 'GET', target: '/dev/mapped?a=1', headers: { __proto__: 'h-proto', constructor: 'h-c' } as Record<string, string> });
  assert.equal(res.status, 200);
  const seen = JSON.parse(res.body) as { headers: Record<string, string> };
  assert.equal(seen.headers['x-constructor'], 'h-c');
});
