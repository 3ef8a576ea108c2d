// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${NAME} is the interpolation syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { writeFile, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConfigError, type Diagnostic } from '../../src/config/diagnostics.js';
import { loadSourceFile, parseSource } from '../../src/config/load.js';

const fixture = (name: string): string => join(process.cwd(), 'test/fixtures/config', name);

/** The diagnostics of the ConfigError `fn` throws, without the file name. */
function diagnosticsOf(fn: () => unknown): Omit<Diagnostic, 'file' | 'severity'>[] {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.diagnostics.map(({ line, column, path, message }) => ({ line, column, path, message }));
  }
  assert.fail('expected a ConfigError');
}

describe('parseSource: formats', () => {
  it('parses YAML and JSON to the same value', () => {
    const y = parseSource('a: 1\nb: [x, "y"]\n', 'c.yaml');
    const j = parseSource('{"a": 1, "b": ["x", "y"]}', 'c.json');
    assert.equal(y.format, 'yaml');
    assert.equal(j.format, 'json');
    assert.deepEqual(y.data, { a: 1, b: ['x', 'y'] });
    assert.deepEqual(j.data, y.data);
  });
  it('sniffs the format of files without a known extension', () => {
    assert.equal(parseSource('{"a": 1}', 'conf').format, 'json');
    assert.equal(parseSource('{a: 1}', 'conf').format, 'yaml');
    assert.equal(parseSource('a: 1', 'conf').format, 'yaml');
    assert.equal(parseSource('a: 1', 'C.YML').format, 'yaml');
  });
  it('an empty or comment-only YAML file is null', () => {
    assert.equal(parseSource('', 'c.yaml').data, null);
    assert.equal(parseSource('# nothing\n', 'c.yaml').data, null);
  });
  it('resolves aliases and << merge keys in YAML', () => {
    const doc = parseSource('base: &b {timeoutMs: 100}\nroute:\n  <<: *b\n  path: /x\n', 'c.yaml');
    assert.deepEqual(doc.data, { base: { timeoutMs: 100 }, route: { timeoutMs: 100, path: '/x' } });
  });
});

describe('parseSource: syntax errors', () => {
  it('YAML: position and key path', () => {
    assert.deepEqual(diagnosticsOf(() => parseSource('apis:\n  - name: x\n    routes: [1, 2\n  - name: y\n', 'c.yaml')), [
      { line: 4, column: 3, path: 'apis', message: 'invalid YAML: flow sequence in block collection must be sufficiently indented and end with a ]' },
    ]);
    assert.deepEqual(diagnosticsOf(() => parseSource('port: 1\nlogLevel: a\nport: 2\n', 'c.yaml')), [
      { line: 3, column: 1, path: 'port', message: 'duplicate key; each key may appear only once in a map' },
    ]);
    assert.deepEqual(diagnosticsOf(() => parseSource('a:\n\tb: 1\n', 'c.yaml')), [
      { line: 2, column: 1, path: '', message: 'invalid YAML: tabs are not allowed for indentation; use spaces' },
    ]);
  });
  it('YAML: custom tags are refused rather than silently turned into strings', () => {
    assert.deepEqual(diagnosticsOf(() => parseSource('upstream: !Ref Host\n', 'c.yaml')), [
      { line: 1, column: 11, path: '', message: 'unsupported tag: !Ref; config files are plain YAML without custom tags' },
    ]);
  });
  it('JSON: errors are reported in JSON terms', () => {
    const cases: [string, number, number, string][] = [
      ['{\n  "a": 1,\n  "b": 2,\n}\n', 4, 1, 'trailing comma is not allowed in JSON'],
      ['{\n  "a": 1\n  "b": 2\n}\n', 3, 3, `expected ',' or '}' after property value, got '"'`],
      [`{"a": 'x'}`, 1, 7, 'strings must use double quotes in JSON'],
      ['{a: 1}', 1, 2, "expected a property name in double quotes, got 'a'"],
      ['{"a": 1} x', 1, 10, "unexpected 'x' after the end of the JSON value"],
      ['{"a": [1, 2', 1, 12, "expected ',' or ']' after array element, got end of input"],
      ['{\n  // note\n  "a": 1}', 2, 3, 'comments are not allowed in JSON'],
      ['{"a": "x\ny"}', 1, 9, 'unterminated string (a line break inside a string must be written as \\n)'],
      ['{"a": 01}', 1, 7, 'invalid number'],
      ['', 1, 1, 'unexpected end of input; expected a value'],
    ];
    for (const [text, line, column, message] of cases) {
      assert.deepEqual(diagnosticsOf(() => parseSource(text, 'c.json')), [{ line, column, path: '', message: `invalid JSON: ${message}` }], text);
    }
  });
  it('JSON: duplicate keys are errors', () => {
    assert.deepEqual(diagnosticsOf(() => parseSource('{"a": 1,\n "a": 2}', 'c.json')), [
      { line: 2, column: 2, path: 'a', message: 'duplicate key; each key may appear only once in a map' },
    ]);
  });
  it('JSON: tabs and other valid whitespace parse fine', () => {
    assert.deepEqual(parseSource('{\n\t"a": {\n\t\t"b": [1,\n\t\t2]}\n}', 'c.json').data, { a: { b: [1, 2] } });
  });
});

