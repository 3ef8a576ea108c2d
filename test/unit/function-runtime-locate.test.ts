// The runtime seam at compile time (src/integrations/function/runtime/locate.ts, runtimes.ts): where a
// function's code is, as Lambda's runtimes find it, answered from a map of files (no disk), and the
// environment each runtime gives its processes. The first-call side of the .mjs check runs a real process.
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import pino from 'pino';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseConfigText } from '../../src/config/index.js';
import { collectInputs } from '../../src/config/inputs.js';
import { FunctionPool, FunctionRegistry, functionEnvironment } from '../../src/integrations/function/runtime/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { loadVersion } from '../../src/server/reloader.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import { type LocateIO, type LocateResult, locateFunction, looksCommonJs, splitNodeHandler } from '../../src/integrations/function/runtime/locate.js';
import { runtimeFor } from '../../src/integrations/function/runtime/runtimes.js';

const BASE = '/proj';

/** Files by absolute path: text, or { text, exec } for an executable. */
function io(files: Record<string, string | { text: string; exec: boolean }>): LocateIO & { asked: Set<string> } {
  const asked = new Set<string>();
  const get = (p: string) => {
    asked.add(p);
    return files[p];
  };
  return {
    asked,
    exists: (p) => get(p) !== undefined,
    readText: (p) => {
      const f = get(p);
      return f === undefined ? undefined : typeof f === 'string' ? f : f.text;
    },
    executable: (p) => {
      const f = get(p);
      return f === undefined ? undefined : typeof f === 'string' ? false : f.exec;
    },
  };
}

function located(r: LocateResult) {
  assert.equal(r.ok, true, JSON.stringify(r));
  return r as Extract<LocateResult, { ok: true }>;
}
function refused(r: LocateResult) {
  assert.equal(r.ok, false, JSON.stringify(r));
  return r as Extract<LocateResult, { ok: false }>;
}

const ESM = 'export const handler = async () => ({ statusCode: 200 });\n';
const CJS = "const path = require('node:path');\nmodule.exports.handler = async () => ({ statusCode: 200 });\n";

describe('Node handler strings, split as Lambda splits them', () => {
  it('module before the first dot after the last slash, the rest is the export path', () => {
    assert.deepEqual(splitNodeHandler('index.handler'), { modulePath: 'index', exportName: 'handler' });
    assert.deepEqual(splitNodeHandler('src/app.api.v1.handler'), { modulePath: 'src/app', exportName: 'api.v1.handler' });
    assert.deepEqual(splitNodeHandler('v1.2/app.handler'), { modulePath: 'v1.2/app', exportName: 'handler' });
    for (const bad of ['index', 'index.', '.handler', 'src/.handler']) assert.equal(typeof splitNodeHandler(bad), 'string', bad);
  });

  it('looksCommonJs: module.exports, exports.x = and require( without import/export statements', () => {
    assert.equal(looksCommonJs(CJS), true);
    assert.equal(looksCommonJs('exports.handler = async () => 1;\n'), true);
    assert.equal(looksCommonJs("const m = await import('x'); module.exports = m;\n"), true);
    assert.equal(looksCommonJs(ESM), false);
    assert.equal(looksCommonJs("import { createRequire } from 'node:module';\nconst require = createRequire(import.meta.url);\nconst x = require('x');\nexport const handler = x;\n"), false);
    assert.equal(looksCommonJs('// module.exports is not used here\nexport default 1;\n'), false);
    assert.equal(looksCommonJs('const handler = () => 1;\n'), false);
  });
});

