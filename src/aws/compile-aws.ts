/**
 * The glue between an API entry that names an AWS API Gateway document (`openapi:`) and the native
 * compile: read the document (through compile's read recorder: its content is part of the version),
 * import it (src/openapi), translate the model into a native API (./translate.ts), validate that with
 * the native validator (src/config), and hand it back to compile, which builds its routes as it builds
 * any native API's. Problems found in the translated config are reported at the OpenAPI document's
 * file:line:col and AWS key path, through the translation's side map.
 */
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import type { ApiScope } from '../compile/compile.js';
import { type Diagnostic, formatPath } from '../config/diagnostics.js';
import type { Position, SourceDocument } from '../config/load.js';
import type { ApiConfig, GatewayConfig } from '../config/schema.js';
import type { Invoker } from '../integrations/function/index.js';
import type { IntegrationDefinition } from '../integrations/types.js';
import { type AwsApiModel, importAwsDocument, parseAwsSource } from '../openapi/index.js';
import type { PluginDefinition } from '../pipeline/types.js';
import { lazyModule } from '../util/lazy.js';
import { modelPatternDiagnostics } from './request-validation.js';
import { type KeyPath, type SourceRef, sourceOf, translateAwsApi as translate } from './translate.js';

export type { KeyPath } from './translate.js';

// The native validator (src/config/index.ts imports compile, which loads this module on demand: a
// static import back would be a cycle).
const config = lazyModule<typeof import('../config/index.js')>('../config/index.js', import.meta.url);

export interface AwsCompileContext {
  configDir: string;
  /** Reads the OpenAPI document through the config's read recorder (src/config/reads.ts): its content is part of the version. */
  readText: (file: string) => string;
  /** A problem at a key path of the config file. */
  err: (path: KeyPath, message: string) => void;
  /** Diagnostics that come from the AWS document itself (its own file and positions). */
  report: (d: Diagnostic) => void;
  /** A function named by a Lambda ARN: the native `functions` map first, then functions/NAME.{mjs,js,cjs} beside the document. */
  functionForArn: (name: string, docDir: string, at: KeyPath) => Invoker | undefined;
  logger: Logger;
  /** The config's global plugins (an inherited aws-iam applies only to AWS_IAM routes). */
  globalPlugins: Record<string, unknown> | undefined;
  /** The plugin and integration definitions compile uses: the translated config is validated against them. */
  plugins: readonly PluginDefinition<never>[];
  integrations: readonly IntegrationDefinition<never>[];
  /** True for the first caller only: the table-wide `$default` fallback can be added once. */
  claimTableDefault: () => boolean;
}

export interface TranslatedApi {
  /** The validated native API (schema defaults applied). */
  api: ApiConfig;
  /** Its key path in the translated config. */
  apiPath: KeyPath;
  /** Reporters that point into the OpenAPI document, and the function lookup beside it. */
  scope: ApiScope;
}

/**
 * Where a document came from: a file (its own positions and AWS key paths), or a document generated
 * from a SAM / CloudFormation template and carried inline (src/sam/transform.ts), whose side map under
 * `x-turnpike-source` points each generated node at the template's line and key path.
 */
interface DocumentView {
  file: string;
  text: string;
  doc: SourceDocument;
  /** The key path and position a problem at this document key path is reported with. */
  describe(awsKeyPath: readonly (string | number)[]): { path: string; position: Position; note?: string };
  /** A diagnostic of the importer (its path formatted in document terms) in the view's terms. */
  own(d: Diagnostic): Diagnostic;
  /** A path prefix the document's stages are served under (a template's APIs reachable without a Host header). */
  pathPrefix?: string;
}

/** The key a template's generated document keeps its side map under (src/sam/transform.ts SOURCE_KEY). */
const SOURCE_KEY = 'x-turnpike-source';

function fileView(text: string, file: string): DocumentView {
  const doc = parseAwsSource(text, file);
  return { file, text, doc, describe: (p) => ({ path: formatPath(p), position: doc.locate(p) }), own: (d) => d };
}

