import assert from 'node:assert/strict';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';

// `turnpike export` writes the live definition; serving the export must behave the same.
let upstream: import('node:http').Server;
let upstreamPort: number;
const running: RunningGateway[] = [];

before(async () => {
  const { createDemoUpstream } = (await import(`${ROOT}/examples/demo-upstream.mjs`)) as { createDemoUpstream: () => import('node:http').Server };
  upstream = createDemoUpstream();
  await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
  upstreamPort = (upstream.address() as AddressInfo).port;
});
after(async () => {
  await Promise.all(running.map((g) => g.stop()));
  upstream.closeAllConnections();
  upstream.close();
});

test('a native API exports to an AWS HTTP API document that serves the same answers', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-export-'));
  const native = join(dir, 'gateway.yaml');
  writeFileSync(native, readFileSync(`${ROOT}/examples/gateway.yaml`, 'utf8'));
  const out = join(dir, 'exported.yaml');
  const r = await runCli(['export', native, '--api', 'demo', '--out', out], { DEMO_UPSTREAM_PORT: String(upstreamPort) });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stderr, /warning: global plugins are not exported/);
  const exported = readFileSync(out, 'utf8');
  assert.match(exported, /x-amazon-apigateway-integration/);

  const original = await startGateway(readFileSync(native, 'utf8'), { env: { DEMO_UPSTREAM_PORT: String(upstreamPort) } });
  running.push(original);
  const reimported = await startGateway(`apis:\n  - name: demo\n    openapi: ${out}\n`);
  running.push(reimported);
  for (const path of ['/api/users/1', '/api/users', '/api/users/99', '/api/anything/x?y=1']) {
    const a = await fetch(original.url + path);
    const b = await fetch(reimported.url + path);
    assert.equal(b.status, a.status, path);
    const ja = (await a.json()) as Record<string, unknown>;
    const jb = (await b.json()) as Record<string, unknown>;
    if ('echo' in ja) {
      // echo includes forwarding headers that differ per gateway; the path and query must match
      const ea = ja.echo as { path: string; query: unknown };
      const eb = jb.echo as { path: string; query: unknown };
      assert.equal(eb.path, ea.path, path);
      assert.deepEqual(eb.query, ea.query, path);
    } else assert.deepEqual(jb, ja, path);
  }
});

test('an AWS document exports to a document that re-imports to the same behaviour', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-export-'));
  cpSync(`${ROOT}/test/fixtures/aws/http-api`, dir, { recursive: true });
  const r = await runCli(['export', join(dir, 'openapi.yaml'), '--out', join(dir, 'again.json')]);
  assert.equal(r.code, 0, r.stderr);
  const first = await startGateway(readFileSync(join(dir, 'openapi.yaml'), 'utf8'), { dir, fileName: 'openapi.yaml' });
  running.push(first);
  const second = await startGateway(readFileSync(join(dir, 'again.json'), 'utf8'), { dir, fileName: 'again.json' });
  running.push(second);
  for (const path of ['/hello/ada', '/nope']) {
    const a = await fetch(first.url + path);
    const b = await fetch(second.url + path);
    assert.equal(b.status, a.status, path);
    assert.equal(await b.text(), await a.text(), path);
  }
});
