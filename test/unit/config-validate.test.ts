// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the interpolation syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { formatDiagnostic } from '../../src/config/diagnostics.js';
import { loadSourceFile, parseSource } from '../../src/config/load.js';
import { createValidator } from '../../src/config/validate.js';
import { Config } from '../fixtures/config/schema.js';

const validate = createValidator<Config>(Config);
const fixture = (name: string): string => join(process.cwd(), 'test/fixtures/config', name);

/** Formatted diagnostics of validating `text` (as file c.yaml / c.json) against `schema`. */
function errorsOf(text: string, schema: object = Config, file = 'c.yaml'): string[] {
  const result = (schema === Config ? validate : createValidator(schema))(parseSource(text, file, { env: {} }));
  assert.equal(result.ok, false, 'expected validation to fail');
  return result.ok ? [] : result.diagnostics.map(formatDiagnostic);
}

const route = (integration: string): string => `apis:\n  - name: pets\n    routes:\n      - path: /pets\n        integration: ${integration}\n`;

describe('createValidator: valid documents', () => {
  it('returns the value with defaults applied and leaves doc.data untouched', () => {
    const doc = parseSource(route('{type: http, upstream: "http://pets"}'), 'c.yaml');
    const result = validate(doc);
    assert.ok(result.ok);
    assert.equal(result.value.port, 8080);
    assert.equal(result.value.logLevel, 'info');
    assert.equal((doc.data as Record<string, unknown>).port, undefined);
  });
});

describe('createValidator: one mistake of each kind', () => {
  it('misspelt key: did you mean', () => {
    assert.deepEqual(errorsOf(route('{type: http, upstrem: "http://pets"}')), [
      'c.yaml:5:35 apis[0].routes[0].integration.upstrem: unknown key "upstrem"; did you mean "upstream"?',
    ]);
    // Case-insensitive matches and transpositions count as misspellings too.
    assert.deepEqual(errorsOf('apis: []\nLogLevel: x\nprot: 1\n'), [
      'c.yaml:2:1 LogLevel: unknown key "LogLevel"; did you mean "logLevel"?',
      'c.yaml:3:1 prot: unknown key "prot"; did you mean "port"?',
    ]);
  });
  it('unknown key without a close match lists the allowed keys', () => {
    assert.deepEqual(errorsOf('apis: []\nlisten: 80\n'), ['c.yaml:2:1 listen: unknown key "listen"; allowed keys: port, logLevel, apis']);
  });
  it('wrong enum value (union of literals)', () => {
    assert.deepEqual(errorsOf('apis:\n  - name: a\n    routes:\n      - path: /\n        method: FETCH\n        integration: {type: mock}\n'), [
      'c.yaml:5:17 apis[0].routes[0].method: must be one of: GET, POST, PUT, DELETE (got "FETCH")',
    ]);
  });
  it('wrong discriminator of a union reports only the discriminator', () => {
    assert.deepEqual(errorsOf(route('{type: htp, upstream: "http://pets"}')), [
      'c.yaml:5:29 apis[0].routes[0].integration.type: must be one of: http, mock (got "htp")',
    ]);
  });
  it('missing discriminator', () => {
    assert.deepEqual(errorsOf(route('{upstream: "http://pets"}')), [
      'c.yaml:5:22 apis[0].routes[0].integration.type: missing required key "type" (one of: http, mock)',
    ]);
  });
  it('a union branch chosen by its discriminator reports only that branch', () => {
    assert.deepEqual(errorsOf(route('{type: mock, status: 700, upstream: x}')), [
      'c.yaml:5:43 apis[0].routes[0].integration.status: must be an integer >= 100 and <= 599 (got 700)',
      'c.yaml:5:48 apis[0].routes[0].integration.upstream: unknown key "upstream"; allowed keys: type, status, body',
    ]);
  });
  it('wrong type, with the constraint in the message', () => {
    assert.deepEqual(errorsOf('port: abc\napis: []\n'), ['c.yaml:1:7 port: must be an integer >= 1 and <= 65535 (got "abc")']);
    assert.deepEqual(errorsOf(route('{type: http, upstream: "http://x", timeoutMs: abc}')), [
      'c.yaml:5:68 apis[0].routes[0].integration.timeoutMs: must be an integer >= 1 (got "abc")',
    ]);
    assert.deepEqual(errorsOf('apis: {}\n'), ['c.yaml:1:7 apis: must be an array (got an object)']);
  });
  it('missing required key is located at the map that lacks it', () => {
    assert.deepEqual(errorsOf('apis:\n  - name: pets\n    routes:\n      - integration: {type: mock}\n'), [
      'c.yaml:4:9 apis[0].routes[0].path: missing required key "path"',
    ]);
    assert.deepEqual(errorsOf('port: 80\n'), ['c.yaml:1:1 apis: missing required key "apis"']);
  });
  it('a misspelt required key is reported once, as a misspelling', () => {
    assert.deepEqual(errorsOf('apis:\n  - name: pets\n    routez: []\n'), ['c.yaml:3:5 apis[0].routez: unknown key "routez"; did you mean "routes"?']);
  });
  it('an empty document', () => {
    assert.deepEqual(errorsOf(''), ['c.yaml:1:1: must be an object (the document is empty)']);
  });
});

