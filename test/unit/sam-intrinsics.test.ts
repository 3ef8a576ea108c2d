// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${Name} is Fn::Sub's syntax under test, not a template literal.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createResolver, type IntrinsicOptions, type IntrinsicProblem, type ResourceRefs } from '../../src/sam/intrinsics.js';
import { completePseudo, stackNameFromPath } from '../../src/sam/pseudo.js';
import { parseTemplate } from '../../src/sam/template.js';

const FN_ARN = 'arn:aws:lambda:us-east-1:123456789012:function:my-fn';
const REFS: Record<string, ResourceRefs> = {
  Fn: { ref: 'my-fn', attributes: { Arn: FN_ARN } },
  // SAM-generated: not in the template's Resources, known to the caller.
  ServerlessRestApi: { ref: 'abc123', attributes: { RootResourceId: 'root1' } },
};
const resource = (id: string): ResourceRefs | undefined => (Object.hasOwn(REFS, id) ? REFS[id] : undefined);

const BASE = `
Parameters:
  Stage: { Type: String, Default: dev, AllowedValues: [dev, prod] }
  Subnets: { Type: CommaDelimitedList, Default: "a, b,c" }
Mappings:
  Sizes:
    us-east-1: { small: 128, big: 1024 }
Conditions:
  IsProd: !Equals [!Ref Stage, prod]
  IsDev: !Not [!Condition IsProd]
Resources:
  Fn: { Type: AWS::Serverless::Function }
  MyTable: { Type: AWS::DynamoDB::Table }
`;

function make(text: string, opts: Partial<IntrinsicOptions> = {}) {
  const doc = parseTemplate(text, 'template.yaml');
  const template = doc.data as Record<string, unknown>;
  const r = createResolver({ template, resource, ...opts });
  return { r, doc, template };
}

/** Resolves one YAML value (the short forms included) against BASE; returns it and the problems. */
function value(yaml: string, opts: Partial<IntrinsicOptions> = {}, base = BASE): { value: unknown; problems: IntrinsicProblem[] } {
  const { r, template } = make(`${base}\nValue: ${yaml}\n`, opts);
  return { value: r.resolve(template.Value, ['Value']), problems: r.problems };
}

function ok(yaml: string, opts: Partial<IntrinsicOptions> = {}): unknown {
  const { value: v, problems } = value(yaml, opts);
  assert.deepEqual(problems, [], `problems for ${yaml}`);
  return v;
}

/** The messages of the error problems resolving `yaml` reports; the value must be undefined. */
function fails(yaml: string, opts: Partial<IntrinsicOptions> = {}): string[] {
  const { value: v, problems } = value(yaml, opts);
  assert.equal(v, undefined, `value of ${yaml}`);
  const errors = problems.filter((p) => p.severity === 'error');
  assert.ok(errors.length > 0, `expected a problem for ${yaml}`);
  return errors.map((p) => p.message);
}

describe('Ref', () => {
  it('parameters (Default < override), resources through resource(), SAM-generated ids', () => {
    assert.equal(ok('!Ref Stage'), 'dev');
    assert.equal(ok('!Ref Stage', { parameterOverrides: { Stage: 'prod' } }), 'prod');
    assert.equal(ok('{Ref: Stage}'), 'dev');
    assert.equal(ok('!Ref Fn'), 'my-fn');
    assert.equal(ok('!Ref ServerlessRestApi'), 'abc123');
    assert.deepEqual(ok('!Ref Subnets'), ['a', 'b', 'c']);
  });

  it('pseudo parameters, with defaults and given values', () => {
    const all =
      '[!Ref AWS::Region, !Ref AWS::AccountId, !Ref AWS::StackName, !Ref AWS::StackId, !Ref AWS::Partition, !Ref AWS::URLSuffix, !Ref AWS::NotificationARNs]';
    assert.deepEqual(ok(all), [
      'us-east-1',
      '123456789012',
      'turnpike-local',
      'arn:aws:cloudformation:us-east-1:123456789012:stack/turnpike-local/00000000-0000-4000-8000-000000000000',
      'aws',
      'amazonaws.com',
      [],
    ]);
    const cn = ok(all, { pseudo: { region: 'cn-north-1', stackName: 'shop', accountId: '111122223333' } }) as string[];
    assert.deepEqual(cn.slice(0, 6), [
      'cn-north-1',
      '111122223333',
      'shop',
      'arn:aws-cn:cloudformation:cn-north-1:111122223333:stack/shop/00000000-0000-4000-8000-000000000000',
      'aws-cn',
      'amazonaws.com.cn',
    ]);
  });

  it('a name that is nothing, or a resource whose Ref is not known, is a problem', () => {
    assert.deepEqual(fails('!Ref Stag'), ['Ref Stag: no parameter or resource named Stag (did you mean Stage?)']);
    assert.deepEqual(fails('!Ref MyTable'), ['Ref MyTable: the Ref value of AWS::DynamoDB::Table MyTable is not known locally']);
    assert.deepEqual(fails('!Ref AWS::Regoin'), ['Ref AWS::Regoin: unknown pseudo parameter (did you mean AWS::Region?)']);
    assert.deepEqual(fails('!Ref [a]'), ['Ref: the name must be a string, not a list']);
  });

  it('AWS::NoValue removes the key or the array item', () => {
    assert.deepEqual(ok('{A: 1, B: !Ref AWS::NoValue, C: [x, !Ref AWS::NoValue, y]}'), { A: 1, C: ['x', 'y'] });
    const { value: v, problems } = value('!Ref AWS::NoValue');
    assert.equal(v, undefined);
    assert.deepEqual(problems, []);
  });
});

