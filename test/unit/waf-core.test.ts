import assert from 'node:assert/strict';
import { test } from 'node:test';
import safeRegex from 'safe-regex2';
import { cookieFields, decodeForMatch, formFields, handleComments, headerText, htmlDecode, isPlain, jsonFields, percentDecode, SEP, viewsOf } from '../../src/plugins/waf/decode.js';
import { CORE_RULES, type CoreTarget, compileCore, matchCore } from '../../src/plugins/waf/rules/core.js';
import { waf } from '../../src/plugins/waf/index.js';
import { instance, run } from '../helpers/ip-waf.js';

const ALL = new Set(['sqli', 'xss', 'traversal', 'scanners'] as const);
const pl1 = compileCore(ALL, 1, new Set());
const pl2 = compileCore(ALL, 2, new Set());
const hit = (target: CoreTarget, raw: string, level = pl1) => {
  const t = level.get(target);
  assert.ok(t, target);
  // As the plugin does: the raw target and the User-Agent are matched as sent; a query is split into
  // its names and values, and every view of them is scanned.
  if (target === 'raw' || target === 'user-agent') return matchCore(t, raw);
  const fields: string[] = [];
  if (target === 'query') formFields(raw, fields);
  else fields.push(raw);
  for (const view of viewsOf(fields, target === 'query')) {
    const id = matchCore(t, view);
    if (id !== undefined) return id;
  }
  return undefined;
};

test('decoding: %XX twice, %uXXXX, +, HTML entities (named, decimal, hex, no semicolon), JS escapes, comments, whitespace', () => {
  assert.equal(percentDecode('%3Cscript%3E'), '<script>');
  assert.equal(percentDecode('%u003c'), '<');
  assert.equal(percentDecode('%ff%fe'), '\u00ff\u00fe', 'invalid UTF-8 falls back to latin1 instead of throwing');
  assert.equal(htmlDecode('&lt;&#60;&#x3c;&#X3C&colon;&unknown;'), '<<<<:&unknown;');
  assert.equal(decodeForMatch('%253Cscript%253E', false), '<script>');
  assert.equal(decodeForMatch('a+b', true), 'a b');
  assert.equal(decodeForMatch('a+b', false), 'a+b');
  assert.equal(decodeForMatch('a%2Bb', true), 'a+b', 'an encoded + stays a plus');
  assert.equal(decodeForMatch('\\u003cscript\\x3e', false), '<script>');
  assert.equal(decodeForMatch('a \t\n  b', false), 'a b');
  assert.equal(decodeForMatch('%25252e', false), '.', 'three rounds of %XX');
  assert.equal(decodeForMatch('%22+WAITFOR', false), '" WAITFOR', 'a URL-encoded value has its + as spaces even outside a query');
  assert.equal(decodeForMatch('C++', false), 'C++');
  assert.equal(decodeForMatch('\uff1cscript\uff1e', false), '<script>', 'full-width forms');
  assert.equal(decodeForMatch('ja&amp;tab;vascript', false), 'ja vascript', 'entities twice (an XML body, then HTML)');
  assert.equal(decodeForMatch('a\0b\x01c', false), 'abc', 'NUL and the view separator go');
  const plain = '/pets/42';
  assert.equal(decodeForMatch(plain, true), plain);
});

test('comments: replaced, removed, MySQL versioned comments keep their code, line comments end at the newline', () => {
  assert.equal(handleComments('union/**/select/*x*/1/*open', ' '), 'union select 1 ');
  assert.equal(handleComments('UN/**/ION SEL/**/ECT', ''), 'UNION SELECT');
  assert.equal(handleComments('1 /*!50000UNION*/ /*!50000SELECT*/ 2', ' '), '1  UNION   SELECT  2');
  assert.equal(handleComments('/*!UNION*//*!SELECT*/', ''), 'UNIONSELECT');
  assert.equal(handleComments('/*!00000select*/*/*!00000from*/t', ' '), ' select * from t', 'a "*/" after a versioned comment is text');
  assert.equal(handleComments('x/*+ hint */y', ''), 'x hint y');
  assert.equal(handleComments('1 UNION#x\nSELECT', ''), '1 UNION\nSELECT');
  assert.equal(handleComments('1 UNION-- x\nSELECT', ' '), '1 UNION \nSELECT');
  assert.equal(handleComments('no comment', ''), 'no comment');
  assert.equal(handleComments('a*/b', ''), 'a*/b', 'a closing marker alone is text');
});

