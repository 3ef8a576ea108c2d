import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { decodePathParam, normalizeTarget } from '../../src/server/path.js';

type Expect = { path: string; query?: string; encodedSlash?: boolean } | 'BAD';

// [name, request-target, expected]
const cases: ReadonlyArray<readonly [string, string, Expect]> = [
  // plain and fast-path inputs
  ['root', '/', { path: '/' }],
  ['simple path', '/a/b', { path: '/a/b' }],
  ['trailing slash kept', '/a/', { path: '/a/' }],
  ['query split at first ?', '/a/b?x=1&y=2?z', { path: '/a/b', query: 'x=1&y=2?z' }],
  ['empty query', '/a?', { path: '/a', query: '' }],
  ['fragment dropped from path', '/a#frag', { path: '/a', query: '' }],
  ['fragment before ? wins', '/a#frag?x=1', { path: '/a', query: '' }],
  ['fragment dropped from query', '/a?x=1#frag', { path: '/a', query: 'x=1' }],
  ['dot inside a name is fast', '/file.json', { path: '/file.json' }],
  ['trailing dot kept', '/a/b.', { path: '/a/b.' }],
  ['triple dot is a name', '/a/.../b', { path: '/a/.../b' }],
  ['dotfile name', '/.well-known/x', { path: '/.well-known/x' }],
  ['sub-delims kept raw', "/a:b@c!$&'()*+,=", { path: "/a:b@c!$&'()*+,=" }],
  ['path params kept in the segment', '/admin;x=1', { path: '/admin;x=1' }],
  // absolute-form and odd forms
  ['absolute-form: authority dropped', 'http://evil/x', { path: '/x' }],
  ['absolute-form https with port and query', 'HTTPS://evil.com:8443/a/../b?q=1', { path: '/b', query: 'q=1' }],
  ['absolute-form without path', 'http://evil.com?x=1', { path: '/', query: 'x=1' }],
  ['absolute-form bare authority', 'http://evil.com', { path: '/' }],
  ['scheme other than http(s)', 'ftp://evil/x', 'BAD'],
  ['scheme without //', 'http:/x', 'BAD'],
  ['asterisk-form', '*', 'BAD'],
  ['relative target', 'foo/bar', 'BAD'],
  ['empty target', '', 'BAD'],
  ['protocol-relative is a doubled slash', '//evil/x', { path: '/evil/x' }],
  ['many slashes merged', '///a////b//', { path: '/a/b/' }],
  // dot segments
  ['dot segments resolved', '/a/./b/../c', { path: '/a/c' }],
  ['never above root', '/../a', { path: '/a' }],
  ['deep climb clamps at root', '/a/../../../../etc/passwd', { path: '/etc/passwd' }],
  ['trailing .. keeps slash', '/a/b/..', { path: '/a/' }],
  ['trailing . keeps slash', '/a/b/.', { path: '/a/b/' }],
  ['lone ..', '/..', { path: '/' }],
  ['encoded dots climb', '/%2e%2e/', { path: '/' }],
  ['upper-case encoded dots climb', '/a/%2E%2E/b', { path: '/b' }],
  ['mixed encoded dot', '/a/.%2e/b', { path: '/b' }],
  ['slashes merge before dots resolve', '/a//../b', { path: '/b' }],
  ['..; is rejected (Tomcat bypass)', '/a/..;/b', 'BAD'],
  ['.;x is rejected', '/a/.;x/b', 'BAD'],
  ['encoded ..%3B is rejected', '/a/..%3b/b', 'BAD'],
  ['..;x as last segment is rejected', '/a/..;x', 'BAD'],
  ['name starting with .. and not ; is fine', '/a/..x', { path: '/a/..x' }],
  // encoded slashes and backslashes
  ['encoded slash after dots kept encoded', '/..%2f', { path: '/..%2F', encodedSlash: true }],
  ['encoded slash upper-cased', '/a%2fb', { path: '/a%2Fb', encodedSlash: true }],
  ['encoded backslash kept encoded', '/a%5cb', { path: '/a%5Cb', encodedSlash: true }],
  ['encoded slash is not a separator for ..', '/a/b%2F..', { path: '/a/b%2F..', encodedSlash: true }],
  ['raw backslash rejected', '/a\\b', 'BAD'],
  ['raw backslash traversal rejected', '/a/..\\..\\b', 'BAD'],
  // escapes
  ['unreserved tilde decoded', '/%7Euser', { path: '/~user' }],
  ['unreserved letters decoded', '/%41%62%2D%5F', { path: '/Ab-_' }],
  ['reserved escape upper-cased', '/a%3ab', { path: '/a%3Ab' }],
  ['escaped percent stays escaped', '/a%25b', { path: '/a%25b' }],
  ['double-encoded dot not decoded twice', '/%252e%252e/x', { path: '/%252e%252e/x' }],
  ['escaped space kept', '/a%20b', { path: '/a%20b' }],
  ['raw space encoded', '/a b', { path: '/a%20b' }],
  ['raw forbidden ASCII encoded', '/a"<>^`{|}[]', { path: '/a%22%3C%3E%5E%60%7B%7C%7D%5B%5D' }],
  ['malformed escape %G1', '/a%G1', 'BAD'],
  ['truncated escape %4', '/a%4', 'BAD'],
  ['truncated escape before query', '/a%4?x=1', 'BAD'],
  ['lone percent', '/a%', 'BAD'],
  // NUL and controls
  ['encoded NUL', '/a%00', 'BAD'],
  ['raw NUL', '/a\u0000', 'BAD'],
  ['encoded newline', '/a%0d%0aSet-Cookie:x', 'BAD'],
  ['raw tab', '/a\tb', 'BAD'],
  ['encoded DEL', '/a%7f', 'BAD'],
  ['raw DEL', '/a\u007f', 'BAD'],
  ['control char in query', '/a?x=\r\n', 'BAD'],
  ['query escapes are not validated', '/a?x=%00%zz', { path: '/a', query: 'x=%00%zz' }],
  // UTF-8
  ['valid 2-byte UTF-8 escape upper-cased', '/caf%c3%a9', { path: '/caf%C3%A9' }],
  ['valid 3-byte UTF-8 escape', '/%e2%82%ac', { path: '/%E2%82%AC' }],
  ['valid 4-byte UTF-8 escape', '/%F0%9F%98%80', { path: '/%F0%9F%98%80' }],
  ['overlong dots (%c0%ae)', '/%c0%ae%c0%ae/', 'BAD'],
  ['overlong slash (%c0%af)', '/a%c0%afb', 'BAD'],
  ['3-byte overlong (%e0%80%ae)', '/%e0%80%ae', 'BAD'],
  ['UTF-16 surrogate encoded in UTF-8', '/%ED%A0%80', 'BAD'],
  ['above U+10FFFF', '/%F4%90%80%80', 'BAD'],
  ['F5 lead byte', '/%F5%80%80%80', 'BAD'],
  ['lone continuation byte', '/%80', 'BAD'],
  ['truncated sequence at end', '/%E2%82', 'BAD'],
  ['truncated sequence before slash', '/%C3/a', 'BAD'],
  ['sequence interrupted by ASCII', '/%C3a', 'BAD'],
  ['raw UTF-8 bytes (latin1 chars from Node) encoded', '/caf\u00c3\u00a9', { path: '/caf%C3%A9' }],
  ['raw byte + escaped continuation mix', '/caf\u00c3%A9', { path: '/caf%C3%A9' }],
  ['raw lone latin1 byte is not UTF-8', '/caf\u00e9', 'BAD'],
  ['code point above latin1 encoded as UTF-8', '/\u20ac', { path: '/%E2%82%AC' }],
  ['astral code point', '/\u{1F600}', { path: '/%F0%9F%98%80' }],
  ['lone surrogate', '/\ud800', 'BAD'],
  ['raw non-ASCII in query encoded', '/a?q=\u00c3\u00a9 x', { path: '/a', query: 'q=%C3%A9%20x' }],
];

