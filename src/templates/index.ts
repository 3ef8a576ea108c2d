/**
 * AWS API Gateway mapping templates (VTL): compile once, render per request.
 * See docs/mapping-templates.md.
 */

export {
  type CompiledTemplate,
  compileTemplate,
  type InlineBudget,
  type RenderOverrides,
  type RenderResult,
  TEMPLATE_LIMITS,
  type TemplateRequest,
  type TemplateVariables,
} from './engine.js';
export { TemplateError, type TemplateErrorCode } from './errors.js';
export { DEFAULT_TEMPLATE_BUDGET, renderWithBudget, type TemplateBudget } from './offthread.js';
export { DEFAULT_CONTENT_TYPE, mediaType, type PassthroughBehavior, selectTemplate, type TemplateSelection } from './select.js';
export { base64Decode, base64Encode, escapeJavaScript, urlDecode, urlEncode } from './util.js';
