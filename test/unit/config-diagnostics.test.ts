import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, formatDiagnostic, formatPath, type Diagnostic } from '../../src/config/diagnostics.js';

const d = (over: Partial<Diagnostic>): Diagnostic => ({
  file: 'turnpike.yaml',
  line: 3,
  column: 7,
  path: 'apis[0].routes[2].integration.upstream',
  message: 'must be a string (got 5)',
  severity: 'error',
  ...over,
});

describe('formatDiagnostic', () => {
  it('prints file:line:col key.path: message', () => {
    assert.equal(formatDiagnostic(d({})), 'turnpike.yaml:3:7 apis[0].routes[2].integration.upstream: must be a string (got 5)');
  });
  it('marks warnings', () => {
    assert.equal(formatDiagnostic(d({ severity: 'warning', message: 'x' })), 'turnpike.yaml:3:7 apis[0].routes[2].integration.upstream: warning: x');
  });
  it('omits the key path for the root and the position for whole-file problems', () => {
    assert.equal(formatDiagnostic(d({ path: '', message: 'm' })), 'turnpike.yaml:3:7: m');
    assert.equal(formatDiagnostic(d({ path: '', line: 0, column: 0, message: 'cannot read config: file not found' })), 'turnpike.yaml: cannot read config: file not found');
  });
});

describe('formatPath', () => {
  it('dots keys, brackets indices, quotes keys that are not identifiers', () => {
    assert.equal(formatPath([]), '');
    assert.equal(formatPath(['apis', 0, 'routes', 2, 'integration']), 'apis[0].routes[2].integration');
    assert.equal(formatPath([1, 'a']), '[1].a');
    assert.equal(formatPath(['paths', '/pets/{id}', 'x-amazon-apigateway-integration']), 'paths["/pets/{id}"].x-amazon-apigateway-integration');
  });
});

describe('ConfigError', () => {
  it('sorts by line then column, removes duplicates, and joins the formatted lines', () => {
    const e = new ConfigError([d({ line: 9, column: 1, message: 'b' }), d({ line: 2, column: 5, message: 'a' }), d({ line: 9, column: 1, message: 'b' }), d({ line: 2, column: 1, message: 'c' })]);
    assert.equal(e.name, 'ConfigError');
    assert.ok(e instanceof Error);
    assert.deepEqual(e.diagnostics.map((x) => x.message), ['c', 'a', 'b']);
    assert.equal(e.message, e.diagnostics.map(formatDiagnostic).join('\n'));
  });
});
