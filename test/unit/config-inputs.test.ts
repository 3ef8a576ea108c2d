/**
 * Issue 10, "Sources yield {documents, version}; compile does no I/O" (src/config/inputs.ts): every
 * file a config names is collected before compile, compile takes them from there and never from
 * node:fs, and the version covers all of them. Without a process; the same behaviour through the real
 * process: test/integration/reload-inputs.test.ts and lifecycle-reload-inputs.test.ts.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseConfigText, snapshotOf } from '../../src/config/index.js';
import { type ConfigInputs, collectInputs, memoryInputs } from '../../src/config/inputs.js';
import { createGateway } from '../../src/gateway.js';
import { FunctionRegistry } from '../../src/integrations/function/runtime/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { type ConfigSource, fileSource } from '../../src/server/config-source.js';
import { type LoadedConfig, Reloader, type ServedConfig, loadVersion, servedPart } from '../../src/server/reloader.js';
import { FilesWatcher } from '../../src/server/watch.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { createPki } from '../helpers/certs.js';
import { waitFor } from '../helpers/lifecycle.js';

const pki = createPki();
const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'turnpike-inputs-'));
  dirs.push(d);
  return d;
}
const silent = () => pino({ level: 'silent' }, { write: () => undefined });
const deps = () => ({ logger: silent(), metrics: new GatewayMetrics(), pools: new PoolRegistry(), functions: new FunctionRegistry() });

/** An HTTP API document whose route calls `fn` (functions/fn.* beside it, found by convention). */
function apiDoc(paths: string[], fn = 'hello'): string {
  return `openapi: 3.0.1\ninfo: { title: inputs, version: '1.0' }\npaths:\n${paths
    .map((p) => `  ${p}:\n    get:\n      x-amazon-apigateway-integration: { type: aws_proxy, httpMethod: POST, uri: 'arn:aws:lambda:us-east-1:123456789012:function:${fn}', payloadFormatVersion: '2.0' }\n`)
    .join('')}`;
}

/** Every kind of input: a referenced OpenAPI document and its handler by convention, a function module, an upstream CA, server certificates. */
const main = (tls: boolean) => `${tls ? 'server:\n  tls:\n    certificates:\n      - { hosts: [svc.test], cert: certs/live.crt, key: certs/live.key }\n' : ''}upstreams:
  secure: { targets: [{ url: "https://127.0.0.1:1" }], tls: { ca: certs/ca.pem } }
functions:
  echo: { module: echo.mjs }
apis:
  - name: inputs
    openapi: aws/api.yaml
  - name: native
    routes:
      - { name: echo, methods: [GET], path: /echo, integration: { type: function, function: echo } }
      - { name: up, methods: [GET], path: /up, integration: { type: http, upstream: secure } }
      - { name: ok, methods: [GET], path: /ok, integration: { type: mock, status: 200, body: "from memory" } }
`;

/** The files of `main` under `root`, as contents: for memoryInputs, or written to a real directory. */
function files(root: string, tls: boolean): Record<string, string | null> {
  // The CA is only used when a connection is made: any text does without openssl.
  const ca = pki?.ca.certPem ?? 'ca\n';
  const out: Record<string, string | null> = {
    [join(root, 'aws', 'api.yaml')]: apiDoc(['/one']),
    // .mjs and .js absent: the probe order (findFunctionModule) ends at .cjs.
    [join(root, 'aws', 'functions', 'hello.cjs')]: 'exports.handler = async () => ({ statusCode: 200, body: "cjs" });\n',
    [join(root, 'echo.mjs')]: 'export const handler = async () => 1;\n',
    [join(root, 'certs', 'ca.pem')]: ca,
  };
  if (tls && pki !== undefined) {
    const server = pki.server('inputs-live', ['svc.test']);
    out[join(root, 'certs', 'live.crt')] = server.certPem;
    out[join(root, 'certs', 'live.key')] = server.keyPem;
  }
  return out;
}