describe('locateFunction: Node.js', () => {
  it('finds file.js, then .mjs, then .cjs under codeUri; _HANDLER is the string as written', () => {
    const files = { '/proj/fn/index.mjs': ESM, '/proj/fn/index.cjs': CJS };
    const r = located(locateFunction({ runtime: 'nodejs20.x', codeUri: 'fn', handler: 'index.handler' }, BASE, io(files)));
    assert.equal(r.code.module, '/proj/fn/index.mjs');
    assert.equal(r.code.export, 'handler');
    assert.equal(r.code.handler, 'index.handler');
    assert.equal(r.code.codeDir, '/proj/fn');
    assert.equal(r.code.runtime, 'nodejs20.x');
    const js = located(locateFunction({ codeUri: 'fn', handler: 'index.handler' }, BASE, io({ ...files, '/proj/fn/index.js': ESM, '/proj/fn/package.json': '{"type":"module"}' })));
    assert.equal(js.code.module, '/proj/fn/index.js');
    assert.equal(js.code.runtime, 'nodejs20.x', 'the default runtime');
  });

  it('a missing file, a malformed handler and a path out of the code folder are refused at `handler`', () => {
    const missing = refused(locateFunction({ codeUri: 'fn', handler: 'app.handler' }, BASE, io({})));
    assert.equal(missing.at, 'handler');
    assert.match(missing.message, /handler file not found: \/proj\/fn\/app\.js \(or \.mjs, \.cjs\)/);
    assert.match(refused(locateFunction({ handler: 'app' }, BASE, io({}))).message, /must be written as file\.export/);
    assert.match(refused(locateFunction({ codeUri: 'fn', handler: '../secret.handler' }, BASE, io({ '/proj/secret.js': CJS }))).message, /outside its code folder/);
  });

  it('a CommonJS file named .mjs is refused with the rename to .cjs', () => {
    const r = refused(locateFunction({ codeUri: 'fn', handler: 'app.handler' }, BASE, io({ '/proj/fn/app.mjs': CJS })));
    assert.equal(r.at, 'handler');
    assert.equal(r.message, 'app.mjs is CommonJS (module.exports / require) but named .mjs, which Node.js and Lambda load as an ES module: rename it to app.cjs');
    // the same through `module:`
    assert.match(refused(locateFunction({ module: 'fn/app.mjs' }, BASE, io({ '/proj/fn/app.mjs': CJS }))).message, /rename it to app\.cjs/);
  });

  it('.js takes its type from the nearest package.json up to the code folder', () => {
    // type: module inside the code folder, CommonJS text: refused with the fix
    const esmScope = refused(locateFunction({ codeUri: 'fn', handler: 'src/app.handler' }, BASE, io({ '/proj/fn/src/app.js': CJS, '/proj/fn/package.json': '{"type":"module"}' })));
    assert.match(esmScope.message, /app\.js is CommonJS .* but \/proj\/fn\/package\.json says "type": "module".*rename it to app\.cjs/);
    // the nearest wins: a commonjs package.json in src/ under a module one
    const nearest = located(
      locateFunction({ codeUri: 'fn', handler: 'src/app.handler' }, BASE, io({ '/proj/fn/src/app.js': CJS, '/proj/fn/src/package.json': '{}', '/proj/fn/package.json': '{"type":"module"}' })),
    );
    assert.equal(nearest.code.forceCommonJs, undefined);
  });

  it('a .js Lambda runs as CommonJS is loaded as CommonJS even when a package.json above the code folder says module', () => {
    const files = { '/proj/fn/index.js': CJS, '/proj/package.json': '{"type":"module"}' };
    const r = located(locateFunction({ codeUri: 'fn', handler: 'index.handler' }, BASE, io(files)));
    assert.equal(r.code.forceCommonJs, true);
    const plain = located(locateFunction({ codeUri: 'fn', handler: 'index.handler' }, BASE, io({ '/proj/fn/index.js': CJS, '/proj/package.json': '{}' })));
    assert.equal(plain.code.forceCommonJs, undefined);
  });

  it('ES module code in such a .js runs (Node takes the type from above) with a warning that Lambda would load it as CommonJS; `module:` entries keep Node\'s rules', () => {
    const files = { '/proj/fn/index.js': ESM, '/proj/package.json': '{"type":"module"}' };
    const r = located(locateFunction({ codeUri: 'fn', handler: 'index.handler' }, BASE, io(files)));
    assert.equal(r.code.forceCommonJs, undefined);
    assert.equal(r.warnings.length, 1);
    assert.match(r.warnings[0] ?? '', /index\.js uses ES module syntax .* on Lambda it loads as CommonJS and fails; add a package\.json with "type": "module" to \/proj\/fn or rename it to index\.mjs/);
    const native = located(locateFunction({ module: 'fn/index.js' }, BASE, io({ '/proj/fn/index.js': CJS, '/proj/package.json': '{"type":"module"}' })));
    assert.equal(native.code.forceCommonJs, undefined);
    assert.deepEqual(native.warnings, []);
  });
});

