// biome-ignore-all lint/suspicious/noExplicitAny: the handlers' JSON answers are untyped, walked field by field.
// Issue 12, "Lambda functions as Lambda runs them": functions in other languages through the Lambda
// Runtime API, against the real gateway process. Python handlers run on the shipped standard-library
// client (src/integrations/function/runtime/python/bootstrap.py) with this machine's python3; warm
// processes, timeouts, crashes, concurrency and logs are the pool's, as for Node functions.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BIN, ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const PY = `${ROOT}/test/fixtures/functions-python`;
const PROVIDED = `${ROOT}/test/fixtures/functions-provided`;
const NODE = `${ROOT}/test/fixtures/functions-node`;
const py = (handler: string, extra = '') =>
  `{ runtime: python3.11, codeUri: "${PY}/app", handler: ${handler}, layers: ["${PY}/layer"]${extra ? `, ${extra}` : ''} }`;

const CONFIG = `
functions:
  py: ${py('app.lambda_handler', 'environment: { GREETING: hi, AWS_LAMBDA_FUNCTION_NAME: forged }, memoryMb: 256')}
  nested: { runtime: python3.11, codeUri: "${PY}/app", handler: pkg/nested.handler }
  boom: ${py('app.boom')}
  unser: ${py('app.unserialisable')}
  logs: ${py('app.logs')}
  importError: ${py('broken_import.handler')}
  syntaxError: ${py('syntax_error.handler')}
  notFound: ${py('app.no_such_handler')}
  sleepy: ${py('app.sleepy', 'timeoutMs: 1000, concurrency: 2')}
  single: ${py('app.sleepy', 'concurrency: 1')}
  crashy: ${py('app.maybe_crash')}
  shell: { runtime: provided.al2023, codeUri: "${PROVIDED}", handler: my.handler, layers: ["${ROOT}/test/fixtures/functions-provided-layer"], environment: { GREETING: hey }, timeoutMs: 1000 }
  shellInit: { runtime: provided.al2, codeUri: "${PROVIDED}", handler: fail-init }
  client: { runtime: ruby3.3, codeUri: "${PROVIDED}", handler: app.Handler.process, runtimeCommand: [./bootstrap, "{handler}"] }
  esm: { runtime: nodejs22.x, codeUri: "${NODE}/esm", handler: src/app.api.v1.handler, memoryMb: 192 }
  cjs: { runtime: nodejs20.x, codeUri: "${NODE}/cjs", handler: index.handler }
  later: { runtime: nodejs18.x, codeUri: "${NODE}/cjs", handler: later.handler }
apis:
  - name: rt
    routes:
      - { path: /py, integration: { type: function, function: py } }
      - { path: /nested, integration: { type: function, function: nested } }
      - { path: /boom, integration: { type: function, function: boom } }
      - { path: /unser, integration: { type: function, function: unser } }
      - { path: /logs, integration: { type: function, function: logs } }
      - { path: /import-error, integration: { type: function, function: importError } }
      - { path: /syntax-error, integration: { type: function, function: syntaxError } }
      - { path: /not-found, integration: { type: function, function: notFound } }
      - { path: /sleepy, integration: { type: function, function: sleepy } }
      - { path: /sleepy-rest, integration: { type: function, function: sleepy, apiType: rest } }
      - { path: /single, integration: { type: function, function: single } }
      - { path: /crashy, integration: { type: function, function: crashy } }
      - { path: "/shell/{what}", integration: { type: function, function: shell } }
      - { path: /shell-init, integration: { type: function, function: shellInit } }
      - { path: "/client/{what}", integration: { type: function, function: client } }
      - { path: /esm, integration: { type: function, function: esm } }
      - { path: /cjs, integration: { type: function, function: cjs } }
      - { path: /later, integration: { type: function, function: later } }
`;

let gw: RunningGateway;

before(async () => {
  gw = await startGateway(CONFIG, { env: { TURNPIKE_SECRET: 'must-not-leak' } });
});
after(async () => {
  await gw?.stop();
});

