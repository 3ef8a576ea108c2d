// Fuzzing in CI (test/fuzz/harness.ts, docs/testing.md "Fuzzing"), in-process targets: the linear-time
// regex engine against V8's, the path normaliser, VTL rendering, the OpenAPI importer and the config
// loader. Each gets a time budget per run, a logged seed and a regression file replayed first.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import fc from 'fast-check';
import { parse as parseYaml } from 'yaml';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseConfigText, validateDocument } from '../../src/config/index.js';
import { importAwsDocument, sourceFromData } from '../../src/openapi/index.js';
import { normalizeTarget } from '../../src/server/path.js';
import { compileTemplate, TEMPLATE_LIMITS, TemplateError } from '../../src/templates/index.js';
import { LinearRegExp, UnsupportedRegexError } from '../../src/util/linear-regex.js';
import { ROOT } from '../helpers/gateway.js';
import { fuzz } from './harness.js';

// ---------------------------------------------------------------------------------------------
// Linear-time regex engine: the same answer as V8 on every pattern it accepts.

const regexAtom: fc.Arbitrary<string> = fc.constantFrom('a', 'b', '1', '-', '.', '\\d', '\\w', '\\s', '\\D', '[ab]', '[^a]', '[a-c1]', '[\\d-]', '\\.', '\\-', '\\b', '\\B', '^', '$', ' ', '[]', '[^]');
const regexTree = fc.letrec<{ re: string }>((tie) => ({
  re: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    regexAtom,
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => a + b),
    fc.tuple(tie('re'), tie('re')).map(([a, b]) => `${a}|${b}`),
    tie('re').map((a) => `(${a})`),
    tie('re').map((a) => `(?:${a})`),
    fc.tuple(tie('re'), fc.constantFrom('*', '+', '?', '{2}', '{1,3}', '{0,}', '*?', '+?')).map(([a, q]) => `(?:${a})${q}`),
  ),
}));