describe('locateFunction: Python, provided, runtime clients', () => {
  it('python: module.function, slashes and dots as packages, module.py or module/__init__.py, then the layers', () => {
    const files = {
      '/proj/py/app.py': 'def lambda_handler(e, c): pass\n',
      '/proj/py/pkg/nested.py': '',
      '/proj/py/lib/__init__.py': '',
      '/proj/layer/python/shared.py': '',
    };
    const r = located(locateFunction({ runtime: 'python3.11', codeUri: 'py', handler: 'app.lambda_handler' }, BASE, io(files)));
    assert.equal(r.code.module, '/proj/py/app.py');
    assert.equal(r.code.export, 'lambda_handler');
    assert.equal(located(locateFunction({ runtime: 'python3.11', codeUri: 'py', handler: 'pkg/nested.handler' }, BASE, io(files))).code.module, '/proj/py/pkg/nested.py');
    assert.equal(located(locateFunction({ runtime: 'python3.11', codeUri: 'py', handler: 'pkg.nested.handler' }, BASE, io(files))).code.module, '/proj/py/pkg/nested.py');
    assert.equal(located(locateFunction({ runtime: 'python3.11', codeUri: 'py', handler: 'lib.handler' }, BASE, io(files))).code.module, '/proj/py/lib/__init__.py');
    const layered = located(locateFunction({ runtime: 'python3.11', codeUri: 'py', handler: 'shared.handler', layers: ['layer'] }, BASE, io(files)));
    assert.equal(layered.code.module, '/proj/layer/python/shared.py');
    assert.deepEqual(layered.code.layers, ['/proj/layer']);
    const missing = refused(locateFunction({ runtime: 'python3.12', codeUri: 'py', handler: 'nope.handler' }, BASE, io(files)));
    assert.match(missing.message, /handler module not found: \/proj\/py\/nope\.py/);
    assert.match(refused(locateFunction({ runtime: 'python3.12', codeUri: 'py', handler: 'app' }, BASE, io(files))).message, /module\.function/);
  });

  it('provided: the executable bootstrap in the code folder; not executable or missing is refused', () => {
    const ok = located(locateFunction({ runtime: 'provided.al2023', codeUri: 'go', handler: 'bootstrap' }, BASE, io({ '/proj/go/bootstrap': { text: '', exec: true } })));
    assert.equal(ok.code.module, '/proj/go/bootstrap');
    assert.equal(ok.code.handler, 'bootstrap');
    const notExec = refused(locateFunction({ runtime: 'provided.al2', codeUri: 'go', handler: 'x' }, BASE, io({ '/proj/go/bootstrap': { text: '', exec: false } })));
    assert.match(notExec.message, /\/proj\/go\/bootstrap is not executable: chmod \+x it/);
    const missing = refused(locateFunction({ runtime: 'provided', codeUri: 'go', handler: 'x' }, BASE, io({})));
    assert.match(missing.message, /provided runs the executable "bootstrap" in the code folder: \/proj\/go\/bootstrap not found/);
    // no bootstrap, but the handler names an executable there
    const named = located(locateFunction({ runtime: 'provided.al2023', codeUri: 'go', handler: 'my-function' }, BASE, io({ '/proj/go/my-function': { text: '', exec: true } })));
    assert.equal(named.code.module, '/proj/go/my-function');
  });

  it('java/dotnet/ruby need runtimeCommand (what to install, what to set); with it, the handler is appended or put in place of {handler}', () => {
    for (const rt of ['java21', 'dotnet8', 'ruby3.3']) {
      const r = refused(locateFunction({ runtime: rt, handler: 'x' }, BASE, io({})));
      assert.equal(r.at, 'runtime');
      assert.match(r.message, new RegExp(`runtime ${rt.replace('.', '\\.')} has no runtime client in Turnpike: .*runtimeCommand`));
    }
    const java = located(locateFunction({ runtime: 'java21', codeUri: 'j', handler: 'example.Handler::handleRequest', runtimeCommand: ['java', '-cp', 'lib/*', 'com.amazonaws.services.lambda.runtime.api.client.AWSLambda'] }, BASE, io({})));
    const start = { module: java.code.module, exportName: java.code.export, memoryMb: 128, handler: java.code.handler, codeDir: java.code.codeDir, layers: [], runtimeCommand: java.code.runtimeCommand };
    assert.deepEqual(java.runtime.command(start), { file: 'java', args: ['-cp', 'lib/*', 'com.amazonaws.services.lambda.runtime.api.client.AWSLambda', 'example.Handler::handleRequest'] });
    assert.deepEqual(java.runtime.command({ ...start, runtimeCommand: ['ric', '--handler', '{handler}', '-v'] }), { file: 'ric', args: ['--handler', 'example.Handler::handleRequest', '-v'] });
    assert.match(refused(locateFunction({ runtime: 'java21', handler: 'x', runtimeCommand: [''] }, BASE, io({}))).message, /needs at least the executable/);
  });

  it('an unknown runtime lists the known ones; `module` is for Node handlers only', () => {
    const r = refused(locateFunction({ runtime: 'go1.x', handler: 'main' }, BASE, io({})));
    assert.equal(r.at, 'runtime');
    assert.match(r.message, /^unknown runtime "go1\.x"; known: nodejs18\.x, nodejs20\.x, nodejs22\.x, python3\.9, .*provided\.al2023, java8\.al2, .*ruby3\.4$/);
    assert.match(refused(locateFunction({ runtime: 'python3.12', module: 'app.py' }, BASE, io({ '/proj/app.py': '' }))).message, /"module" names a Node\.js handler file/);
  });
});

