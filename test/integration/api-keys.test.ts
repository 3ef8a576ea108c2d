/**
 * API keys and usage plans through the real gateway process: 403 for missing/unknown/revoked keys,
 * identity reaching a Lambda-style function, throttle and quota 429s with independent per-key counters,
 * `turnpike keys create|list|revoke` on the served file picked up by hot reload, and no key ever
 * appearing in the gateway's stdout/stderr.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { generateApiKey, hashApiKey } from '../../src/security/api-keys.js';
import { type RunningGateway, runCli, startGateway } from '../helpers/gateway.js';

const KEY = generateApiKey();
const KEY_REVOKED = generateApiKey();
const KEY_NOPLAN = generateApiKey();
const KEY_OTHER_API = generateApiKey();
const KEY_T1 = generateApiKey();
const KEY_T2 = generateApiKey();
const KEY_Q1 = generateApiKey();
const KEY_Q2 = generateApiKey();
const KEY_OFFSET = generateApiKey();
const KEY_CONN = generateApiKey();
const ALL_KEYS = [KEY, KEY_REVOKED, KEY_NOPLAN, KEY_OTHER_API, KEY_T1, KEY_T2, KEY_Q1, KEY_Q2, KEY_OFFSET, KEY_CONN];
/** Keys the CLI creates during the run, also checked against the gateway's output. */
const cliKeys: string[] = [];

const CONFIG = `# API keys test config: comments must survive \`turnpike keys\`
server:
  logLevel: debug   # as chatty as it gets: the keys must still never show up
functions:
  whoami: { module: ./whoami.mjs }
apis:
  - name: keyed
    errorDialect: aws-rest
    plugins: { api-key: {} }
    routes:
      - { path: /whoami, integration: { type: function, function: whoami, apiType: rest } }
      - { path: /mock, integration: { type: mock, body: { ok: true } } }
  - name: open
    routes:
      - { path: /public, integration: { type: mock, body: { public: true } } }
  - name: throttled
    errorDialect: aws-rest
    plugins: { api-key: {} }
    routes:
      - { path: /t, integration: { type: mock, body: { ok: true } } }
  - name: quota
    errorDialect: aws-rest
    plugins: { api-key: {} }
    routes:
      - { path: /q, integration: { type: mock, body: { ok: true } } }
  - name: other
    errorDialect: aws-rest
    routes:
      - { path: /o, integration: { type: mock } }
usagePlans:
  basic:
    apiStages: [{ api: keyed }]
  elsewhere:
    apiStages: [{ api: other }]
  tight:
    apiStages: [{ api: throttled }]
    throttle: { rateLimit: 0.01, burstLimit: 3 }
  daily:
    apiStages: [{ api: quota }]
    quota: { limit: 2, period: DAY }
  starter:
    apiStages: [{ api: quota }]
    quota: { limit: 3, period: MONTH, offset: 2 }
apiKeys:
  - { id: good, name: Good, hash: "${hashApiKey(KEY)}", usagePlans: [basic] }
  - { id: revoked, name: Revoked, hash: "${hashApiKey(KEY_REVOKED)}", enabled: false, usagePlans: [basic] }
  - { id: noplan, name: No plan, hash: "${hashApiKey(KEY_NOPLAN)}" }
  - { id: otherapi, name: Other API, hash: "${hashApiKey(KEY_OTHER_API)}", usagePlans: [elsewhere] }
  - { id: t1, name: T1, hash: "${hashApiKey(KEY_T1)}", usagePlans: [tight] }
  - { id: t2, name: T2, hash: "${hashApiKey(KEY_T2)}", usagePlans: [tight] }
  - { id: q1, name: Q1, hash: "${hashApiKey(KEY_Q1)}", usagePlans: [daily] }
  - { id: q2, name: Q2, hash: "${hashApiKey(KEY_Q2)}", usagePlans: [daily] }
  - { id: offset, name: Offset, hash: "${hashApiKey(KEY_OFFSET)}", usagePlans: [starter], createdAt: "${new Date().toISOString()}" }
  - { id: conn, name: Connection, hash: "${hashApiKey(KEY_CONN)}", usagePlans: [basic] }
`;