describe('Fn::GetAtt', () => {
  it('both forms, and an attribute name given by an intrinsic', () => {
    assert.equal(ok('!GetAtt Fn.Arn'), FN_ARN);
    assert.equal(ok('!GetAtt [Fn, Arn]'), FN_ARN);
    assert.equal(ok('{"Fn::GetAtt": "Fn.Arn"}'), FN_ARN);
    assert.equal(ok('!GetAtt [ServerlessRestApi, !Sub RootResourceId]'), 'root1');
  });

  it('an attribute not known locally names the resource, its type and the attribute', () => {
    assert.deepEqual(fails('!GetAtt MyTable.StreamArn'), [
      'Fn::GetAtt MyTable.StreamArn: attribute StreamArn of AWS::DynamoDB::Table MyTable is not known locally',
    ]);
    assert.deepEqual(fails('!GetAtt Fn.Version'), [
      'Fn::GetAtt Fn.Version: attribute Version of AWS::Serverless::Function Fn is not known locally (known: Arn)',
    ]);
    assert.deepEqual(fails('!GetAtt Fnn.Arn'), ['Fn::GetAtt Fnn.Arn: no resource named Fnn (did you mean Fn?)']);
    assert.deepEqual(fails('!GetAtt Fn'), ['Fn::GetAtt: expects [LogicalId, Attribute] or "LogicalId.Attribute"']);
    assert.deepEqual(fails('!GetAtt [Fn, Arn, x]'), ['Fn::GetAtt: expects [LogicalId, Attribute] or "LogicalId.Attribute"']);
  });
});

describe('Fn::Sub', () => {
  it('parameters, pseudo parameters, resource Refs and attributes, and the ${!Literal} escape', () => {
    assert.equal(
      ok('!Sub "arn:${AWS::Partition}:apigateway:${AWS::Region}:lambda:path/2015-03-31/functions/${Fn.Arn}/invocations"'),
      `arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/${FN_ARN}/invocations`,
    );
    assert.equal(ok('!Sub "${Stage}-${Fn}-${ ServerlessRestApi }"'), 'dev-my-fn-abc123');
    assert.equal(ok('!Sub "${!Literal}-${!Stage} ${Stage}"'), '${Literal}-${Stage} dev');
    assert.equal(ok('!Sub "no variables, $ { } and an unclosed ${"'), 'no variables, $ { } and an unclosed ${');
  });

  it('the variable-map form: its values are resolved and win over template names', () => {
    assert.equal(ok('!Sub ["${Stage}/${Domain}/${N}", {Stage: override, Domain: !Join [".", [api, !Ref Stage]], N: 3}]'), 'override/api.dev/3');
    assert.equal(ok('{"Fn::Sub": ["${A}", {A: !Ref AWS::Region}]}'), 'us-east-1');
  });

  it('every unresolvable variable is a problem naming it', () => {
    const messages = fails('!Sub "${Nope}/${MyTable.StreamArn}/${Subnets}"');
    assert.deepEqual(messages, [
      'Fn::Sub ${Nope}: no parameter or resource named Nope',
      'Fn::Sub ${MyTable.StreamArn}: attribute StreamArn of AWS::DynamoDB::Table MyTable is not known locally',
      'Fn::Sub ${Subnets}: the value is a list (join it with Fn::Join first)',
    ]);
    assert.deepEqual(fails('!Sub "arn:${AWS::Region}:function:${stageVariables.fn}"'), [
      'Fn::Sub ${stageVariables.fn}: no resource named stageVariables; for the literal text write ${!stageVariables.fn}',
    ]);
    assert.deepEqual(fails('!Sub [text, [not, a, map]]'), ['Fn::Sub: expects a string, or [string, {Name: value, ...}]']);
  });
});