describe('parseSource: environment interpolation', () => {
  const env = { PORT: '8080', PETS_HOST: 'pets:80', SECRET_HOST: 'vault' };
  it('substitutes values and defaults, keeps results strings, unescapes $${', async () => {
    const doc = await loadSourceFile(fixture('env.yaml'), { env });
    const data = doc.data as { port: unknown; apis: { routes: { integration: Record<string, unknown> }[] }[] };
    assert.equal(data.port, '8080');
    assert.equal(data.apis[0]?.routes[0]?.integration.upstream, 'http://pets:80/v1');
    assert.equal(data.apis[0]?.routes[1]?.integration.body, '{"id": "${ID}"}');
    assert.equal(data.apis[0]?.routes[2]?.integration.upstream, 'https://vault/');
  });
  it('uses the default when the variable is unset', async () => {
    const doc = await loadSourceFile(fixture('env.yaml'), { env: { ...env, PETS_HOST: undefined } });
    assert.equal((doc.data as { apis: { routes: { integration: { upstream: string } }[] }[] }).apis[0]?.routes[0]?.integration.upstream, 'http://localhost:3000/v1');
  });
  it('reports every unset variable at its scalar', async () => {
    await assert.rejects(loadSourceFile(fixture('env.yaml'), { env: {} }), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.deepEqual(
        e.diagnostics.map(({ file, line, column, path, message }) => ({ file, line, column, path, message })),
        [
          { file: fixture('env.yaml'), line: 1, column: 7, path: 'port', message: 'environment variable PORT is not set' },
          { file: fixture('env.yaml'), line: 16, column: 21, path: 'apis[0].routes[2].integration.upstream', message: 'environment variable SECRET_HOST is not set' },
        ],
      );
      return true;
    });
  });
  it('interpolates JSON strings too, but never keys', () => {
    const doc = parseSource('{"${K}": "${V}", "n": 1}', 'c.json', { env: { K: 'key', V: 'value' } });
    assert.deepEqual(doc.data, { '${K}': 'value', n: 1 });
  });
  it('reports malformed references with the fix', () => {
    assert.deepEqual(diagnosticsOf(() => parseSource('a:\n  b: ${PORT\n', 'c.yaml', { env: {} })), [
      { line: 2, column: 6, path: 'a.b', message: 'invalid environment reference "${PORT": it has no closing "}"; write ${NAME} or ${NAME:-default}, or $${ for a literal "${"' },
    ]);
  });
  it('defaults to process.env', () => {
    process.env.TURNPIKE_TEST_VAR = 'from-process';
    assert.deepEqual(parseSource('a: ${TURNPIKE_TEST_VAR}', 'c.yaml').data, { a: 'from-process' });
    delete process.env.TURNPIKE_TEST_VAR;
  });
});