const WHOAMI = `export const handler = async (event) => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ identity: event.requestContext.identity }),
});
`;

let gw: RunningGateway;

before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-apikeys-'));
  writeFileSync(join(dir, 'whoami.mjs'), WHOAMI);
  gw = await startGateway(CONFIG, { dir });
});

after(async () => {
  await gw?.stop();
});

interface Answer {
  status: number;
  headers: Headers;
  body: string;
}

async function get(path: string, key?: string, extra: Record<string, string> = {}): Promise<Answer> {
  const headers: Record<string, string> = { ...extra };
  if (key !== undefined) headers['x-api-key'] = key;
  const res = await fetch(`${gw.url}${path}`, { headers, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, headers: res.headers, body: await res.text() };
}

function assertForbidden(a: Answer, what: string): void {
  assert.equal(a.status, 403, what);
  assert.deepEqual(JSON.parse(a.body), { message: 'Forbidden' }, what);
  assert.equal(a.headers.get('x-amzn-errortype'), 'ForbiddenException', what);
}

test('missing, unknown, revoked, plan-less and other-API keys get 403 {"message":"Forbidden"}', async () => {
  assertForbidden(await get('/mock'), 'missing');
  assertForbidden(await get('/mock', ''), 'empty');
  assertForbidden(await get('/mock', generateApiKey()), 'unknown');
  assertForbidden(await get('/mock', KEY.slice(0, -1)), 'prefix of a valid key');
  assertForbidden(await get('/mock', hashApiKey(KEY)), 'the stored hash is not a key');
  assertForbidden(await get('/mock', KEY_REVOKED), 'revoked');
  assertForbidden(await get('/mock', KEY_NOPLAN), 'no usage plan');
  assertForbidden(await get('/mock', KEY_OTHER_API), 'plan for another API');
  // A key in another header or the query string does not count (AWS reads x-api-key only).
  assertForbidden(await get(`/mock?x-api-key=${KEY}`, undefined, { authorization: KEY }), 'elsewhere');
});

test('a valid key passes; routes without the plugin need none; identity reaches the function as AWS', async () => {
  const ok = await get('/mock', KEY);
  assert.equal(ok.status, 200);
  assert.deepEqual(JSON.parse(ok.body), { ok: true });
  assert.equal((await get('/public')).status, 200);
  const who = await get('/whoami', KEY);
  assert.equal(who.status, 200, who.body);
  const identity = (JSON.parse(who.body) as { identity: Record<string, unknown> }).identity;
  assert.equal(identity.apiKey, KEY);
  assert.equal(identity.apiKeyId, 'good');
});

test('throttle: after the burst of 3 the key gets 429 Too Many Requests; a second key is unaffected', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await get('/t', KEY_T1)).status, 200, `burst ${i + 1}`);
  const limited = await get('/t', KEY_T1);
  assert.equal(limited.status, 429);
  assert.deepEqual(JSON.parse(limited.body), { message: 'Too Many Requests' });
  assert.equal(limited.headers.get('x-amzn-errortype'), 'TooManyRequestsException');
  // AWS sends no rate-limit headers.
  for (const h of ['retry-after', 'x-ratelimit-limit', 'x-ratelimit-remaining', 'ratelimit']) assert.equal(limited.headers.get(h), null, h);
  for (let i = 0; i < 3; i++) assert.equal((await get('/t', KEY_T2)).status, 200, `second key ${i + 1}`);
  assert.equal((await get('/t', KEY_T2)).status, 429);
});

