// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${Name} is Fn::Sub's syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError } from '../../src/config/diagnostics.js';
import { parseConfigText } from '../../src/config/index.js';
import { parseSource } from '../../src/config/load.js';
import { INTRINSIC_KEYS, isCloudFormationTemplate, looksLikeTemplate, parseTemplate } from '../../src/sam/template.js';

/** The first diagnostic of the ConfigError `fn` throws, printed. */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e.message;
  }
  assert.fail('expected a ConfigError');
}

const props = (text: string): Record<string, unknown> => {
  const doc = parseTemplate(`Resources:\n  R:\n    Type: AWS::S3::Bucket\n    Properties:\n${text}`, 't.yaml');
  return ((doc.data as { Resources: { R: { Properties: Record<string, unknown> } } }).Resources.R.Properties ?? {}) as Record<string, unknown>;
};

describe('parseTemplate: YAML short tags become the long form', () => {
  it('scalar forms', () => {
    assert.deepEqual(
      props(
        [
          '      A: !Ref Bucket',
          '      B: !Sub "arn:${AWS::Partition}:s3:::${Bucket}"',
          '      C: !ImportValue SharedVpc',
          '      D: !Base64 hello',
          '      E: !GetAZs ""',
          '      F: !Condition IsProd',
          '      G: !GetAZs',
        ].join('\n'),
      ),
      {
        A: { Ref: 'Bucket' },
        B: { 'Fn::Sub': 'arn:${AWS::Partition}:s3:::${Bucket}' },
        C: { 'Fn::ImportValue': 'SharedVpc' },
        D: { 'Fn::Base64': 'hello' },
        E: { 'Fn::GetAZs': '' },
        F: { Condition: 'IsProd' },
        G: { 'Fn::GetAZs': '' },
      },
    );
  });

  it('a short-form argument is text, never a YAML number or boolean', () => {
    assert.deepEqual(props('      A: !Ref 5\n      B: !Sub true'), { A: { Ref: '5' }, B: { 'Fn::Sub': 'true' } });
  });

  it('!GetAtt A.B and !GetAtt [A, B] give the same long form; the split is at the first dot', () => {
    assert.deepEqual(props('      A: !GetAtt Fn.Arn\n      B: !GetAtt [Fn, Arn]\n      C: !GetAtt Db.Endpoint.Address\n      D: !GetAtt NoDot'), {
      A: { 'Fn::GetAtt': ['Fn', 'Arn'] },
      B: { 'Fn::GetAtt': ['Fn', 'Arn'] },
      C: { 'Fn::GetAtt': ['Db', 'Endpoint.Address'] },
      D: { 'Fn::GetAtt': 'NoDot' },
    });
  });

  it('sequence and mapping forms, block and flow, nested tags', () => {
    const p = props(
      [
        '      A: !Join',
        "        - ''",
        '        - - a',
        '          - !Ref B',
        '          - !GetAtt [C, D]',
        '      If: !If [IsProd, !Sub "${X}", !Ref AWS::NoValue]',
        '      Sel: !Select [0, !Split [",", "a,b"]]',
        '      Map: !FindInMap [M, !Ref AWS::Region, Ami]',
        '      B64Map: !Base64 {"Fn::Sub": z}',
        '      SubVars: !Sub ["${A}-${B}", {A: !Ref P, B: 2}]',
        '      Cidr: !Cidr [10.0.0.0/16, 2, 8]',
        '      Eq: !Equals [!Ref Env, prod]',
        '      Logic: !And [!Or [!Condition A, !Not [!Condition B]], !Condition C]',
        '      Tr: !Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}',
      ].join('\n'),
    );
    assert.deepEqual(p, {
      A: { 'Fn::Join': ['', ['a', { Ref: 'B' }, { 'Fn::GetAtt': ['C', 'D'] }]] },
      If: { 'Fn::If': ['IsProd', { 'Fn::Sub': '${X}' }, { Ref: 'AWS::NoValue' }] },
      Sel: { 'Fn::Select': [0, { 'Fn::Split': [',', 'a,b'] }] },
      Map: { 'Fn::FindInMap': ['M', { Ref: 'AWS::Region' }, 'Ami'] },
      B64Map: { 'Fn::Base64': { 'Fn::Sub': 'z' } },
      SubVars: { 'Fn::Sub': ['${A}-${B}', { A: { Ref: 'P' }, B: 2 }] },
      Cidr: { 'Fn::Cidr': ['10.0.0.0/16', 2, 8] },
      Eq: { 'Fn::Equals': [{ Ref: 'Env' }, 'prod'] },
      Logic: { 'Fn::And': [{ 'Fn::Or': [{ Condition: 'A' }, { 'Fn::Not': [{ Condition: 'B' }] }] }, { Condition: 'C' }] },
      Tr: { 'Fn::Transform': { Name: 'AWS::Include', Parameters: { Location: 's3://b/k' } } },
    });
  });

  it('every tag is known in scalar, sequence and mapping form', () => {
    for (const key of INTRINSIC_KEYS) {
      const short = key === 'Ref' || key === 'Condition' ? key : key.slice(4);
      assert.deepEqual(props(`      S: !${short} x\n      Q: !${short} [x]\n      M: !${short} {x: 1}`), {
        S: { [key]: 'x' },
        Q: { [key]: ['x'] },
        M: { [key]: { x: 1 } },
      });
    }
  });

  it('two short forms in a row are a YAML error, as CloudFormation documents (one tag per node)', () => {
    assert.match(
      errorOf(() => props('      A: !Base64 !Sub "x${Y}"')),
      /t\.yaml:5:\d+ .*a node can have at most one tag/,
    );
  });

  it('long forms pass through unchanged, and ${...} is left for Fn::Sub (no environment interpolation)', () => {
    const doc = parseTemplate('{"Resources": {"R": {"Type": "AWS::S3::Bucket", "Properties": {"A": {"Fn::Sub": "${HOME}"}}}}}', 't.json');
    assert.equal(doc.format, 'json');
    assert.deepEqual(doc.data, { Resources: { R: { Type: 'AWS::S3::Bucket', Properties: { A: { 'Fn::Sub': '${HOME}' } } } } });
    assert.deepEqual(props('      A: ${HOME}'), { A: '${HOME}' });
  });
});

