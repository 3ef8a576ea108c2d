// createGateway's stores and reload: a counter store given in `stores` is the one the plugins count in
// (two gateways sharing it share their limits), `counters` is its deprecated alias, and `reload()` goes
// through the Reloader (an unchanged source rebuilds nothing; a rejected one throws its diagnostics);
// with `watch`, a started reloader follows the file.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';
import { ConfigError } from '../../src/config/diagnostics.js';
import { MemoryCounterStore } from '../../src/stores/memory-counters.js';

const open: EmbeddedGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});

const LIMITED = `
apis:
  - name: a
    routes:
      - path: /x
        integration: { type: mock, body: ok }
        plugins:
          rate-limit: { limits: [{ window: minute, limit: 2 }] }
`;

async function statuses(gws: EmbeddedGateway[], n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await (gws[i % gws.length] as EmbeddedGateway).inject({ url: '/x' })).status);
  return out;
}

test('gateways given one counter store share their limits; without one each counts alone', async () => {
  const shared = new MemoryCounterStore();
  const a = await createGateway({ source: { text: LIMITED }, stores: { counters: shared } });
  open.push(a);
  // The deprecated alias still works.
  const b = await createGateway({ source: { text: LIMITED }, counters: shared });
  open.push(b);
  assert.deepEqual(await statuses([a, b], 3), [200, 200, 429]);
  const c = await createGateway({ source: { text: LIMITED } });
  const d = await createGateway({ source: { text: LIMITED } });
  open.push(c, d);
  assert.deepEqual(await statuses([c, d], 4), [200, 200, 200, 200]);
});

test('reload: nothing rebuilt when the source did not change; a rejected version throws a ConfigError and keeps serving', async () => {
  let text = 'apis:\n  - name: a\n    routes: [{ path: /v, integration: { type: mock, body: v1 } }]\n';
  const source = {
    file: 'mem.yaml',
    read: async () => (await import('../../src/config/index.js')).parseConfigText(text, 'mem.yaml'),
    readText: async () => text,
    watch: () => () => undefined,
  };
  const versions: string[] = [];
  const gw = await createGateway({ source, onVersion: (next) => versions.push(next.table.version) });
  open.push(gw);
  const first = gw.table;
  await gw.reload();
  assert.equal(gw.table, first, 'same inputs: the table is kept, not rebuilt');
  text = text.replace('v1', 'v2');
  await gw.reload();
  assert.equal((await gw.inject({ url: '/v' })).text(), 'v2');
  text = 'apis:\n  - name: a\n    routes: [{ path: /v, integration: { type: nonsense } }]\n';
  await assert.rejects(gw.reload(), (e: unknown) => e instanceof ConfigError && /mem\.yaml:3/.test(e.message));
  assert.equal((await gw.inject({ url: '/v' })).text(), 'v2');
  assert.equal(versions.length, 2, 'onVersion saw the first version and the one swapped in');
  assert.equal(versions[1], gw.table.version);
});

test('watch: once the reloader is started, an edit to the file is served without a reload() call', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-embed-watch-'));
  const file = join(dir, 'gateway.yaml');
  writeFileSync(file, 'apis:\n  - name: a\n    routes: [{ path: /w, integration: { type: mock, body: w1 } }]\n');
  const gw = await createGateway({ source: { file }, watch: true });
  open.push(gw);
  gw.reloader.start();
  writeFileSync(file, 'apis:\n  - name: a\n    routes: [{ path: /w, integration: { type: mock, body: w2 } }]\n');
  const deadline = Date.now() + 10_000;
  let body = '';
  while (Date.now() < deadline && (body = (await gw.inject({ url: '/w' })).text()) !== 'w2') await new Promise((r) => setTimeout(r, 20));
  assert.equal(body, 'w2');
});