test('quota: the third request of the day is 429 Limit Exceeded; a second key keeps its own count; offset lowers the first period', async () => {
  assert.equal((await get('/q', KEY_Q1)).status, 200);
  assert.equal((await get('/q', KEY_Q1)).status, 200);
  const over = await get('/q', KEY_Q1);
  assert.equal(over.status, 429);
  assert.deepEqual(JSON.parse(over.body), { message: 'Limit Exceeded' });
  assert.equal(over.headers.get('x-amzn-errortype'), 'LimitExceededException');
  assert.equal((await get('/q', KEY_Q1)).status, 429);
  assert.equal((await get('/q', KEY_Q2)).status, 200);
  assert.equal((await get('/q', KEY_Q2)).status, 200);
  assert.equal((await get('/q', KEY_Q2)).status, 429);
  // limit 3, offset 2, created this month: one request in this initial period.
  assert.equal((await get('/q', KEY_OFFSET)).status, 200);
  assert.equal((await get('/q', KEY_OFFSET)).status, 429);
});

/** Polls until the answer has the wanted status (a reload takes a moment); bounded. */
async function until(path: string, key: string, status: number, timeoutMs = 10_000): Promise<Answer> {
  const end = Date.now() + timeoutMs;
  let last: Answer = await get(path, key);
  while (last.status !== status && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    last = await get(path, key);
  }
  assert.equal(last.status, status, `waited ${timeoutMs} ms for ${status}; last body ${last.body}`);
  return last;
}

test('turnpike keys create/list/revoke on the served file: the running gateway reloads and honours them', async () => {
  const created = await runCli(['keys', 'create', gw.file, '--name', 'from the CLI', '--plan', 'basic', '--json']);
  assert.equal(created.code, 0, created.stderr);
  const { id, key } = JSON.parse(created.stdout) as { id: string; key: string };
  cliKeys.push(key);
  assert.match(key, /^[A-Za-z0-9]{40}$/);
  assert.match(id, /^[a-z0-9]{10}$/);

  const text = readFileSync(gw.file, 'utf8');
  assert.ok(!text.includes(key), 'the file never holds the key');
  assert.ok(text.includes(hashApiKey(key)), 'the file holds its hash');
  assert.ok(text.includes('# API keys test config') && text.includes('# as chatty as it gets'), 'comments kept');

  const who = await until('/whoami', key, 200);
  assert.equal((JSON.parse(who.body) as { identity: Record<string, unknown> }).identity.apiKeyId, id);

  // Human-readable create output too, and an unknown plan is refused without touching the file.
  const human = await runCli(['keys', 'create', gw.file, '--name', 'second']);
  assert.equal(human.code, 0, human.stderr);
  const humanKey = /key:\s+(\S+)/.exec(human.stdout)?.[1];
  assert.ok(humanKey);
  cliKeys.push(humanKey);
  const before = readFileSync(gw.file, 'utf8');
  const badPlan = await runCli(['keys', 'create', gw.file, '--name', 'x', '--plan', 'platinum']);
  assert.equal(badPlan.code, 1);
  assert.match(badPlan.stderr, /unknown usage plan "platinum"/);
  assert.equal(readFileSync(gw.file, 'utf8'), before);

  const listed = await runCli(['keys', 'list', gw.file, '--json']);
  assert.equal(listed.code, 0, listed.stderr);
  const rows = JSON.parse(listed.stdout) as { id: string; name: string; enabled: boolean; usagePlans: string[] }[];
  const row = rows.find((r) => r.id === id);
  assert.deepEqual({ name: row?.name, enabled: row?.enabled, usagePlans: row?.usagePlans }, { name: 'from the CLI', enabled: true, usagePlans: ['basic'] });
  assert.equal(rows.find((r) => r.id === 'revoked')?.enabled, false);
  const table = await runCli(['keys', 'list', gw.file]);
  for (const k of [...ALL_KEYS, ...cliKeys]) {
    assert.ok(!listed.stdout.includes(k) && !table.stdout.includes(k), 'list never shows a key');
  }
  assert.match(table.stdout, new RegExp(`${id}\\s+from the CLI\\s+true\\s+basic`));

  const revoked = await runCli(['keys', 'revoke', gw.file, id]);
  assert.equal(revoked.code, 0, revoked.stderr);
  assertForbidden(await until('/whoami', key, 403), 'revoked by the CLI');
  assert.equal((await get('/mock', KEY)).status, 200, 'other keys still work after the reloads');
  const again = await runCli(['keys', 'revoke', gw.file, id]);
  assert.equal(again.code, 0);
  assert.match(again.stdout, /already revoked/);
  const unknown = await runCli(['keys', 'revoke', gw.file, 'nosuchid']);
  assert.equal(unknown.code, 1);
  assert.match(unknown.stderr, /no API key with id "nosuchid"/);
});