describe('parseTemplate: positions', () => {
  const text = [
    'Resources:', // 1
    '  Fn:', // 2
    '    Type: AWS::Serverless::Function', // 3
    '    Properties:', // 4
    '      Uri: !Sub "arn:${Fn.Arn}"', // 5
    '      Parts: !Join', // 6
    "        - ''", // 7
    '        - - a', // 8
    '          - !Ref Thing', // 9
    '      Long:', // 10
    '        Fn::GetAtt: [A, B]', // 11
  ].join('\n');
  const doc = parseTemplate(text, 't.yaml');

  it('a path into a scalar short form points at its node', () => {
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Uri', 'Fn::Sub']), { line: 5, column: 17 });
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Uri']), { line: 5, column: 17 });
  });
  it('a path through sequence short forms reaches the nested node', () => {
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Parts', 'Fn::Join', 1, 1, 'Ref']), { line: 9, column: 18 });
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Parts', 'Fn::Join', 1, 0]), { line: 8, column: 13 });
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Parts', 'Fn::Join']), { line: 7, column: 9 });
  });
  it('long forms locate as any map', () => {
    assert.deepEqual(doc.locate(['Resources', 'Fn', 'Properties', 'Long', 'Fn::GetAtt', 1]), { line: 11, column: 25 });
  });
});

describe('parseTemplate: errors are ConfigErrors with file:line:col', () => {
  it('an unknown tag names the tags a template may use', () => {
    const m = errorOf(() => parseTemplate('Resources:\n  A: !Foo x\n', 'tpl.yaml'));
    assert.match(m, /^tpl\.yaml:2:6 Resources: unsupported tag: !Foo; CloudFormation templates may use !Ref, !Condition, !Sub, !GetAtt/);
  });
  it('a syntax error', () => {
    assert.match(
      errorOf(() => parseTemplate('Resources:\n  A: [1, 2\n', 'tpl.yaml')),
      /^tpl\.yaml:\d+:\d+: invalid YAML/,
    );
    assert.match(
      errorOf(() => parseTemplate('{"Resources": }', 'tpl.json')),
      /^tpl\.json:1:\d+: invalid JSON/,
    );
  });
  it('duplicate keys', () => {
    assert.match(
      errorOf(() => parseTemplate('Resources:\n  A: !Ref X\n  A: !Ref Y\n', 'tpl.yaml')),
      /tpl\.yaml:3:3 .*duplicate key/,
    );
  });
  it('an alias bomb is refused, not expanded', () => {
    const lines = ['a: &a [!Ref x, !Ref x, !Ref x, !Ref x, !Ref x, !Ref x, !Ref x, !Ref x, !Ref x]'];
    for (let i = 0; i < 9; i++)
      lines.push(
        `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(9)
          .fill(`*${String.fromCharCode(97 + i)}`)
          .join(', ')}]`,
      );
    assert.match(
      errorOf(() => parseTemplate(lines.join('\n'), 'bomb.yaml')),
      /bomb\.yaml.*cannot build the document/,
    );
  });
  it('config files still refuse the tags (parseSource without the template tag set)', () => {
    assert.match(
      errorOf(() => parseSource('a: !Ref x\n', 'c.yaml')),
      /unsupported tag: !Ref; config files are plain YAML without custom tags/,
    );
  });
});