describe('Fn::Join, Fn::Select, Fn::Split', () => {
  it('join a literal list, a list parameter, a split; AWS::NoValue items are dropped', () => {
    assert.equal(ok('!Join [":", [a, !Ref Stage, 3, !Ref AWS::NoValue, !GetAtt Fn.Arn]]'), `a:dev:3:${FN_ARN}`);
    assert.equal(ok('!Join ["|", !Ref Subnets]'), 'a|b|c');
    assert.equal(ok('!Join ["", !Split [",", "x,y"]]'), 'xy');
    assert.equal(ok('!Join ["-", []]'), '');
  });
  it('select by number or numeric string, from any list', () => {
    assert.equal(ok('!Select [1, [a, b, c]]'), 'b');
    assert.equal(ok('!Select ["2", !Ref Subnets]'), 'c');
    assert.equal(ok('!Select [0, !GetAZs ""]'), 'us-east-1a');
    assert.deepEqual(ok('!Select [0, [{A: !Ref Stage}]]'), { A: 'dev' });
  });
  it('split keeps empty parts as CloudFormation does', () => {
    assert.deepEqual(ok('!Split [",", "a,,b,"]'), ['a', '', 'b', '']);
    assert.deepEqual(ok('!Split ["|", !Join ["|", [x, !Ref Stage]]]'), ['x', 'dev']);
  });
  it('misuse is a problem', () => {
    assert.deepEqual(fails('!Join [",", [a, [b]]]'), ['Fn::Join: item 1 must be a string, not a list']);
    assert.deepEqual(fails('!Join [",", !Ref Stage]'), ['Fn::Join: expects a list here, not "dev"']);
    assert.deepEqual(fails('!Join [","]'), ['Fn::Join: expects [delimiter, [values...]]']);
    assert.deepEqual(fails('!Select [3, [a, b]]'), ['Fn::Select: index 3 is out of range: the list has 2 items']);
    assert.deepEqual(fails('!Select [-1, [a]]'), ['Fn::Select: the index "-1" is not a whole number']);
    assert.deepEqual(fails('!Split ["", abc]'), ['Fn::Split: the delimiter must not be empty']);
  });
});

describe('Fn::FindInMap', () => {
  it('looks up, with intrinsic keys', () => {
    assert.equal(ok('!FindInMap [Sizes, !Ref AWS::Region, small]'), 128);
    assert.equal(ok('!FindInMap [Sizes, us-east-1, !If [IsProd, big, small]]'), 128);
  });
  it('the DefaultValue form answers only a miss', () => {
    assert.equal(ok('!FindInMap [Sizes, eu-west-1, small, {DefaultValue: 256}]'), 256);
    assert.equal(ok('!FindInMap [Sizes, us-east-1, big, {DefaultValue: 256}]'), 1024);
    assert.equal(ok('!FindInMap [Nope, x, y, {DefaultValue: !Ref Stage}]'), 'dev');
  });
  it('a miss names what is missing', () => {
    assert.deepEqual(fails('!FindInMap [Sizes, eu-west-1, small]'), ['Fn::FindInMap ["Sizes", "eu-west-1", "small"]: mapping "Sizes" has no key "eu-west-1"']);
    assert.deepEqual(fails('!FindInMap [Sizes, us-east-1, huge]'), ['Fn::FindInMap ["Sizes", "us-east-1", "huge"]: "Sizes"."us-east-1" has no key "huge"']);
    assert.deepEqual(fails('!FindInMap [Nope, a, b]'), ['Fn::FindInMap ["Nope", "a", "b"]: there is no mapping "Nope"']);
    assert.deepEqual(fails('!FindInMap [Sizes, us-east-1, huge, {Default: 1}]'), ['Fn::FindInMap: the fourth item must be {DefaultValue: value}']);
  });
});

