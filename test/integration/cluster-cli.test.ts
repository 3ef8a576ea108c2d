/**
 * `turnpike import` / `turnpike export --database` through the real CLI against a real PostgreSQL:
 * the round trip (import, export, import the export: same version, same content), `${VAR}`
 * placeholders stored as written, an invalid file refused with exactly `turnpike validate`'s lines
 * and nothing written, --dry-run, and the argument errors.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { runCli, tempConfig } from '../helpers/gateway.js';
import { type TestDatabase, createTestDatabase } from '../helpers/postgres.js';

let db: TestDatabase;
before(async () => {
  db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

const CONFIG = `
server:
  logLevel: warn
upstreams:
  backend:
    targets: [{ url: "\${BACKEND_URL}" }]
apis:
  - name: shop
    routes:
      - name: items
        methods: [GET, POST]
        path: /items/{id}
        integration: { type: http, upstream: backend }
        plugins:
          response-headers: { set: { x-b: "2", x-a: "1" } }
      - methods: [GET]
        path: /ping
        integration: { type: mock, body: { pong: true } }
  - name: empty
    routes: []
apiKeys:
  - id: k1
    name: first
    hash: "sha256:${'a'.repeat(64)}"
`;

const version = async () => String((await db.sql`select version from turnpike_config_state`)[0]?.version);

test('import, export, import the export: same version, same content; placeholders stay placeholders', async () => {
  const file = tempConfig(CONFIG);
  const env = { BACKEND_URL: 'http://127.0.0.1:9' };
  const imp = await runCli(['import', file, '--database', db.url], env);
  assert.equal(imp.code, 0, imp.stderr);
  assert.match(imp.stdout, /imported 7 entities \(2 routes\)/);
  const v1 = await version();
  // Stored raw: the secret-bearing placeholder is not expanded at import.
  const [up] = await db.sql`select body from turnpike_entities where kind = 'upstreams' and key = 'backend'`;
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${BACKEND_URL} is the config interpolation syntax, kept as written.
  assert.deepEqual(up?.body, { targets: [{ url: '${BACKEND_URL}' }] });

  const out = join(tempConfig('').replace(/gateway\.yaml$/, ''), 'exported.yaml');
  const exp = await runCli(['export', '--database', db.url, '-o', out]);
  assert.equal(exp.code, 0, exp.stderr);
  assert.equal(statSync(out).mode & 0o777, 0o600, 'the export holds key hashes: owner-only');
  const exported = parseYaml(readFileSync(out, 'utf8')) as Record<string, unknown>;
  assert.deepEqual(exported, { version: 1, ...(parseYaml(CONFIG) as object) });
  // Key order inside bodies is kept (json, not jsonb): the export diffs cleanly against the source.
  assert.match(readFileSync(out, 'utf8'), /x-b: "2"\n\s+x-a: "1"/);

  const again = await runCli(['import', out, '--database', db.url], env);
  assert.equal(again.code, 0, again.stderr);
  assert.match(again.stdout, /unchanged/);
  assert.equal(await version(), v1, 'importing the export changes nothing');

  const json = await runCli(['export', '--database', db.url, '--format', 'json']);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), exported);
});

test('an invalid file is refused with exactly the lines of turnpike validate, and nothing is written', async () => {
  const bad = tempConfig(`
apis:
  - name: shop
    routes:
      - name: r
        path: /r
        integration: { type: http, upstream: nowhere }
`);
  const v = await version();
  const validate = await runCli(['validate', bad]);
  const imp = await runCli(['import', bad, '--database', db.url]);
  assert.equal(validate.code, 1);
  assert.equal(imp.code, 1);
  assert.match(imp.stderr, /gateway\.yaml:7:\d+ apis\[0\]\.routes\[0\]\.integration\.upstream: unknown upstream "nowhere"/);
  assert.equal(imp.stderr, validate.stderr);
  assert.equal(await version(), v);
});

test('--dry-run validates and compares without writing', async () => {
  const v = await version();
  const changed = tempConfig(`apis:\n  - name: other\n    routes:\n      - { name: p, path: /p, integration: { type: mock } }\n`);
  const r = await runCli(['import', changed, '--database', db.url, '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /would replace the stored config/);
  assert.equal(await version(), v);
});

test('argument errors: no database; FILE and --database together; an AWS document', async () => {
  const file = tempConfig(CONFIG);
  const noDb = await runCli(['import', file], { TURNPIKE_DATABASE_URL: '' });
  assert.equal(noDb.code, 1);
  assert.match(noDb.stderr, /--database postgres:\/\/… or TURNPIKE_DATABASE_URL/);
  const both = await runCli(['export', file, '--database', db.url]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /either FILE .* or --database/);
  const aws = tempConfig('openapi: 3.0.1\ninfo: { title: t, version: "1" }\npaths: {}\n', 'api.yaml');
  const a = await runCli(['import', aws, '--database', db.url]);
  assert.equal(a.code, 1);
  assert.match(a.stderr, /AWS API Gateway document/);
  const down = await runCli(['import', file, '--database', 'postgres://postgres@127.0.0.1:1/nothing'], { BACKEND_URL: 'http://x' });
  assert.equal(down.code, 1);
  assert.match(down.stderr, /turnpike import: configuration database unavailable/);
});
