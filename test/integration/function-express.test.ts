// biome-ignore-all lint/suspicious/noExplicitAny: the echoed Lambda event is untyped JSON, walked field by field.
// A real Express 4 app wrapped by serverless-http (test/fixtures/express-app), served through the real
// gateway process three ways: a native HTTP API route (payload 2.0), a native REST route (payload 1.0),
// and an AWS REST OpenAPI document ({proxy+} + ANY, aws_proxy, functions/app.mjs beside the document).
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import { after, before, test } from 'node:test';
import { ROOT, type RunningGateway, startGateway } from '../helpers/gateway.js';

const APP = `${ROOT}/test/fixtures/express-app`;
let native: RunningGateway;
let doc: RunningGateway;

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  raw: string[];
  body: Buffer;
}

/** One request over node:http, so repeated header lines can be sent and raw answer headers read. */
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string | string[]>; body?: Buffer | string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', timeout: 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, raw: res.rawHeaders, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    for (const [k, v] of Object.entries(opts.headers ?? {})) req.setHeader(k, v);
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Values of every `name` line of the raw answer headers, in order. */
function rawValues(a: Answer, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i + 1 < a.raw.length; i += 2) if ((a.raw[i] as string).toLowerCase() === name) out.push(a.raw[i + 1] as string);
  return out;
}

function json(a: Answer): Record<string, any> {
  return JSON.parse(a.body.toString('utf8')) as Record<string, any>;
}

before(async () => {
  native = await startGateway(`
functions:
  app: { module: "${APP}/handler.mjs", timeoutMs: 10000, memoryMb: 256 }
apis:
  - name: express
    routes:
      - { name: v2, path: "/v2/{proxy+}", integration: { type: function, function: app } }
      - name: v1
        path: "/v1/{proxy+}"
        integration: { type: function, function: app, apiType: rest, binaryMediaTypes: [application/octet-stream, image/png] }
`);
  // The AWS document is served in place so functions/app.mjs resolves express from the repository.
  const dir = `${APP}/aws`;
  doc = await startGateway(readFileSync(`${dir}/openapi.yaml`, 'utf8'), { dir, fileName: 'openapi.yaml', args: ['--stage', 'prod'] });
});
after(async () => {
  await Promise.all([native?.stop(), doc?.stop()]);
});

const targets = (): { name: string; base: () => string; rest: boolean }[] => [
  { name: 'native payload 2.0', base: () => `${native.url}/v2`, rest: false },
  { name: 'native payload 1.0 (REST)', base: () => `${native.url}/v1`, rest: true },
  { name: 'AWS REST document', base: () => `${doc.url}/prod`, rest: true },
];