describe('normalizeTarget table', () => {
  test('has at least 40 cases', () => assert.ok(cases.length >= 40));
  for (const [name, target, expected] of cases) {
    test(`${name}: ${JSON.stringify(target)}`, () => {
      const r = normalizeTarget(target);
      if (expected === 'BAD') {
        assert.equal(r.ok, false, `expected BAD_PATH, got ${JSON.stringify(r)}`);
        if (!r.ok) {
          assert.equal(r.code, 'BAD_PATH');
          assert.ok(r.reason.length > 0);
        }
        return;
      }
      assert.ok(r.ok, `expected ok, got ${JSON.stringify(r)}`);
      assert.equal(r.path, expected.path);
      assert.equal(r.rawQuery, expected.query ?? '');
      assert.equal(r.encodedSlash, expected.encodedSlash ?? false);
    });
  }
});

test('fast path returns the input string itself when nothing changes', () => {
  const t = '/users/42/orders';
  const r = normalizeTarget(t);
  assert.ok(r.ok);
  assert.equal(r.path, t);
});

test('decodePathParam', () => {
  assert.equal(decodePathParam('plain'), 'plain');
  assert.equal(decodePathParam('caf%C3%A9'), 'café');
  assert.equal(decodePathParam('a%2Fb'), 'a/b');
  assert.equal(decodePathParam('a%20b+c'), 'a b+c');
  assert.equal(decodePathParam('bad%E2%82'), 'bad%E2%82');
});