describe('runtime environments', () => {
  const spec = { name: 'fn', module: '/proj/fn/app.py', codeDir: '/proj/fn', handler: 'app.lambda_handler', export: 'lambda_handler' };

  it('layers map onto the paths Lambda gives each language (NODE_PATH, PYTHONPATH, PATH, LD_LIBRARY_PATH, CLASSPATH)', () => {
    const py = functionEnvironment({ ...spec, runtime: 'python3.12', layers: ['/l1', '/l2'] });
    assert.equal(py.PYTHONPATH, '/l1/python/lib/python3.12/site-packages:/l1/python:/l2/python/lib/python3.12/site-packages:/l2/python');
    assert.ok(py.PATH?.startsWith('/l1/bin:/l2/bin:'), py.PATH);
    assert.equal(py.LD_LIBRARY_PATH?.split(':').slice(0, 4).join(':'), '/proj/fn:/proj/fn/lib:/l1/lib:/l2/lib');
    const node = functionEnvironment({ name: 'fn', module: '/proj/fn/index.js', codeDir: '/proj/fn', runtime: 'nodejs22.x', layers: ['/l1'] });
    assert.equal(node.NODE_PATH, '/l1/nodejs/node22/node_modules:/l1/nodejs/node_modules');
    const java = functionEnvironment({ name: 'fn', module: '/proj/fn', codeDir: '/proj/fn', runtime: 'java21', runtimeCommand: ['java'], layers: ['/l1'] });
    assert.equal(java.CLASSPATH?.split(':')[0], '/l1/java/lib/*');
    // without layers nothing language-specific is added
    const bare = functionEnvironment({ ...spec, runtime: 'python3.12' });
    assert.equal(bare.PYTHONPATH, undefined);
    assert.equal(bare.LD_LIBRARY_PATH, undefined);
    assert.equal(bare.PATH, process.env.PATH);
  });

  it("Lambda's variables: _HANDLER as written, LAMBDA_TASK_ROOT the code folder, AWS_EXECUTION_ENV per runtime (none for provided)", () => {
    const py = functionEnvironment({ ...spec, runtime: 'python3.12', environment: { PYTHONPATH: '/mine', AWS_EXECUTION_ENV: 'forged' } });
    assert.equal(py._HANDLER, 'app.lambda_handler');
    assert.equal(py.LAMBDA_TASK_ROOT, '/proj/fn');
    assert.equal(py.AWS_EXECUTION_ENV, 'AWS_Lambda_python3.12');
    assert.equal(py.PYTHONPATH, '/mine', 'PYTHONPATH is not reserved: the function may set it');
    assert.match(py.LAMBDA_RUNTIME_DIR ?? '', /\/src\/integrations\/function\/runtime\/python$/);
    const provided = functionEnvironment({ name: 'fn', module: '/proj/go/bootstrap', codeDir: '/proj/go', handler: 'x', runtime: 'provided.al2023', environment: { AWS_EXECUTION_ENV: 'forged' } });
    assert.equal(provided.AWS_EXECUTION_ENV, undefined);
    assert.equal(provided._HANDLER, 'x');
    // a `module:` entry keeps the derived handler and its folder
    const mod = functionEnvironment({ name: 'fn', module: '/proj/h/app.mjs', export: 'main' });
    assert.equal(mod._HANDLER, 'app.main');
    assert.equal(mod.LAMBDA_TASK_ROOT, '/proj/h');
    assert.equal(mod.AWS_EXECUTION_ENV, 'AWS_Lambda_nodejs20.x');
  });

  it('runtimeFor knows the Lambda identifiers by family', () => {
    assert.equal(runtimeFor('nodejs18.x')?.family, 'nodejs');
    assert.equal(runtimeFor('python3.13')?.family, 'python');
    assert.equal(runtimeFor('provided')?.family, 'provided');
    assert.equal(runtimeFor('java8.al2')?.family, 'java');
    assert.equal(runtimeFor('nodejs16.x'), undefined);
    assert.equal(runtimeFor('python2.7'), undefined);
  });
});