/** An inline document; with a template's side map, problems are reported at the template's lines. */
export function inlineView(value: Record<string, unknown>, configFile: string): DocumentView {
  const { [SOURCE_KEY]: meta, ...data } = value;
  const m = (meta ?? {}) as { file?: unknown; at?: Record<string, [string, number, number]>; pathPrefix?: unknown };
  const file = typeof m.file === 'string' ? m.file : configFile;
  const at = m.at ?? {};
  const located = new Map<string, readonly (string | number)[]>();
  const nearest = (p: readonly (string | number)[]): [string, number, number] | undefined => {
    for (let n = p.length; n >= 0; n--) {
      const hit = at[formatPath(p.slice(0, n))];
      if (hit !== undefined) return hit;
    }
    return undefined;
  };
  const locate = (p: readonly (string | number)[]): Position => {
    located.set(formatPath(p), p);
    const hit = nearest(p);
    return hit === undefined ? { line: 0, column: 0 } : { line: hit[1], column: hit[2] };
  };
  const text = JSON.stringify(data);
  const doc: SourceDocument = { file, text, format: 'json', data, locate, locateKey: locate, warnings: [] };
  const describe = (p: readonly (string | number)[]) => {
    const hit = nearest(p);
    const generated = formatPath(p);
    return hit === undefined
      ? { path: generated, position: { line: 0, column: 0 } }
      : { path: hit[0], position: { line: hit[1], column: hit[2] }, note: `generated OpenAPI: ${generated || '(root)'}` };
  };
  const own = (d: Diagnostic): Diagnostic => {
    const p = located.get(d.path) ?? (at[d.path] !== undefined ? undefined : []);
    const where = p === undefined ? describe([]) : describe(p);
    const exact = at[d.path];
    const s = exact !== undefined ? { path: exact[0], position: { line: exact[1], column: exact[2] }, note: `generated OpenAPI: ${d.path}` } : where;
    return { ...d, file, line: s.position.line, column: s.position.column, path: s.path, message: s.note ? `${d.message} (${s.note})` : d.message };
  };
  return { file, text, doc, describe, own, ...(typeof m.pathPrefix === 'string' ? { pathPrefix: m.pathPrefix } : {}) };
}

