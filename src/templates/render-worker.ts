/**
 * The worker thread that renders mapping templates too large for the event loop (offthread.ts). It
 * receives a template's source (compiled once here, cached by source), the request and the variables
 * as structured clones, and answers the RenderResult or the TemplateError's fields. It holds nothing
 * of the gateway: no sockets, no config, no secrets; a render past its deadline ends with terminate().
 */
import { parentPort } from 'node:worker_threads';
import { type CompiledTemplate, compileTemplate, type TemplateRequest, type TemplateVariables } from './engine.js';
import { TemplateError } from './errors.js';

export interface RenderJob {
  id: number;
  source: string;
  name: string | undefined;
  req: TemplateRequest;
  vars: TemplateVariables;
}

export type RenderAnswer =
  | { id: number; ok: true; result: import('./engine.js').RenderResult }
  | { id: number; ok: false; error: { message: string; code: string; line?: number; column?: number; templateName?: string } };

/** Compiled templates by source; dropped whole when full (a config reload brings new sources). */
const compiled = new Map<string, CompiledTemplate>();
const MAX_CACHED = 512;

function templateFor(source: string, name: string | undefined): CompiledTemplate {
  const key = `${name ?? ''}\0${source}`;
  let t = compiled.get(key);
  if (t === undefined) {
    if (compiled.size >= MAX_CACHED) compiled.clear();
    t = compileTemplate(source, name);
    compiled.set(key, t);
  }
  return t;
}

parentPort?.on('message', (job: RenderJob) => {
  let answer: RenderAnswer;
  try {
    answer = { id: job.id, ok: true, result: templateFor(job.source, job.name).render(job.req, job.vars) };
  } catch (e) {
    const err = e instanceof TemplateError ? e : new TemplateError(`template evaluation failed: ${e instanceof Error ? e.message : String(e)}`, 'TEMPLATE_RENDER');
    answer = {
      id: job.id,
      ok: false,
      error: {
        message: err.message,
        code: err.code,
        ...(err.line !== undefined ? { line: err.line } : {}),
        ...(err.column !== undefined ? { column: err.column } : {}),
        ...(err.templateName !== undefined ? { templateName: err.templateName } : {}),
      },
    };
  }
  parentPort?.postMessage(answer);
});
