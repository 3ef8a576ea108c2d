import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { type RunningGateway, ROOT, startGateway } from '../helpers/gateway.js';

// The README's quick start serves examples/gateway.yaml in front of examples/demo-upstream.mjs: keep it working.
let gw: RunningGateway;
let upstream: import('node:http').Server;

before(async () => {
  const { createDemoUpstream } = (await import(`${ROOT}/examples/demo-upstream.mjs`)) as { createDemoUpstream: () => import('node:http').Server };
  upstream = createDemoUpstream();
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  const port = (upstream.address() as AddressInfo).port;
  gw = await startGateway(readFileSync(`${ROOT}/examples/gateway.yaml`, 'utf8'), { env: { DEMO_UPSTREAM_PORT: String(port) } });
});
after(async () => {
  await gw?.stop();
  upstream?.closeAllConnections();
  upstream?.close();
});

test('quick start: a user comes back through the gateway with the gateway header', async () => {
  const res = await fetch(`${gw.url}/api/users/1`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('x-powered-by'), 'turnpike');
  assert.deepEqual(await res.json(), { id: '1', name: 'Ada Lovelace' });
});

test('quick start: POST creates a user; the catch-all route rewrites the path and adds a header', async () => {
  const created = await fetch(`${gw.url}/api/users`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"Grace Hopper"}' });
  assert.equal(created.status, 201);
  assert.equal(((await created.json()) as { name: string }).name, 'Grace Hopper');
  const echo = (await (await fetch(`${gw.url}/api/anything/else?x=1`)).json()) as { echo: { path: string; query: Record<string, string>; headers: Record<string, string> } };
  assert.equal(echo.echo.path, '/anything/else');
  assert.deepEqual(echo.echo.query, { x: '1' });
  assert.equal(echo.echo.headers['x-gateway'], 'turnpike');
});

test('quick start: the mock status route and the admin route table', async () => {
  const res = await fetch(`${gw.url}/status`);
  assert.deepEqual(await res.json(), { status: 'ok', service: 'turnpike-demo' });
  const routes = (await (await fetch(`${gw.adminUrl}/routes`)).json()) as { routes: { id: string }[] };
  assert.deepEqual(
    routes.routes.map((r) => r.id),
    ['demo/list-users', 'demo/get-user', 'demo/everything-else', 'ops/status'],
  );
});