test('views: one undecoded view for plain values (the fast path), up to three when a value holds a comment, deduplicated', () => {
  assert.deepEqual(viewsOf(['q', 'red shoes', 'size', '42'], true), [`q${SEP}red shoes${SEP}size${SEP}42`]);
  assert.deepEqual(viewsOf(['/pets/42'], false), ['/pets/42']);
  assert.deepEqual(viewsOf(['q', 'red+shoes'], true), [`q${SEP}red shoes`]);
  assert.deepEqual(viewsOf(['id', '1/**/UNION/**/SELECT'], false), [`id${SEP}1/**/UNION/**/SELECT`, `id${SEP}1 UNION SELECT`, `id${SEP}1UNIONSELECT`]);
  assert.deepEqual(viewsOf(['x', 'a#b\nc'], false), [`x${SEP}a#b c`, `x${SEP}a c`], 'replacing and removing a line comment give the same view');
  assert.deepEqual(viewsOf(['a%01b'], false), ['ab'], 'a value cannot forge a separator');
  const fields: string[] = [];
  formFields('a=1&b=&=c&d&&e=x%26y=z', fields);
  assert.deepEqual(fields, ['a', '1', 'b', 'c', 'd', 'e', 'x%26y=z']);
  const cookies: string[] = [];
  cookieFields(['a=1; b=x=y', ' c ;d='], cookies);
  assert.deepEqual(cookies, ['a', '1', 'b', 'x=y', 'c', 'd']);
  assert.equal(headerText(Buffer.from('＜script＞', 'utf8').toString('latin1')), '＜script＞', 'UTF-8 bytes Node read as latin1');
  assert.equal(headerText('caf\u00e9'), 'caf\u00e9', 'latin1 that is not UTF-8 stays');
  const json: string[] = [];
  jsonFields('{"a":"x\\u003cy","b\\"c":[1,true,null,{"d":""}],"e":"select a plan"}', json);
  assert.deepEqual(json, ['a', 'x<y', 'b"c', 'd', 'e', 'select a plan']);
  const notJson: string[] = [];
  jsonFields('{"a":1} union select 1', notJson);
  assert.deepEqual(notJson, ['a', '{:1} union select 1'], 'whatever is not JSON is inspected too');
  const escaped: string[] = [];
  jsonFields('{"a":"q\\"uote","b":"back\\\\","c":"open', escaped);
  assert.deepEqual(escaped, ['a', 'q"uote', 'b', 'back\\', 'c', '{:,:,:"open'], 'escaped quotes; an unterminated string stays in the rest');
  assert.equal(isPlain('a=1&b=two', true), true);
  assert.equal(isPlain('a=1+2', true), false);
  assert.equal(isPlain('{"a":"b"}', false), true);
  assert.equal(isPlain('{"a":"x/*y"}', false), false);
});

