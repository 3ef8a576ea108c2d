/**
 * Mapping-template selection (AWS "passthroughBehavior"), as a pure function.
 *
 * AWS rules (docs: integration-passthrough-behaviors):
 * - The request's Content-Type picks the template; with no Content-Type,
 *   API Gateway assumes application/json.
 * - WHEN_NO_MATCH: no template for the content type -> pass the body through.
 * - WHEN_NO_TEMPLATES: pass through only when no template is defined at all;
 *   templates defined but none matches -> 415 Unsupported Media Type.
 * - NEVER: no matching template (or none defined) -> 415.
 * Matching compares the media type without parameters (`; charset=...`),
 * case-insensitively, exact key first.
 */
import type { CompiledTemplate } from './engine.js';

export type PassthroughBehavior = 'WHEN_NO_MATCH' | 'WHEN_NO_TEMPLATES' | 'NEVER';

export type TemplateSelection =
  | { kind: 'template'; template: CompiledTemplate; contentType: string }
  | { kind: 'passthrough' }
  | { kind: 'unsupported-media-type' };

export const DEFAULT_CONTENT_TYPE = 'application/json';

const PASSTHROUGH: TemplateSelection = Object.freeze({ kind: 'passthrough' });
const UNSUPPORTED: TemplateSelection = Object.freeze({ kind: 'unsupported-media-type' });

/** `Application/JSON; charset=utf-8` -> `application/json`; '' for nothing. */
export function mediaType(contentType: string | undefined): string {
  if (!contentType) return '';
  const semi = contentType.indexOf(';');
  return (semi === -1 ? contentType : contentType.slice(0, semi)).trim().toLowerCase();
}

export function selectTemplate(
  templates: Readonly<Record<string, CompiledTemplate>>,
  contentType: string | undefined,
  passthrough: PassthroughBehavior,
): TemplateSelection {
  const wanted = mediaType(contentType) || DEFAULT_CONTENT_TYPE;
  let any = false;
  const exact = Object.hasOwn(templates, wanted) ? templates[wanted] : undefined;
  if (exact) return { kind: 'template', template: exact, contentType: wanted };
  for (const key of Object.keys(templates)) {
    any = true;
    const t = templates[key];
    if (t && mediaType(key) === wanted) return { kind: 'template', template: t, contentType: key };
  }
  if (!any) return passthrough === 'NEVER' ? UNSUPPORTED : PASSTHROUGH;
  return passthrough === 'WHEN_NO_MATCH' ? PASSTHROUGH : UNSUPPORTED;
}
