/**
 * The inputs of a config version (src/config/reads.ts), the Reloader's decisions over them
 * (src/server/reloader.ts) and the watcher of those files (src/server/watch.ts), without a process.
 * The same behaviour through the real process: test/integration/lifecycle-reload-inputs.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { parseConfigText } from '../../src/config/index.js';
import { ConfigReads } from '../../src/config/reads.js';
import { FunctionRegistry } from '../../src/integrations/function/runtime/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import type { ConfigSource } from '../../src/server/config-source.js';
import { type LoadedConfig, Reloader, type ServedConfig, loadVersion, servedPart } from '../../src/server/reloader.js';
import { FilesWatcher } from '../../src/server/watch.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { metricSum, parseMetrics, waitFor } from '../helpers/lifecycle.js';

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'turnpike-reads-'));
  dirs.push(d);
  return d;
}

test('the version covers the document, every file read and every lookup, absent ones included', () => {
  const dir = tempDir();
  writeFileSync(join(dir, 'a.txt'), 'one');
  const reads = () => {
    const r = new ConfigReads();
    r.document('main');
    r.readText(join(dir, 'a.txt'));
    r.exists(join(dir, 'b.mjs'));
    return r;
  };
  const first = reads();
  assert.match(first.version(), /^[0-9a-f]{12}$/);
  assert.deepEqual(first.files.sort(), [join(dir, 'a.txt'), join(dir, 'b.mjs')]);
  assert.equal(first.stateOf(join(dir, 'b.mjs')), 'absent');
  assert.equal(reads().version(), first.version(), 'deterministic');
  assert.equal(first.recheck('main').version(), first.version(), 'nothing changed');
  assert.notEqual(first.recheck('main, edited').version(), first.version(), 'the document');
  writeFileSync(join(dir, 'b.mjs'), 'export const handler = () => 1;');
  assert.notEqual(first.recheck('main').version(), first.version(), 'a looked-up file appeared');
  assert.match(reads().stateOf(join(dir, 'b.mjs')) ?? '', /^sha256:[0-9a-f]{64}$/);
  rmSync(join(dir, 'b.mjs'));
  writeFileSync(join(dir, 'a.txt'), 'two');
  assert.notEqual(first.recheck('main').version(), first.version(), 'a read file changed');
  writeFileSync(join(dir, 'a.txt'), 'one');
  const later = new Date(Date.now() + 10_000);
  utimesSync(join(dir, 'a.txt'), later, later);
  assert.equal(first.recheck('main').version(), first.version(), 'a touch is not a change');
  rmSync(join(dir, 'a.txt'));
  assert.throws(() => new ConfigReads().readText(join(dir, 'a.txt')), /ENOENT/);
  assert.notEqual(first.recheck('main').version(), first.version(), 'a read file vanished');
});

/** gateway.yaml referencing aws/api.yaml (a handler found by convention) and a native function module. */
function layout(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'aws', 'functions'), { recursive: true });
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc(['/one']));
  writeFileSync(join(dir, 'aws', 'functions', 'hello.js'), 'exports.handler = async () => ({ statusCode: 200, body: "js" });\n');
  writeFileSync(join(dir, 'echo.mjs'), 'export const handler = async () => 1;\n');
  writeFileSync(join(dir, 'gateway.yaml'), MAIN);
  return dir;
}
const MAIN = `functions:
  echo: { module: echo.mjs }
apis:
  - name: inputs
    openapi: aws/api.yaml
  - name: native
    routes:
      - { methods: [GET], path: /echo, integration: { type: function, function: echo } }
`;
function apiDoc(paths: string[], type = 'aws_proxy'): string {
  return `openapi: 3.0.1\ninfo: { title: inputs, version: '1.0' }\npaths:\n${paths
    .map((p) => `  ${p}:\n    get:\n      x-amazon-apigateway-integration: { type: ${type}, httpMethod: POST, uri: 'arn:aws:lambda:us-east-1:123456789012:function:hello', payloadFormatVersion: '2.0' }\n`)
    .join('')}`;
}

