/**
 * The one error type the template engine throws. `code` tells the caller what
 * kind of failure it was so it can pick the AWS-style response:
 * - TEMPLATE_SYNTAX: the template does not parse (compile time).
 * - TEMPLATE_RENDER: a method failed while rendering (AWS answers 500).
 * - TEMPLATE_LIMIT: a runaway template hit a guard (iterations, output size, macro depth).
 * - INVALID_JSON_BODY: `$input.path`/`$input.json` on a body that is not JSON
 *   (AWS answers 400 "Could not parse request body into json").
 * - INVALID_JSON: `$util.parseJson` got text that is not JSON.
 * - TEMPLATE_INLINE_BUDGET: a render on the event loop passed its inline budget (time, or a value too
 *   large to touch there); the caller renders it again off the main thread (offthread.ts). Never answered.
 * - TEMPLATE_TIMEOUT: a render passed its deadline (server.limits.templateRenderMs): AWS-style 500.
 */
export type TemplateErrorCode =
  | 'TEMPLATE_SYNTAX'
  | 'TEMPLATE_RENDER'
  | 'TEMPLATE_LIMIT'
  | 'INVALID_JSON_BODY'
  | 'INVALID_JSON'
  | 'TEMPLATE_INLINE_BUDGET'
  | 'TEMPLATE_TIMEOUT';

export class TemplateError extends Error {
  /** 1-based line in the template source, when known. */
  line?: number;
  /** 1-based column in the template source, when known. */
  column?: number;
  readonly code: TemplateErrorCode;
  /** The template name given to compileTemplate, when any. */
  templateName?: string;

  constructor(message: string, code: TemplateErrorCode, pos?: { line?: number | undefined; column?: number | undefined }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TemplateError';
    this.code = code;
    if (pos?.line !== undefined) this.line = pos.line;
    if (pos?.column !== undefined) this.column = pos.column;
  }
}
