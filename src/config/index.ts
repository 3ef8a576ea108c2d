/**
 * Config lifecycle front door: source text -> validated config -> compiled table.
 * Each step reports problems as Diagnostics (file:line:col key.path: message) through ConfigError.
 */
import type { Logger } from 'pino';
import { type CompileDeps, compile } from '../compile/compile.js';
import type { RouteTable } from '../compile/types.js';
import { FunctionRegistry } from '../integrations/function/runtime/index.js';
import { BUNDLED_PLUGINS, pluginSchemas } from '../plugins/registry.js';
import { BUNDLED_INTEGRATIONS } from '../integrations/registry.js';
import type { IntegrationDefinition } from '../integrations/types.js';
import type { PluginDefinition } from '../pipeline/types.js';
import cluster from 'node:cluster';
import { workerCounterStore } from '../stores/cluster-counters.js';
import { MemoryCounterStore } from '../stores/memory-counters.js';
import type { CounterStore } from '../stores/types.js';
import { ConfigError } from './diagnostics.js';
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { lazyModule } from '../util/lazy.js';
import { type SourceDocument, loadSourceFile, parseSource } from './load.js';
import { type GatewayConfig, buildConfigSchema } from './schema.js';
import { createValidator } from './validate.js';
import { type ConfigInputs, collectInputs } from './inputs.js';
import { Type } from '@sinclair/typebox';

// The AWS OpenAPI/Swagger reader: only for files that look like AWS documents.
const openapi = lazyModule<typeof import('../openapi/index.js')>('../openapi/index.js', import.meta.url);
// The SAM / CloudFormation template reader: only for files that look like templates.
const sam = lazyModule<typeof import('../sam/source.js')>('../sam/source.js', import.meta.url);

/** What a config may name: plugin and integration definitions (the bundled ones unless an embedder adds its own). */
export interface Extensions {
  plugins: readonly PluginDefinition<never>[];
  integrations: readonly IntegrationDefinition<never>[];
}
export const BUNDLED: Extensions = Object.freeze({ plugins: BUNDLED_PLUGINS, integrations: BUNDLED_INTEGRATIONS });

/**
 * One compiled validator per set of extensions, compiled for the plugins configs have named so far
 * (start-up, issue 10: compiling the schema with every plugin schema in place at three levels was the
 * largest single cost of `serve`'s start). A plugin's schema only ever applies to a value under its name
 * in a `plugins` map, so the plugins a document does not name cannot change its result: they keep their
 * key (unknown names and did-you-mean work as before) with a stub schema. The set only grows, so a run
 * of reloads compiles at most once per newly named plugin.
 */
const validators = new WeakMap<Extensions, { names: ReadonlySet<string>; check: ReturnType<typeof createValidator<GatewayConfig>> }>();
function validate(doc: SourceDocument, ext: Extensions) {
  const named = pluginNamesIn(doc.data, ext.plugins);
  let v = validators.get(ext);
  if (v === undefined || [...named].some((n) => !v?.names.has(n))) {
    const names = new Set([...(v?.names ?? []), ...named]);
    const stub = Type.Object({});
    const plugins = Object.fromEntries(Object.entries(pluginSchemas(ext.plugins)).map(([name, schema]) => [name, names.has(name) ? schema : stub]));
    // coerceTypes: `${PORT}` interpolates to a string; numbers and booleans written that way must still validate.
    v = { names, check: createValidator<GatewayConfig>(buildConfigSchema(plugins, ext.integrations.map((d) => d.configSchema)), { coerceTypes: true }) };
    validators.set(ext, v);
  }
  return v.check(doc);
}

/** Plugin names used as a key of any `plugins` object anywhere in `data`: a superset of what the schema checks. */
function pluginNamesIn(data: unknown, plugins: readonly PluginDefinition<never>[]): Set<string> {
  const known = new Set(plugins.map((p) => p.name));
  const found = new Set<string>();
  // YAML aliases can make the data cyclic (`&a` ... `<<: *a` inside itself): visit each object once.
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (v === null || typeof v !== 'object' || seen.has(v)) return;
    seen.add(v);
    if (Array.isArray(v)) {
      for (const x of v) walk(x);
      return;
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === 'plugins' && x !== null && typeof x === 'object' && !Array.isArray(x)) for (const n of Object.keys(x)) if (known.has(n)) found.add(n);
      walk(x);
    }
  };
  walk(data);
  return found;
}