describe('Python functions (runtime python3.x, the shipped standard-library client)', () => {
  test('Handler app.lambda_handler runs in its code folder with Lambda\'s environment, context and layers', async () => {
    const res = await fetch(`${gw.url}/py`);
    assert.equal(res.status, 200);
    const requestId = res.headers.get('apigw-requestid') ?? res.headers.get('x-request-id');
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.method, 'GET');
    assert.equal(body.path, '/py');
    // the working directory and LAMBDA_TASK_ROOT are the code folder: ./asset.txt is found
    assert.equal(body.cwd, `${PY}/app`);
    assert.equal(body.asset, 'asset-from-code-folder');
    assert.equal(body.sysPath0, `${PY}/app`);
    // the layer's python/ folder is on the module path, as /opt/python is on Lambda
    assert.equal(body.layer, 'hello from the layer');
    const env = body.env as Record<string, string | null>;
    assert.equal(env.AWS_LAMBDA_FUNCTION_NAME, 'py', 'reserved variables win over the configured environment');
    assert.equal(env.GREETING, 'hi');
    assert.equal(env._HANDLER, 'app.lambda_handler');
    assert.equal(env.AWS_EXECUTION_ENV, 'AWS_Lambda_python3.11');
    assert.equal(env.LAMBDA_TASK_ROOT, `${PY}/app`);
    assert.equal(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE, '256');
    assert.equal(env.AWS_LAMBDA_FUNCTION_VERSION, '$LATEST');
    assert.equal(env.AWS_LAMBDA_LOG_GROUP_NAME, '/aws/lambda/py');
    assert.equal(env.AWS_REGION, 'us-east-1');
    assert.equal(env.AWS_DEFAULT_REGION, 'us-east-1');
    assert.equal(env.TZ, ':UTC');
    assert.match(env.LAMBDA_RUNTIME_DIR ?? '', /runtime\/python$/);
    assert.match(env.AWS_LAMBDA_RUNTIME_API ?? '', /^127\.0\.0\.1:\d+$/);
    assert.match(env._X_AMZN_TRACE_ID ?? '', /^Root=1-/);
    assert.equal(env.TURNPIKE_SECRET, null, "the gateway's environment is not passed on");
    const ctx = body.context as Record<string, any>;
    assert.equal(ctx.function_name, 'py');
    assert.equal(ctx.function_version, '$LATEST');
    assert.equal(ctx.invoked_function_arn, 'arn:aws:lambda:us-east-1:000000000000:function:py');
    assert.equal(ctx.memory_limit_in_mb, '256');
    assert.equal(ctx.log_group_name, '/aws/lambda/py');
    assert.equal(ctx.log_stream_name, env.AWS_LAMBDA_LOG_STREAM_NAME);
    assert.match(String(ctx.log_stream_name), /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.match(ctx.aws_request_id, /^[0-9a-f-]{36}$/);
    if (requestId) assert.equal(ctx.aws_request_id, requestId);
    assert.ok(ctx.remaining > 0 && ctx.remaining <= 3000, `remaining ${ctx.remaining}`);
    // warm: the same process answers again, its module state kept
    const again = (await (await fetch(`${gw.url}/py`)).json()) as Record<string, any>;
    assert.equal(again.pid, body.pid);
    assert.equal(again.calls, body.calls + 1);
  });

  test('a handler in a package folder (pkg/nested.handler) is imported as pkg.nested', async () => {
    const res = await fetch(`${gw.url}/nested`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'nested pkg.nested');
  });

  test('an exception is a function error with Lambda\'s shape: class name, message, traceback lines', async () => {
    const res = await fetch(`${gw.url}/boom`);
    assert.equal(res.status, 500);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'boom', 5000);
    assert.equal(log.kind, 'unhandled');
    assert.equal(log.errorType, 'ValueError');
    assert.equal(log.errorMessage, 'no good');
  });

  test('a result that is not JSON-serialisable is Runtime.MarshalError', async () => {
    assert.equal((await fetch(`${gw.url}/unser`)).status, 500);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'unser', 5000);
    assert.equal(log.errorType, 'Runtime.MarshalError');
    assert.match(String(log.errorMessage), /^Unable to marshal response: Object of type set is not JSON serializable/);
  });

  test('init failures are named as Lambda names them: ImportModuleError, UserCodeSyntaxError, HandlerNotFound', async () => {
    const cases: [string, string, string, RegExp][] = [
      ['/import-error', 'importError', 'Runtime.ImportModuleError', /^Unable to import module 'broken_import': No module named 'module_that_does_not_exist'$/],
      ['/syntax-error', 'syntaxError', 'Runtime.UserCodeSyntaxError', /^Syntax error in module 'syntax_error': /],
      ['/not-found', 'notFound', 'Runtime.HandlerNotFound', /^Handler 'no_such_handler' missing on module 'app'$/],
    ];
    for (const [path, fn, type, message] of cases) {
      assert.equal((await fetch(`${gw.url}${path}`)).status, 500, path);
      const log = await gw.waitForLog((l) => l.msg === 'function error' && l.function === fn, 5000);
      assert.equal(log.kind, 'load-error', path);
      assert.equal(log.errorType, type, path);
      assert.match(String(log.errorMessage), message, path);
    }
  });

  test('print() and logging records become log lines of the invocation, with their levels', async () => {
    const res = await fetch(`${gw.url}/logs`);
    assert.equal(res.status, 200);
    const line = (text: string) => gw.waitForLog((l) => l.type === 'function-log' && l.function === 'logs' && l.msg === text, 5000);
    const printed = await line('printed line');
    assert.equal(printed.fnLevel, 'INFO');
    assert.equal(printed.source, 'stdout');
    const warned = await line('warned here');
    assert.equal(warned.fnLevel, 'WARN');
    assert.equal(warned.source, 'console');
    assert.equal((await line('info line')).fnLevel, 'INFO');
    const err = await line('to stderr');
    assert.equal(err.fnLevel, 'ERROR');
    assert.equal(err.requestId, printed.requestId);
  });

  test('a handler that sleeps past its timeout is cut off (Task timed out), and the function still answers after', async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/sleepy-rest?s=10`);
    const took = Date.now() - started;
    assert.equal(res.status, 502, 'REST: a function error');
    assert.ok(took < 5000, `answered after ${took} ms`);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'sleepy' && l.kind === 'timeout', 5000);
    assert.equal(log.errorType, 'Sandbox.Timedout');
    assert.equal(log.errorMessage, 'Task timed out after 1.00 seconds');
    const ok = await fetch(`${gw.url}/sleepy?s=0`);
    assert.equal(ok.status, 200);
  });

  test('os._exit(1) in a handler is Runtime.ExitError, and the next call gets a fresh process', async () => {
    const first = (await (await fetch(`${gw.url}/crashy`)).json()) as { pid: number };
    const crashed = await fetch(`${gw.url}/crashy?crash=1`);
    assert.equal(crashed.status, 500);
    const log = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'crashy', 5000);
    assert.equal(log.kind, 'crash');
    assert.equal(log.errorType, 'Runtime.ExitError');
    assert.match(String(log.errorMessage), /Runtime exited with error: exit status 1$/);
    const next = await fetch(`${gw.url}/crashy`);
    assert.equal(next.status, 200);
    const { pid } = (await next.json()) as { pid: number };
    assert.notEqual(pid, first.pid);
  });

  test('concurrent calls run in separate processes up to concurrency; past it they wait', async () => {
    const two = await Promise.all([0, 1].map(() => fetch(`${gw.url}/sleepy?s=0.6`).then((r) => r.json() as Promise<{ pid: number }>)));
    assert.notEqual(two[0]?.pid, two[1]?.pid, 'concurrency 2: two processes');
    const started = Date.now();
    const one = await Promise.all([0, 1].map(() => fetch(`${gw.url}/single?s=0.4`).then((r) => r.json() as Promise<{ pid: number }>)));
    assert.equal(one[0]?.pid, one[1]?.pid, 'concurrency 1: one process, one call after the other');
    assert.ok(Date.now() - started >= 800, 'the second call waited for the first');
  });
});

describe('custom runtimes (provided.al2023: the function\'s own executable bootstrap, here a bash script)', () => {
  test('the bootstrap runs in its code folder with _HANDLER, the layer\'s bin on PATH, and no AWS_EXECUTION_ENV; it stays warm', async () => {
    const res = await fetch(`${gw.url}/shell/ok`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.handler, 'my.handler');
    assert.equal(body.cwd, PROVIDED);
    assert.equal(body.taskRoot, PROVIDED);
    assert.equal(body.asset, 'provided-asset');
    assert.equal(body.path, '/shell/ok');
    assert.equal(body.function, 'shell');
    assert.equal(body.greeting, 'hey');
    assert.equal(body.layerTool, 'tool-from-layer');
    assert.equal(body.args, '', 'a provided bootstrap is started without arguments');
    assert.equal(body.executionEnv, 'unset', 'Lambda sets no AWS_EXECUTION_ENV for OS-only runtimes');
    assert.ok(body.remainingMs > 0 && body.remainingMs <= 1000, `Lambda-Runtime-Deadline-Ms: ${body.remainingMs} ms left`);
    const again = (await (await fetch(`${gw.url}/shell/ok`)).json()) as Record<string, any>;
    assert.equal(again.pid, body.pid);
    assert.equal(again.count, body.count + 1);
    const log = await gw.waitForLog((l) => l.type === 'function-log' && l.function === 'shell' && l.msg === 'bootstrap got /shell/ok', 5000);
    assert.equal(log.source, 'stdout');
  });

  test('an error the bootstrap posts, its exit, its timeout and its init error are reported as for Node functions', async () => {
    assert.equal((await fetch(`${gw.url}/shell/error`)).status, 500);
    const posted = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'shell' && l.errorType === 'Custom.Failure', 5000);
    assert.equal(posted.kind, 'unhandled');
    assert.equal(posted.errorMessage, 'the shell said no');

    assert.equal((await fetch(`${gw.url}/shell/exit`)).status, 500);
    const exited = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'shell' && l.kind === 'crash', 5000);
    assert.match(String(exited.errorMessage), /exit status 3$/);
    assert.equal((await fetch(`${gw.url}/shell/ok`)).status, 200, 'a fresh process after the exit');

    assert.equal((await fetch(`${gw.url}/shell/sleep`)).status, 500);
    const timedOut = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'shell' && l.kind === 'timeout', 5000);
    assert.equal(timedOut.errorMessage, 'Task timed out after 1.00 seconds');

    assert.equal((await fetch(`${gw.url}/shell-init`)).status, 500);
    const init = await gw.waitForLog((l) => l.msg === 'function error' && l.function === 'shellInit', 5000);
    assert.equal(init.kind, 'load-error');
    assert.equal(init.errorType, 'Custom.InitFailed');
  });
});

describe('other languages through the runtime client named by runtimeCommand', () => {
  test('a ruby3.3 function runs the named client (relative to its code folder) with the handler, and AWS_EXECUTION_ENV of its runtime', async () => {
    const res = await fetch(`${gw.url}/client/ok`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.handler, 'app.Handler.process');
    assert.equal(body.args, 'app.Handler.process', 'the handler in place of {handler}');
    assert.equal(body.executionEnv, 'AWS_Lambda_ruby3.3');
    assert.equal(body.function, 'client');
  });
});

describe('Node handlers resolved as Lambda resolves them', () => {
  test('Handler src/app.api.v1.handler: a .js ES module by its package.json, the export walked through nested objects, every context field', async () => {
    const res = await fetch(`${gw.url}/esm`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.kind, 'esm');
    assert.equal(body.asset, 'esm-asset', './asset.txt is read from the code folder');
    assert.equal(body.cwd, `${NODE}/esm`);
    assert.equal(body.taskRoot, `${NODE}/esm`);
    assert.equal(body.handlerEnv, 'src/app.api.v1.handler');
    assert.equal(body.executionEnv, 'AWS_Lambda_nodejs22.x');
    const c = body.context as Record<string, any>;
    assert.match(c.awsRequestId, /^[0-9a-f-]{36}$/);
    assert.equal(c.functionName, 'esm');
    assert.equal(c.functionVersion, '$LATEST');
    assert.equal(c.memoryLimitInMB, '192');
    assert.equal(c.invokedFunctionArn, 'arn:aws:lambda:us-east-1:000000000000:function:esm');
    assert.equal(c.logGroupName, '/aws/lambda/esm');
    assert.match(String(c.logStreamName), /^\d{4}\/\d\d\/\d\d\/\[\$LATEST\][0-9a-f]{32}$/);
    assert.ok(c.remaining > 0 && c.remaining <= 3000, `getRemainingTimeInMillis() ${c.remaining}`);
    assert.equal(c.callbackWaitsForEmptyEventLoop, true);
  });

  test('a .js with no package.json in its code folder is CommonJS, as on Lambda, even under a "type": "module" package above it', async () => {
    const started = Date.now();
    const res = await fetch(`${gw.url}/cjs`);
    assert.equal(res.status, 200);
    const body = (await res.json()) as Record<string, any>;
    assert.equal(body.kind, 'cjs');
    assert.equal(body.asset, 'cjs-asset');
    assert.equal(body.handlerEnv, 'index.handler');
    assert.equal(body.waits, false);
    assert.ok(Date.now() - started < 30_000, 'callbackWaitsForEmptyEventLoop = false answers without waiting for the pending timer');
  });

  test('a callback handler answers once the event loop is empty (callbackWaitsForEmptyEventLoop defaults to true)', async () => {
    const res = await fetch(`${gw.url}/later`);
    assert.equal(res.status, 200);
    const { waitedFrom } = (await res.json()) as { waitedFrom: number };
    assert.ok(Date.now() - waitedFrom >= 280, 'the answer waited for the 300 ms timer');
  });

  test('turnpike validate refuses a CommonJS file named .mjs, saying to rename it to .cjs; an unknown runtime lists the known ones', () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-runtimes-'));
    writeFileSync(join(dir, 'app.mjs'), "const x = require('node:path');\nmodule.exports.handler = async () => ({ statusCode: 200 });\n");
    writeFileSync(
      join(dir, 'gateway.yaml'),
      [
        'functions:',
        '  app: { runtime: nodejs20.x, handler: app.handler }',
        '  odd: { runtime: cobol1.x, handler: app.handler }',
        '  java: { runtime: java21, handler: example.Handler::handleRequest }',
        'apis:',
        '  - name: a',
        '    routes:',
        '      - { path: /a, integration: { type: function, function: app } }',
        '',
      ].join('\n'),
    );
    const r = spawnSync(process.execPath, [BIN, 'validate', join(dir, 'gateway.yaml')], { encoding: 'utf8' });
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const out = r.stdout + r.stderr;
    assert.match(out, /functions\.app\.handler: app\.mjs is CommonJS \(module\.exports \/ require\) but named \.mjs.*rename it to app\.cjs/);
    assert.match(out, /functions\.odd\.runtime: unknown runtime "cobol1\.x"; known: nodejs18\.x, nodejs20\.x, .*python3\.13, provided, provided\.al2, provided\.al2023/);
    assert.match(out, /functions\.java\.runtime: runtime java21 has no runtime client in Turnpike: install the AWS Lambda Java runtime interface client.*runtimeCommand/);
  });
});

describe('edits reload Python and provided functions', () => {
  test('an edited Python handler answers with the new code at the next call (the handler file is an input of the config version)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'turnpike-runtimes-reload-'));
    mkdirSync(join(dir, 'fn'));
    writeFileSync(join(dir, 'fn', 'app.py'), 'def handler(event, context):\n    return {"version": 1}\n');
    const config = `functions:\n  fn: { runtime: python3.11, codeUri: fn, handler: app.handler }\napis:\n  - name: r\n    routes:\n      - { path: /v, integration: { type: function, function: fn } }\n`;
    const g = await startGateway(config, { dir });
    try {
      assert.deepEqual(await (await fetch(`${g.url}/v`)).json(), { version: 1 });
      const since = g.logs.length;
      writeFileSync(join(dir, 'fn', 'app.py'), 'def handler(event, context):\n    return {"version": 2}\n');
      await g.waitForLog((l) => l.msg === 'config reloaded' && g.logs.indexOf(l) >= since, 10_000);
      assert.deepEqual(await (await fetch(`${g.url}/v`)).json(), { version: 2 });
    } finally {
      await g.stop();
    }
  });
});