test('fuzz: the linear regex engine answers as V8 does', async (t) => {
  await fuzz(
    t,
    'linear-regex',
    fc.record({ pattern: regexTree.re, inputs: fc.array(fc.stringMatching(/^[ab1 .\-x]{0,10}$/), { maxLength: 6 }) }),
    ({ pattern, inputs }) => {
      let native: RegExp;
      try {
        native = new RegExp(pattern);
      } catch {
        return; // not a pattern V8 accepts either
      }
      let linear: LinearRegExp;
      try {
        linear = new LinearRegExp(pattern);
      } catch (e) {
        if (e instanceof UnsupportedRegexError) return;
        throw e;
      }
      for (const s of inputs) assert.equal(linear.test(s), native.test(s), `/${pattern}/ on ${JSON.stringify(s)}`);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Path normaliser (src/server/path.ts): never throws; an accepted path is absolute, free of dot segments.

const targetPiece = fc.constantFrom('/', '//', '.', '..', '/./', '/../', '%2e', '%2E%2e', '%2f', '%5c', '\\', '%', '%zz', '%00', '?', '#', '&', '=', 'a', 'é', '%C3%A9', '~', ';', ' ', '\t', '*', '@', ':');
test('fuzz: the path normaliser', async (t) => {
  await fuzz(t, 'path-normaliser', fc.oneof(fc.array(targetPiece, { maxLength: 20 }).map((p) => p.join('')), fc.string({ maxLength: 40 })), (target) => {
    const r = normalizeTarget(target);
    if (!r.ok) {
      assert.equal(r.code, 'BAD_PATH');
      return;
    }
    assert.ok(r.path.startsWith('/'), `path ${JSON.stringify(r.path)} of ${JSON.stringify(target)}`);
    const segments = r.path.split('/');
    assert.ok(!segments.includes('..') && !segments.includes('.'), `dot segment left in ${JSON.stringify(r.path)}`);
    assert.ok(!r.path.includes('#') && !r.path.includes('?'));
  });
});

// ---------------------------------------------------------------------------------------------
// VTL rendering: a template either does not compile (TEMPLATE_SYNTAX) or renders / fails with a
// TemplateError; the output stays within its size limit.

const vtlPiece = fc.constantFrom(
  '{"a":',
  '}',
  ' ',
  '\n',
  '$input.json(\'$\')',
  '$input.path(\'$.a\')',
  "$input.path('$..b')",
  "$input.params('constructor')",
  '$input.params()',
  '$input.body',
  '$util.escapeJavaScript($input.body)',
  '$util.parseJson($input.body)',
  '$util.base64Encode($input.body)',
  '$util.urlDecode($input.body)',
  '#set($x = $input.path(\'$\'))',
  '$x',
  '$x.size()',
  '$x.keySet()',
  '#foreach($i in [1..3])',
  '#foreach($k in $x.keySet())',
  '#if($x)',
  '#else',
  '#end',
  '#break',
  '#stop',
  '$context.requestId',
  '$context.requestOverride.header.a',
  '#set($context.responseOverride.status = 418)',
  '$stageVariables.s',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: ${x} is VTL's formal reference syntax.
  '${x}',
  '$!{x}',
  '#',
  '$',
  '(',
  ')',
  '"',
  "'",
  '##',
  '#*',
  '*#',
  '#macro(m $a)$a#end',
  '#m(1)',
);
test('fuzz: VTL rendering', async (t) => {
  await fuzz(
    t,
    'vtl',
    fc.record({ template: fc.array(vtlPiece, { maxLength: 14 }).map((p) => p.join('')), body: fc.oneof(fc.json(), fc.string({ maxLength: 30 })) }),
    ({ template, body }) => {
      let compiled: ReturnType<typeof compileTemplate>;
      try {
        compiled = compileTemplate(template, 'fuzz');
      } catch (e) {
        assert.ok(e instanceof TemplateError && e.code === 'TEMPLATE_SYNTAX', `compile threw ${String(e)}`);
        return;
      }
      try {
        const r = compiled.render(
          { body, path: { id: '1' }, querystring: { constructor: 'c' }, header: { __proto__: 'p' } as Record<string, string> },
          { context: { requestId: 'r-1', identity: {} }, stageVariables: { s: 'v' } },
        );
        assert.equal(typeof r.output, 'string');
        assert.ok(r.output.length <= TEMPLATE_LIMITS.maxOutputChars);
      } catch (e) {
        assert.ok(e instanceof TemplateError, `render threw ${e instanceof Error ? e.stack : String(e)}`);
      }
    },
  );
});

// ---------------------------------------------------------------------------------------------
// OpenAPI importer: a fixture document with random values spliced in at random key paths. The
// importer never throws; it must not report an internal error either (a bug caught by its guard).

const FIXTURES = ['pets-openapi3.yaml', 'pets-swagger2.yaml', 'rest-extensions.yaml', 'http-api.yaml'].map((f) =>
  parseYaml(readFileSync(`${ROOT}/test/fixtures/openapi/${f}`, 'utf8')),
) as unknown[];

/** Every key path of a value (objects and arrays), the root included. */
function keyPaths(v: unknown, at: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(at);
  if (v !== null && typeof v === 'object') for (const [k, c] of Object.entries(v)) keyPaths(c, [...at, Array.isArray(v) ? Number(k) : k], out);
  return out;
}

function splice(doc: unknown, path: (string | number)[], value: unknown): unknown {
  if (path.length === 0) return value;
  const copy = structuredClone(doc) as Record<string | number, unknown>;
  let cur = copy;
  for (const k of path.slice(0, -1)) cur = cur[k] as Record<string | number, unknown>;
  cur[path[path.length - 1] as string | number] = value;
  return copy;
}

const weird = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constantFrom(null, '', '{proxy+}', '/{a}/{a}', '$default', 'arn:aws:lambda:x', '__proto__', { __proto__: null }, [], -1, 1e308));
test('fuzz: the OpenAPI importer', async (t) => {
  await fuzz(
    t,
    'openapi-import',
    fc.record({ fixture: fc.nat({ max: FIXTURES.length - 1 }), edits: fc.array(fc.record({ pick: fc.nat(), value: weird }), { minLength: 1, maxLength: 4 }) }),
    ({ fixture, edits }) => {
      let doc = FIXTURES[fixture];
      for (const e of edits) {
        const paths = keyPaths(doc);
        doc = splice(doc, paths[e.pick % paths.length] as (string | number)[], e.value);
      }
      const r = importAwsDocument(sourceFromData(doc, 'fuzz.yaml'));
      const internal = r.diagnostics.find((d) => d.message.startsWith('internal error'));
      assert.equal(internal, undefined, internal?.message);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Config loader: any text is parsed and validated into a config or a ConfigError with diagnostics.

// biome-ignore lint/suspicious/noTemplateCurlyInString: ${env:HOME} is the config interpolation syntax.
const yamlPiece = fc.constantFrom('apis:', '\n', '  - ', 'name: a', 'routes:', 'path: /x', 'integration: {type: mock}', '{', '}', '[', ']', ': ', '"', "'", '&a', '*a', '<<: *a', '!!str', '!Ref', '#', '${env:HOME}', '${', '\t', '---', '...', 'server:', 'limits: {bodyBytes: -1}', '%YAML 1.2');
test('fuzz: the config loader', async (t) => {
  await fuzz(t, 'config-load', fc.oneof(fc.array(yamlPiece, { maxLength: 24 }).map((p) => p.join('')), fc.string({ maxLength: 60 })), (text) => {
    try {
      const doc = parseConfigText(text, 'fuzz.yaml');
      validateDocument(doc);
    } catch (e) {
      assert.ok(e instanceof ConfigError, `threw ${e instanceof Error ? e.stack : String(e)}`);
      assert.ok(e.diagnostics.length > 0);
    }
  });
});