describe('Fn::ImportValue, Fn::Base64, Fn::GetAZs, Fn::Cidr, and the rest', () => {
  it('imports come from the map the user gives', () => {
    assert.equal(ok('!ImportValue {"Fn::Sub": "${Stage}-VpcId"}', { importValues: { 'dev-VpcId': 'vpc-1' } }), 'vpc-1');
    assert.deepEqual(fails('!ImportValue SharedVpc'), [
      'Fn::ImportValue SharedVpc: export SharedVpc is not known locally; give its value with --import-value SharedVpc=VALUE or in an import-values map file',
    ]);
  });
  it('base64 of UTF-8 text', () => {
    assert.equal(ok('!Base64 {Ref: Stage}'), Buffer.from('dev').toString('base64'));
    assert.equal(ok('!Base64 "é"'), 'w6k=');
  });
  it('availability zones of the stack region or the one named', () => {
    assert.deepEqual(ok('!GetAZs ""'), ['us-east-1a', 'us-east-1b', 'us-east-1c']);
    assert.deepEqual(ok('{"Fn::GetAZs": !Ref AWS::Region}', { pseudo: { region: 'eu-west-3' } }), ['eu-west-3a', 'eu-west-3b', 'eu-west-3c']);
    assert.deepEqual(ok('{"Fn::GetAZs": eu-central-1}'), ['eu-central-1a', 'eu-central-1b', 'eu-central-1c']);
  });
  it('IPv4 CIDR blocks as AWS computes them; IPv6 is a clear problem', () => {
    assert.deepEqual(ok('!Cidr ["192.168.0.0/24", 6, 5]'), [
      '192.168.0.0/27',
      '192.168.0.32/27',
      '192.168.0.64/27',
      '192.168.0.96/27',
      '192.168.0.128/27',
      '192.168.0.160/27',
    ]);
    assert.deepEqual(ok('!Select [1, !Cidr ["10.0.0.0/16", "3", "8"]]'), '10.0.1.0/24');
    assert.deepEqual(fails('!Cidr ["2001:db8::/56", 2, 64]'), ['Fn::Cidr: IPv6 blocks are not supported locally']);
    assert.deepEqual(fails('!Cidr ["10.0.0.0/24", 3, 7]'), ['Fn::Cidr: 3 blocks of /25 do not fit in a /24']);
    assert.deepEqual(fails('!Cidr ["10.0.0.300/24", 1, 2]'), ['Fn::Cidr: "10.0.0.300/24" is not an IPv4 CIDR block such as 10.0.0.0/16']);
  });
  it('Fn::Length and Fn::ToJsonString (AWS::LanguageExtensions)', () => {
    assert.equal(ok('{"Fn::Length": !Ref Subnets}'), 3);
    assert.equal(ok('!ToJsonString {a: !Ref Stage, b: [1]}'), '{"a":"dev","b":[1]}');
  });
  it('Fn::Transform, unknown functions and condition functions outside Conditions are problems', () => {
    assert.deepEqual(fails('!Transform {Name: AWS::Include, Parameters: {Location: s3://b/k}}'), [
      'Fn::Transform AWS::Include: a macro runs in an AWS account and cannot run locally; replace it with its output',
    ]);
    assert.deepEqual(fails('{"Fn::Sbu": x}'), ['unknown intrinsic function Fn::Sbu (did you mean Fn::Sub?)']);
    assert.deepEqual(fails('!Equals [a, a]'), ['Fn::Equals: condition functions belong in the Conditions section; use Fn::If with a named condition here']);
  });
  it('maps that only look like functions are data', () => {
    assert.deepEqual(ok('{Ref: Stage, Other: !Ref Stage}'), { Ref: 'Stage', Other: 'dev' });
    assert.deepEqual(ok('{Condition: {StringEquals: {"aws:x": y}}}'), { Condition: { StringEquals: { 'aws:x': 'y' } } });
  });
});

