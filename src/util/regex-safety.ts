import safeRegex from 'safe-regex2';

/** True when a user regex risks catastrophic backtracking (star height > 1), checked at config load. */
export function isCatastrophic(source: string): boolean {
  try {
    return !safeRegex(source);
  } catch {
    return true;
  }
}