// Alphabet biased towards the characters that matter.
const pieces = [
  '/', '//', '.', '..', '%2e', '%2E', '%2f', '%5C', '%41', '%7e', '%25', '%3b', ';', 'a', 'b', 'Z', '~', '-',
  '%c3%a9', '%C0%AE', '%e2%82%ac', '%f0%9f%98%80', '%ED%A0%80', '%80', '%', '%4', '%zz', '%00', '\\', ' ', '"',
  '{', '\u00c3\u00a9', '\u00e9', '\u20ac', '\u{1F600}', '\ud800', '\t', '\u007f', '?', '#', '=', '&', ':', '@',
];
const targetArb = fc
  .array(fc.constantFrom(...pieces), { maxLength: 24 })
  .map((parts) => `/${parts.join('')}`);

function isAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7e || s.charCodeAt(i) < 0x21) return false;
  return true;
}

test('property: ok outputs are canonical, ASCII, dot-free and idempotent', () => {
  fc.assert(
    fc.property(fc.oneof(targetArb, fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `/${s}`)), (target) => {
      const r = normalizeTarget(target);
      if (!r.ok) return;
      const p = r.path;
      assert.ok(p.startsWith('/'), p);
      assert.ok(isAscii(p), `not ASCII: ${JSON.stringify(p)}`);
      assert.ok(!p.includes('//'), p);
      assert.ok(!p.includes('/./') && !p.endsWith('/.'), p);
      assert.ok(!p.includes('/../') && !p.endsWith('/..'), p);
      assert.ok(!p.includes('?') && !p.includes('#') && !p.includes('\\'), p);
      assert.ok(!/%[0-9A-F]?[a-f]/.test(p), `lower-case escape in ${p}`);
      const again = normalizeTarget(p);
      assert.ok(again.ok, `re-normalizing ${p} failed`);
      assert.equal(again.path, p);
      assert.equal(again.encodedSlash, r.encodedSlash);
      assert.ok(isAscii(r.rawQuery) || r.rawQuery === '');
    }),
    { numRuns: 5000 },
  );
});

test('property: never throws on arbitrary strings', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 60 }), (s) => {
      const r = normalizeTarget(s);
      assert.ok(r.ok === true || r.code === 'BAD_PATH');
    }),
    { numRuns: 3000 },
  );
});
