/**
 * A CPU budget for mapping-template renders (issue 11). AWS's stock "method request passthrough"
 * template on an 8 MB JSON body costs seconds of CPU ($input.json('$') parses and re-serialises it);
 * on the event loop that stalls every other client of the process. So a render:
 *
 * 1. runs inline when its body is at most `inlineBytes`, under an inline budget (`inlineMs` of time,
 *    and no single method call on a string longer than `inlineBytes`); renders are pure, so one that
 *    passes the budget (TEMPLATE_INLINE_BUDGET) is simply run again, off the main thread;
 * 2. otherwise runs in a small pool of worker threads (render-worker.ts), with a deadline of
 *    `renderMs` from the moment it was asked for (time queued included). Past the deadline the worker
 *    is terminated (a render cannot be interrupted any other way) and the render fails with
 *    TemplateError TEMPLATE_TIMEOUT, which the integration answers as a 500.
 *
 * The pool is per process, created on first use (a gateway that never renders a large body starts no
 * thread), its threads unref'd; the settings come from server.limits (docs/limits-and-safety.md).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { CompiledTemplate, RenderResult, TemplateRequest, TemplateVariables } from './engine.js';
import { TemplateError, type TemplateErrorCode } from './errors.js';
import type { RenderAnswer, RenderJob } from './render-worker.js';

import { DEFAULT_TEMPLATE_BUDGET, type TemplateBudget } from './budget.js';

export { DEFAULT_TEMPLATE_BUDGET, type TemplateBudget, templateBudgetFrom } from './budget.js';

/** Queued renders beyond this are refused at once (TEMPLATE_TIMEOUT): memory stays bounded under a flood. */
const MAX_QUEUED = 256;
/**
 * A render thread idle this long is ended. Its heap is what a large render left: an idle isolate is
 * not collected (an 8 MB passthrough render left 140 MB live-looking in the thread's heap, held until
 * the process ended), and ending the thread is the only way to hand that memory back. A new thread
 * costs about 30 ms of its own start-up, off the event loop, on the next large render.
 */
export const RENDER_THREAD_IDLE_MS = 2_000;
// Render threads keep the process's priority. Nice 19 was tried, so that the event loop would get a
// core first, but nice is machine-wide: on a machine loaded by other processes a nice-19 render waits
// behind all of them and meets its deadline less often (8 MB renders answered 500 at load ~36), and
// the latency gain could not be shown on that machine.

interface Pending {
  job: RenderJob;
  deadline: number;
  resolve(r: RenderResult): void;
  reject(e: TemplateError): void;
}

class Slot {
  worker: Worker | undefined;
  current: Pending | undefined;
  timer: NodeJS.Timeout | undefined;
  idle: NodeJS.Timeout | undefined;
}

class RenderPool {
  readonly #slots: Slot[];
  readonly #queue: Pending[] = [];
  #seq = 0;

  constructor(size: number) {
    this.#slots = Array.from({ length: size }, () => new Slot());
  }

  render(t: CompiledTemplate, req: TemplateRequest, vars: TemplateVariables, deadline: number): Promise<RenderResult> {
    return new Promise((resolve, reject) => {
      if (this.#queue.length >= MAX_QUEUED) {
        reject(new TemplateError('too many mapping-template renders waiting for a render thread', 'TEMPLATE_TIMEOUT'));
        return;
      }
      this.#queue.push({ job: { id: ++this.#seq, source: t.source, name: t.name, req, vars }, deadline, resolve, reject });
      this.#pump();
    });
  }

