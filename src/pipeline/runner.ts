/**
 * Runs compiled hook arrays. Sync-first: while hooks return plain values no promise is created,
 * so a route whose plugins are all synchronous pays no microtask per hook (hot path).
 */
import type { RequestContext } from './context.js';
import type { EarlyAnswer, HookResult, RequestHook, ResponseContext, ResponseHook } from './types.js';

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function';
}

/** Returns the first early response, undefined to continue, or a promise of either. */
export function runRequestHooks(
  ctx: RequestContext,
  hooks: readonly RequestHook[],
  from = 0,
): EarlyAnswer | undefined | Promise<EarlyAnswer | undefined> {
  for (let i = from; i < hooks.length; i++) {
    const r = (hooks[i] as RequestHook)(ctx);
    if (r === undefined) continue;
    if (isThenable(r)) {
      const next = i + 1;
      return (r as Promise<HookResult>).then((v) => (v === undefined ? runRequestHooks(ctx, hooks, next) : v));
    }
    return r as EarlyAnswer;
  }
  return undefined;
}

export function runResponseHooks(ctx: RequestContext, hooks: readonly ResponseHook[], from = 0): Promise<void> | undefined {
  for (let i = from; i < hooks.length; i++) {
    const r = (hooks[i] as ResponseHook)(ctx as ResponseContext);
    if (r !== undefined && isThenable(r)) {
      const next = i + 1;
      return (r as Promise<void>).then(() => runResponseHooks(ctx, hooks, next));
    }
  }
  return undefined;
}