describe('Node.js at the first call: CommonJS named .mjs, packages from layers', { timeout: 20_000 }, () => {
  const pools: FunctionPool[] = [];
  after(async () => {
    await Promise.all(pools.map((p) => p.close()));
  });

  it('packages in a layer\'s nodejs/node_modules are found by ES module imports and CommonJS require alike (Node.js 18+ on Lambda)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-node-layer-'));
    // mkdtemp makes it 0700; as root, functions run as nobody (server.functionRunAs) and must reach the code and the layer.
    chmodSync(dir, 0o755);
    const lib = join(dir, 'layer', 'nodejs', 'node_modules', 'greet-lib');
    mkdirSync(lib, { recursive: true });
    writeFileSync(join(lib, 'package.json'), '{ "name": "greet-lib", "main": "index.js" }');
    writeFileSync(join(lib, 'index.js'), "exports.greet = (n) => 'hello ' + n;\n");
    mkdirSync(join(dir, 'code'));
    writeFileSync(join(dir, 'code', 'esm.mjs'), "import { greet } from 'greet-lib';\nexport const handler = async () => greet('esm');\n");
    writeFileSync(join(dir, 'code', 'cjs.cjs'), "const { greet } = require('greet-lib');\nexports.handler = async () => greet('cjs');\n");
    for (const [file, expected] of [['esm.mjs', 'hello esm'], ['cjs.cjs', 'hello cjs']] as const) {
      const pool = new FunctionPool({ name: 'layered', module: join(dir, 'code', file), codeDir: join(dir, 'code'), layers: [join(dir, 'layer')] }, { log: () => {} });
      pools.push(pool);
      const r = await pool.invoke({});
      assert.deepEqual(r.ok ? r.payload : r, expected, file);
    }
    // without the layer the import fails, as it would on Lambda
    const bare = new FunctionPool({ name: 'bare', module: join(dir, 'code', 'esm.mjs') }, { log: () => {} });
    pools.push(bare);
    const r = await bare.invoke({});
    assert.equal(r.ok, false);
    assert.equal((r as Extract<typeof r, { ok: false }>).errorType, 'Runtime.ImportModuleError');
  });

  it('fails to load with a message that says to rename it to .cjs', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-mjs-'));
    writeFileSync(join(dir, 'legacy.mjs'), 'module.exports.handler = async () => 1;\n');
    const pool = new FunctionPool({ name: 'legacy', module: join(dir, 'legacy.mjs') }, { log: () => {} });
    pools.push(pool);
    const r = await pool.invoke({});
    assert.equal(r.ok, false);
    const e = r as Extract<typeof r, { ok: false }>;
    assert.equal(e.kind, 'load-error');
    assert.equal(e.errorType, 'ReferenceError');
    assert.match(e.errorMessage, /^module is not defined in ES module scope.*: legacy\.mjs is CommonJS but loaded as an ES module; rename it to legacy\.cjs$/);
  });
});