  #pump(): void {
    for (const slot of this.#slots) {
      if (slot.current !== undefined) continue;
      let next = this.#queue.shift();
      // Renders whose deadline passed while queued never start.
      while (next !== undefined && next.deadline <= performance.now()) {
        next.reject(timeoutError(next.job.name));
        next = this.#queue.shift();
      }
      if (next === undefined) return;
      this.#start(slot, next);
    }
  }

  #start(slot: Slot, p: Pending): void {
    if (slot.idle !== undefined) clearTimeout(slot.idle);
    slot.idle = undefined;
    const worker = (slot.worker ??= this.#spawn(slot));
    slot.current = p;
    try {
      worker.postMessage(p.job);
    } catch (e) {
      // A value that cannot be cloned (should not happen: templates see plain data).
      slot.current = undefined;
      p.reject(new TemplateError(`template evaluation failed: ${(e as Error).message}`, 'TEMPLATE_RENDER'));
      queueMicrotask(() => this.#pump());
      return;
    }
    // Ref'd: a render in progress keeps the process alive (an idle render thread does not: it is unref'd).
    slot.timer = setTimeout(() => this.#expire(slot, p), Math.max(0, p.deadline - performance.now()));
  }

  #spawn(slot: Slot): Worker {
    const w = new Worker(new URL('./render-worker.js', import.meta.url));
    w.on('message', (a: RenderAnswer) => {
      const p = slot.current;
      if (p === undefined || p.job.id !== a.id) return;
      this.#finish(slot);
      this.#retireWhenIdle(slot, w);
      if (a.ok) p.resolve(a.result);
      else {
        const err = new TemplateError(a.error.message, a.error.code as TemplateErrorCode, a.error);
        if (a.error.templateName !== undefined) err.templateName = a.error.templateName;
        p.reject(err);
      }
      this.#pump();
    });
    const lost = (why: string) => {
      if (slot.worker !== w) return;
      slot.worker = undefined;
      const p = slot.current;
      this.#finish(slot);
      p?.reject(new TemplateError(`template evaluation failed: the render thread ${why}`, 'TEMPLATE_RENDER'));
      this.#pump();
    };
    w.on('error', (e) => lost(`failed: ${e.message}`));
    w.on('exit', (code) => lost(`exited with code ${code}`));
    // After the listeners: adding a 'message' listener refs the worker's port again.
    w.unref();
    return w;
  }

  /** Ends the thread if it gets no render within RENDER_THREAD_IDLE_MS (#start cancels this). */
  #retireWhenIdle(slot: Slot, w: Worker): void {
    if (slot.idle !== undefined) clearTimeout(slot.idle);
    slot.idle = setTimeout(() => {
      slot.idle = undefined;
      if (slot.worker !== w || slot.current !== undefined) return;
      slot.worker = undefined;
      void w.terminate();
    }, RENDER_THREAD_IDLE_MS);
    slot.idle.unref();
  }

  #finish(slot: Slot): void {
    if (slot.timer !== undefined) clearTimeout(slot.timer);
    slot.timer = undefined;
    slot.current = undefined;
  }

  /** The deadline passed mid-render: the only way to stop it is to end the thread. */
  #expire(slot: Slot, p: Pending): void {
    if (slot.current !== p) return;
    const w = slot.worker;
    slot.worker = undefined;
    this.#finish(slot);
    p.reject(timeoutError(p.job.name));
    void w?.terminate();
    this.#pump();
  }
}

function timeoutError(name: string | undefined): TemplateError {
  const e = new TemplateError('the mapping template did not finish within its deadline (server.limits.templateRenderMs)', 'TEMPLATE_TIMEOUT');
  if (name !== undefined) e.templateName = name;
  return e;
}

let pool: RenderPool | undefined;

/** Render threads: one per core but one (the event loop keeps a core), at least one, at most four. */
function renderPool(): RenderPool {
  return (pool ??= new RenderPool(Math.max(1, Math.min(4, availableParallelism() - 1))));
}

/**
 * Renders within the budget: inline when small and quick, else on a render thread. Resolves with the
 * render; rejects with the render's TemplateError, or TEMPLATE_TIMEOUT past `budget.renderMs`.
 */
export function renderWithBudget(t: CompiledTemplate, req: TemplateRequest, vars: TemplateVariables, budget: TemplateBudget = DEFAULT_TEMPLATE_BUDGET): RenderResult | Promise<RenderResult> {
  const started = performance.now();
  if (req.body.length <= budget.inlineBytes) {
    try {
      return t.render(req, vars, { deadline: started + budget.inlineMs, maxChars: budget.inlineBytes });
    } catch (e) {
      if (!(e instanceof TemplateError) || e.code !== 'TEMPLATE_INLINE_BUDGET') throw e;
    }
  }
  return renderPool().render(t, req, vars, started + budget.renderMs);
}