describe('SourceDocument.locate', () => {
  const text = ['apis:', '  - name: pets', '    routes:', '      - path: /pets', '        integration:', '          type: http', '      - path: /x', 'empty:', ''].join('\n');
  const yaml = parseSource(text, 'c.yaml');
  const json = parseSource('{\n  "apis": [\n    {"name": "pets", "routes": []}\n  ]\n}', 'c.json');

  it('finds values by key path (1-based)', () => {
    assert.deepEqual(yaml.locate([]), { line: 1, column: 1 });
    assert.deepEqual(yaml.locate(['apis', 0, 'name']), { line: 2, column: 11 });
    assert.deepEqual(yaml.locate(['apis', 0, 'routes', 0, 'integration', 'type']), { line: 6, column: 17 });
    assert.deepEqual(yaml.locate(['apis', 0, 'routes', 1]), { line: 7, column: 9 });
    assert.deepEqual(json.locate(['apis', 0, 'routes']), { line: 3, column: 32 });
  });
  it('a missing key is located at its parent map; a missing item at its list', () => {
    assert.deepEqual(yaml.locate(['apis', 0, 'routes', 1, 'integration']), { line: 7, column: 9 });
    assert.deepEqual(yaml.locate(['apis', 0, 'routes', 0, 'integration', 'upstream']), { line: 6, column: 11 });
    assert.deepEqual(yaml.locate(['apis', 0, 'routes', 9, 'path']), { line: 4, column: 7 });
    assert.deepEqual(yaml.locate(['nope', 'deeper']), { line: 1, column: 1 });
    assert.deepEqual(json.locate(['apis', 0, 'missing']), { line: 3, column: 5 });
  });
  it('a key with no value is located at the key', () => {
    assert.deepEqual(yaml.locate(['empty']), { line: 8, column: 1 });
  });
  it('locateKey points at the key, not the value', () => {
    assert.deepEqual(yaml.locateKey(['apis', 0, 'name']), { line: 2, column: 5 });
    assert.deepEqual(json.locateKey(['apis', 0, 'routes']), { line: 3, column: 22 });
  });
  it('follows merge keys to where a merged value is written', () => {
    const doc = parseSource('base: &b\n  timeoutMs: 100\nroute:\n  <<: *b\n  path: /x\n', 'c.yaml');
    assert.deepEqual(doc.locate(['route', 'timeoutMs']), { line: 2, column: 14 });
  });
});

describe('loadSourceFile', () => {
  it('reports an unreadable file as a whole-file diagnostic', async () => {
    await assert.rejects(loadSourceFile('/nonexistent/turnpike.yaml'), (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.equal(e.message, '/nonexistent/turnpike.yaml: cannot read config: file not found');
      return true;
    });
  });
  it('reads a file and keeps the path as given', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'turnpike-config-'));
    const file = join(dir, 'c.json');
    await writeFile(file, '{"a": [1]}');
    const doc = await loadSourceFile(file);
    assert.equal(doc.file, file);
    assert.equal(doc.text, '{"a": [1]}');
    assert.deepEqual(doc.data, { a: [1] });
  });
});

describe('parseSource: property', () => {
  const onlyConfigErrors = (text: string, file: string): void => {
    try {
      parseSource(text, file, { env: { A: '1' } });
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      for (const d of e.diagnostics) {
        assert.ok(d.line >= 1 && d.column >= 1, `bad position ${d.line}:${d.column}`);
      }
    }
  };
  // Strings biased towards the characters that matter to YAML, JSON and interpolation.
  const syntaxy = fc
    .array(fc.constantFrom('{', '}', '[', ']', ':', ',', '-', ' ', '\n', '\t', '"', "'", '#', '&a', '*a', '!', '|', '>', '<<', '${A}', '${', '$$', '\\', 'a', '1', '---', '?', '%', '@', '`', '\r', '\uFEFF'), { maxLength: 60 })
    .map((parts) => parts.join(''));
  for (const file of ['c.yaml', 'c.json', 'c.conf']) {
    it(`never throws anything but ConfigError (${file})`, () => {
      fc.assert(fc.property(fc.oneof(fc.string({ unit: 'grapheme', maxLength: 200 }), syntaxy), (text) => onlyConfigErrors(text, file)), { numRuns: 1500 });
    });
  }
  it('survives alias bombs', () => {
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x"]', 'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]', 'c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]', 'd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]', 'e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]', 'f: [*e,*e,*e,*e,*e,*e,*e,*e,*e]'].join('\n');
    assert.throws(() => parseSource(bomb, 'c.yaml'), ConfigError);
  });
});