/** One keep-alive connection for every request (maxSockets 1); `reused` tells that it really was the same socket. */
const oneConnection = new http.Agent({ keepAlive: true, maxSockets: 1 });
function onConnection(path: string, key: string | undefined): Promise<Answer & { reused: boolean; identity?: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = key === undefined ? {} : { 'x-api-key': key };
    const req = http.request({ host: '127.0.0.1', port: gw.port, path, headers, agent: oneConnection }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c));
      res.on('end', () => {
        const identity = res.statusCode === 200 && path === '/whoami' ? (JSON.parse(body) as { identity: Record<string, unknown> }).identity : undefined;
        resolve({ status: res.statusCode ?? 0, headers: new Headers(res.headers as Record<string, string>), body, reused: req.reusedSocket, identity });
      });
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.end();
  });
}

test('one keep-alive connection, several keys: each request is judged on its own key; a key revoked by a reload is refused on the same connection', async () => {
  // The gateway remembers the last key per connection (to skip the SHA-256 on repeats); nothing of
  // one request's key may carry over to the next request on that connection.
  const seq: [string | undefined, number, string | undefined][] = [
    [KEY, 200, 'good'],
    [KEY, 200, 'good'],
    [KEY_CONN, 200, 'conn'],
    [KEY.slice(0, -1) + (KEY.endsWith('a') ? 'b' : 'a'), 403, undefined], // same length, last character differs
    [undefined, 403, undefined],
    [KEY_REVOKED, 403, undefined],
    [KEY, 200, 'good'],
    [KEY_CONN, 200, 'conn'],
  ];
  for (const [i, [key, status, id]] of seq.entries()) {
    const a = await onConnection('/whoami', key);
    assert.equal(a.status, status, `request ${i}: ${a.body}`);
    if (i > 0) assert.equal(a.reused, true, `request ${i} went over the same connection`);
    if (id !== undefined) assert.equal(a.identity?.apiKeyId, id, `request ${i}`);
  }
  // Revoke KEY_CONN while the connection stays open: the reload's new index starts with no memo.
  const revoked = await runCli(['keys', 'revoke', gw.file, 'conn']);
  assert.equal(revoked.code, 0, revoked.stderr);
  const end = Date.now() + 10_000;
  let last = await onConnection('/whoami', KEY_CONN);
  while (last.status === 200 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    last = await onConnection('/whoami', KEY_CONN);
  }
  assertForbidden(last, 'revoked by a reload, same connection');
  assert.equal(last.reused, true, 'still the same connection');
  assert.equal((await onConnection('/whoami', KEY)).status, 200);
  oneConnection.destroy();
});

test('no key value ever appears in the gateway\'s stdout or stderr (debug level, access log on)', async () => {
  // Make sure there is something to look at: access-log lines for keyed requests exist.
  assert.ok(gw.logs.some((l) => JSON.stringify(l).includes('/whoami')), 'access log lines were written');
  const out = gw.logs.map((l) => JSON.stringify(l)).join('\n');
  const err = gw.stderr();
  for (const k of [...ALL_KEYS, ...cliKeys]) {
    assert.ok(!out.includes(k), 'key in stdout');
    assert.ok(!err.includes(k), 'key in stderr');
  }
});