export function fullSchema(ext: Extensions = BUNDLED) {
  return buildConfigSchema(
    pluginSchemas(ext.plugins),
    ext.integrations.map((d) => d.configSchema),
  );
}

export function isOpenApiDocument(data: unknown): boolean {
  return data !== null && typeof data === 'object' && ('openapi' in data || 'swagger' in data);
}

/**
 * How a bare AWS document given to `serve`/`validate` is served (set from the CLI's --stage), and a
 * template's parameters (--parameter-overrides, --import-value, --region: docs/sam-templates.md).
 */
const awsServing: { stage?: string; variables?: Record<string, string>; parameterOverrides?: Record<string, string>; importValues?: Record<string, string>; region?: string } = {};
export function configureAwsServing(opts: { stage?: string; variables?: Record<string, string>; parameterOverrides?: Record<string, string>; importValues?: Record<string, string>; region?: string }): void {
  awsServing.stage = opts.stage;
  awsServing.variables = opts.variables;
  awsServing.parameterOverrides = opts.parameterOverrides;
  awsServing.importValues = opts.importValues;
  awsServing.region = opts.region;
}

/** A document read from a SAM / CloudFormation template (src/sam/source.ts): native data, template positions. */
type TemplateDocument = import('../sam/source.js').TemplateDocument;
export function isTemplateDocument(doc: SourceDocument): doc is TemplateDocument {
  return (doc as Partial<TemplateDocument>).template !== undefined;
}

/**
 * The stage URLs of a template's APIs, both forms (docs/sam-templates.md): on the API's own
 * `{api-id}.execute-api.localhost` host, and on the listener's address without a Host header. For the
 * start-up log; undefined for other documents.
 */
export function templateStageUrls(doc: SourceDocument | undefined, port: number, host: string): Record<string, string[]> | undefined {
  if (doc === undefined || !isTemplateDocument(doc)) return undefined;
  const plain = host === '0.0.0.0' || host === '::' || host === '' ? 'localhost' : host.includes(':') ? `[${host}]` : host;
  const out: Record<string, string[]> = {};
  for (const a of doc.template.apis) {
    const urls = [`http://${a.id}.execute-api.localhost:${port}${a.hostPath}/`];
    if (a.anyHostPath !== undefined) urls.push(`http://${plain}:${port}${a.anyHostPath}/`);
    out[`${a.logicalId}/${a.stage}`] = urls;
  }
  return out;
}

/** A ConfigError of a template's native config, its key paths turned back into the template's. */
function inTemplateTerms(doc: SourceDocument, e: unknown): unknown {
  if (!(e instanceof ConfigError) || !isTemplateDocument(doc)) return e;
  return new ConfigError(sam().remapDiagnostics(doc, e.diagnostics));
}

/**
 * Validates a parsed document; throws ConfigError with every problem found. An AWS OpenAPI/Swagger
 * document is served as one API (its routes come from the document, see src/aws/compile-aws.ts).
 */
export function validateDocument(doc: SourceDocument, ext: Extensions = BUNDLED): GatewayConfig {
  if (isOpenApiDocument(doc.data)) {
    const data = doc.data as { info?: { title?: unknown } };
    const title = typeof data.info?.title === 'string' && data.info.title.trim() ? data.info.title.trim() : basename(doc.file).replace(/\.[^.]+$/, '');
    return {
      apis: [
        {
          name: title,
          openapi: basename(doc.file),
          ...(awsServing.stage !== undefined || awsServing.variables !== undefined
            ? { stages: { [awsServing.stage ?? openapi().defaultStageOf(doc.data)]: { variables: { ...awsServing.variables } } } }
            : {}),
        },
      ],
    };
  }
  const r = validate(doc, ext);
  if (!r.ok) throw inTemplateTerms(doc, new ConfigError(r.diagnostics));
  return r.value;
}

/** Reads a config file. AWS documents are parsed without ${...} interpolation: `${stageVariables.x}` belongs to AWS. */
export async function readConfigFile(file: string): Promise<SourceDocument> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return loadSourceFile(file); // reports the unreadable file as a diagnostic
  }
  return parseConfigText(text, file);
}