describe('the files a function is located by are inputs of the config version', () => {
  it('a handler edit, a new candidate file and a bootstrap losing its execute bit are new versions; compile sees the same files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-locate-inputs-'));
    mkdirSync(join(dir, 'py'));
    mkdirSync(join(dir, 'sh'));
    mkdirSync(join(dir, 'js'));
    writeFileSync(join(dir, 'py', 'app.py'), 'def handler(e, c):\n    return 1\n');
    writeFileSync(join(dir, 'sh', 'bootstrap'), '#!/bin/sh\n');
    chmodSync(join(dir, 'sh', 'bootstrap'), 0o755);
    writeFileSync(join(dir, 'js', 'index.mjs'), ESM);
    const text = [
      'functions:',
      '  py: { runtime: python3.11, codeUri: py, handler: app.handler }',
      '  sh: { runtime: provided.al2023, codeUri: sh, handler: x }',
      '  js: { runtime: nodejs20.x, codeUri: js, handler: index.handler }',
      'apis:',
      '  - name: a',
      '    routes:',
      '      - { path: /py, integration: { type: function, function: py } }',
      '      - { path: /sh, integration: { type: function, function: sh } }',
      '      - { path: /js, integration: { type: function, function: js } }',
      '',
    ].join('\n');
    const doc = () => parseConfigText(text, join(dir, 'gateway.yaml'));
    const first = collectInputs(doc());
    for (const f of ['py/app.py', 'sh/bootstrap', 'js/index.js', 'js/index.mjs']) assert.ok(first.files.includes(join(dir, f)), `${f} is an input`);
    assert.equal(first.recheck(text).version(), first.version(), 'nothing changed');

    const deps = { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry(), functions: new FunctionRegistry() };
    const loaded = loadVersion(doc(), deps, first);
    await loaded.table.close();

    writeFileSync(join(dir, 'py', 'app.py'), 'def handler(e, c):\n    return 2\n');
    const edited = first.recheck(text);
    assert.notEqual(edited.version(), first.version(), 'an edited Python handler is a new version');

    writeFileSync(join(dir, 'js', 'index.js'), ESM);
    const added = edited.recheck(text);
    assert.notEqual(added.version(), edited.version(), 'index.js appearing beside index.mjs (Lambda takes .js first) is a new version');

    chmodSync(join(dir, 'sh', 'bootstrap'), 0o644);
    const chmodded = added.recheck(text);
    assert.notEqual(chmodded.version(), added.version(), 'chmod -x is a new version');
    assert.throws(
      () => loadVersion(doc(), deps, collectInputs(doc())),
      (e: unknown) => e instanceof ConfigError && e.diagnostics.some((d) => d.path === 'functions.sh.handler' && /bootstrap is not executable/.test(d.message)),
    );
    await deps.functions.closeAll();
  });
});
