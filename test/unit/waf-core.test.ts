import assert from 'node:assert/strict';
import { test } from 'node:test';
import safeRegex from 'safe-regex2';
import { decodeForMatch, htmlDecode, percentDecode, stripComments } from '../../src/plugins/waf/decode.js';
import { CORE_RULES, type CoreTarget, compileCore, matchCore } from '../../src/plugins/waf/rules/core.js';
import { waf } from '../../src/plugins/waf/index.js';
import { instance, run } from '../helpers/ip-waf.js';

const ALL = new Set(['sqli', 'xss', 'traversal', 'scanners'] as const);
const pl1 = compileCore(ALL, 1, new Set());
const pl2 = compileCore(ALL, 2, new Set());
const hit = (target: CoreTarget, raw: string, level = pl1) => {
  const t = level.get(target);
  assert.ok(t, target);
  // As the plugin does: the raw target and the User-Agent are matched as sent, everything else decoded.
  return matchCore(t, target === 'raw' || target === 'user-agent' ? raw : decodeForMatch(raw, target === 'query'));
};

test('decoding: %XX twice, %uXXXX, +, HTML entities (named, decimal, hex, no semicolon), JS escapes, comments, whitespace', () => {
  assert.equal(percentDecode('%3Cscript%3E'), '<script>');
  assert.equal(percentDecode('%u003c'), '<');
  assert.equal(percentDecode('%ff%fe'), '\u00ff\u00fe', 'invalid UTF-8 falls back to latin1 instead of throwing');
  assert.equal(htmlDecode('&lt;&#60;&#x3c;&#X3C&colon;&unknown;'), '<<<<:&unknown;');
  assert.equal(stripComments('union/**/select/*x*/1/*open'), 'union select 1/*open');
  assert.equal(decodeForMatch('%253Cscript%253E', false), '<script>');
  assert.equal(decodeForMatch('a+b', true), 'a b');
  assert.equal(decodeForMatch('a+b', false), 'a+b');
  assert.equal(decodeForMatch('a%2Bb', true), 'a+b', 'an encoded + stays a plus');
  assert.equal(decodeForMatch('\\u003cscript\\x3e', false), '<script>');
  assert.equal(decodeForMatch('a \t\n  b', false), 'a b');
  const plain = '/pets/42';
  assert.equal(decodeForMatch(plain, true), plain);
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
  ['query', "id=1; WAITFOR DELAY '0:0:5'", 'core-sqli-functions'],
  ['query', 'q=select table_name from information_schema.tables', 'core-sqli-functions'],
  ['query', 'q=<script>alert(1)</script>', 'core-xss-script'],
  ['query', 'q=%3Cscript%3Ealert(1)%3C%2Fscript%3E', 'core-xss-script'],
  ['query', 'q=&lt;script&gt;alert(1)', 'core-xss-script'],
  ['query', 'q=%26lt%3Bscript%26gt%3B', 'core-xss-script'],
  ['query', 'q=<img src=x onerror=alert(1)>', 'core-xss-handler'],
  ['query', 'q=<svg/onload=alert(1)>', 'core-xss'],
  ['query', 'q=<body%0aonload=alert(1)>', 'core-xss-handler'],
  ['query', 'q="onmouseover="alert(1)', 'core-xss-handler'],
  ['query', 'next=javascript:alert(1)', 'core-xss-js-uri'],
  ['query', 'next=JaVaScRiPt%3Aalert(document.cookie)', 'core-xss'],
  ['query', 'next=javascript&colon;alert(1)', 'core-xss-js-uri'],
  ['query', 'next=data:text/html;base64,PHNjcmlwdD4=', 'core-xss-js-uri'],
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
];

test('core rules: benign inputs pass at paranoia 1', () => {
  for (const input of BENIGN) assert.equal(hit('query', input), undefined, input);
  for (const p of ['/pets/42', '/api/v1/users/me', '/files/report.2024.pdf', '/a/b.c/d', '/search/caf%C3%A9', '/docs/env-setup', '/.well-known/openid-configuration'])
    assert.equal(hit('path', p), undefined, p);
  for (const r of ['/pets?x=%41', '/a%20b', '/files/v1.2.3/x', '/x?q=...']) assert.equal(hit('raw', r), undefined, r);
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
  for (const [t, c] of pl2) assert.equal(c.re.flags, 'i', t);
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
  ];
  for (const s of inputs) {
    const t0 = performance.now();
    for (const plus of [true, false]) {
      const d = decodeForMatch(s, plus);
      for (const t of pl2.values()) matchCore(t, d);
    }
    const ms = performance.now() - t0;
    assert.ok(ms < 250, `${JSON.stringify(s.slice(0, 12))}: ${ms.toFixed(1)} ms`);
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