describe('Conditions and Fn::If', () => {
  const CONDS = `
Parameters:
  Env: { Type: String, Default: prod }
  Count: { Type: Number, Default: 3 }
Conditions:
  IsProd: !Equals [!Ref Env, prod]
  IsThree: !Equals [!Ref Count, 3]
  Both: !And [!Condition IsProd, !Condition IsThree]
  Either: !Or [!Equals [a, b], !Condition IsThree]
  NotProd: !Not [!Condition IsProd]
  Nested: !And [!Or [!Condition NotProd, !Equals [!Select [0, !Split [",", "x,y"]], x]], !Not [!Equals [!FindInMap [M, a, b], 2]]]
  CycleA: !Condition CycleB
  CycleB: !And [!Condition IsProd, !Condition CycleA]
  Bad: !Equals [!Ref Missing, x]
  Literal: true
Mappings:
  M: { a: { b: 1 } }
Resources:
  Fn: { Type: AWS::Serverless::Function }
`;

  it('evaluates Fn::Equals, Fn::And, Fn::Or, Fn::Not and Condition references', () => {
    const { r } = make(CONDS);
    assert.deepEqual(
      ['IsProd', 'IsThree', 'Both', 'Either', 'NotProd', 'Nested'].map((c) => r.condition(c)),
      [true, true, true, true, false, true],
    );
    assert.deepEqual(r.problems, []);
    const { r: dev } = make(CONDS, { parameterOverrides: { Env: 'dev' } });
    assert.deepEqual(
      ['IsProd', 'Both', 'NotProd'].map((c) => dev.condition(c)),
      [false, false, true],
    );
  });

  it('Fn::If takes the branch of its condition and never resolves the other', () => {
    const { r, template } = make(
      `${CONDS}\nValue: [!If [IsProd, !Ref Env, !Ref Nothing], !If [NotProd, !GetAtt Nothing.Arn, {Nested: !If [Both, !Sub "\${Env}!", x]}]]\n`,
    );
    assert.deepEqual(r.resolve(template.Value, ['Value']), ['prod', { Nested: 'prod!' }]);
    assert.deepEqual(r.problems, []);
  });

  it('a cycle is a problem naming it, and false', () => {
    const { r } = make(CONDS);
    assert.equal(r.condition('CycleA'), false);
    assert.equal(r.condition('CycleB'), false);
    assert.deepEqual(
      r.problems.map((p) => [p.path.join('.'), p.message]),
      [['Conditions.CycleA', 'condition CycleA depends on itself: CycleA -> CycleB -> CycleA']],
    );
  });

  it('an unknown or bad condition: problems at the condition and at the Fn::If', () => {
    const { r, template } = make(`${CONDS}\nValue: {A: !If [Bad, 1, 2], B: !If [IsPord, 1, 2], C: !If [Literal, 1, 2]}\n`);
    assert.deepEqual(r.resolve(template.Value, ['Value']), { A: undefined, B: undefined, C: undefined });
    assert.deepEqual(
      r.problems.map((p) => [p.path.join('.'), p.message]),
      [
        ['Conditions.Bad.Fn::Equals.0.Ref', 'Ref Missing: no parameter or resource named Missing'],
        ['Value.A.Fn::If', 'Fn::If Bad: the condition cannot be evaluated'],
        ['Value.B.Fn::If.0', 'no condition named IsPord in the Conditions section (did you mean IsProd?)'],
        ['Value.B.Fn::If', 'Fn::If IsPord: the condition cannot be evaluated'],
        ['Conditions.Literal', 'a condition must be Fn::Equals, Fn::And, Fn::Or, Fn::Not or {Condition: name}'],
        ['Value.C.Fn::If', 'Fn::If Literal: the condition cannot be evaluated'],
      ],
    );
    assert.equal(r.condition('Nope'), false);
  });

  it('each condition is evaluated once', () => {
    let calls = 0;
    const { r, template } = make(
      `Conditions:\n  HasFn: !Equals [!Ref Fn, my-fn]\nResources:\n  Fn: {Type: AWS::Serverless::Function}\nValue: [!If [HasFn, a, b], !If [HasFn, c, d]]\n`,
      {
        resource: (id) => {
          calls++;
          return resource(id);
        },
      },
    );
    assert.deepEqual(r.resolve(template.Value, ['Value']), ['a', 'c']);
    assert.equal(r.condition('HasFn'), true);
    assert.equal(calls, 1);
  });

  it('a resource Condition key is evaluated through condition()', () => {
    const { r, template } = make(
      'Parameters:\n  Env: {Type: String, Default: prod}\nConditions:\n  NotProd: !Not [!Equals [!Ref Env, prod]]\nResources:\n  Fn: {Type: AWS::Serverless::Function, Condition: NotProd}\n',
    );
    const fn = (template.Resources as Record<string, { Condition: string }>).Fn;
    assert.equal(r.condition(fn?.Condition ?? ''), false);
  });
});

