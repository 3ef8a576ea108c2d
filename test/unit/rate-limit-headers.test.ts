// rate-limit's response headers through inject(): appended to an answer that has none, and replacing
// (never duplicating) RateLimit fields the integration sent itself.
import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { createGateway, type EmbeddedGateway } from '../../src/gateway.js';

const open: EmbeddedGateway[] = [];
after(async () => {
  await Promise.all(open.map((g) => g.close()));
});

const CONFIG = `
apis:
  - name: shop
    plugins:
      rate-limit: { limits: [{ window: minute, limit: 100 }] }
    routes:
      - { path: /plain, integration: { type: mock, body: ok, headers: { x-other: a } } }
      - path: /own
        integration:
          type: mock
          body: ok
          headers: { RateLimit-Limit: '7', x-other: b, ratelimit-reset: '999', RateLimit-Remaining: '6' }
`;

test('RateLimit fields: appended when absent, replacing the integration’s own when present', async () => {
  const gw = await createGateway({ source: { text: CONFIG } });
  open.push(gw);
  const plain = await gw.inject({ url: '/plain' });
  assert.equal(plain.status, 200);
  assert.equal(plain.headers['ratelimit-limit'], '100');
  assert.equal(plain.headers['ratelimit-remaining'], '99');
  assert.ok(Number(plain.headers['ratelimit-reset']) >= 1 && Number(plain.headers['ratelimit-reset']) <= 60);
  assert.equal(plain.headers['x-other'], 'a');

  const own = await gw.inject({ url: '/own' });
  assert.equal(own.status, 200);
  assert.equal(own.headers['ratelimit-limit'], '100');
  assert.equal(own.headers['ratelimit-remaining'], '98');
  assert.notEqual(own.headers['ratelimit-reset'], '999');
  assert.equal(own.headers['x-other'], 'b');
  // A duplicate field would arrive joined ('7, 100'): equal values mean one field each, ours.
});
