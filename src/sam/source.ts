/**
 * A SAM / CloudFormation template as a config source (DESIGN.md "Seams": config source): the template
 * text becomes a SourceDocument whose `data` is native config (src/sam/transform.ts) and whose
 * `locate` answers native key paths with the template's positions, so validation and compile report
 * at the template's file:line:col like for a native file. `template.describe` turns a native key path
 * in a diagnostic back into the template key path it came from.
 *
 * Loaded lazily by src/config/index.ts, only for files that look like templates.
 */
import { ConfigError, type Diagnostic, formatPath } from '../config/diagnostics.js';
import type { Position, SourceDocument } from '../config/load.js';
import type { Origin, Path } from './context.js';
import { isCloudFormationTemplate, looksLikeTemplate, parseTemplate } from './template.js';
import { type ServedApi, type TransformOptions, transformTemplate } from './transform.js';

export { looksLikeTemplate } from './template.js';
export { localApiKeyValue } from './transform.js';
export { apiId } from './ids.js';
export type { ServedApi } from './transform.js';

export interface TemplateInfo {
  /** The APIs served and where (the start-up log prints their URLs). */
  apis: readonly ServedApi[];
  /** The template key path (formatted) a native key path of a diagnostic came from; undefined when not from this template. */
  describe(nativePath: string): string | undefined;
}

export type TemplateDocument = SourceDocument & { template: TemplateInfo };

/**
 * The native config of a template, or undefined when the text is not a CloudFormation template (a
 * native config that merely has a Resources key). Throws ConfigError with every error, at the
 * template's positions; warnings (keys Turnpike does not implement, resources not run locally) ride
 * on the document's `warnings`, printed at start-up and by `validate`.
 */
export function templateDocument(text: string, file: string, opts: TransformOptions = {}): TemplateDocument | undefined {
  if (!looksLikeTemplate(text)) return undefined;
  const tpl = parseTemplate(text, file);
  if (!isCloudFormationTemplate(tpl.data)) return undefined;
  const result = transformTemplate(tpl, opts);
  const diag = (path: Path, message: string, severity: Diagnostic['severity']): Diagnostic => {
    const pos = tpl.locate(path);
    return { file, line: pos.line, column: pos.column, path: formatPath(path), message, severity };
  };
  const errors = result.problems.filter((p) => p.severity === 'error').map((p) => diag(p.path, p.message, 'error'));
  if (errors.length > 0) throw new ConfigError(errors);
  const warnings = result.problems.filter((p) => p.severity === 'warning').map((p) => diag(p.path, p.message, 'warning'));

  const origin = (path: readonly (string | number)[]): Path => templatePathOf(result.sources, path);
  // Paths a diagnostic may name, in both spellings (formatPath, and compile's plain dotted one).
  const seen = new Map<string, readonly (string | number)[]>();
  const remember = (path: readonly (string | number)[]) => {
    seen.set(formatPath(path), path);
    seen.set(dotted(path), path);
  };
  const locate = (path: readonly (string | number)[]): Position => {
    remember(path);
    return tpl.locate(origin(path));
  };
  const locateKey = (path: readonly (string | number)[]): Position => {
    remember(path);
    return tpl.locateKey(origin(path));
  };
  return {
    file,
    text,
    format: tpl.format,
    data: result.config,
    locate,
    locateKey,
    warnings: [...tpl.warnings, ...warnings],
    template: {
      apis: result.apis,
      describe: (nativePath) => {
        const p = seen.get(nativePath);
        return p === undefined ? undefined : formatPath(origin(p));
      },
    },
  };
}

/** The template key path of a native key path: its nearest mapped parent, plus the rest when that parent is a copy. */
export function templatePathOf(sources: ReadonlyMap<string, Origin>, path: readonly (string | number)[]): Path {
  for (let n = path.length; n >= 0; n--) {
    const o = sources.get(formatPath(path.slice(0, n)));
    if (o !== undefined) return o.copy ? [...o.to, ...path.slice(n)] : o.to;
  }
  return [];
}

/** compile.ts's spelling of a key path: `apis[0].routes[2].integration`, keys never quoted. */
function dotted(path: readonly (string | number)[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : out === '' ? p : `.${p}`;
  return out;
}

/** Diagnostics of a template's native config re-pointed at the template key paths they came from. */
export function remapDiagnostics(doc: TemplateDocument, diagnostics: readonly Diagnostic[]): Diagnostic[] {
  return diagnostics.map((d) => {
    if (d.file !== doc.file) return d;
    const path = doc.template.describe(d.path);
    return path === undefined ? d : { ...d, path, message: `${d.message} (generated config: ${d.path})` };
  });
}
