// Every entry of the integration registry runs the integration conformance suite: a new type without
// test/conformance/integration-<type>.test.ts fails here.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUNDLED_INTEGRATIONS } from '../../src/integrations/registry.js';

test('each registered integration type has its conformance test file', () => {
  assert.ok(BUNDLED_INTEGRATIONS.length >= 3);
  const types = BUNDLED_INTEGRATIONS.map((d) => d.type);
  assert.equal(new Set(types).size, types.length, 'a type is registered twice');
  for (const type of types) assert.ok(existsSync(join(import.meta.dirname, `integration-${type}.test.js`)), `no conformance test for integration type ${type}`);
});