/** Records (and refuses) every call of the node:fs functions a load could read the disk with, while `fn` runs. */
function withoutFs<T>(fn: () => T): { result: T; calls: string[] } {
  const fs = createRequire(import.meta.url)('node:fs') as Record<string, unknown> & { promises: Record<string, unknown> };
  const names = ['readFileSync', 'readdirSync', 'statSync', 'lstatSync', 'existsSync', 'openSync', 'accessSync', 'readFile', 'readdir', 'stat', 'open', 'watch'];
  const saved = new Map(names.map((n) => [n, fs[n]]));
  const savedPromise = fs.promises.readFile;
  const calls: string[] = [];
  for (const n of names) {
    fs[n] = (...args: unknown[]) => {
      calls.push(`${n}(${String(args[0])})`);
      throw Object.assign(new Error(`node:fs.${n} called during a load that must do no I/O`), { code: 'EFORBIDDEN' });
    };
  }
  fs.promises.readFile = async (p: unknown) => {
    calls.push(`promises.readFile(${String(p)})`);
    throw new Error('forbidden');
  };
  syncBuiltinESMExports();
  try {
    return { result: fn(), calls };
  } finally {
    for (const [n, f] of saved) fs[n] = f;
    fs.promises.readFile = savedPromise;
    syncBuiltinESMExports();
  }
}

test('compile does no I/O: a config whose every input exists only in memory validates, loads its TLS and compiles with node:fs refused', async () => {
  // A directory that does not exist: nothing below can come from the disk.
  const root = join(tmpdir(), `turnpike-nowhere-${process.pid}-${Date.now()}`);
  const tls = pki !== undefined;
  const text = main(tls);
  const inputs = memoryInputs(text, files(root, tls));
  const d = deps();
  const load = () => loadVersion(parseConfigText(text, join(root, 'gateway.yaml')), d, inputs);
  // Once with node:fs as it is, so the subsystems this config uses are imported (module loading reads files).
  const warm = load();
  // The guard works: collecting inputs (the step that does read the disk) is caught by it.
  const guarded = withoutFs(() => collectInputs(parseConfigText(text, join(root, 'gateway.yaml'))));
  assert.ok(guarded.calls.some((c) => c.startsWith('readFileSync(')), guarded.calls.join(' '));
  const { result: v, calls } = withoutFs(load);
  try {
    assert.deepEqual(calls, [], 'no node:fs call during validate, TLS and compile');
    assert.equal(v.table.version, inputs.version());
    assert.equal(v.table.version, warm.table.version, 'the same inputs, the same version');
    const paths = v.table.routes.map((r) => r.path);
    for (const p of ['/echo', '/ok', '/one', '/up']) assert.ok(paths.includes(p), `${p} in ${paths.join(' ')}`);
    assert.equal(v.tls !== undefined, tls, 'the certificates came from memory too');
    if (tls) assert.deepEqual(v.tls?.certificates.map((c) => c.hosts), [['svc.test']]);
    // The handler found by convention is the .cjs one: its content hash keys its pool.
    assert.equal(inputs.exists(join(root, 'aws', 'functions', 'hello.mjs')), false);
    assert.match(inputs.stateOf(join(root, 'aws', 'functions', 'hello.cjs')) ?? '', /^sha256:[0-9a-f]{64}$/);
    assert.equal(d.functions.size, 2, 'echo and hello, shared by both versions');
  } finally {
    await v.table.close();
    await warm.table.close();
    await d.functions.closeAll();
  }
});

test('an input nobody collected is never read from the disk: compile reports it (ENOTINPUT), even though the file exists', () => {
  const dir = tempDir();
  const text = main(false);
  for (const [p, c] of Object.entries(files(dir, false))) {
    mkdirSync(join(p, '..'), { recursive: true });
    writeFileSync(p, c ?? '');
  }
  const all = files(dir, false);
  delete all[join(dir, 'aws', 'api.yaml')];
  all[join(dir, 'echo.mjs')] = null; // known to be absent
  const err = (() => {
    try {
      loadVersion(parseConfigText(text, join(dir, 'gateway.yaml')), deps(), memoryInputs(text, all));
    } catch (e) {
      return e;
    }
    assert.fail('expected the config to be rejected');
  })();
  assert.ok(err instanceof ConfigError);
  const lines = err.message.split('\n');
  assert.ok(lines.some((l) => /functions\.echo\.module: handler file not found: .*echo\.mjs$/.test(l)), lines.join('\n'));
  assert.ok(lines.some((l) => /apis\[0\]\.openapi: cannot read the OpenAPI document .*api\.yaml: ENOTINPUT/.test(l)), lines.join('\n'));
});