describe('createValidator: several errors at once, YAML and JSON alike', () => {
  const expected = (file: string, positions: string[]): string[] =>
    [
      'port: must be an integer >= 1 and <= 65535 (got "abc")',
      'apis[0].routes[0].integration.upstrem: unknown key "upstrem"; did you mean "upstream"?',
      'apis[0].routes[1].integration.type: must be one of: http, mock (got "htp")',
      'apis[0].routes[2].path: missing required key "path"',
      'apis[0].routes[2].integration.status: must be an integer >= 100 and <= 599 (got 700)',
      'apis[1].routez: unknown key "routez"; did you mean "routes"?',
    ].map((m, i) => `${file}:${positions[i]} ${m}`);

  it('YAML: every error, sorted by line then column', async () => {
    const file = fixture('broken.yaml');
    const result = validate(await loadSourceFile(file));
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), expected(file, ['2:7', '9:11', '12:17', '13:9', '15:19', '17:5']));
    assert.ok(result.diagnostics.every((d) => d.file === file && d.severity === 'error'));
  });
  it('JSON: the same problems at their JSON positions', async () => {
    const file = fixture('broken.json');
    const result = validate(await loadSourceFile(file));
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics.map(formatDiagnostic), expected(file, ['2:11', '9:44', '11:55', '12:9', '12:54', '15:24']));
  });
  it('diagnostic objects carry the structured fields', () => {
    const result = validate(parseSource('apis:\n  - name: 5\n    routes: []\n', 'c.yaml'));
    assert.ok(!result.ok);
    assert.deepEqual(result.diagnostics, [{ file: 'c.yaml', line: 2, column: 11, path: 'apis[0].name', message: 'must be a string (got 5)', severity: 'error' }]);
  });
  it('duplicate errors from different schema paths are reported once', () => {
    const Schema = Type.Object({ a: Type.Intersect([Type.Integer({ minimum: 1 }), Type.Integer({ minimum: 1 })]) });
    assert.deepEqual(errorsOf('a: x\n', Schema), ['c.yaml:1:4 a: must be an integer >= 1 (got "x")']);
  });
});

describe('createValidator: unions that are not discriminated', () => {
  const Upstream = Type.Object({
    upstream: Type.Union([Type.String(), Type.Object({ url: Type.String(), weight: Type.Optional(Type.Integer()) }, { additionalProperties: false })]),
  });
  it('a value of no allowed type names the types', () => {
    assert.deepEqual(errorsOf('upstream: 5\n', Upstream), ['c.yaml:1:11 upstream: must be a string or an object (got 5)']);
  });
  it('a value of an allowed type gets that branch’s errors', () => {
    assert.deepEqual(errorsOf('upstream:\n  url: http://x\n  wieght: 2\n', Upstream), ['c.yaml:3:3 upstream.wieght: unknown key "wieght"; did you mean "weight"?']);
  });
  it('union branches behind $ref are grouped too', () => {
    const Schema = {
      $defs: {
        Http: { type: 'object', properties: { type: { const: 'http' }, upstream: { type: 'string' } }, required: ['type', 'upstream'], additionalProperties: false },
        Mock: { type: 'object', properties: { type: { const: 'mock' } }, required: ['type'], additionalProperties: false },
      },
      type: 'object',
      properties: { i: { anyOf: [{ $ref: '#/$defs/Http' }, { $ref: '#/$defs/Mock' }] } },
    };
    assert.deepEqual(errorsOf('i:\n  type: http\n  upstrem: x\n', Schema), ['c.yaml:3:3 i.upstrem: unknown key "upstrem"; did you mean "upstream"?']);
    assert.deepEqual(errorsOf('i: {type: mokc}\n', Schema), ['c.yaml:1:11 i.type: must be one of: http, mock (got "mokc")']);
  });
  it('Intersect (allOf + unevaluatedProperties) rejects unknown keys with suggestions', () => {
    const Schema = Type.Intersect([Type.Object({ host: Type.String() }), Type.Object({ port: Type.Integer() })], { unevaluatedProperties: false });
    assert.deepEqual(errorsOf('host: x\nport: 1\nprot: 2\n', Schema), ['c.yaml:3:1 prot: unknown key "prot"; did you mean "port"?']);
  });
});

describe('createValidator: other constraints', () => {
  const Schema = Type.Object({
    name: Type.Optional(Type.String({ pattern: '^[a-z]+$', maxLength: 8 })),
    tags: Type.Optional(Type.Array(Type.String(), { minItems: 1, uniqueItems: true })),
    url: Type.Optional(Type.String({ format: 'uri' })),
    id: Type.Optional(Type.String({ minLength: 1 })),
  });
  it('pattern, length, items, uniqueness, format', () => {
    assert.deepEqual(errorsOf('name: Pets\ntags: []\nurl: not a uri\nid: ""\n', Schema), [
      'c.yaml:1:7 name: must match the pattern ^[a-z]+$ (got "Pets")',
      'c.yaml:2:7 tags: must have at least 1 item (got 0)',
      'c.yaml:3:6 url: must be a valid uri (got "not a uri")',
      'c.yaml:4:5 id: must not be empty (got "")',
    ]);
    assert.deepEqual(errorsOf('tags: [a, b, a]\nname: abcdefghij\n', Schema), [
      'c.yaml:1:7 tags: must not contain duplicates (items [0] and [2] are equal)',
      'c.yaml:2:7 name: must be at most 8 characters long (got 10)',
    ]);
  });
  it('formats can be turned off', () => {
    const result = createValidator(Schema, { formats: false })(parseSource('url: not a uri\n', 'c.yaml'));
    assert.equal(result.ok, true);
  });
  it('coerceTypes lets ${PORT} satisfy an integer', () => {
    const Port = Type.Object({ port: Type.Integer() });
    const doc = parseSource('port: ${PORT}\n', 'c.yaml', { env: { PORT: '8080' } });
    assert.deepEqual(createValidator(Port)(doc), {
      ok: false,
      diagnostics: [{ file: 'c.yaml', line: 1, column: 7, path: 'port', message: 'must be an integer (got "8080")', severity: 'error' }],
    });
    assert.deepEqual(createValidator(Port, { coerceTypes: true })(doc), { ok: true, value: { port: 8080 } });
  });
});