describe('isCloudFormationTemplate / looksLikeTemplate', () => {
  it('recognises templates', () => {
    assert.equal(isCloudFormationTemplate({ AWSTemplateFormatVersion: '2010-09-09' }), true);
    assert.equal(isCloudFormationTemplate({ Transform: 'AWS::Serverless-2016-10-31', Resources: {} }), true);
    assert.equal(isCloudFormationTemplate({ Transform: ['AWS::LanguageExtensions', 'AWS::Serverless-2016-10-31'] }), true);
    assert.equal(isCloudFormationTemplate({ Resources: { B: { Type: 'AWS::S3::Bucket' }, C: { Type: 'Custom::Thing' } } }), true);
  });
  it('and nothing else', () => {
    for (const data of [
      null,
      'text',
      [],
      {},
      { openapi: '3.0.1' },
      { apis: [] },
      { Resources: {} },
      { Resources: { B: { Type: 'Custom::Thing' } } },
      { Resources: { B: { Type: 'AWS::S3::Bucket' }, C: 'x' } },
      { Resources: { B: { Type: 'AWS::S3::Bucket' }, C: { Type: 'NotAType' } } },
      { Transform: 'AWS::Include' },
    ]) {
      assert.equal(isCloudFormationTemplate(data), false, JSON.stringify(data));
    }
  });
  it('sniffs template text cheaply', () => {
    assert.equal(looksLikeTemplate("AWSTemplateFormatVersion: '2010-09-09'\n"), true);
    assert.equal(looksLikeTemplate('{\n  "AWSTemplateFormatVersion": "2010-09-09"}'), true);
    assert.equal(looksLikeTemplate('Transform: AWS::Serverless-2016-10-31\nResources: {}\n'), true);
    assert.equal(looksLikeTemplate('Resources:\n  B:\n    Type: AWS::S3::Bucket\n'), true);
    assert.equal(looksLikeTemplate('openapi: 3.0.1\ninfo: {title: x}\n'), false);
    assert.equal(looksLikeTemplate('apis:\n  - name: a\n    routes: []\n'), false);
    assert.equal(looksLikeTemplate('Resources:\n  - name: x\n'), false);
  });
});

describe('a template given as a config file', () => {
  it('is recognised and loaded; its Parameters and Conditions are checked on the way, with positions', () => {
    const text = [
      'Transform: AWS::Serverless-2016-10-31', // 1
      'Parameters:', // 2
      '  Stage: {Type: String, Default: qa, AllowedValues: [dev, prod]}', // 3
      'Conditions:', // 4
      '  A: !Condition B', // 5
      '  B: !Not [!Condition A]', // 6
      'Resources:', // 7
      '  Fn:', // 8
      '    Type: AWS::Serverless::Function', // 9
      '    Properties: {CodeUri: !Sub "${Stage}/src"}', // 10
    ].join('\n');
    assert.equal(
      errorOf(() => parseConfigText(text, 'template.yaml')),
      [
        'template.yaml:3:53 Parameters.Stage.AllowedValues: parameter Stage: value "qa" is not one of AllowedValues ["dev","prod"]',
        'template.yaml:5:17 Conditions.A: condition A depends on itself: A -> B -> A',
        'template.yaml:9:5 Resources.Fn: a function needs a Handler (e.g. app.lambdaHandler)',
        'template.yaml:10:32 Resources.Fn.Properties.CodeUri["Fn::Sub"]: Fn::Sub ${Stage}: parameter Stage has no usable value (see Parameters.Stage)',
      ].join('\n'),
    );
  });
  it('a native config that merely mentions AWS types is not a template', () => {
    assert.doesNotThrow(() => parseConfigText('apis: []\n# Resources:\n#   Type: AWS::S3::Bucket\n', 'c.yaml'));
  });
});
