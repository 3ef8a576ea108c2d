// node:test reporter of a test worker (scripts/test-worker.mjs): counts each file's passed and failed tests
// as node's own summary does (suites are not tests; skipped and todo tests are neither), and hands the
// counts to the worker when the file's root-level suite is reported. It writes one line per error that
// node reports outside every test (a test's timer that throws after the test ended: a failure node
// prints but does not count), which the runner counts as failures when the worker ends.
// A cancelled test (its file's `before` hook failed, say) counts as failed here, where node's summary
// lists it apart: the runner must not report a file that ran none of its tests as passing.
export default async function* workerCounts(source) {
  let pass = 0;
  let fail = 0;
  for await (const event of source) {
    if (event.type === 'test:diagnostic' && event.data.nesting === 0 && /^Error\b/.test(event.data.message)) {
      yield `${JSON.stringify(event.data.message)}\n`;
      continue;
    }
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    const d = event.data;
    if (d.nesting === 0) {
      // Children are reported before their parent, so the counts so far are this file's.
      globalThis[Symbol.for('turnpike.test-worker')]?.reported(d.name, { pass, fail, failed: event.type === 'test:fail' });
      pass = 0;
      fail = 0;
    } else if (d.details?.type !== 'suite' && !d.skip && !d.todo) {
      if (event.type === 'test:pass') pass++;
      else fail++;
    }
  }
}
