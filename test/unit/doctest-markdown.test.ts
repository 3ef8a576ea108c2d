/**
 * The doc-test grammar and output matching (test/helpers/doctest-markdown.ts, docs/doctests.md):
 * markers attach to the fence right below them, a block without one is reported, a malformed marker
 * is an error, and expected outputs match with their wildcards and normalisation, and only then.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isTranscript, matchJson, matchText, parseMarkdown, parseMarkerText, parseTranscript, unmarked } from '../helpers/doctest-markdown.js';

const page = (text: string) => parseMarkdown(text, 'p.md');

describe('doctest markers', () => {
  it('parses a mode, quoted and bare attributes', () => {
    assert.deepEqual(parseMarkerText('run exit=22 background wait="http://127.0.0.1:9080/ready" replace=\'a=b\''), {
      mode: 'run',
      attrs: { exit: '22', background: 'true', wait: 'http://127.0.0.1:9080/ready', replace: 'a=b' },
    });
  });

  it('attaches a marker to the next fence (blank lines between are fine) and reports unmarked blocks', () => {
    const p = page('# T\n\n<!-- doctest: run -->\n\n```sh\necho hi\n```\n\ntext\n\n```yaml\na: 1\n```\n');
    assert.equal(p.blocks.length, 2);
    assert.equal(p.blocks[0]?.marker?.mode, 'run');
    assert.equal(p.blocks[0]?.text, 'echo hi\n');
    assert.deepEqual(unmarked(p), ['p.md:11 (```yaml)']);
    assert.deepEqual(p.problems, []);
  });

  it('a marker followed by text instead of a fence is an error, and does not reach a later block', () => {
    const p = page('<!-- doctest: run -->\nsome text\n\n```sh\nx\n```\n');
    assert.equal(p.blocks[0]?.marker, undefined);
    assert.match(p.problems[0] ?? '', /p\.md:1: doctest marker "run" is not directly above a code fence/);
  });

  it('refuses unknown modes and attributes, a skip without a reason, a config without a name', () => {
    const p = page(
      ['<!-- doctest: runn -->', '```sh', 'x', '```', '<!-- doctest: run exits=1 -->', '```sh', 'x', '```', '<!-- doctest: skip -->', '```', 'x', '```', '<!-- doctest: config -->', '```yaml', 'a: 1', '```', ''].join('\n'),
    );
    assert.equal(p.problems.length, 4, p.problems.join('\n'));
    assert.match(p.problems[0] ?? '', /unknown doctest mode "runn"/);
    assert.match(p.problems[1] ?? '', /unknown attribute "exits"/);
    assert.match(p.problems[2] ?? '', /skip needs reason=/);
    assert.match(p.problems[3] ?? '', /config needs name=FILE/);
  });

  it('markers inside a fence are content, not markers', () => {
    const p = page('<!-- doctest: skip reason="shows markers" -->\n```md\n<!-- doctest: run -->\n```\n');
    assert.equal(p.blocks.length, 1);
    assert.equal(p.blocks[0]?.text, '<!-- doctest: run -->\n');
    assert.deepEqual(p.problems, []);
  });

  it('multi-line directives carry a body and keep their place among the blocks; page is one directive', () => {
    const p = page('<!-- doctest: page ports="8080 9080" -->\n<!-- doctest: file name=a/b.yaml\nx: 1\n-->\n<!-- doctest: run -->\n```sh\ncat a/b.yaml\n```\n');
    assert.deepEqual(p.page?.attrs, { ports: '8080 9080' });
    assert.deepEqual(
      p.steps.map((s) => (s.kind === 'block' ? `block ${s.block.marker?.mode}` : `${s.directive.mode} ${s.directive.body}`)),
      ['file x: 1\n', 'block run'],
    );
  });

  it('indented fences (in a list) are found and dedented', () => {
    const p = page('- item:\n\n  <!-- doctest: json -->\n  ```json\n  {"a": 1}\n  ```\n');
    assert.equal(p.blocks[0]?.marker?.mode, 'json');
    assert.equal(p.blocks[0]?.text, '{"a": 1}\n');
  });
});

describe('transcripts', () => {
  it('splits `$ command` lines from their output, with continuation lines', () => {
    const text = '$ turnpike validate a.yaml\na.yaml: ok\n$ echo a \\\n  b\na b\n$ true\n';
    assert.ok(isTranscript(text));
    assert.ok(!isTranscript('turnpike validate a.yaml\n'));
    assert.deepEqual(parseTranscript(text), [
      { command: 'turnpike validate a.yaml', expected: 'a.yaml: ok' },
      { command: 'echo a \n  b', expected: 'a b' },
      { command: 'true', expected: '' },
    ]);
  });
});

describe('output matching', () => {
  it('text: the same lines; trailing spaces and surrounding blank lines do not count', () => {
    assert.equal(matchText('a\nb\n', '\na  \nb\n\n'), undefined);
    assert.match(matchText('a\nb\n', 'a\nc\n') ?? '', /output differs/);
    assert.match(matchText('a\n', 'a\nb\n') ?? '', /output differs/);
  });

  it('… and ... stand for any characters within a line, never across lines', () => {
    assert.equal(matchText('cannot be used: …key values mismatch', 'cannot be used: error:0580:x509 routines::key values mismatch'), undefined);
    assert.equal(matchText('ok (2 routes, ...)', 'ok (2 routes, version 57c4d58a54bd)'), undefined);
    assert.notEqual(matchText('a … b', 'a x\ny b'), undefined);
    // Regex characters in the expected text are literal.
    assert.notEqual(matchText('a.c (d)', 'abc (d)'), undefined);
  });

  it('normalises request ids, timestamps, versions and pids on both sides, and also matches as written', () => {
    assert.equal(
      matchText('x-request-id: 6f1c9a52-0c8e-4d7e-9b1a-3f2f6f0e8d41 at 2026-11-21T16:45:00.000Z, version 57c4d58a54bd', 'x-request-id: 0b9f1c9e-1111-4222-8333-444455556666 at 2027-01-02T03:04:05Z, version 910c5b57df2d'),
      undefined,
    );
    assert.equal(matchText('{"pid":4242,"msg":"listening"}', '{"pid":17,"msg":"listening"}'), undefined);
    assert.equal(matchText('x-request-id: …', 'x-request-id: 0b9f1c9e-1111-4222-8333-444455556666'), undefined);
    assert.notEqual(matchText('version 57c4d58a54bd, 2 routes', 'version 910c5b57df2d, 3 routes'), undefined);
  });

  it('contains: the expected lines within lines of the output, in order', () => {
    const out = 'HTTP/1.1 403 Forbidden\ncontent-type: application/json\ndate: x\n\n{"message":"Forbidden"}';
    assert.equal(matchText('HTTP/1.1 403 Forbidden\n{"message":"Forbidden"}', out, 'contains'), undefined);
    assert.notEqual(matchText('{"message":"Forbidden"}\nHTTP/1.1 403 Forbidden', out, 'contains'), undefined);
    assert.equal(matchText('HTTP/1.1 304 Not Modified', '}HTTP/1.1 304 Not Modified', 'contains'), undefined);
  });

  it('json: same keys, wildcards in strings; json-subset allows more keys; curl notes are ignored', () => {
    const actual = 'curl: (22) The requested URL returned error: 400\n{\n  "message": "rejected",\n  "requestId": "0b9f1c9e-1111-4222-8333-444455556666",\n  "errors": [{"path": "a.b"}]\n}';
    assert.equal(matchJson('{"message":"rejected","requestId":"…","errors":[{"path":"a.b"}]}', actual, false), undefined);
    assert.match(matchJson('{"message":"rejected","errors":[{"path":"a.b"}]}', actual, false) ?? '', /\$\.requestId: not shown in the doc/);
    assert.equal(matchJson('{"message":"rejected"}', actual, true), undefined);
    assert.match(matchJson('{"message":"accepted"}', actual, true) ?? '', /\$\.message: expected "accepted", got "rejected"/);
    assert.match(matchJson('{"errors":[]}', actual, true) ?? '', /expected an array of 0/);
    assert.match(matchJson('{"a":1}', 'not json', true) ?? '', /the output is not JSON/);
  });
});