test('an embedder compiles from inputs in memory: a source whose document carries them (snapshotOf) serves without any file', async () => {
  const root = join(tmpdir(), `turnpike-nowhere-embedded-${process.pid}`);
  const text = 'apis:\n  - name: m\n    routes:\n      - { path: /ok, integration: { type: mock, status: 200, body: "from memory" } }\n  - name: aws\n    openapi: aws/api.yaml\n';
  const inputs = memoryInputs(text, {
    [join(root, 'aws', 'api.yaml')]: apiDoc(['/one']),
    [join(root, 'aws', 'functions', 'hello.mjs')]: 'export const handler = async () => ({ statusCode: 200 });\n',
  });
  const file = join(root, 'gateway.yaml');
  const snap = snapshotOf(parseConfigText(text, file), inputs);
  assert.equal(snap.version, inputs.version());
  const source: ConfigSource = { file, read: async () => snap.document, snapshot: async () => snap, watch: () => () => undefined };
  const gw = await createGateway({ source });
  try {
    assert.equal(gw.table.version, snap.version);
    const res = await gw.inject({ method: 'GET', url: '/ok' });
    assert.equal(res.status, 200);
    assert.equal(res.text(), 'from memory');
    assert.deepEqual(await gw.reload(), undefined, 'the same snapshot: nothing to do');
    assert.equal(gw.table.version, snap.version);
  } finally {
    await gw.close();
  }
});

/** gateway.yaml, aws/api.yaml, aws/functions/hello.js, echo.mjs and certs/ca.pem in a real directory. */
function layout(): string {
  const dir = tempDir();
  mkdirSync(join(dir, 'aws', 'functions'), { recursive: true });
  mkdirSync(join(dir, 'certs'));
  writeFileSync(join(dir, 'aws', 'api.yaml'), apiDoc(['/one']));
  writeFileSync(join(dir, 'aws', 'functions', 'hello.js'), 'exports.handler = async () => ({ statusCode: 200 });\n');
  writeFileSync(join(dir, 'echo.mjs'), 'export const handler = async () => 1;\n');
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'ca one\n');
  writeFileSync(join(dir, 'gateway.yaml'), main(false));
  return dir;
}

test('collectInputs: every file named, the functions/ directory listed; the version moves with every input and with nothing else', () => {
  const dir = layout();
  const text = main(false);
  const doc = parseConfigText(text, join(dir, 'gateway.yaml'));
  const first = collectInputs(doc);
  assert.match(first.version(), /^[0-9a-f]{12}$/);
  assert.deepEqual(first.files.sort(), [join(dir, 'aws', 'api.yaml'), join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'certs', 'ca.pem'), join(dir, 'echo.mjs')]);
  assert.deepEqual(first.directories, [join(dir, 'aws', 'functions')]);
  assert.equal(first.readText(join(dir, 'certs', 'ca.pem')), 'ca one\n');
  assert.throws(() => first.readFile(join(dir, 'gateway.yaml')), { code: 'ENOTINPUT' });
  // The snapshot is immutable: what a caller does to the bytes it got changes nothing.
  first.readFile(join(dir, 'certs', 'ca.pem')).fill(0);
  assert.equal(first.readText(join(dir, 'certs', 'ca.pem')), 'ca one\n');

  /** After each change: recheck (no parse) and a fresh collection agree, and say whether the version moved. */
  const expect = (moved: boolean, what: string) => {
    const again = first.recheck(text).version();
    assert.equal(again, collectInputs(doc).version(), `${what}: recheck agrees with a fresh collection`);
    assert.equal(again !== first.version(), moved, what);
  };
  expect(false, 'nothing changed');
  assert.notEqual(first.recheck(`${text}# edited\n`).version(), first.version(), 'the main document');
  const later = new Date(Date.now() + 10_000);
  utimesSync(join(dir, 'certs', 'ca.pem'), later, later);
  expect(false, 'a touch is not a change');
  writeFileSync(join(dir, 'aws', 'functions', 'notes.txt'), 'not a module');
  expect(false, 'a file that is no module beside the handlers');
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'ca two\n');
  expect(true, 'the upstream CA');
  writeFileSync(join(dir, 'certs', 'ca.pem'), 'ca one\n');
  expect(false, 'the CA back as it was');
  renameSync(join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'aws', 'functions', 'hello.cjs'));
  expect(true, 'a handler renamed .js -> .cjs');
  renameSync(join(dir, 'aws', 'functions', 'hello.cjs'), join(dir, 'aws', 'functions', 'hello.js'));
  expect(false, 'renamed back');
  writeFileSync(join(dir, 'aws', 'functions', 'world.mjs'), 'export const handler = async () => 2;\n');
  expect(true, 'a new handler beside the document');
  rmSync(join(dir, 'aws', 'functions', 'world.mjs'));
  expect(false, 'removed again');
  rmSync(join(dir, 'echo.mjs'));
  expect(true, 'a function module removed');
  assert.equal(collectInputs(doc).exists(join(dir, 'echo.mjs')), false);
  assert.equal(collectInputs(doc).stateOf(join(dir, 'echo.mjs')), 'absent');
});

