// Issue 11: request-validator model patterns that backtrack catastrophically. V8 takes over a minute
// on the OWASP e-mail pattern and a 38-byte value; the validator runs flagged patterns on the
// linear-time engine (src/util/linear-regex.ts), and every load names them with their key path.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { compileRequestValidator } from '../../src/plugins/request-validation/validator.js';
import { type InjectedGateway, injectGateway } from '../helpers/inject.js';
import { type Upstream, startUpstream } from '../helpers/upstream.js';
import { COMMON_EMAIL, craftedConfig, FREEZING_VALUE, OWASP_EMAIL } from './crafted-config.js';

let up: Upstream;
let gw: InjectedGateway;

before(async () => {
  up = await startUpstream();
  const { dir, config } = craftedConfig(up.url);
  gw = await injectGateway(config, { dir });
});
after(async () => {
  await gw?.close();
  await up?.close();
});

const signup = (body: unknown) => gw.fetch('/dev/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

test('a flagged pattern still validates: a good address passes, a bad one is 400 with AWS validationErrorString', async () => {
  const ok = await signup({ email: 'ada.lovelace@example.com', alt: 'ada@example.co.uk' });
  assert.equal(ok.status, 200);
  const bad = await signup({ email: 'not an address' });
  assert.equal(bad.status, 400);
  assert.deepEqual(await bad.json(), { message: 'Invalid request body' });
});

test('the 38-byte value that freezes V8 on the OWASP pattern is answered 400 at once', async () => {
  const t0 = performance.now();
  const res = await signup({ email: FREEZING_VALUE, alt: `a@a.${'a'.repeat(30)}!` });
  const ms = performance.now() - t0;
  assert.equal(res.status, 400);
  // V8 needs over a minute here; the linear engine well under a millisecond (margin for a loaded VM).
  assert.ok(ms < 2000, `took ${ms.toFixed(0)} ms`);
  // A megabyte-long value costs linear time too.
  const t1 = performance.now();
  const big = await signup({ email: `${'a'.repeat(1_000_000)}!` });
  assert.equal(big.status, 400);
  assert.ok(performance.now() - t1 < 3000, `1 MB value took ${(performance.now() - t1).toFixed(0)} ms`);
});

test('every load names each flagged model pattern with its key path, as a warning', () => {
  const warnings = gw.gateway.table.warnings.map((w) => `${w.path}: ${w.message}`);
  const owasp = warnings.find((w) => w.startsWith('components.schemas.Signup.properties.email.pattern:'));
  const common = warnings.find((w) => w.startsWith('components.schemas.Signup.properties.alt.pattern:'));
  assert.ok(owasp, warnings.join('\n'));
  assert.ok(common, warnings.join('\n'));
  assert.match(owasp as string, /linear-time engine/);
});

test('a flagged pattern the linear engine cannot run (a backreference) refuses the model', () => {
  assert.throws(
    () => compileRequestValidator({ body: { schemas: { 'application/json': { type: 'string', pattern: String.raw`^(a+)+\1$` } } } }),
    /cannot run in linear time: backreferences are not supported/,
  );
  // An unflagged pattern with a backreference is V8's business: linear in practice, compiled as written.
  assert.ok(compileRequestValidator({ body: { schemas: { 'application/json': { type: 'string', pattern: String.raw`^(ab)\1$` } } } }));
});

test('patternProperties keys go through the same engine', () => {
  const v = compileRequestValidator({
    body: { schemas: { 'application/json': { type: 'object', patternProperties: { [OWASP_EMAIL]: { type: 'number' } } } } },
  });
  assert.ok(v);
  const t0 = performance.now();
  const r = v.validate({ body: Buffer.from(JSON.stringify({ [FREEZING_VALUE]: 'x', 'a@b.co': 'not a number' })), contentType: 'application/json', headers: {}, query: new URLSearchParams(), pathParams: {} });
  assert.equal(r.ok, false);
  assert.ok(performance.now() - t0 < 2000);
  assert.ok(COMMON_EMAIL.length > 0);
});
