/**
 * The mapping-template CPU budget's settings (src/templates/offthread.ts runs renders under it). Kept
 * apart from the render pool so that compile can read server.limits without loading worker threads.
 */
export interface TemplateBudget {
  /** Bodies up to this many characters render on the event loop (under inlineMs); larger ones in a worker. */
  inlineBytes: number;
  /** Time a render may take on the event loop before it is moved to a worker. */
  inlineMs: number;
  /** Deadline of a render, queueing included; past it the answer is a 500 (TEMPLATE_TIMEOUT). */
  renderMs: number;
}

export const DEFAULT_TEMPLATE_BUDGET: Readonly<TemplateBudget> = Object.freeze({ inlineBytes: 65_536, inlineMs: 20, renderMs: 10_000 });

/** The budget server.limits sets (templateInlineBytes, templateInlineMs, templateRenderMs), defaults for what it leaves out. */
export function templateBudgetFrom(limits: { templateInlineBytes?: number; templateInlineMs?: number; templateRenderMs?: number } | undefined): TemplateBudget {
  const d = DEFAULT_TEMPLATE_BUDGET;
  return { inlineBytes: limits?.templateInlineBytes ?? d.inlineBytes, inlineMs: limits?.templateInlineMs ?? d.inlineMs, renderMs: limits?.templateRenderMs ?? d.renderMs };
}