test('a bare AWS document is its own input, and its functions/ directory is listed', () => {
  const dir = layout();
  const file = join(dir, 'aws', 'api.yaml');
  const inputs = collectInputs(parseConfigText(readFileSync(file, 'utf8'), file));
  assert.deepEqual(inputs.files.sort(), [file, join(dir, 'aws', 'functions', 'hello.js')]);
  assert.deepEqual(inputs.directories, [join(dir, 'aws', 'functions')]);
});

test('the file source yields {document, inputs, version}; the table compiled from it has that version', async () => {
  const dir = layout();
  const src = fileSource(join(dir, 'gateway.yaml'), false);
  const snap = await (src.snapshot as NonNullable<ConfigSource['snapshot']>)();
  assert.equal(snap.version, snap.inputs.version());
  assert.equal(snap.document.inputs, snap.inputs, 'the document carries its inputs');
  const d = deps();
  const v = loadVersion(snap.document, d);
  assert.equal(v.table.version, snap.version);
  assert.equal(v.inputs, snap.inputs, 'compiled from the snapshot, not collected again');
  assert.equal((await src.read()).inputs?.version(), snap.version, 'read() gives the same document with its inputs');
  await v.table.close();
  await d.functions.closeAll();
});

test('a source without readText (a database): a reload decides "unchanged" from its snapshot, without compiling; a new handler is a new version', async () => {
  const dir = layout();
  const file = join(dir, 'gateway.yaml');
  const text = main(false);
  let snapshots = 0;
  const source: ConfigSource = {
    file,
    read: async () => parseConfigText(text, file),
    snapshot: async () => {
      snapshots++;
      return snapshotOf(parseConfigText(text, file));
    },
    watch: () => () => undefined,
  };
  const d = deps();
  const first = loadVersion(parseConfigText(text, file), d);
  let loads = 0;
  const reloader = new Reloader(
    {
      source,
      load: (doc, inputs: ConfigInputs) => {
        loads++;
        return loadVersion(doc, d, inputs);
      },
      apply: (_next: LoadedConfig, prev: ServedConfig) => void prev.table.close(),
      logger: silent(),
      metrics: d.metrics,
      watchFiles: false,
    },
    servedPart(first),
  );
  assert.throws(() => reloader.current.inputs.readFile(join(dir, 'echo.mjs')), { code: 'ENOTINPUT' }, 'a served version keeps no contents');
  const same = await reloader.reload();
  assert.deepEqual(same, { ok: true, version: first.table.version, changed: false });
  assert.equal(snapshots, 1);
  assert.equal(loads, 0, 'nothing compiled');
  renameSync(join(dir, 'aws', 'functions', 'hello.js'), join(dir, 'aws', 'functions', 'hello.cjs'));
  const moved = await reloader.reload();
  assert.equal(moved.ok, true);
  assert.equal(moved.changed, true);
  assert.equal(loads, 1);
  await reloader.current.table.close();
  await d.functions.closeAll();
});

test('FilesWatcher: in a listed directory a new module file is a change, another file is not; a listed directory created later is seen', async () => {
  const dir = tempDir();
  let changes = 0;
  const w = new FilesWatcher(() => changes++, 20);
  const isModule = (n: string) => /\.(mjs|js|cjs)$/.test(n);
  try {
    const fns = join(dir, 'functions');
    w.set([], [fns], isModule);
    mkdirSync(fns);
    await waitFor('the directory to appear', () => changes >= 1, 5_000, 10);
    w.set([], [fns], isModule); // after a reload: now the directory itself is watched
    const quiet = changes;
    writeFileSync(join(fns, 'notes.txt'), 'x');
    await new Promise((r) => setTimeout(r, 150));
    assert.equal(changes, quiet, 'not a module');
    writeFileSync(join(fns, 'world.mjs'), 'export const handler = () => 1;');
    await waitFor('the new module', () => changes > quiet, 5_000, 10);
  } finally {
    w.close();
  }
});
