// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the interpolation syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { interpolateString } from '../../src/config/interpolate.js';

const env = { HOST: 'pets.internal', PORT: '8080', EMPTY: '' };
const value = (s: string): string => {
  const r = interpolateString(s, env);
  assert.deepEqual(r.problems, [], `unexpected problems for ${s}`);
  return r.value;
};

describe('interpolateString', () => {
  it('substitutes whole and embedded references', () => {
    assert.equal(value('${PORT}'), '8080');
    assert.equal(value('http://${HOST}:${PORT}/v1'), 'http://pets.internal:8080/v1');
  });
  it('uses the default when the variable is unset or empty, and the value otherwise', () => {
    assert.equal(value('${NOPE:-3000}'), '3000');
    assert.equal(value('${EMPTY:-x}'), 'x');
    assert.equal(value('${PORT:-3000}'), '8080');
    assert.equal(value('${NOPE:-}'), '');
    assert.equal(value('${EMPTY}'), '');
  });
  it('$${ is a literal ${ and is not interpolated', () => {
    assert.equal(value('$${HOST}'), '${HOST}');
    assert.equal(value('a $${NOPE} b ${PORT}'), 'a ${NOPE} b 8080');
  });
  it('leaves other dollars alone', () => {
    assert.equal(value('$HOST costs $5 $$ $'), '$HOST costs $5 $$ $');
    assert.equal(value("$input.path('$.id')"), "$input.path('$.id')");
  });
  it('never evaluates: the default is literal text, not re-interpolated', () => {
    assert.equal(value('${NOPE:-$(rm -rf /)}'), '$(rm -rf /)');
    assert.equal(value('${NOPE:-$HOST}'), '$HOST');
  });
  it('reports unset variables without a default', () => {
    assert.deepEqual(interpolateString('x${A}y${B}', {}), {
      value: 'x${A}y${B}',
      problems: [
        { kind: 'unset', name: 'A' },
        { kind: 'unset', name: 'B' },
      ],
    });
  });
  it('rejects malformed references instead of passing them through', () => {
    assert.deepEqual(interpolateString('${PORT', env).problems, [{ kind: 'invalid', text: '${PORT', reason: 'it has no closing "}"' }]);
    assert.deepEqual(interpolateString('${a.b}', env).problems, [{ kind: 'invalid', text: '${a.b}', reason: '"a.b" is not a variable name' }]);
    assert.deepEqual(interpolateString('${}', env).problems, [{ kind: 'invalid', text: '${}', reason: '"" is not a variable name' }]);
    assert.deepEqual(interpolateString('${A:-${B}}', env).problems, [{ kind: 'invalid', text: '${A:-${B}', reason: 'references cannot be nested' }]);
  });
  it('does not read inherited properties of the env object', () => {
    assert.deepEqual(interpolateString('${toString}', {}).problems, [{ kind: 'unset', name: 'toString' }]);
  });
});
