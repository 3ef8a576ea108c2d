// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${Name} is Fn::Sub's syntax, not a template literal.
// Fuzzing in CI (test/fuzz/harness.ts, docs/testing.md "Fuzzing"): the CloudFormation template reader and
// the intrinsic resolver (src/sam/). Any text either parses or is a ConfigError; any parsed template
// resolves without throwing, within bounded time, never leaves an intrinsic in its output, never leaves
// a hole (undefined) without an error problem, and never shows a NoEcho value in a problem.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ConfigError } from '../../src/config/diagnostics.js';
import { createResolver, type Resolver, type ResourceRefs } from '../../src/sam/intrinsics.js';
import { parseTemplate } from '../../src/sam/template.js';
import { fuzz } from './harness.js';

const SECRET = 'Zq9SecretVal';
const REFS: Record<string, ResourceRefs> = { Fn: { ref: 'my-fn', attributes: { Arn: 'arn:fn' } } };
const resource = (id: string): ResourceRefs | undefined => (Object.hasOwn(REFS, id) ? REFS[id] : undefined);
/** One input must not take longer than this (a hang shows as a failure, not a stuck CI job). */
const MAX_INPUT_MS = 5_000;

/** Everything a resolver can be asked: every condition, then the whole template. */
function exercise(r: Resolver, template: Record<string, unknown>): unknown {
  const conditions = template.Conditions;
  if (typeof conditions === 'object' && conditions !== null) for (const name of Object.keys(conditions)) assert.equal(typeof r.condition(name), 'boolean');
  return r.resolve(template, []);
}

/** Key paths of undefined values and of intrinsics left in a resolved value. */
function leftovers(v: unknown, path: string, out: { holes: string[]; intrinsics: string[] }, seen = new Set<object>()): void {
  if (v === undefined) out.holes.push(path);
  if (typeof v !== 'object' || v === null || seen.has(v)) return;
  seen.add(v);
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) leftovers(x, `${path}[${i}]`, out, seen);
    return;
  }
  const keys = Object.keys(v);
  if (keys.length === 1 && (keys[0] === 'Ref' || keys[0]?.startsWith('Fn::'))) out.intrinsics.push(path);
  for (const k of keys) leftovers((v as Record<string, unknown>)[k], `${path}.${k}`, out, seen);
}

function checkResolved(r: Resolver, out: unknown): void {
  for (const p of r.problems) {
    assert.ok(Array.isArray(p.path) && typeof p.message === 'string' && p.message !== '');
    assert.ok(!p.message.includes(SECRET), `a NoEcho value in a problem: ${p.message}`);
  }
  const found = { holes: [] as string[], intrinsics: [] as string[] };
  leftovers(out, '', found);
  assert.deepEqual(found.intrinsics, [], 'an intrinsic passed through unresolved');
  if (found.holes.length > 0)
    assert.ok(
      r.problems.some((p) => p.severity === 'error'),
      `undefined at ${found.holes.join(', ')} with no error problem`,
    );
}

// ---------------------------------------------------------------------------------------------
// Structured: trees of intrinsics over a template with parameters (one NoEcho), mappings and conditions.

const word = fc.constantFrom(
  'Stage',
  'Secret',
  'List',
  'Fn',
  'MyTable',
  'Nope',
  'AWS::Region',
  'AWS::NoValue',
  'AWS::StackName',
  'AWS::Bogus',
  'Fn.Arn',
  'MyTable.StreamArn',
  'IsProd',
  'Cyc',
  'M',
  'k',
  'v',
  '',
  ',',
  '${Stage}',
  '${Secret}',
  '${!x}',
  '${Fn.Arn}',
  '${Nope}',
  '${',
  '0',
  '1',
  '10.0.0.0/16',
  '__proto__',
  'DefaultValue',
  'Condition',
);
const FUNCTIONS = [
  'Ref',
  'Fn::Sub',
  'Fn::GetAtt',
  'Fn::Join',
  'Fn::If',
  'Fn::Select',
  'Fn::Split',
  'Fn::FindInMap',
  'Fn::ImportValue',
  'Fn::Base64',
  'Fn::Cidr',
  'Fn::GetAZs',
  'Fn::Equals',
  'Fn::And',
  'Fn::Or',
  'Fn::Not',
  'Fn::Transform',
  'Fn::Length',
  'Fn::ToJsonString',
  'Condition',
  'Fn::Nope',
];
const leaf = fc.oneof(word, fc.integer({ min: -2, max: 300 }), fc.boolean(), fc.constant(null));
const { node: tree } = fc.letrec<{ node: unknown }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('node'), { maxLength: 4 }),
    fc.dictionary(word, tie('node'), { maxKeys: 3 }),
    fc.tuple(fc.constantFrom(...FUNCTIONS), fc.oneof(tie('node'), fc.array(tie('node'), { maxLength: 4 }))).map(([fn, arg]) => ({ [fn]: arg })),
    // Calls on names, often: most paths through the resolver start at a Ref or a name.
    fc.tuple(fc.constantFrom(...FUNCTIONS), fc.oneof(word, fc.constant({ Ref: 'Secret' }), fc.constant({ Ref: 'List' }))).map(([fn, arg]) => ({ [fn]: arg })),
  ),
}));

