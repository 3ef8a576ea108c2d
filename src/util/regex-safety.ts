import safeRegex from 'safe-regex2';

/** True when a user regex risks catastrophic backtracking (star height > 1), checked at config load. */
export function isCatastrophic(source: string): boolean {
  try {
    return !safeRegex(source);
  } catch {
    return true;
  }
}

/** Why a user regex cannot be used (it does not compile, or it can backtrack catastrophically), or undefined. */
export function regexProblem(source: string): string | undefined {
  try {
    new RegExp(source);
  } catch (e) {
    return `invalid regular expression: ${(e as Error).message}`;
  }
  if (isCatastrophic(source)) return `regular expression /${source}/ can backtrack catastrophically (nested quantifiers); rewrite it without a quantified group that itself repeats`;
  return undefined;
}
