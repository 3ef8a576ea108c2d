// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the config interpolation syntax under test.
/**
 * The CLI as users run it (bin/turnpike in a child process): --version, --help everywhere,
 * validate (exact diagnostic lines), routes, ${ENV} interpolation, one line per YAML syntax error,
 * and `serve` on a broken file (exit 1, diagnostics once on stderr, a short log line).
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli, tempConfig } from '../helpers/gateway.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
const lines = (text: string) => text.split('\n').filter((l) => l !== '');

const GOOD = `
upstreams:
  backend:
    targets: [{ url: "http://127.0.0.1:9" }]
apis:
  - name: shop
    routes:
      - name: items
        methods: [GET, POST]
        path: /items/{id}
        integration: { type: http, upstream: backend }
        plugins:
          response-headers: { set: { x-shop: "1" } }
      - name: ping
        methods: [GET]
        path: /ping
        integration: { type: mock, body: pong }
`;

test('--version and -v print the package version', async () => {
  for (const flag of ['--version', '-v']) {
    const r = await runCli([flag]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, `${pkg.version}\n`);
  }
});

test('--help works on the program and on every command', async () => {
  const root = await runCli(['--help']);
  assert.equal(root.code, 0);
  assert.match(root.stdout, /^Usage: turnpike \[options\] \[command\]/);
  for (const cmd of ['serve', 'validate', 'routes', 'export', 'schema']) {
    assert.match(root.stdout, new RegExp(`\\n  ${cmd}\\b`), `${cmd} listed in the help`);
    for (const args of [
      [cmd, '--help'],
      [cmd, '-h'],
      ['help', cmd],
    ]) {
      const r = await runCli(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^Usage: turnpike ${cmd} `), args.join(' '));
    }
  }
  const serve = await runCli(['serve', '--help']);
  for (const opt of ['--port', '--host', '--admin-port', '--admin-host', '--workers', '--no-watch', 'SIGHUP', 'SIGTERM'])
    assert.ok(serve.stdout.includes(opt), opt);
  assert.ok(!/\(default: [^)]*\) \(default:/.test(serve.stdout), 'no doubled default in the help');
});

test('unknown command and bad option values exit non-zero with a one-line reason and a hint', async () => {
  const unknown = await runCli(['bogus']);
  assert.notEqual(unknown.code, 0);
  assert.deepEqual(lines(unknown.stderr), ["error: unknown command 'bogus'", '(add --help for usage)']);
  const port = await runCli(['serve', 'x.yaml', '--port', 'abc']);
  assert.notEqual(port.code, 0);
  assert.deepEqual(lines(port.stderr), ["error: option '-p, --port <n>' argument 'abc' is invalid. must be a port number 0-65535", '(add --help for usage)']);
  const workers = await runCli(['serve', 'x.yaml', '--workers', '0']);
  assert.notEqual(workers.code, 0);
  assert.match(workers.stderr, /--workers <n>' argument '0' is invalid/);
});

test('validate: a good file exits 0 with a summary', async () => {
  const file = tempConfig(GOOD);
  const r = await runCli(['validate', file]);
  assert.equal(r.stderr, '');
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ok \\(2 routes, version [0-9a-f]{12}\\)\\n$`));
});

test('validate: every problem as file:line:col key.path: message (misspelt key with did-you-mean, wrong enum)', async () => {
  const file = tempConfig(`server:
  acessLog: false
  logLevel: loud
upstreams:
  backend:
    targets: [{ url: "http://127.0.0.1:9" }]
apis:
  - name: shop
    routes:
      - name: items
        path: /items
        integration: { type: http, upstream: backend }
`);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.deepEqual(lines(r.stderr), [
    `${file}:2:3 server.acessLog: unknown key "acessLog"; did you mean "accessLog"?`,
    `${file}:3:13 server.logLevel: must be one of: fatal, error, warn, info, debug, trace (got "loud")`,
  ]);
});

test('validate: an unknown upstream reference names the culprit and what is defined', async () => {
  const file = tempConfig(`upstreams:
  backend:
    targets: [{ url: "http://127.0.0.1:9" }]
apis:
  - name: shop
    routes:
      - name: items
        path: /items
        integration: { type: http, upstream: payments }
`);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(r.stderr), [`${file}:9:46 apis[0].routes[0].integration.upstream: unknown upstream "payments"; defined: backend`]);
});

test('validate: a missing file is one clear line', async () => {
  const r = await runCli(['validate', '/nonexistent/turnpike.yaml']);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(lines(r.stderr), ['/nonexistent/turnpike.yaml: cannot read config: file not found']);
});

test('a YAML syntax error is reported as ONE line, not a cascade', async () => {
  // An unclosed flow sequence: yaml reports a dozen follow-on errors for the lines after it.
  const file = tempConfig(`apis:
  - name: pets
    routes: [
      - path: /pets
        integration:
          type: mock
      - path: /a
        integration:
          type: mock
      - path: /b
        integration:
          type: mock
`);
  const r = await runCli(['validate', file]);
  assert.equal(r.code, 1, r.stderr);
  const out = lines(r.stderr);
  assert.equal(out.length, 1, r.stderr);
  assert.match(
    out[0] as string,
    new RegExp(
      `^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:7 apis\\[0\\]\\.routes\\[0\\]: invalid YAML: .+ \\(\\d+ later errors not shown: they usually follow from this one\\)$`,
    ),
  );
  // A single error stays a single plain line.
  const one = tempConfig('apis:\n  - name: x\n   routes: []\n');
  const r1 = await runCli(['validate', one]);
  assert.equal(r1.code, 1);
  assert.deepEqual(lines(r1.stderr), [`${one}:3:1 apis: invalid YAML: sequence item without - indicator`]);
  // JSON syntax errors too.
  const json = tempConfig('{"apis": [ {"name": "x",, } ]}', 'gateway.json');
  const rj = await runCli(['validate', json]);
  assert.equal(rj.code, 1);
  assert.deepEqual(lines(rj.stderr), [`${json}:1:25: invalid JSON: expected a property name in double quotes, got ','`]);
});

test('${ENV_VAR} interpolation: set, defaulted, and a clear error when unset', async () => {
  const file = tempConfig(`apis:
  - name: env
    routes:
      - path: /e
        integration: { type: http, url: "\${BACKEND_URL}" }
      - path: /d
        integration: { type: http, url: "\${OTHER_URL:-http://127.0.0.1:7}" }
`);
  const env = { ...process.env };
  delete env.BACKEND_URL;
  delete env.OTHER_URL;
  const set = await runCli(['routes', file], { ...(env as Record<string, string>), BACKEND_URL: 'http://127.0.0.1:8' });
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /http http:\/\/127\.0\.0\.1:8 /);
  assert.match(set.stdout, /http http:\/\/127\.0\.0\.1:7 /);
  const unset = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
    import('node:child_process').then(({ spawn }) => {
      const p = spawn(process.execPath, [join(ROOT, 'bin', 'turnpike'), 'validate', file], { env, stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      p.once('exit', (code) => resolve({ code, stderr }));
    });
  });
  assert.equal(unset.code, 1);
  assert.deepEqual(lines(unset.stderr), [`${file}:5:41 apis[0].routes[0].integration.url: environment variable BACKEND_URL is not set`]);
});

test('routes prints the table (and --json the same data)', async () => {
  const file = tempConfig(GOOD);
  const r = await runCli(['routes', file]);
  assert.equal(r.code, 0, r.stderr);
  const out = lines(r.stdout);
  assert.deepEqual(out.slice(0, 3), [
    'METHODS   PATH         HOSTS  INTEGRATION   PLUGINS                             ID',
    'GET,POST  /items/{id}  *      http backend  transformResponse:response-headers  shop/items',
    'GET       /ping        *      mock          -                                   shop/ping',
  ]);
  assert.match(out[3] as string, /^version [0-9a-f]{12}, 2 routes$/);
  const json = await runCli(['routes', file, '--json']);
  assert.equal(json.code, 0);
  const d = JSON.parse(json.stdout) as { routes: { id: string; methods: string[]; path: string }[] };
  assert.deepEqual(
    d.routes.map((x) => [x.id, x.methods, x.path]),
    [
      ['shop/items', ['GET', 'POST'], '/items/{id}'],
      ['shop/ping', ['GET'], '/ping'],
    ],
  );
});

test('schema prints a JSON Schema', async () => {
  const r = await runCli(['schema']);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as { $schema: string; properties: Record<string, unknown> };
  assert.equal(s.$schema, 'http://json-schema.org/draft-07/schema#');
  assert.ok('apis' in s.properties && 'server' in s.properties);
});

test('serve on a broken file exits 1, prints the diagnostics on stderr once, and logs one short line', async () => {
  const file = tempConfig(`server:
  acessLog: false
  logLevel: loud
apis: []
`);
  const r = await runCli(['serve', file, '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--workers', '1']);
  assert.equal(r.code, 1, r.stderr);
  const expected = [
    `${file}:2:3 server.acessLog: unknown key "acessLog"; did you mean "accessLog"?`,
    `${file}:3:13 server.logLevel: must be one of: fatal, error, warn, info, debug, trace (got "loud")`,
  ];
  assert.deepEqual(lines(r.stderr), expected);
  const logLines = lines(r.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(logLines.length, 1);
  const [log] = logLines;
  assert.equal(log?.msg, 'start: config rejected');
  assert.equal(log?.problems, 2);
  assert.equal(log?.first, expected[0]);
  assert.ok(!('diagnostics' in (log ?? {})), 'the log line does not repeat every diagnostic');
  // Same in cluster mode: the primary validates before forking anything.
  const c = await runCli(['serve', file, '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--workers', '2']);
  assert.equal(c.code, 1);
  assert.deepEqual(lines(c.stderr), expected);
});