describe('Parameters', () => {
  const params = (decls: string, overrides?: Record<string, string>) => {
    const { r } = make(`Parameters:\n${decls}\nResources:\n  Fn: {Type: AWS::Serverless::Function}\n`, overrides ? { parameterOverrides: overrides } : {});
    return { values: r.parameters, problems: r.problems.map((p) => `${p.path.join('.')}: ${p.severity === 'warning' ? 'warning: ' : ''}${p.message}`) };
  };

  it('types: String, Number, CommaDelimitedList, List<Number>, AWS-specific and SSM (given by override)', () => {
    const { values, problems } = params(
      [
        '  S: {Type: String, Default: 5}',
        '  N: {Type: Number, Default: "1.5"}',
        '  L: {Type: CommaDelimitedList, Default: " a , b "}',
        '  E: {Type: CommaDelimitedList, Default: ""}',
        '  LN: {Type: "List<Number>", Default: "1,2"}',
        '  Vpc: {Type: "AWS::EC2::VPC::Id", Default: vpc-1}',
        '  Subnets: {Type: "List<AWS::EC2::Subnet::Id>", Default: "s-1,s-2"}',
        '  Ami: {Type: "AWS::SSM::Parameter::Value<AWS::EC2::Image::Id>", Default: /aws/ami}',
        '  Names: {Type: "AWS::SSM::Parameter::Value<List<String>>", Default: /names}',
      ].join('\n'),
      { Ami: 'ami-1', Names: 'x,y' },
    );
    assert.deepEqual(problems, []);
    assert.deepEqual(values, {
      S: '5',
      N: '1.5',
      L: ['a', 'b'],
      E: [],
      LN: ['1', '2'],
      Vpc: 'vpc-1',
      Subnets: ['s-1', 's-2'],
      Ami: 'ami-1',
      Names: ['x', 'y'],
    });
  });

  it('missing values name the parameter and --parameter-overrides; an SSM parameter cannot be read locally', () => {
    assert.deepEqual(params('  Key: {Type: String}\n  Ami: {Type: "AWS::SSM::Parameter::Value<String>", Default: /my/ami}').problems, [
      'Parameters.Key: parameter Key has no Default and no value was given; give one with --parameter-overrides Key=VALUE',
      'Parameters.Ami: parameter Ami: its value is read from the SSM parameter /my/ami, which cannot be read locally; give the value with --parameter-overrides Ami=VALUE',
    ]);
  });

  it('constraints are checked on the final value and name the parameter', () => {
    const decls = [
      '  Stage: {Type: String, Default: dev, AllowedValues: [dev, prod]}',
      '  Name: {Type: String, Default: ok, AllowedPattern: "[a-z]+", ConstraintDescription: lower-case letters only}',
      '  Short: {Type: String, Default: abc, MinLength: 2, MaxLength: 4}',
      '  Size: {Type: Number, Default: 5, MinValue: 1, MaxValue: 10}',
      '  Sizes: {Type: "List<Number>", Default: "1,2", MaxValue: 5}',
    ].join('\n');
    assert.deepEqual(params(decls).problems, []);
    const bad = params(decls, { Stage: 'qa', Name: 'ok1', Short: 'a', Size: '11', Sizes: '1,x,9' });
    assert.deepEqual(bad.problems, [
      'Parameters.Stage.AllowedValues: parameter Stage: value "qa" is not one of AllowedValues ["dev","prod"] (from --parameter-overrides)',
      'Parameters.Name.AllowedPattern: parameter Name: value "ok1" does not match AllowedPattern "[a-z]+" (from --parameter-overrides): lower-case letters only',
      'Parameters.Short.MinLength: parameter Short: value "a" is shorter than MinLength 2 (from --parameter-overrides)',
      'Parameters.Size.MaxValue: parameter Size: value "11" is greater than MaxValue 10 (from --parameter-overrides)',
      'Parameters.Sizes.Type: parameter Sizes: value "x" is not a number (from --parameter-overrides)',
      'Parameters.Sizes.MaxValue: parameter Sizes: value "9" is greater than MaxValue 5 (from --parameter-overrides)',
    ]);
    assert.deepEqual(bad.values, {});
    assert.deepEqual(params('  Long: {Type: String, Default: abcdef, MaxLength: 3}').problems, [
      'Parameters.Long.MaxLength: parameter Long: value "abcdef" is longer than MaxLength 3',
    ]);
  });

  it('a Ref to a parameter without a usable value is a problem where it is used too', () => {
    const { r, template } = make('Parameters:\n  Key: {Type: String}\nValue: !Sub "k=${Key}"\n');
    assert.equal(r.resolve(template.Value, ['Value']), undefined);
    assert.deepEqual(
      r.problems.map((p) => p.message),
      [
        'parameter Key has no Default and no value was given; give one with --parameter-overrides Key=VALUE',
        'Fn::Sub ${Key}: parameter Key has no usable value (see Parameters.Key)',
      ],
    );
  });

  it('template names that are Object.prototype names stay plain keys', () => {
    const { r, template } = make(
      'Parameters:\n  __proto__: {Type: CommaDelimitedList, Default: "a,b"}\n  constructor: {Type: String, Default: c}\nValue: [!Ref __proto__, !Ref constructor, !Ref toString]\n',
    );
    assert.deepEqual(r.resolve(template.Value, ['Value']), [['a', 'b'], 'c', undefined]);
    assert.deepEqual(Object.getPrototypeOf(r.parameters), Object.prototype);
    assert.deepEqual(
      r.problems.map((p) => p.message),
      ['Ref toString: no parameter or resource named toString'],
    );
  });

  it('bad declarations and unknown overrides', () => {
    assert.deepEqual(params('  A: {Default: x}\n  B: {Type: Strng}\n  C: text', { Stag: 'x' }).problems, [
      'Parameters.A: parameter A: Type is required (String, Number, CommaDelimitedList, List<Number>, ...)',
      'Parameters.B.Type: parameter B: unknown Type "Strng" (String, Number, CommaDelimitedList, List<...>, AWS::SSM::Parameter::Value<...> or an AWS-specific type)',
      'Parameters.C: parameter C: a parameter is a map with a Type',
      'Parameters: warning: parameter override Stag: the template has no parameter Stag; it is ignored',
    ]);
  });

  it('a NoEcho value never appears in a problem', () => {
    const secret = 'hunter2-Secret';
    const { r, template } = make(
      [
        'Parameters:',
        `  Password: {Type: String, NoEcho: true, Default: "${secret}", AllowedPattern: "[a-z]+", MinLength: 40, AllowedValues: [x]}`,
        'Mappings:',
        '  M: {a: {b: 1}}',
        'Value:',
        '  A: !FindInMap [M, !Ref Password, b]',
        '  B: !Select [!Ref Password, [a]]',
        '  C: !Join [",", !Sub "${Password}-x"]',
        '  D: !Ref {Ref: Password}',
        '  E: !ImportValue {"Fn::Join": ["", [!Ref Password, "-x"]]}',
        '',
      ].join('\n'),
      { parameterOverrides: {} },
    );
    r.resolve(template.Value, ['Value']);
    assert.ok(r.problems.length >= 7, JSON.stringify(r.problems));
    for (const p of r.problems) assert.ok(!p.message.includes(secret) && !p.message.includes('hunter2'), p.message);
    assert.match(r.problems[0]?.message ?? '', /value \(NoEcho value, not shown\) is not one of AllowedValues/);
  });
});