export function parseConfigText(text: string, file: string): SourceDocument {
  // A SAM / CloudFormation template is translated into native config (src/sam); the cheap sniff keeps
  // the template reader unloaded for every other file.
  if (/^\s*["']?(AWSTemplateFormatVersion|Transform|Resources)["']?\s*:/m.test(text) && sam().looksLikeTemplate(text)) {
    const doc = sam().templateDocument(text, file, {
      ...(awsServing.parameterOverrides !== undefined ? { parameterOverrides: awsServing.parameterOverrides } : {}),
      ...(awsServing.importValues !== undefined ? { importValues: awsServing.importValues } : {}),
      ...(awsServing.region !== undefined ? { region: awsServing.region } : {}),
    });
    if (doc !== undefined) return doc;
  }
  if (looksLikeOpenApi(text)) {
    try {
      const doc = openapi().parseAwsSource(text, file);
      if (isOpenApiDocument(doc.data)) return doc;
    } catch {
      // not parseable as an AWS document: let the native loader report the syntax error
    }
  }
  return parseSource(text, file);
}

/**
 * What a source yields (issue 10): the main document, every input file it names, and the version over
 * all of them, decided before anything is compiled.
 */
export interface ConfigSnapshot {
  readonly document: SourceDocument;
  readonly inputs: ConfigInputs;
  /** `inputs.version()`: equal to the served table's version means nothing changed. */
  readonly version: string;
}

/**
 * The snapshot of a parsed document: its inputs collected from the disk (the only reads of a load),
 * or the ones given (an embedder's in memory, src/config/inputs.ts memoryInputs). The document
 * carries them too, so a host that loads `snapshot.document` (or a source's read() that returns it)
 * compiles from them.
 */
export function snapshotOf(doc: SourceDocument, inputs: ConfigInputs = collectInputs(doc)): ConfigSnapshot {
  const document: SourceDocument = { ...doc, inputs };
  return { document, inputs, version: inputs.version() };
}

/** Cheap sniff before a second parse: a top-level openapi/swagger key. */
function looksLikeOpenApi(text: string): boolean {
  return /^\s*["']?(openapi|swagger)["']?\s*:/m.test(text);
}

let processFunctions: FunctionRegistry | undefined;
/** One function registry per process, so warm workers survive config reloads; its output goes to the log. */
export function functionRegistry(logger: Logger): FunctionRegistry {
  processFunctions ??= new FunctionRegistry({
    log: (r) => logger.info({ type: 'function-log', function: r.functionName, requestId: r.requestId, fnLevel: r.level, source: r.source }, r.message),
  });
  return processFunctions;
}

/** The whole pipeline for one document: validate and compile. */
let processCounters: CounterStore | undefined;
let ownCounters: CounterStore | undefined;
/**
 * One counter store per process, so limits keep counting across config reloads. In a cluster worker
 * it is the primary's store (src/stores/cluster-counters.ts), so `local` limits are exact per node.
 */
export function counterStore(): CounterStore {
  processCounters ??= workerCounterStore(cluster.isWorker) ?? new MemoryCounterStore();
  return processCounters;
}
/** This process's own memory: the `fallback: local` of plugins when the primary's store does not answer. */
export function fallbackCounterStore(): CounterStore {
  const shared = counterStore();
  if (shared instanceof MemoryCounterStore) return shared;
  ownCounters ??= new MemoryCounterStore();
  return ownCounters;
}

/** `inputs`: the document's collected inputs (src/config/inputs.ts); collected from the disk here when not given. */
export type BuildDeps = Omit<CompileDeps, 'plugins' | 'functions' | 'counters' | 'inputs'> & { functions?: FunctionRegistry; counters?: CounterStore; inputs?: ConfigInputs };

export function buildTable(doc: SourceDocument, deps: BuildDeps): RouteTable {
  return compileValidated(validateDocument(doc), doc, deps);
}

/** Compiles a document validateDocument() accepted (for callers that load more between the two steps, e.g. certificates). */
export function compileValidated(config: GatewayConfig, doc: SourceDocument, deps: BuildDeps): RouteTable {
  if (isTemplateDocument(doc)) {
    try {
      return compileDocument(config, doc, deps);
    } catch (e) {
      throw inTemplateTerms(doc, e);
    }
  }
  return compileDocument(config, doc, deps);
}

function compileDocument(config: GatewayConfig, doc: SourceDocument, deps: BuildDeps): RouteTable {
  return compile(config, doc, {
    ...deps,
    // The I/O step of the lifecycle, before compile (which reads nothing itself).
    inputs: deps.inputs ?? doc.inputs ?? collectInputs(doc),
    functions: deps.functions ?? functionRegistry(deps.logger),
    counters: deps.counters ?? counterStore(),
    fallbackCounters: deps.fallbackCounters ?? (deps.counters === undefined ? fallbackCounterStore() : deps.counters),
    plugins: BUNDLED_PLUGINS,
  });
}