for (const t of targets()) {
  test(`${t.name}: params, repeated query keys, custom and multi-valued headers, cookies in`, async () => {
    const a = await request(`${t.base()}/users/42/posts/7?tag=a&tag=b&q=hello%20world&plus=a+b`, {
      headers: { 'X-Custom': 'Custom-Value', 'x-multi': ['first', 'second'], cookie: 'sid=s%3A1; theme=light' },
    });
    assert.equal(a.status, 200, a.body.toString());
    assert.equal(a.headers['x-route'], 'posts');
    assert.equal(a.headers['x-powered-by'], 'Express');
    assert.match(String(a.headers['content-type']), /^application\/json; charset=utf-8$/);
    const b = json(a);
    assert.deepEqual(b.params, { id: '42', postId: '7' });
    assert.deepEqual(b.query, { tag: ['a', 'b'], q: 'hello world', plus: 'a b' });
    assert.equal(b.path, '/users/42/posts/7');
    assert.equal(b.method, 'GET');
    assert.equal(b.custom, 'Custom-Value');
    assert.deepEqual(b.cookies, { sid: 's:1', theme: 'light' });
    if (t.rest) {
      // 1.0: multiValueHeaders has both lines; serverless-http then lets the single-value `headers`
      // (the last value, as API Gateway fills it) win for Express.
      assert.deepEqual(b.eventMulti, ['first', 'second']);
      assert.equal(b.multi, 'second');
    } else {
      // 2.0: API Gateway joins repeated headers with ','.
      assert.equal(b.eventMulti, 'first,second');
      assert.equal(b.multi, 'first,second');
    }
  });

  test(`${t.name}: JSON in, 201 + JSON out, several Set-Cookie, multi-valued answer header`, async () => {
    const payload = { name: 'Ada', tags: ['x', 'y'], nested: { n: 1, u: 'é✓' } };
    const a = await request(`${t.base()}/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(payload),
    });
    assert.equal(a.status, 201, a.body.toString());
    const b = json(a);
    assert.equal(b.created, true);
    assert.deepEqual(b.received, payload);
    assert.equal(b.type, 'application/json');
    assert.deepEqual(a.headers['set-cookie'], ['session=abc123; Path=/; HttpOnly', 'theme=dark; Path=/', a.headers['set-cookie']?.[2]]);
    assert.match(a.headers['set-cookie']?.[2] ?? '', /^lang=en-GB; Max-Age=60; Path=\/; Expires=/);
    // serverless-http answers a multi-valued header in `headers` (joined) and, for 1.0, in
    // `multiValueHeaders` too; REST sends both (recorded: a name in both gets both values).
    const trace = rawValues(a, 'x-trace');
    if (t.rest) assert.deepEqual(trace, ['one', 'two', 'one, two']);
    else assert.deepEqual(trace, ['one, two']);
  });

  test(`${t.name}: binary body in and out, byte for byte`, async () => {
    const png = Buffer.concat([Buffer.from('89504e470d0a1a0a', 'hex'), randomBytes(200 * 1024)]);
    const a = await request(`${t.base()}/binary`, {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream', accept: 'application/octet-stream' },
      body: png,
    });
    assert.equal(a.status, 200, a.body.subarray(0, 200).toString());
    assert.equal(a.headers['content-type'], 'application/octet-stream');
    assert.equal(a.headers['x-received-bytes'], String(png.length));
    assert.equal(a.body.length, png.length);
    assert.equal(createHash('sha256').update(a.body).digest('hex'), createHash('sha256').update(png).digest('hex'));
    assert.equal(Number(a.headers['content-length']), png.length);
  });

  test(`${t.name}: status codes from Express (404 route, 404 fallthrough), redirect`, async () => {
    const missing = await request(`${t.base()}/missing`);
    assert.equal(missing.status, 404);
    assert.deepEqual(json(missing), { error: 'no such thing' });
    const fallthrough = await request(`${t.base()}/nope/at/all`, { method: 'DELETE' });
    assert.equal(fallthrough.status, 404);
    assert.match(String(fallthrough.headers['content-type']), /^text\/html/);
    assert.match(fallthrough.body.toString(), /Cannot DELETE \/(v[12]\/)?nope\/at\/all/);
    const r = await request(`${t.base()}/redirect`);
    assert.equal(r.status, 302);
    assert.equal(r.headers.location, '/users/1/posts/2?from=redirect');
  });

  test(`${t.name}: a 1 MiB JSON answer arrives whole`, async () => {
    const a = await request(`${t.base()}/large`);
    assert.equal(a.status, 200);
    assert.ok(a.body.length > 1024 * 1024, `${a.body.length} bytes`);
    assert.equal(Number(a.headers['content-length']), a.body.length);
    const b = json(a);
    assert.equal(b.count, 1024);
    assert.equal(b.items.length, 1024);
    assert.equal(b.items[1023].i, 1023);
  });
}

test('REST: a binary answer without a matching Accept is the base64 text (as AWS sends it)', async () => {
  const bytes = randomBytes(4096);
  const a = await request(`${native.url}/v1/binary`, {
    method: 'POST',
    headers: { 'content-type': 'application/octet-stream', accept: 'application/json' },
    body: bytes,
  });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-received-bytes'], String(bytes.length));
  assert.equal(a.body.toString('utf8'), bytes.toString('base64'));
});

test('REST: a binary request type not in binaryMediaTypes reaches the function as UTF-8 text', async () => {
  // application/x-binary is not listed: the event body is the bytes read as UTF-8, so the invalid
  // bytes 0xff 0xfe each become U+FFFD (ef bf bd) and the function gets 8 bytes instead of 4.
  const a = await request(`${native.url}/v1/binary`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-binary', accept: 'application/octet-stream' },
    body: Buffer.from([0xff, 0xfe, 0x00, 0x41]),
  });
  assert.equal(a.status, 200);
  assert.equal(a.headers['x-received-bytes'], '8');
  assert.equal(a.body.toString('hex'), 'efbfbdefbfbd0041');
});