describe('problems carry key paths that locate in the template', () => {
  it('a problem deep inside nested short forms points at its line', () => {
    const text = [
      'Resources:', // 1
      '  Fn:', // 2
      '    Type: AWS::Serverless::Function', // 3
      '    Properties:', // 4
      '      Environment:', // 5
      '        Variables:', // 6
      '          TABLE: !Join', // 7
      '            - ":"', // 8
      '            - - !Ref AWS::Region', // 9
      '              - !GetAtt MyTable.StreamArn', // 10
      '  MyTable:', // 11
      '    Type: AWS::DynamoDB::Table', // 12
    ].join('\n');
    const doc = parseTemplate(text, 'template.yaml');
    const template = doc.data as Record<string, unknown>;
    const r = createResolver({ template, resource });
    const props = (template.Resources as Record<string, { Properties: unknown }>).Fn?.Properties;
    const out = r.resolve(props, ['Resources', 'Fn', 'Properties']);
    assert.deepEqual(out, { Environment: { Variables: { TABLE: undefined } } });
    assert.equal(r.problems.length, 1);
    const [p] = r.problems;
    assert.deepEqual(p?.path, ['Resources', 'Fn', 'Properties', 'Environment', 'Variables', 'TABLE', 'Fn::Join', 1, 1, 'Fn::GetAtt']);
    assert.deepEqual(doc.locate(p?.path ?? []), { line: 10, column: 25 });
  });

  it('resolve leaves its input as it was', () => {
    const { r, template } = make(`${BASE}\nValue: {A: !Ref Stage, B: [!Ref AWS::NoValue]}\n`);
    const before = JSON.stringify(template);
    r.resolve(template, []);
    assert.equal(JSON.stringify(template), before);
  });
});

