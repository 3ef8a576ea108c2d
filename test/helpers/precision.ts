// One check for "a time limit fires when it should", shared by the deadline tests
// (upstream-timeouts, function-auth-timeouts): never early, the median within setting + boundMs,
// every sample within setting + hiccupMs (a machine hiccup, not a wrong timer).
import assert from 'node:assert/strict';

export interface Precision {
  samples: number;
  boundMs: number;
  hiccupMs: number;
}

/** Asserts the samples of one setting; returns the line the test prints as a diagnostic. */
export function assertPrecise(what: string, setting: number, observed: number[], p: Precision): string {
  const sorted = [...observed].sort((a, b) => a - b);
  const median = sorted[sorted.length >> 1] as number;
  const shown = `${what} ${setting} ms: observed ${sorted.map((x) => x.toFixed(1)).join(', ')} ms`;
  assert.equal(sorted.length, p.samples, shown);
  assert.ok((sorted[0] as number) >= setting, `${shown}: fired before the setting`);
  assert.ok(median <= setting + p.boundMs, `${shown}: median over setting + ${p.boundMs} ms`);
  assert.ok((sorted.at(-1) as number) <= setting + p.hiccupMs, `${shown}: a sample over setting + ${p.hiccupMs} ms`);
  return shown;
}