const POSITIVES: [CoreTarget, string, string][] = [
  ['query', "id=1' OR 1=1--", 'core-sqli'],
  ['query', "user=admin' or '1'='1", 'core-sqli-tautology'],
  ['query', 'q=%27%20OR%20%27a%27%3D%27a', 'core-sqli-tautology'],
  ['query', 'q=" OR true--', 'core-sqli-tautology'],
  ['query', "q=x')) or (('1'='1", 'core-sqli-tautology'],
  ['query', 'id=5 OR 1=1', 'core-sqli-numeric-tautology'],
  ['query', 'id=1 UNION SELECT password FROM users', 'core-sqli-union'],
  ['query', 'id=1+UNION+ALL+SELECT+NULL', 'core-sqli-union'],
  ['query', 'id=1/**/UNION/**/SELECT/**/1', 'core-sqli-union'],
  ['query', 'id=1%2F%2A%2A%2FuNiOn%2F%2A%2A%2FsElEcT', 'core-sqli-union'],
  ['query', "user=admin'--", 'core-sqli-comment'],
  ['query', "user=admin'%23", 'core-sqli-comment'],
  ['query', "user=admin'/*", 'core-sqli-comment'],
  ['query', 'id=1;DROP TABLE users', 'core-sqli-stacked'],
  ['query', "id=1'; exec xp_cmdshell 'dir'", 'core-sqli'],
  ['query', 'id=1 AND SLEEP(5)', 'core-sqli-functions'],
  ['query', "id=1; WAITFOR DELAY '0:0:5'", 'core-sqli-time-delay'],
  ['query', 'q=select table_name from information_schema.tables', 'core-sqli-catalog'],
  ['query', 'q=<script>alert(1)</script>', 'core-xss'],
  ['query', 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'core-xss'],
  ['query', 'q=%26lt;script%26gt;', 'core-xss-script'],
  ['query', 'q=%26lt%3Bscript%26gt%3B', 'core-xss-script'],
  ['query', 'q=<img src=x onerror=alert(1)>', 'core-xss-handler'],
  ['query', 'q=<svg/onload=alert(1)>', 'core-xss'],
  ['query', 'q=<body%0aonload=alert(1)>', 'core-xss-handler'],
  ['query', 'q="onmouseover="alert(1)', 'core-xss-handler'],
  ['query', 'next=javascript:alert(1)', 'core-xss'],
  ['query', 'next=JaVaScRiPt%3Aalert(document.cookie)', 'core-xss'],
  ['query', 'next=javascript%26colon;void(0)', 'core-xss-js-uri'],
  ['query', 'next=data:text/html;base64,PHNjcmlwdD4=', 'core-xss-data-uri'],
  ['query', 'q=<iframe src=//evil>', 'core-xss-tags'],
  ['query', 'file=../../etc/passwd', 'core-traversal'],
  ['query', 'file=..%2F..%2Fapp.js', 'core-traversal-dotdot'],
  ['query', 'file=%2e%2e%2f%2e%2e%2fapp.js', 'core-traversal-dotdot'],
  ['query', 'file=%252e%252e%252fapp.js', 'core-traversal-dotdot'],
  ['query', 'file=..\\..\\boot.ini', 'core-traversal'],
  ['query', 'file=/proc/self/environ', 'core-traversal-files'],
  ['path', '/static/%252e%252e/%252e%252e/secret', 'core-traversal-dotdot'],
  ['path', '/.env', 'core-traversal-files'],
  ['path', '/.git/config', 'core-traversal-files'],
  ['path', '/search/%3Cscript%3E', 'core-xss-script'],
  ['raw', '/a/%2e%2e/b', 'core-traversal-encoded'],
  ['raw', '/a/%2E%2e/b', 'core-traversal-encoded'],
  ['raw', '/x?f=%252e%252e%252f', 'core-traversal-encoded'],
  ['raw', '/x?f=.%2e/', 'core-traversal-encoded'],
  ['raw', '/x?f=%c0%ae%c0%ae/', 'core-traversal-encoded'],
  ['raw', '/x?f=%u002e%u002e/', 'core-traversal-encoded'],
  ['user-agent', 'sqlmap/1.7.2#stable (https://sqlmap.org)', 'core-scanner-user-agent'],
  ['user-agent', 'Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)', 'core-scanner-user-agent'],
  ['user-agent', 'Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)', 'core-scanner-user-agent'],
  ['user-agent', 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/81.0.4044.138 Safari/537.36 acunetix', 'core-scanner-user-agent'],
  ['user-agent', 'Nuclei - Open-source project (github.com/projectdiscovery/nuclei)', 'core-scanner-user-agent'],
  ['user-agent', 'Fuzz Faster U Fool v2.1.0 ffuf', 'core-scanner-user-agent'],
  // Issue 19: sqlmap's tamper evasions, each blocked when written with plain spaces.
  ['query', `id=${encodeURIComponent('1 /*!50000UNION*/ /*!50000SELECT*/ password FROM users')}`, 'core-sqli'],
  ['query', `id=${encodeURIComponent('1 /*!UNION*/ /*!SELECT*/ password')}`, 'core-sqli'],
  ['query', `id=${encodeURIComponent('1 UNION#x\nSELECT password FROM users')}`, 'core-sqli-union'],
  ['query', `id=${encodeURIComponent('1 UNION-- x\nSELECT password FROM users')}`, 'core-sqli-union'],
  ['query', `id=${encodeURIComponent('1 UN/**/ION SEL/**/ECT password FROM users')}`, 'core-sqli-union'],
  ['query', `id=${encodeURIComponent('UNI/*x*/ON ALL SELE/*y*/CT password FROM users')}`, 'core-sqli-union'],
  // A payload that works inside a quoted string: "/*" there is text, not a comment.
  ['query', `q=${encodeURIComponent("x/*' OR 1=1 -- */")}`, 'core-sqli-tautology'],
  ['query', 'id=1+UNION+DISTINCTROW+SELECT+1', 'core-sqli-union'],
  ['query', 'q=%27x%27%21%3D%27y', 'core-sqli-after-quote'],
  ['query', "q=x';select+password", 'core-sqli-after-quote'],
  ['query', 'q=concat(0x7e,version())', 'core-sqli-function-call'],
  ['query', 'q=database ()', 'core-sqli-function-call'],
  ['query', 'q=1 AND SUBSTRING((SELECT 1),1,1)', 'core-sqli'],
  ['query', 'q=@@version', 'core-sqli-catalog'],
  ['query', 'q=tempdb', 'core-sqli-catalog'],
  ['query', 'q=declare @x varchar(99)', 'core-sqli-mssql'],
  ['query', "q=1 INTO OUTFILE '/tmp/x'", 'core-sqli-mssql'],
  ['query', 'q=) like (', 'core-sqli-conditional'],
  ['query', 'q=SELECT x HAVING COUNT(id) > 1', 'core-sqli'],
  ['query', 'q=ALTER TABLE users ADD admin int', 'core-sqli-ddl'],
  ['query', 'q=password::int', 'core-sqli-json'],
  ['query', `q=${encodeURIComponent(`'{"a":1}'::jsonb @> '{"a":1}'`)}`, 'core-sqli-json'],
  ['query', 'q=1.e(ascii 1)', 'core-sqli-mysql-syntax'],
  ['query', "email=admin@example.com';", 'core-sqli-auth-bypass'],
  ['query', 'user[$ne]=x', 'core-sqli-nosql'],
  ['query', 'x=2.2250738585072011e-308', 'core-sqli-magic-number'],
  ['query', 'q=9999+or+/*%2Boptimizer+hint+*/+true', 'core-sqli'],
  ['query', 'q=%EF%BC%9Cscript%EF%BC%9E', 'core-xss-script'],
  ['query', 'q=%3Cx:script src=//x%3E', 'core-xss-script'],
  ['query', 'q=%3Cf o r m', 'core-xss-tags'],
  ['query', 'q=%3Cx onbeforehellfreezes=1%3E', 'core-xss-handler'],
  ['query', 'q=ja%26tab;vascript:', 'core-xss-js-uri'],
  ['query', 'q=style=background:url(javascript', 'core-xss-css'],
  ['query', `q=${encodeURIComponent('<a xmlns:x="http://www.w3.org/1999/xhtml">')}`, 'core-xss'],
  ['query', `q=${encodeURIComponent('<!ENTITY % x SYSTEM "http://x/">')}`, 'core-xss'],
  ['query', 'q=document /*x*/ . cookie', 'core-xss-dom'],
  ['query', `q=${encodeURIComponent("self['alert'](1)")}`, 'core-xss'],
  ['query', 'q=setTimeout(name)', 'core-xss-js-call'],
  ['query', 'q=[].sort.call`$' + '{alert}1`', 'core-xss-js-obfuscation'],
  ['query', 'q=%2bADw-script%2bAD4-', 'core-xss-charset'],
  ['header', 'Mozilla/5.0 <img onclick=alert(1)>', 'core-xss'],
  ['header', "https://example.com/?q=1 waitfor delay '0:0:15' --", 'core-sqli-time-delay'],
  ['path', '/get/if(now()=sysdate(),sleep(12),0)', 'core-sqli'],
];

test('core rules: true positives (each names the rule that matched)', () => {
  for (const [target, input, idPrefix] of POSITIVES) {
    const id = hit(target, input);
    assert.ok(id?.startsWith(idPrefix), `${target} ${input} -> ${id}`);
  }
});

/** Ordinary input that must pass at paranoia 1 (query strings as a browser would send them). */
const BENIGN = [
  "name=O'Brien",
  "name=O%27Brien&city=Coeur+d%27Alene",
  'q=select a plan',
  'q=select+a+plan+from+the+list',
  'q=1=1 is math',
  'q=1%2B1%3D2',
  'q=drop by later',
  'q=insert coin; update later',
  'q=rock & roll',
  'q=AT%26T',
  'q=100%25 sure',
  'q=50% off',
  'q=JavaScript: The Good Parts',
  'q=javascript tutorial',
  'q=onerror handling in node',
  'status=online&once=true',
  'q=3..5',
  'q=wait...',
  'path=a/b/c',
  'q=union station',
  'q=union+selection+committee',
  "q=it's or not",
  "q=O'Reilly OR Manning",
  'q="quoted" or not',
  "q=he said 'hi' and left",
  "q=Tom's and Jerry's",
  'q=x -- y',
  'tag=%23blue',
  'q=C%2B%2B',
  'file=report.tar.gz',
  'email=someone%40example.com',
  'q=<b>bold</b>',
  'q=I <3 you',
  'q=a < b and c > d',
  'sort=-created_at&page=2',
  'redirect=https%3A%2F%2Fapp.example.com%2Fhome',
  'q=regular expression (regex)',
  'q=sleep well',
  'q=the script ran',
  'json=%7B%22a%22%3A%22--x%22%2C%22b%22%3A%22%23tag%22%7D',
  'q=café&x=%E2%9C%93',
  'token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig',
  'q=where 2>1 or so',
  'q=I sleep well!',
  'q=Left (WA, RR), south',
  'q=Price in Rand (ZAR)',
  'q=Haßelt (1599)',
  'q=the user(s) can edit',
  'q=having fun (really)',
  'q=In case when you arrive then call',
  'q=Create table layouts with CSS',
  'q=Northwind Traders',
  'q=Order #12345 -- shipped',
  'q=src/**/*.js',
  'q=C# and F#',
  "q=my name is 'foo'; and I work here",
  "email='foo';'bar';'def'",
  'q=alert (red)',
  'q=import (and export)',
  'q=JavaScript: "The Good Parts"',
  'q=std::string and Foo::Text',
  '%24existingUser=admin',
  'q=how was your day today?',
  'q=Find your solution here -> link',
  'q=1.e.g. example',
  'sign=VGhhbmtzLCBmb3IgYWxsIHlvdXIgd29yayBzaW5jZSB5ZWFycyBvbiBDUlMuIEh1bQo%2Fonafe%3D',
];

test('core rules: benign inputs pass at paranoia 1', () => {
  for (const input of BENIGN) assert.equal(hit('query', input), undefined, input);
  for (const p of ['/pets/42', '/api/v1/users/me', '/files/report.2024.pdf', '/a/b.c/d', '/search/caf%C3%A9', '/docs/env-setup', '/.well-known/openid-configuration'])
    assert.equal(hit('path', p), undefined, p);
  for (const r of ['/pets?x=%41', '/a%20b', '/files/v1.2.3/x', '/x?q=...']) assert.equal(hit('raw', r), undefined, r);
  for (const h of [
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36 Edg/120.0',
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1',
    'Dalvik/2.1.0 (Linux; U; Android 11; SM-A505F Build/RP1A.200720.012)',
    'https://www.google.com/search?q=union+station+select+hotels&oq=x',
    'https://shop.example.com/products?version=premium&option=deluxe',
    'https://docs.example.com/guide#section=introduction',
  ])
    assert.equal(hit('header', h), undefined, h);
  for (const ua of [
    'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36',
    'curl/8.5.0',
    'okhttp/4.12.0',
    'python-requests/2.31.0',
    'Googlebot/2.1 (+http://www.google.com/bot.html)',
  ])
    assert.equal(hit('user-agent', ua), undefined, ua);
});

test('paranoia 2 adds broader rules that flag some legitimate prose', () => {
  assert.equal(hit('query', 'q=select+a+plan+from+the+list', pl2), 'core-sqli-select-from');
  assert.equal(hit('query', 'q=<b>bold</b>', pl2), 'core-xss-any-tag');
  assert.equal(hit('query', 'q=<b>bold</b>', pl1), undefined);
});

test('every core pattern passes safe-regex2 (the joined RegExp is an alternation of them: its star height is theirs)', () => {
  for (const r of CORE_RULES) assert.equal(safeRegex(r.pattern), true, r.id);
  for (const [t, c] of pl2) for (const p of c.parts) assert.equal(p.re.flags, 'i', t);
  // `needs` is checked with a case-sensitive includes: it must hold no letter (UTF-7's +ADw- is case-sensitive itself).
  for (const r of CORE_RULES) for (const n of r.needs ?? []) assert.ok(!/[a-z]/i.test(n) || n === '+ADw-', `${r.id}: ${n}`);
  assert.equal(new Set(CORE_RULES.map((r) => r.id)).size, CORE_RULES.length, 'rule ids are unique');
});

test('adversarial inputs (64 KiB) decode and scan in bounded time', () => {
  const n = 65_536;
  const inputs = [
    `'${' '.repeat(n)}`,
    `'${')'.repeat(n)} or`,
    `' or ${'a'.repeat(n)}`,
    "' or ".repeat(n / 5),
    '<'.repeat(n),
    '/.'.repeat(n / 2),
    '%2e'.repeat(n / 3),
    '%25'.repeat(n / 3),
    '\\u'.repeat(n / 2),
    '&#'.repeat(n / 2),
    '/*'.repeat(n / 2),
    '1 or 1'.repeat(n / 6),
    'union '.repeat(n / 6),
    'select '.repeat(n / 7),
    `${'a'.repeat(n)}'`,
    ' on'.repeat(n / 3),
    'javascript'.repeat(n / 10),
    '#'.repeat(n),
    '-'.repeat(n),
    '/*!'.repeat(n / 3),
    '*/'.repeat(n / 2),
    '/*!1'.repeat(n / 4),
    "'".repeat(n),
    `${"'".repeat(n)};`,
    `${'a'.repeat(n)}';`,
    '<a '.repeat(n / 3),
    '<a onx'.repeat(n / 6),
    "'{".repeat(n / 2),
    `'{${'a'.repeat(n)}`,
    ' case when'.repeat(n / 10),
    'sleep('.repeat(n / 6),
    'concat ('.repeat(n / 8),
    '1.e('.repeat(n / 4),
    '<f'.repeat(n / 2),
    '\u00bc/a'.repeat(n / 3),
    '&amp;'.repeat(n / 5),
    '%ff'.repeat(n / 3),
    '\uff1c'.repeat(n),
    'x'.repeat(n).split('').join('\x01'),
  ];
  for (const s of inputs) {
    // The best of three runs: the limit is there to catch super-linear work, not a busy machine.
    let ms = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3 && ms >= 250; k++) {
      const t0 = performance.now();
      for (const plus of [true, false]) {
        for (const view of viewsOf([s], plus)) for (const t of pl2.values()) matchCore(t, view);
      }
      ms = Math.min(ms, performance.now() - t0);
    }
    assert.ok(ms < 250, `${JSON.stringify(s.slice(0, 12))}: ${ms.toFixed(1)} ms`);
  }
  // JSON bodies are cut into their strings first: quotes, escaped quotes and backslash runs stay linear.
  for (const s of ['"'.repeat(n), '"\\"'.repeat(n / 3), `"${'\\'.repeat(n)}"`, `"${'\\"'.repeat(n / 2)}`, '{"a":"b",'.repeat(n / 9)]) {
    let ms = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3 && ms >= 250; k++) {
      const t0 = performance.now();
      const fields: string[] = [];
      jsonFields(s, fields);
      for (const view of viewsOf(fields, false)) for (const t of pl2.values()) matchCore(t, view);
      ms = Math.min(ms, performance.now() - t0);
    }
    assert.ok(ms < 250, `json ${JSON.stringify(s.slice(0, 12))}: ${ms.toFixed(1)} ms`);
  }
});

test('through the plugin: managed groups are independent (only the configured ones run)', async () => {
  const onlyScanners = instance(waf, { managed: ['scanners'] });
  assert.equal(await run(onlyScanners, { rawQuery: 'q=<script>' }), undefined);
  assert.equal((await run(onlyScanners, { headers: [['User-Agent', 'sqlmap/1.7']] }))?.status, 403);
  const traversal = instance(waf, { managed: ['traversal'] });
  assert.equal((await run(traversal, { path: '/a/b', url: '/a/%2e%2e/b' }))?.status, 403);
  assert.equal((await run(traversal, { method: 'POST', body: 'file=../../etc/passwd' }))?.status, 403);
  assert.equal(await run(traversal, { headers: [['cookie', 'theme=dark; lang=en']] }), undefined);
  assert.equal((await run(instance(waf, { managed: ['sqli'] }), { headers: [['cookie', "session=x' OR 1=1--"]] }))?.status, 403);
});
