import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthFailureGuard } from '../../src/admin/auth.js';

test('an address is refused from its limit-th failure until its window ends, then starts afresh', () => {
  let now = 1_000_000;
  const g = new AuthFailureGuard(3, 60_000, () => now);
  assert.equal(g.fail('a'), false);
  assert.equal(g.fail('a'), false);
  assert.equal(g.blockedFor('a'), 0);
  assert.equal(g.fail('a'), true, 'the third failure locks');
  assert.equal(g.blockedFor('a'), 60);
  assert.equal(g.blockedFor('b'), 0, 'other addresses are not affected');
  now += 59_001;
  assert.equal(g.blockedFor('a'), 1, 'rounded up, never 0 while locked');
  now += 1_000;
  assert.equal(g.blockedFor('a'), 0, 'the window ended');
  assert.equal(g.fail('a'), false, 'a new window counts from one');
});

test('failures spread over windows never lock', () => {
  let now = 0;
  const g = new AuthFailureGuard(3, 1_000, () => now);
  for (let i = 0; i < 20; i++) {
    g.fail('a');
    g.fail('a');
    assert.equal(g.blockedFor('a'), 0);
    now += 1_000;
  }
});

test('memory stays bounded under a spray of addresses', () => {
  const g = new AuthFailureGuard(2, 60_000, () => 0);
  for (let i = 0; i < 10_050; i++) g.fail(`10.0.${i >> 8}.${i & 255}`);
  g.fail('x');
  assert.equal(g.fail('x'), true, 'a new address still counts after evictions');
  assert.equal(g.blockedFor('x'), 60);
  // The oldest entries went first.
  g.fail('10.0.0.0');
  assert.equal(g.blockedFor('10.0.0.0'), 0, 'evicted, so counting afresh');
});
