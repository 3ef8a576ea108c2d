/** Shapes shared by the pool, the Runtime API and the Node bootstrap (internal). */

export interface LambdaError {
  errorType: string;
  errorMessage: string;
  stack: string[];
}

/** Lambda's Node.js runtime formatting of a thrown value. */
export function toLambdaError(err: unknown): LambdaError {
  try {
    if (err instanceof Error || (typeof err === 'object' && err !== null && 'message' in err && 'stack' in err)) {
      const e = err as Error;
      return {
        errorType: String(e.name ?? 'Error'),
        errorMessage: String(e.message ?? ''),
        stack: typeof e.stack === 'string' ? e.stack.split('\n') : [],
      };
    }
    return { errorType: typeof err, errorMessage: String(err), stack: [] };
  } catch {
    return {
      errorType: 'handled',
      errorMessage: 'callback called with Error argument, but there was a problem while retrieving one or more of its message, name, and stack',
      stack: [],
    };
  }
}
