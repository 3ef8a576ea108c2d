/**
 * Fuzzing in CI (docs/testing.md, "Fuzzing"): each target is a fast-check property with a time budget
 * per run, a logged seed, and a file of regression cases replayed before any random input.
 *
 * - Budget: TURNPIKE_FUZZ_MS per target (default 3000 ms; CI may raise it); the run stops after that
 *   many milliseconds or TURNPIKE_FUZZ_RUNS inputs (default 100000), whichever comes first.
 * - Seed: TURNPIKE_FUZZ_SEED, else a random one; printed as a test diagnostic (`# fuzz <target>: seed
 *   ...`) so a failure replays exactly with TURNPIKE_FUZZ_SEED=<seed>.
 * - Regressions: test/fuzz/regressions/<target>.json, a JSON array of `{ "input": <the generated value,
 *   as JSON>, "note": "what it found" }`, replayed first, in order. On a failure the harness prints the
 *   shrunk counterexample in that shape: add it to the file with the fix.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import fc from 'fast-check';
import { ROOT } from '../helpers/gateway.js';

export const FUZZ_MS = Number(process.env.TURNPIKE_FUZZ_MS ?? 3_000);
const FUZZ_RUNS = Number(process.env.TURNPIKE_FUZZ_RUNS ?? 100_000);

export interface RegressionCase<T> {
  input: T;
  note?: string;
}

/** The regression cases of a target (none when the file does not exist yet). */
export function regressions<T>(target: string): RegressionCase<T>[] {
  let text: string;
  try {
    text = readFileSync(join(ROOT, 'test', 'fuzz', 'regressions', `${target}.json`), 'utf8');
  } catch {
    return [];
  }
  const cases = JSON.parse(text) as RegressionCase<T>[];
  assert.ok(Array.isArray(cases), `regressions/${target}.json must be a JSON array`);
  return cases;
}

/**
 * Replays the target's regression cases, then checks `check` on random inputs from `arb` within the
 * budget. `check` throws (or rejects) to fail.
 */
export async function fuzz<T>(t: TestContext, target: string, arb: fc.Arbitrary<T>, check: (input: T) => void | Promise<void>, opts: { ms?: number } = {}): Promise<void> {
  for (const [i, c] of regressions<T>(target).entries()) {
    try {
      await check(c.input);
    } catch (e) {
      throw new Error(`regression case ${i} of regressions/${target}.json (${c.note ?? 'no note'}) fails again: ${(e as Error).message}`, { cause: e });
    }
  }
  const seed = process.env.TURNPIKE_FUZZ_SEED !== undefined ? Number(process.env.TURNPIKE_FUZZ_SEED) : (Math.random() * 2 ** 31) | 0;
  const ms = opts.ms ?? FUZZ_MS;
  let runs = 0;
  const details = await fc.check(
    fc.asyncProperty(arb, async (input) => {
      runs++;
      await check(input);
    }),
    { seed, numRuns: FUZZ_RUNS, interruptAfterTimeLimit: ms, markInterruptAsFailure: false },
  );
  t.diagnostic(`fuzz ${target}: seed ${seed}, ${runs} inputs in ${ms} ms budget`);
  if (details.failed) {
    const counterexample = details.counterexample?.[0];
    const line = JSON.stringify({ input: counterexample, note: `found by seed ${seed}` });
    throw new Error(
      `fuzz ${target} failed (seed ${seed}, replay with TURNPIKE_FUZZ_SEED=${seed}); add to test/fuzz/regressions/${target}.json:\n${line}\n${details.errorInstance instanceof Error ? details.errorInstance.stack : String(details.errorInstance)}`,
    );
  }
}