test('compile records the referenced document and the function modules, and keys function pools by their content', async () => {
  const dir = layout();
  const functions = new FunctionRegistry();
  const deps = { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry(), functions };
  const load = () => loadVersion(parseConfigText(MAIN, join(dir, 'gateway.yaml')), deps);
  const v1 = load();
  assert.equal(v1.table.version, v1.reads.version());
  // The functions/ directory beside the document is listed (every module file in it is an input), not probed name by name.
  assert.deepEqual(v1.reads.files.sort(), [join(dir, 'aws', 'api.yaml'), join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'echo.mjs')]);
  assert.deepEqual(v1.reads.directories, [join(dir, 'aws', 'functions')]);
  assert.equal(functions.size, 2);
  const same = load();
  assert.equal(same.table.version, v1.table.version);
  assert.equal(functions.size, 2, 'unchanged functions share their pools across versions');
  writeFileSync(join(dir, 'echo.mjs'), 'export const handler = async () => 2;\n');
  const v2 = load();
  assert.notEqual(v2.table.version, v1.table.version);
  assert.equal(functions.size, 3, 'an edited handler gets a fresh pool');
  renameSync(join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'aws', 'functions', 'hello.cjs'));
  const v3 = load();
  assert.notEqual(v3.table.version, v2.table.version);
  assert.ok(v3.reads.files.includes(join(dir, 'aws', 'functions', 'hello.cjs')));
  for (const v of [v1, same, v2, v3]) await v.table.close();
  assert.equal(functions.size, 0);
  await functions.closeAll();
});

/** A file source over `dir/gateway.yaml` whose watch is driven by the test. */
function source(dir: string): ConfigSource {
  const file = join(dir, 'gateway.yaml');
  return {
    file,
    read: async () => parseConfigText(MAIN, file),
    readText: async () => MAIN,
    watch: () => () => undefined,
  };
}

test('a reload compiles only when an input changed; a rejected version changes nothing', async () => {
  const dir = layout();
  const metrics = new GatewayMetrics();
  const deps = { logger: pino({ level: 'silent' }), metrics, pools: new PoolRegistry(), functions: new FunctionRegistry() };
  const src = source(dir);
  let loads = 0;
  const applied: string[] = [];
  const first = loadVersion(await src.read(), deps);
  const reloader = new Reloader(
    {
      source: src,
      load: (doc, reads) => {
        loads++;
        return loadVersion(doc, deps, reads);
      },
      apply: (next: LoadedConfig, prev: ServedConfig) => {
        applied.push(next.table.version);
        void prev.table.close();
      },
      // Lifecycle lines are logged at info whatever the level: a logger that writes nowhere.
      logger: pino({ level: 'silent' }, { write: () => undefined }),
      metrics,
      watchFiles: false,
    },
    servedPart(first),
  );
  const count = async (result: string) => metricSum(parseMetrics(await metrics.registry.metrics()).samples, 'turnpike_config_reloads_total', { result });

  const same = await reloader.reloadText(MAIN);
  assert.deepEqual(same, { ok: true, version: first.table.version, changed: false });
  assert.equal(loads, 0, 'nothing was compiled');
  assert.equal(await count('unchanged'), 1);

  // A type that is not a string: an error (an unknown type name only warns, and that route answers 500).
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc(['/one', '/two'], '[bogus]'));
  const bad = await reloader.reloadText(MAIN);
  assert.equal(bad.ok, false);
  assert.match(bad.errors ?? '', /aws\/api\.yaml:\d+:\d+ paths\["\/one"\]\.get\.x-amazon-apigateway-integration\.type: integration type must be one of/);
  assert.equal(reloader.current.table.version, first.table.version);
  assert.equal(await count('failure'), 1);

  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc(['/one', '/two']));
  const good = await reloader.reloadText(MAIN);
  assert.equal(good.ok, true);
  assert.equal(good.changed, true);
  assert.deepEqual(applied, [good.version]);
  assert.equal(reloader.current.table.routes.length, first.table.routes.length + 1);
  assert.equal(await count('success'), 1);
  await reloader.current.table.close();
});

test('FilesWatcher: a file in a directory that does not exist yet is seen when it appears; set() follows the new list', async () => {
  const dir = tempDir();
  let changes = 0;
  const w = new FilesWatcher(() => changes++, 20);
  try {
    const target = join(dir, 'functions', 'hello.mjs');
    w.set([target]);
    mkdirSync(join(dir, 'functions'));
    await waitFor('the directory to appear', () => changes >= 1, 5_000, 10);
    w.set([target]); // after a reload: now watched in functions/ itself
    const before = changes;
    writeFileSync(target, 'export const handler = () => 1;');
    await waitFor('the file to appear', () => changes > before, 5_000, 10);
    // An unrelated file in a watched directory is not a change.
    const quiet = changes;
    writeFileSync(join(dir, 'functions', 'notes.txt'), 'x');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(changes, quiet);
    // Not watched any more once dropped from the list.
    w.set([]);
    writeFileSync(target, 'export const handler = () => 2;');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(changes, quiet);
  } finally {
    w.close();
  }
});