test('fuzz: the intrinsic resolver on generated intrinsics', async (t) => {
  await fuzz(
    t,
    'sam-intrinsics',
    fc.record({ value: tree, conditions: fc.dictionary(fc.constantFrom('IsProd', 'Cyc', 'C1', 'C2'), tree, { maxKeys: 4 }), mapping: tree }),
    ({ value, conditions, mapping }) => {
      const template: Record<string, unknown> = {
        Parameters: {
          Stage: { Type: 'String', Default: 'dev', AllowedValues: ['dev', 'prod'] },
          Secret: { Type: 'String', NoEcho: true, Default: SECRET },
          List: { Type: 'CommaDelimitedList', Default: `a,${SECRET},c` },
        },
        Mappings: { M: { k: { v: mapping } } },
        Conditions: conditions,
        Resources: { Fn: { Type: 'AWS::Serverless::Function' }, MyTable: { Type: 'AWS::DynamoDB::Table' } },
        Value: value,
      };
      const started = Date.now();
      const r = createResolver({ template, resource, importValues: { k: 'v' } });
      const out = exercise(r, template);
      assert.ok(Date.now() - started < MAX_INPUT_MS, 'too slow');
      checkResolved(r, out);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Text: template-shaped YAML with short tags, anchors and merge keys.

const piece = fc.constantFrom(
  'Resources:',
  'Conditions:',
  'Parameters:',
  'Mappings:',
  '\n',
  '  ',
  '  - ',
  'A: ',
  'B: ',
  '!Ref ',
  '!Sub ',
  '!GetAtt ',
  '!If ',
  '!Join ',
  '!Select ',
  '!Split ',
  '!FindInMap ',
  '!Equals ',
  '!And ',
  '!Or ',
  '!Not ',
  '!Condition ',
  '!ImportValue ',
  '!Base64 ',
  '!Cidr ',
  '!GetAZs ',
  '!Transform ',
  '!Foo ',
  'Type: String',
  'Type: AWS::S3::Bucket',
  'Default: x',
  `Default: ${SECRET}`,
  'NoEcho: true',
  '[',
  ']',
  '{',
  '}',
  ', ',
  '"${A}"',
  '${!B}',
  'A.B',
  'AWS::NoValue',
  '&a ',
  '*a',
  '<<: *a',
  '#',
  '"',
  "'",
  '0',
  '-1',
  '10.0.0.0/8',
);

test('fuzz: the template reader and resolver on template-shaped text', async (t) => {
  await fuzz(
    t,
    'sam-template-text',
    fc.oneof(
      fc.array(piece, { maxLength: 30 }).map((p) => p.join('')),
      fc.string({ maxLength: 60 }),
    ),
    (text) => {
      let data: unknown;
      try {
        data = parseTemplate(text, 'fuzz.yaml').data;
      } catch (e) {
        assert.ok(e instanceof ConfigError, `threw ${e instanceof Error ? e.stack : String(e)}`);
        assert.ok(e.diagnostics.length > 0);
        return;
      }
      if (typeof data !== 'object' || data === null || Array.isArray(data)) return;
      const template = data as Record<string, unknown>;
      const started = Date.now();
      const r = createResolver({ template, resource });
      const out = exercise(r, template);
      assert.ok(Date.now() - started < MAX_INPUT_MS, 'too slow');
      for (const p of r.problems) assert.ok(typeof p.message === 'string' && p.message !== '');
      const found = { holes: [] as string[], intrinsics: [] as string[] };
      leftovers(out, '', found);
      assert.deepEqual(found.intrinsics, [], 'an intrinsic passed through unresolved');
    },
  );
});
