/**
 * AWS request validators (x-amazon-apigateway-request-validators / -request-validator) translated
 * into the native request-validation plugin's config: the route's required parameters in AWS's
 * report order and its body models, as draft-04 schemas that may reference the API's models.
 */
import { type Diagnostic, formatPath } from '../config/diagnostics.js';
import { parseAwsSource } from '../openapi/source.js';
import type { AwsApiModel, AwsParameter, AwsRoute } from '../openapi/types.js';
import type { RequestValidationConfig } from '../plugins/request-validation/index.js';
import { LinearRegExp } from '../util/linear-regex.js';
import { isCatastrophic } from '../util/regex-safety.js';

const LOCATION_KEY: Record<AwsParameter['in'], string> = { header: 'header', path: 'path', query: 'querystring' };

/** AWS lists missing parameters ordered by `method.request.<location>.<name>`. */
function awsKey(p: AwsParameter): string {
  return `method.request.${LOCATION_KEY[p.in]}.${p.name}`;
}

/** The plugin config for one route, or undefined when its validator (if any) has nothing to check. */
export function requestValidationConfig(route: AwsRoute, model: AwsApiModel): RequestValidationConfig | undefined {
  const name = route.requestValidator;
  if (name === undefined || !Object.hasOwn(model.requestValidators, name)) return undefined;
  const v = model.requestValidators[name];
  if (!v) return undefined;
  const out: RequestValidationConfig = {};
  if (v.validateRequestParameters) {
    const required = route.parameters.filter((p) => p.required).sort((a, b) => (awsKey(a) < awsKey(b) ? -1 : awsKey(a) > awsKey(b) ? 1 : 0));
    if (required.length > 0) out.parameters = required.map((p) => ({ in: p.in, name: p.in === 'path' && p.name.endsWith('+') ? p.name.slice(0, -1) : p.name }));
  }
  if (v.validateRequestBody && route.requestBody && Object.keys(route.requestBody.models).length > 0) {
    // The models map is shared by reference: every route of the API compiles against one ajv instance.
    out.body = { schemas: route.requestBody.models, dialect: 'draft-04', models: model.models };
  }
  return out.parameters === undefined && out.body === undefined ? undefined : out;
}

// ---------------------------------------------------------------------------------------------
// Pattern safety (docs/limits-and-safety.md, "Pattern safety")

/** Values that are data, not schemas: a `pattern` key inside them is not a regex. */
const DATA_KEYS: ReadonlySet<string> = new Set(['enum', 'default', 'example', 'examples', 'const', 'x-amazon-apigateway-integration']);

/** Every (key path, pattern) of the JSON Schema regexes in a value: `pattern` strings and `patternProperties` keys. */
function* patternsIn(v: unknown, path: (string | number)[], depth = 0): Generator<{ path: (string | number)[]; pattern: string }> {
  if (depth > 256 || v === null || typeof v !== 'object') return;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) yield* patternsIn(v[i], [...path, i], depth + 1);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    if (DATA_KEYS.has(k)) continue;
    if (k === 'pattern' && typeof child === 'string') yield { path: [...path, k], pattern: child };
    else if (k === 'patternProperties' && child !== null && typeof child === 'object' && !Array.isArray(child)) {
      for (const [p, sub] of Object.entries(child)) {
        yield { path: [...path, k, p], pattern: p };
        yield* patternsIn(sub, [...path, k, p], depth + 1);
      }
    } else yield* patternsIn(child, [...path, k], depth + 1);
  }
}

/** Whether a pattern can backtrack catastrophically, and if so whether the linear-time engine runs it. */
function patternVerdict(pattern: string): { unsafe: false } | { unsafe: true; linearError?: string } {
  try {
    new RegExp(pattern);
  } catch {
    return { unsafe: false }; // not a regex at all: the validator's own compile error names it
  }
  if (!isCatastrophic(pattern)) return { unsafe: false };
  try {
    new LinearRegExp(pattern);
    return { unsafe: true };
  } catch (e) {
    return { unsafe: true, linearError: (e as Error).message };
  }
}

/**
 * `turnpike validate` (and every load) names each model `pattern` that can backtrack catastrophically,
 * with its key path in the document: a warning when request validation runs it on the linear-time engine
 * (src/util/linear-regex.ts), an error when it cannot (backreferences, lookaround: the model is refused).
 * The document is parsed again for positions only when the imported models hold such a pattern.
 */
export function modelPatternDiagnostics(model: AwsApiModel, file: string, text: string): Diagnostic[] {
  const inModel = (): boolean => {
    for (const p of patternsIn(model.models, [])) if (patternVerdict(p.pattern).unsafe) return true;
    for (const r of model.routes) for (const p of patternsIn(r.requestBody?.models, [])) if (patternVerdict(p.pattern).unsafe) return true;
    return false;
  };
  if (!inModel()) return [];
  const source = parseAwsSource(text, file);
  const out: Diagnostic[] = [];
  for (const { path, pattern } of patternsIn(source.data, [])) {
    const v = patternVerdict(pattern);
    if (!v.unsafe) continue;
    const pos = source.locate(path);
    const message =
      v.linearError === undefined
        ? `pattern /${pattern}/ can backtrack catastrophically (nested or ambiguous quantifiers); request validation runs it on the linear-time engine instead of V8's (docs/limits-and-safety.md, "Pattern safety"); rewrite it without a quantified group that itself repeats to silence this warning`
        : `pattern /${pattern}/ can backtrack catastrophically and ${v.linearError.replace(/^regular expression \/.*\/ /s, '')}; rewrite it`;
    out.push({ file, line: pos.line, column: pos.column, path: formatPath(path), message, severity: v.linearError === undefined ? 'warning' : 'error' });
  }
  return out;
}