describe('hostile templates are bounded', () => {
  it('deep nesting is a problem, not a stack overflow', () => {
    let v: unknown = 'x';
    for (let i = 0; i < 5000; i++) v = { 'Fn::Base64': v };
    const r = createResolver({ template: {}, resource });
    assert.equal(r.resolve(v, ['Deep']), undefined);
    assert.match(r.problems[0]?.message ?? '', /nests deeper than 200 levels/);
  });

  it('a value that contains itself is a problem', () => {
    const a: Record<string, unknown> = { x: 1 };
    a.self = a;
    const r = createResolver({ template: {}, resource });
    assert.deepEqual(r.resolve(a, ['A']), { x: 1, self: undefined });
    assert.deepEqual(r.problems[0]?.path, ['A', 'self']);
  });

  it('strings doubled through nested Fn::Sub stop at the size bound', () => {
    let v: unknown = 'abcdefghij';
    for (let i = 0; i < 40; i++) v = { 'Fn::Sub': ['${A}${A}', { A: v }] };
    const r = createResolver({ template: {}, resource });
    assert.equal(r.resolve(v, ['Big']), undefined);
    assert.match(r.problems.map((p) => p.message).join('\n'), /longer than 1048576 characters/);
  });

  it('a large literal string repeated (as YAML aliases repeat it) stops at the size bound in every function that builds text', () => {
    const big = 'x'.repeat(600_000);
    const r = createResolver({ template: { Conditions: { Same: { 'Fn::Equals': [Array(2000).fill(big), 'x'] } } }, resource });
    assert.equal(r.resolve({ 'Fn::Join': ['', [big, big]] }, ['J']), undefined);
    assert.equal(r.resolve({ 'Fn::ToJsonString': Array(2000).fill(big) }, ['T']), undefined);
    assert.equal(r.resolve({ 'Fn::Sub': ['${A}${A}', { A: big }] }, ['S']), undefined);
    assert.equal(r.condition('Same'), false);
    assert.deepEqual(
      r.problems.map((p) => `${p.path.join('.')}: ${p.message}`),
      [
        'J.Fn::Join: Fn::Join: the result is longer than 1048576 characters',
        'T.Fn::ToJsonString: Fn::ToJsonString: the result is longer than 1048576 characters',
        'S.Fn::Sub: Fn::Sub: the result is longer than 1048576 characters',
        'Conditions.Same.Fn::Equals: Fn::Equals: the values are too large to compare',
      ],
    );
  });

  it('a shared value repeated through aliases stops at the work bound', () => {
    let v: unknown = ['leaf'];
    for (let i = 0; i < 40; i++) v = [v, v];
    const r = createResolver({ template: {}, resource });
    r.resolve(v, ['Wide']);
    assert.match(r.problems[0]?.message ?? '', /needs more work to resolve than Turnpike allows/);
  });

  it('a long chain of conditions is a problem, not a stack overflow', () => {
    const conditions: Record<string, unknown> = { C0: { 'Fn::Equals': ['a', 'a'] } };
    for (let i = 1; i < 5000; i++) conditions[`C${i}`] = { 'Fn::Not': [{ Condition: `C${i - 1}` }] };
    const r = createResolver({ template: { Conditions: conditions }, resource });
    assert.equal(r.condition('C4999'), false);
    assert.ok(r.problems.some((p) => /deeper than/.test(p.message)));
  });
});

describe('pseudo parameters helpers', () => {
  it('stack names from the template folder', () => {
    assert.equal(stackNameFromPath('/home/me/my_shop app/template.yaml'), 'my-shop-app');
    assert.equal(stackNameFromPath('/srv/2024-api/template.yaml'), 'api');
    assert.equal(stackNameFromPath('template.yaml'), 'turnpike-local');
    assert.equal(stackNameFromPath(`/x/${'a'.repeat(200)}/t.yaml`).length, 128);
  });
  it('partitions follow the region', () => {
    assert.equal(completePseudo({ region: 'us-gov-west-1' }).partition, 'aws-us-gov');
    assert.equal(completePseudo({ region: 'eu-west-1' }).urlSuffix, 'amazonaws.com');
  });
});