/** The document of `api.openapi` as a validated native API, or undefined when a problem was reported. */
export function translateAwsApi(api: ApiConfig, apiPath: KeyPath, c: AwsCompileContext): TranslatedApi | undefined {
  let view: DocumentView;
  if (typeof api.openapi === 'object' && api.openapi !== null) view = inlineView(api.openapi as Record<string, unknown>, resolve(c.configDir, 'inline'));
  else {
    const file = resolve(c.configDir, api.openapi as string);
    let text: string;
    try {
      text = c.readText(file);
    } catch (e) {
      c.err([...apiPath, 'openapi'], `cannot read the OpenAPI document ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return undefined;
    }
    try {
      view = fileView(text, file);
    } catch (e) {
      const diagnostics = (e as { diagnostics?: Diagnostic[] }).diagnostics;
      if (diagnostics) for (const d of diagnostics) c.report(d);
      else c.err([...apiPath, 'openapi'], `cannot import ${file}: ${(e as Error).message}`);
      return undefined;
    }
  }
  const { file, text, doc } = view;
  let model: AwsApiModel;
  try {
    const imported = importAwsDocument(doc);
    for (const d of imported.diagnostics) c.report(view.own(d));
    if (imported.diagnostics.some((d) => d.severity === 'error')) return undefined;
    model = imported.model;
    for (const d of modelPatternDiagnostics(model, file, text)) c.report(view.own(d));
  } catch (e) {
    const diagnostics = (e as { diagnostics?: Diagnostic[] }).diagnostics;
    if (diagnostics) for (const d of diagnostics) c.report(view.own(d));
    else c.err([...apiPath, 'openapi'], `cannot import ${file}: ${(e as Error).message}`);
    return undefined;
  }

  const t = translate(model, {
    api,
    ...(c.globalPlugins !== undefined ? { globalPlugins: c.globalPlugins } : {}),
    document: { file, locate: (p) => doc.locate(p) },
    claimTableDefault: c.claimTableDefault,
  });
  for (const p of t.problems) c.err([...apiPath, ...p.at], p.message);
  if (t.problems.length > 0) return undefined;
  for (const r of t.refusals) c.logger.warn({ api: api.name, route: r.route, reason: r.why, code: r.code }, 'route refuses traffic');

  // A problem at a translated key path, at the document position it came from (nearest mapped parent).
  const at = (path: readonly (string | number)[]): SourceRef => sourceOf(t.sources, path) ?? { file, position: { line: 0, column: 0 }, awsKeyPath: [] };
  const diagnostic = (path: readonly (string | number)[], message: string, severity: Diagnostic['severity']): Diagnostic => {
    const s = view.describe(at(path).awsKeyPath);
    return { file, line: s.position.line, column: s.position.column, path: s.path, message: `${message} (translated config: ${formatPath(path)}${s.note ? `; ${s.note}` : ''})`, severity };
  };

  // The same validator as a native file, over a document whose positions are the OpenAPI document's.
  const located = new Map<string, readonly (string | number)[]>();
  const locate = (path: readonly (string | number)[]): Position => {
    located.set(formatPath(path), path);
    return at(path).position;
  };
  if (view.pathPrefix !== undefined) underPrefix(t.config.apis[0], view.pathPrefix);
  const translatedDoc: SourceDocument = { file, text, format: doc.format, data: t.config, locate, locateKey: locate, warnings: [] };
  let validated: GatewayConfig;
  try {
    validated = config().validateDocument(translatedDoc, extensions(c.plugins, c.integrations));
  } catch (e) {
    const diagnostics = (e as { diagnostics?: readonly Diagnostic[] }).diagnostics;
    if (diagnostics === undefined) throw e;
    for (const d of diagnostics) {
      const path = located.get(d.path) ?? [];
      c.report(diagnostic(path, d.message, d.severity));
    }
    return undefined;
  }
  const native = validated.apis[0] as ApiConfig;
  shareConfigs(native, t.config.apis[0]);

  const docDir = dirname(file);
  const configAt = [...apiPath, 'openapi'];
  // Authorizer functions are looked up by name at run time: resolve them now (missing ones are errors).
  for (const name of t.functions) c.functionForArn(name, docDir, configAt);
  const scope: ApiScope = {
    err: (path, message) => c.report(diagnostic(path, message, 'error')),
    warn: (path, message) => c.report(diagnostic(path, message, 'warning')),
    invoker: (name) => c.functionForArn(name, docDir, configAt),
  };
  scope.report = scope.err;
  return { api: native, apiPath: ['apis', 0], scope };
}

/**
 * A template's API served without a Host header (docs/sam-templates.md): every stage's paths under
 * `prefix` (`/{api-id}`), so several APIs share the port without colliding. A stage served at the root
 * (an HTTP API's $default) catches the rest under the prefix, not the whole table.
 */
function underPrefix(api: ApiConfig, prefix: string): void {
  for (const [name, stage] of Object.entries(api.stages ?? {})) {
    const rooted = stage.basePath === undefined;
    stage.basePath = `${prefix}${stage.basePath ?? ''}`;
    if (rooted) for (const r of api.routes ?? []) if (r.stage === name && r.path === '$default') r.path = '/{proxy+}';
  }
}

/**
 * Validation copies the config; equal plugin configs become one object again, so one authorizer is one
 * plugin instance (one result cache) across the routes that use it, and every route's request
 * validation compiles against the API's one models map (compile keys instances by config object).
 */
function shareConfigs(validated: ApiConfig, original: ApiConfig): void {
  const seen = new Map<string, Record<string, unknown>>();
  (validated.routes ?? []).forEach((route, ri) => {
    const plugins = route.plugins as Record<string, Record<string, unknown>> | undefined;
    if (plugins === undefined) return;
    for (const [name, cfg] of Object.entries(plugins)) {
      if (name === 'request-validation') {
        const models = (original.routes?.[ri]?.plugins as Record<string, { body?: { models?: unknown } }> | undefined)?.[name]?.body?.models;
        const body = cfg.body as { models?: unknown } | undefined;
        if (body !== undefined && models !== undefined) body.models = models;
        continue;
      }
      const key = `${name}\0${JSON.stringify(cfg)}`;
      const known = seen.get(key);
      if (known === undefined) seen.set(key, cfg);
      else plugins[name] = known;
    }
  });
}

const extensionSets = new WeakMap<readonly PluginDefinition<never>[], Map<readonly IntegrationDefinition<never>[], import('../config/index.js').Extensions>>();
/** One Extensions object per pair of definition lists: the validator is compiled once per object. */
function extensions(plugins: readonly PluginDefinition<never>[], integrations: readonly IntegrationDefinition<never>[]): import('../config/index.js').Extensions {
  const bundled = config().BUNDLED;
  if (plugins === bundled.plugins && integrations === bundled.integrations) return bundled;
  let byIntegrations = extensionSets.get(plugins);
  if (byIntegrations === undefined) extensionSets.set(plugins, (byIntegrations = new Map()));
  let ext = byIntegrations.get(integrations);
  if (ext === undefined) byIntegrations.set(integrations, (ext = { plugins, integrations }));
  return ext;
}

/**
 * functions/NAME.mjs|.js|.cjs beside the document, as a Lambda bundle would name it. `exists` records
 * each lookup (src/config/reads.ts), so a candidate appearing later (a `.js` renamed to `.cjs`) is a new config version.
 */
export function findFunctionModule(docDir: string, name: string, exists: (path: string) => boolean): string | undefined {
  for (const ext of ['.mjs', '.js', '.cjs']) {
    const p = resolve(docDir, 'functions', `${name}${ext}`);
    if (exists(p)) return p;
  }
  return undefined;
}
