// examples/sam-app served as a user runs it (`turnpike serve template.yaml` in the folder), every route
// exercised through its real handler: the Node ESM function, the Python function, the VTL mock route,
// the Lambda TOKEN authorizer and the usage plan's API key (docs/sam-templates.md, README "Run a SAM project").
import assert from 'node:assert/strict';
import { chmodSync, cpSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { localApiKeyValue } from '../../src/sam/transform.js';
import { ROOT } from '../helpers/gateway.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';

let gw: InjectedGateway;
const key = localApiKeyValue('BookstoreApiApiKey');
const auth = { authorization: 'Bearer reader-ada', 'x-api-key': key };

before(async () => {
  // In a folder named as the example's: AWS::StackName is the template's folder name, as `sam deploy` suggests it.
  const parent = mkdtempSync(join(tmpdir(), 'turnpike-sam-app-'));
  // mkdtemp makes it 0700; as root, functions run as nobody (server.functionRunAs), who must reach the project's code.
  chmodSync(parent, 0o755);
  const dir = join(parent, 'sam-app');
  cpSync(`${ROOT}/examples/sam-app`, dir, { recursive: true });
  gw = await injectGateway(readFileSync(`${dir}/template.yaml`, 'utf8'), { dir, fileName: 'template.yaml' });
});
after(() => gw?.close());

test('the key the docs show is the one served, and the start-up warning says so', () => {
  assert.equal(key, 'Svq6PMDlHO26hTNuxkqm1wlnPPCs8Q4ecFB0Urhl');
  assert.ok(gw.logs.some((l) => String(l.warning).includes(`Turnpike serves it locally as ${key}`)));
});

test('GET /dev/health: public (Authorizer NONE, no key), Globals environment with !Sub', async () => {
  const res = await gw.fetch(`${gw.url}/dev/health`);
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { ok: true, store: 'sam-app bookstore' });
});

test('GET /dev/books: the TOKEN authorizer, then the API key, then the Node function', async () => {
  assert.equal((await gw.fetch(`${gw.url}/dev/books`, { headers: { 'x-api-key': key } })).status, 401);
  assert.equal((await gw.fetch(`${gw.url}/dev/books`, { headers: { authorization: 'Bearer nobody!', 'x-api-key': key } })).status, 401);
  assert.equal((await gw.fetch(`${gw.url}/dev/books`, { headers: { authorization: 'Bearer reader-ada' } })).status, 403);
  const res = await gw.fetch(`${gw.url}/dev/books`, { headers: auth });
  assert.equal(res.status, 200);
  const body = (await res.json()) as { books: unknown[]; reader: string; function: string };
  assert.equal(body.books.length, 2);
  assert.equal(body.reader, 'ada');
  assert.equal(body.function, 'BooksFunction');
});

test('GET /dev/books/{isbn}/price: the VTL mock route with a stage variable from a parameter', async () => {
  const res = await gw.fetch(`${gw.url}/dev/books/9781492056355/price`, { headers: auth });
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), { isbn: '9781492056355', price: 12.5, currency: 'EUR' });
});

test('POST /dev/books/{isbn}/reviews: the Python function', async () => {
  const res = await gw.fetch(`${gw.url}/dev/books/9781492056355/reviews`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ stars: 5 }) });
  assert.equal(res.status, 201);
  assert.deepEqual(await res.json(), { isbn: '9781492056355', stars: 5, reader: 'ada', function: 'ReviewsFunction' });
  const bad = await gw.fetch(`${gw.url}/dev/books/1/reviews`, { method: 'POST', headers: auth, body: '{"stars": 9}' });
  assert.equal(bad.status, 400);
});
