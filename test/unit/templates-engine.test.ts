// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${x} is a VTL reference under test, not a template literal.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  compileTemplate,
  escapeJavaScript,
  selectTemplate,
  TEMPLATE_LIMITS,
  TemplateError,
  type TemplateRequest,
  type TemplateVariables,
  urlDecode,
  urlEncode,
} from '../../src/templates/index.js';

function req(body = '', extra: Partial<TemplateRequest> = {}): TemplateRequest {
  return { body, path: {}, querystring: {}, header: {}, ...extra };
}
const VARS: TemplateVariables = {
  context: {
    stage: 'prod',
    requestId: 'abc',
    httpMethod: 'GET',
    identity: { sourceIp: '192.0.2.1' },
    authorizer: { principalId: 'user1', claims: { sub: 's-1' } },
  },
  stageVariables: { backend: 'b.example', n: '3' },
};
const out = (src: string, body = '', extra: Partial<TemplateRequest> = {}, vars: TemplateVariables = VARS) =>
  compileTemplate(src).render(req(body, extra), vars).output;

function throwsCode(fn: () => unknown, code: string): TemplateError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof TemplateError, `expected TemplateError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    return e;
  }
  assert.fail(`expected TemplateError ${code}`);
}

test('$input.json: compact JSON, strings quoted, missing path empty, empty body {}', () => {
  const body = '{"a": {"b": [1, 2.0, "x"]}, "s": "t", "big": 12345678901234567890, "f": 1e3, "t": true, "n": null}';
  assert.equal(out("$input.json('$')", body), '{"a":{"b":[1,2.0,"x"]},"s":"t","big":12345678901234567890,"f":1e3,"t":true,"n":null}');
  assert.equal(out("$input.json('$.s')", body), '"t"');
  assert.equal(out("$input.json('$.a.b[1]')", body), '2.0');
  assert.equal(out("[$input.json('$.missing')]", body), '[]');
  assert.equal(out("$input.json('$')", ''), '{}');
  assert.equal(out("$input.json('$.a.b[*]')", body), '[1,2.0,"x"]');
  assert.equal(out("$input.json('$..b')", body), '[[1,2.0,"x"]]');
});

test('$input.path: scalars, booleans, numbers keep formatting, JSONPath filters, size()', () => {
  const body = '{"items": [{"id": 1, "price": 9.50, "ok": true}, {"id": 2, "price": 20, "ok": false}], "name": "n", "big": 12345678901234567890}';
  assert.equal(out("$input.path('$.name')", body), 'n');
  assert.equal(out("$input.path('$.items[0].price')", body), '9.50');
  assert.equal(out("$input.path('$.items[0].ok') $input.path('$.items[1].ok')", body), 'true false');
  assert.equal(out("$input.path('$.big')", body), '12345678901234567890');
  assert.equal(out("$input.path('$.items').size()", body), '2');
  assert.equal(out("$input.path('$.items[-1].id')", body), '2');
  assert.equal(out('$input.path("$[\'name\']")', body), 'n');
  assert.equal(out("$input.path('$.items[?(@.price < 10)].id')", body), '[1]');
  assert.equal(out("#foreach($i in $input.path('$.items'))$i.id#if($foreach.hasNext),#end#end", body), '1,2');
  assert.equal(out("[$input.path('$.nope.deeper')]", body), '[]');
  assert.equal(out('#set($idx = 1)$input.path("$.items[$idx].id")', body), '2');
});

test('$input.path / $input.json on a body that is not JSON fail with INVALID_JSON_BODY; $input.body does not', () => {
  assert.equal(out('$input.body', 'not json'), 'not json');
  const e = throwsCode(() => out("x\n $input.json('$')", 'not json'), 'INVALID_JSON_BODY');
  assert.equal(e.line, 2);
  throwsCode(() => out("$input.path('$.a')", '{"a":'), 'INVALID_JSON_BODY');
});

test('$input.params(): map of path, querystring, header; params(name) searches path, then querystring, then header', () => {
  const r = { path: { id: 'p', both: 'from-path' }, querystring: { q: '1', both: 'from-qs', hq: 'from-qs' }, header: { 'X-Token': 't', hq: 'from-header' } };
  assert.equal(out("$input.params('both') $input.params('hq') $input.params('X-Token') [$input.params('none')]", '', r), 'from-path from-qs t []');
  // header names: exact first, then case-insensitive
  assert.equal(out("$input.params('x-token')", '', r), 't');
  assert.equal(out("$input.params().header.get('x-token')|$input.params().header.get('X-Token')", '', r), '|t');
  assert.equal(out('#foreach($k in $input.params().keySet())$k #end', '', r), 'path querystring header ');
  assert.equal(out('$input.params().path', '', r), '{id=p, both=from-path}');
});

test('$context and $stageVariables', () => {
  assert.equal(out('$context.stage/$context.requestId/$context.identity.sourceIp/$context.authorizer.claims.sub'), 'prod/abc/192.0.2.1/s-1');
  assert.equal(out("$stageVariables.backend $stageVariables.get('n') [$stageVariables.missing]"), 'b.example 3 []');
  // a template cannot change the caller's context
  const vars: TemplateVariables = { context: { identity: { sourceIp: 'a' } }, stageVariables: {} };
  compileTemplate('#set($context.identity.sourceIp = "b")$context.identity.put("x", 1)').render(req(), vars);
  assert.deepEqual(vars.context, { identity: { sourceIp: 'a' } });
});

test('$util.escapeJavaScript: quotes, backslash, slash, control and non-ASCII characters', () => {
  assert.equal(escapeJavaScript(`it's "x" \\ / \n\t\r\b\f \u0001 é 😀`), `it\\'s \\"x\\" \\\\ \\/ \\n\\t\\r\\b\\f \\u0001 \\u00E9 \\uD83D\\uDE00`);
  assert.equal(out("$util.escapeJavaScript($input.path('$.a'))", '{"a": "O\'Brien"}'), "O\\'Brien");
  assert.equal(out('[$util.escapeJavaScript($nothing)]'), '[]');
  assert.equal(out("$util.escapeJavaScript($input.path('$'))", '{"a": 1}'), '{a=1}');
});

test('$util.urlEncode / urlDecode follow java.net.URLEncoder / URLDecoder', () => {
  assert.equal(urlEncode("a b&c=d/é*-._~!'()"), 'a+b%26c%3Dd%2F%C3%A9*-._%7E%21%27%28%29');
  assert.equal(urlDecode('a+b%26c%3Dd%2F%C3%A9'), 'a b&c=d/é');
  assert.equal(out("$util.urlEncode('x y') $util.urlDecode('x+y%21')"), 'x+y x y!');
  throwsCode(() => out("$util.urlDecode('%zz')"), 'TEMPLATE_RENDER');
});

test('$util.base64Encode / base64Decode / parseJson', () => {
  assert.equal(out("$util.base64Encode('héllo')"), Buffer.from('héllo').toString('base64'));
  assert.equal(out("$util.base64Decode('aMOpbGxv')"), 'héllo');
  assert.equal(out("$util.base64Decode('aGk')"), 'hi');
  throwsCode(() => out("$util.base64Decode('**')"), 'TEMPLATE_RENDER');
  assert.equal(
    out("#set($o = $util.parseJson($input.path('$.inner')))$o.a.b $o.list.get(1) $o", '{"inner": "{\\"a\\": {\\"b\\": 7}, \\"list\\": [1, 2]}"}'),
    '7 2 {a={b=7}, list=[1,2]}',
  );
  throwsCode(() => out("$util.parseJson('{')"), 'INVALID_JSON');
});

test('Java String methods', () => {
  const s = "#set($s = 'Hello, World')";
  assert.equal(out(`${s}$s.length() $s.isEmpty() $s.contains('World') $s.startsWith('He') $s.endsWith('x')`), '12 false true true false');
  assert.equal(
    out(`${s}$s.substring(7) $s.substring(0, 5) $s.toLowerCase() $s.toUpperCase() $s.indexOf('o') $s.charAt(4)`),
    'World Hello hello, world HELLO, WORLD 4 o',
  );
  assert.equal(
    out(`${s}$s.replace('l', 'L') $s.replaceAll('[aeiou]', '*') $s.replaceAll('(\\w+), (\\w+)', '$2 $1') $s.replaceFirst('l', '_')`),
    'HeLLo, WorLd H*ll*, W*rld World Hello He_lo, World',
  );
  assert.equal(out(`${s}$s.matches('H.*d') $s.matches('ello') $s.equals('Hello, World') $s.equalsIgnoreCase('hello, world')`), 'true false true true');
  assert.equal(out("#set($p = 'a,b,,c,,')$p.split(',') $p.split(',').size() $p.split(',', -1).size() $p.split(',')[1]"), '[a, b, , c] 4 6 b');
  assert.equal(out("'$s.trim()'".replace('$s', "#set($t = '  x  ')$t")), "'x'");
  throwsCode(() => out(`${s}$s.substring(20)`), 'TEMPLATE_RENDER');
  throwsCode(() => out(`${s}$s.matches('(a+)+$')`), 'TEMPLATE_RENDER'); // catastrophic backtracking refused
});

test('Java List and Map methods', () => {
  assert.equal(
    out('#set($l = [1, 2, 3])$l $l.size() $l.get(0) $l.contains(2) $l.isEmpty() $l.indexOf(3) $l.subList(1, 3)'),
    '[1, 2, 3] 3 1 true false 2 [2, 3]',
  );
  assert.equal(out('#set($l = [])#set($d = $l.add("a"))#set($d = $l.add("b"))$l $l.remove(0) $l'), '[a, b] a [b]');
  assert.equal(
    out("#set($m = {'a': 1, 'b': 'x'})$m $m.get('a') $m.containsKey('b') $m.containsKey('z') $m.keySet() $m.values() $m.size() $m.isEmpty() [$m.get('z')]"),
    '{a=1, b=x} 1 true false [a, b] [1, x] 2 false []',
  );
  assert.equal(out("#set($m = {'a': 1})#foreach($e in $m.entrySet())$e.key=$e.value $e.getKey()#end"), 'a=1 a');
  assert.equal(out("#set($m = {'a': 1, 'b': 2})#foreach($v in $m)$v#end"), '12');
  assert.equal(out("#set($m = {})[$m.put('k', 'v')][$m.put('k', 'w')] $m.remove('k') $m"), '[][v] w {}');
  assert.equal(out('#set($l = [1, 2])$l.get(5)x'.replace('$l.get(5)', '$l[5]')), 'x');
  throwsCode(() => out('#set($l = [1, 2])$l.get(5)'), 'TEMPLATE_RENDER');
});

test('VTL: #set, #if/#elseif/#else, comparisons, arithmetic, $!, comments, #stop, #break, macros', () => {
  assert.equal(out('#set($a = 5)#if($a > 3)big#elseif($a > 1)mid#{else}small#end'), 'big');
  assert.equal(out('#set($a = 2)#if($a > 3)big#elseif($a > 1)mid#{else}small#end'), 'mid');
  assert.equal(out('#set($a = 7)$a / 2 = #set($b = $a / 2)$b, $a % 2, #set($c = $a * 1.5)$c'), '7 / 2 = 3, 7 % 2, 10.5');
  // Velocity 1.7 truthiness: only null and false are false
  assert.equal(out('#if("")a#end#if(0)b#end#if($nope)c#end#if(false)d#end#if(!$nope)e#end'), 'abe');
  assert.equal(out('#if(1 == "1")eq#end #if("a" == "a" && !("a" != "a"))ok#end #if($nope == $null)null#end #if("" == $nope)x#{else}y#end'), 'eq ok null y');
  assert.equal(out('$nope|$!nope|${nope}|$!{nope}|$nope.deeper.still()'), '||||');
  assert.equal(out('a## line comment\nb#* block *#c'), 'abc');
  assert.equal(out('a#stop b'), 'a');
  assert.equal(out('a#{stop}b \\#stop'), 'a');
  assert.equal(out('a \\#stop b'), 'a #stop b');
  assert.equal(out('#foreach($i in [1..5])$i#if($i == 3)#break#end,#end!'), '1,2,3!');
  assert.equal(
    out('#foreach($i in ["a", "b"])$velocityCount:$foreach.count:$foreach.index:$foreach.first:$foreach.last #end'),
    '1:1:0:true:false 2:2:1:false:true ',
  );
  assert.equal(out('#macro(greet $who)hi $who#end#greet("bob")'), 'hi bob');
  // '-' is an identifier character (Velocity 1.7): "$x-b" names $x-b, "${x}-b" is $x then "-b"
  assert.equal(out('#set($x = "a")#set($y = "${x}-b")$y [$x-b] #set($z = \'$x\')$z'), 'a-b [] $x');
  // velocityjs's parser turns the literal 1.0 into the number 1 (Java prints 1.0): a known difference
  assert.equal(out('#set($n = 1.5)$n #set($big = 2147483648)$big'), '1.5 2147483648');
});

test('whitespace: a directive line swallows its newline; other text is kept as written', () => {
  assert.equal(out('{\n#set($a = 1)\n  "a": $a\n#if(true)\n  ,"b": 2\n#end\n}'), '{\n  "a": 1\n  ,"b": 2\n}');
});

test('requestOverride / responseOverride are collected into overrides', () => {
  const t = compileTemplate(
    [
      '#set($context.requestOverride.header.X-Up = "1")',
      '#set($context.requestOverride.header["x-two"] = 2)',
      '#set($context.requestOverride.querystring.q = "v")',
      '#set($context.requestOverride.path.id = "42")',
      '#set($context.responseOverride.header.X-Down = "d")',
      '#set($context.responseOverride.status = "418")',
      'body',
    ].join('\n'),
  );
  const r = t.render(req(), VARS);
  assert.equal(r.output, 'body');
  // Velocity 1.7 identifiers may contain '-', so `.header.X-Up` names the header X-Up
  assert.deepEqual(r.overrides.request.header, { 'X-Up': '1', 'x-two': '2' });
  assert.deepEqual(r.overrides.querystring, { q: 'v' });
  assert.deepEqual(r.overrides.path, { id: '42' });
  assert.deepEqual(r.overrides.response.header, { 'X-Down': 'd' });
  assert.equal(r.overrides.status, 418);
  assert.deepEqual(r.overrides.header, { 'X-Up': '1', 'x-two': '2', 'X-Down': 'd' });
  const none = compileTemplate('x').render(req(), VARS);
  assert.deepEqual(none.overrides, { header: {}, querystring: {}, path: {}, request: { header: {}, querystring: {}, path: {} }, response: { header: {} } });
  assert.equal(compileTemplate('#set($context.responseOverride.status = "abc")').render(req(), VARS).overrides.status, undefined);
});

test('syntax errors are TemplateError with 1-based line and column', () => {
  const e1 = throwsCode(() => compileTemplate('ok\n#set($x = ', 'bad.vm'), 'TEMPLATE_SYNTAX');
  assert.equal(e1.line, 2);
  assert.equal(typeof e1.column, 'number');
  assert.equal(e1.templateName, 'bad.vm');
  const e2 = throwsCode(() => compileTemplate('a\n  #if($x) b'), 'TEMPLATE_SYNTAX');
  assert.deepEqual([e2.line, e2.column], [2, 3]);
  const e3 = throwsCode(() => compileTemplate('a\nb #end c'), 'TEMPLATE_SYNTAX');
  assert.equal(e3.line, 2);
  throwsCode(() => compileTemplate('#else'), 'TEMPLATE_SYNTAX');
});

test('render errors carry the position of the failing reference', () => {
  const e = throwsCode(() => compileTemplate('line one\nline two $util.base64Decode("!!")').render(req(), VARS), 'TEMPLATE_RENDER');
  assert.deepEqual([e.line, e.column], [2, 10]);
});

test('runaway templates are bounded', () => {
  // one loop: AWS stops at 1,000 iterations
  assert.equal(out('#set($n = 0)#foreach($i in [1..5000])#set($n = $n + 1)#end$n'), String(TEMPLATE_LIMITS.iterationsPerLoop));
  throwsCode(() => out('#foreach($i in [1..1000])#foreach($j in [1..1000])#end#end'), 'TEMPLATE_LIMIT');
  throwsCode(() => out('#foreach($i in [1..100000000])#end'), 'TEMPLATE_LIMIT');
  throwsCode(() => out('#set($s = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")#foreach($i in [1..40])#set($s = "$s$s")#end'), 'TEMPLATE_LIMIT');
  throwsCode(() => out('#macro(r)#r()#end#r()'), 'TEMPLATE_LIMIT');
  const started = process.hrtime.bigint();
  throwsCode(() => out('#foreach($a in [1..100])#foreach($b in [1..100])#foreach($c in [1..100])x#end#end#end'), 'TEMPLATE_LIMIT');
  assert.ok(process.hrtime.bigint() - started < 2_000_000_000n);
});

test('templates cannot reach JavaScript: no prototype access, no function values, no #eval', () => {
  assert.equal(
    out('[$input.constructor][$util.constructor.constructor][$context.toString][$input.__proto__][$toString][$input.body.constructor.name]'),
    '[][][][][][]',
  );
  assert.equal(out("[$input.body.toString.call('x')][$context.hasOwnProperty('stage')][$input.path.apply()]", '{"a":1}'), '[][][]');
  assert.equal(out("#set($c = '#set($x = 1)')#eval($c)[$x]"), '[]');
  assert.equal(out("#set($m = {})$m.put('__proto__', 'p')$m.keySet()#set($o = {})[$o.polluted]"), '[__proto__][]');
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  assert.equal(out('$input.path("$[?(@.constructor.constructor(\'return 1\')())]")', '[{"a":1}]'), '[]');
});

test('selectTemplate follows AWS passthroughBehavior rules', () => {
  const json = compileTemplate('J');
  const xml = compileTemplate('X');
  const both = { 'application/json': json, 'application/xml': xml };
  const pick = (t: Record<string, typeof json>, ct: string | undefined, p: 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER') => {
    const s = selectTemplate(t, ct, p);
    return s.kind === 'template' ? `template:${s.contentType}` : s.kind;
  };
  for (const p of ['WHEN_NO_MATCH', 'WHEN_NO_TEMPLATES', 'NEVER'] as const) {
    // no Content-Type: API Gateway assumes application/json
    assert.equal(pick(both, undefined, p), 'template:application/json');
    assert.equal(pick(both, '', p), 'template:application/json');
    assert.equal(pick(both, 'application/json', p), 'template:application/json');
    assert.equal(pick(both, 'Application/XML; charset=UTF-8', p), 'template:application/xml');
  }
  assert.equal(pick(both, 'text/plain', 'WHEN_NO_MATCH'), 'passthrough');
  assert.equal(pick(both, 'text/plain', 'WHEN_NO_TEMPLATES'), 'unsupported-media-type');
  assert.equal(pick(both, 'text/plain', 'NEVER'), 'unsupported-media-type');
  assert.equal(pick({}, 'text/plain', 'WHEN_NO_MATCH'), 'passthrough');
  assert.equal(pick({}, 'text/plain', 'WHEN_NO_TEMPLATES'), 'passthrough');
  assert.equal(pick({}, 'text/plain', 'NEVER'), 'unsupported-media-type');
  assert.equal(pick({}, undefined, 'NEVER'), 'unsupported-media-type');
  assert.equal(pick({ 'Application/JSON': json }, 'application/json; charset=utf-8', 'NEVER'), 'template:Application/JSON');
  const s = selectTemplate(both, 'application/xml', 'NEVER');
  assert.ok(s.kind === 'template' && s.template === xml);
});

test('render is repeatable: no state leaks between renders of one compiled template', () => {
  const t = compileTemplate('#set($count = $count + 1)#if(!$count)#set($count = 1)#end$count #foreach($i in [1,2])#if($i == 2)#stop#end$i#end');
  assert.equal(t.render(req(), VARS).output, '1 1');
  assert.equal(t.render(req(), VARS).output, '1 1');
});

test('property: render throws nothing but TemplateError for arbitrary bodies, params and templates', () => {
  const template = compileTemplate(
    [
      '#set($root = $input.path("$"))',
      '{"j": $input.json("$"), "a": "$input.path(\'$.a\')", "p": "$util.escapeJavaScript($input.params(\'q\'))",',
      '"n": #if($root.size())$root.size()#{else}0#end, "s": "$root.toString().length()", "u": "$util.urlEncode($input.body)",',
      '"k": [#foreach($k in $root.keySet())"$util.escapeJavaScript($k)"#if($foreach.hasNext),#end#end]}',
    ].join('\n'),
  );
  const json = fc.json();
  fc.assert(
    fc.property(fc.oneof(json, fc.string(), fc.constant('')), fc.string(), (body, q) => {
      try {
        const r = template.render(req(body, { querystring: { q } }), VARS);
        assert.equal(typeof r.output, 'string');
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 60 }), fc.oneof(json, fc.string()), (src, body) => {
      try {
        compileTemplate(src).render(req(body), VARS);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }),
    { numRuns: 400 },
  );
  fc.assert(
    fc.property(fc.stringMatching(/^[$#.()'"a-z[\]{}0-9 !=,@*?<>]{0,40}$/), fc.json(), (src, body) => {
      try {
        compileTemplate(src).render(req(body), VARS);
      } catch (e) {
        if (!(e instanceof TemplateError)) throw e;
      }
    }),
    { numRuns: 600 },
  );
});
