/**
 * Doc tests (docs/doctests.md): every fenced block of README.md and docs/*.md carries a
 * `<!-- doctest: … -->` marker and is run, validated or skipped with a reason, so a page cannot
 * drift from what the gateway does. Pages run in parallel, each in a temp directory of its own,
 * blocks of one page in order (one reader's terminal session).
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it, test } from 'node:test';
import { parseMarkdown, unmarked } from '../helpers/doctest-markdown.js';
import { type PageCounts, PageRun } from '../helpers/doctest-runner.js';
import { ROOT } from '../helpers/gateway.js';

const FILES = ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
const pages = FILES.map((f) => parseMarkdown(readFileSync(join(ROOT, f), 'utf8'), f));
/** DOCTEST_PAGES=cli,admin-api runs only the pages whose path contains one of these (while editing a page). */
const ONLY = (process.env.DOCTEST_PAGES ?? '').split(',').filter(Boolean);
const totals: PageCounts = { executed: 0, outputs: 0, validated: 0, skipped: 0 };

test('every code block in README.md and docs/*.md has a doctest marker, and every marker is well-formed', () => {
  const missing = pages.flatMap(unmarked);
  const problems = pages.flatMap((p) => p.problems);
  // Unmarked: give the block a marker (run, output, config, validate, file, json, imports, flags, or
  // skip reason="…"): see docs/doctests.md.
  assert.deepEqual([...missing.map((m) => `${m}: no doctest marker`), ...problems], []);
});

// Three pages at a time: most of a page's time is processes starting (node, the gateway) and
// waiting for them, and this shares a 2-core machine with the rest of the suite.
describe('doc pages', { concurrency: 3 }, () => {
  for (const page of pages) {
    if (page.blocks.length === 0) continue;
    if (ONLY.length > 0 && !ONLY.some((o) => page.file.includes(o))) continue;
    it(page.file, async (t) => {
      const run = new PageRun(page);
      await run.run();
      for (const k of Object.keys(totals) as (keyof PageCounts)[]) totals[k] += run.counts[k];
      t.diagnostic(`executed ${run.counts.executed}, outputs asserted ${run.counts.outputs}, validated ${run.counts.validated}, skipped ${run.counts.skipped}`);
      if (run.failures.length > 0) assert.fail(`${run.failures.length} problem(s):\n\n${run.failures.join('\n\n')}`);
    });
  }
});

// Runs after the pages (top-level tests run in order): how much of the docs is executed, for people.
test('doc test counts', (t) => {
  t.diagnostic(
    `${totals.executed} blocks executed (+${totals.outputs} outputs asserted), ${totals.validated} validated, ${totals.skipped} skipped with a reason`,
  );
});
