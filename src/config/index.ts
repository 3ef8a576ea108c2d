/**
 * Config lifecycle front door: source text -> validated config -> compiled table.
 * Each step reports problems as Diagnostics (file:line:col key.path: message) through ConfigError.
 */
import type { Logger } from 'pino';
import { type CompileDeps, compile } from '../compile/compile.js';
import type { RouteTable } from '../compile/types.js';
import { FunctionRegistry } from '../integrations/function/runtime/index.js';
import { BUNDLED_PLUGINS, pluginSchemas } from '../plugins/registry.js';
import { ConfigError } from './diagnostics.js';
import { type SourceDocument, loadSourceFile, parseSource } from './load.js';
import { type GatewayConfig, buildConfigSchema } from './schema.js';
import { createValidator } from './validate.js';

let validator: ReturnType<typeof createValidator<GatewayConfig>> | undefined;
function validate(doc: SourceDocument) {
  // coerceTypes: `${PORT}` interpolates to a string; numbers and booleans written that way must still validate.
  validator ??= createValidator<GatewayConfig>(buildConfigSchema(pluginSchemas(BUNDLED_PLUGINS)), { coerceTypes: true });
  return validator(doc);
}

export function fullSchema() {
  return buildConfigSchema(pluginSchemas(BUNDLED_PLUGINS));
}

export function isOpenApiDocument(data: unknown): boolean {
  return data !== null && typeof data === 'object' && ('openapi' in data || 'swagger' in data);
}

/** Validates a parsed document; throws ConfigError with every problem found. */
export function validateDocument(doc: SourceDocument): GatewayConfig {
  if (isOpenApiDocument(doc.data)) {
    throw new ConfigError([
      {
        file: doc.file,
        line: 1,
        column: 1,
        path: '',
        severity: 'error',
        message: 'this is an OpenAPI document; serving OpenAPI/AWS documents directly is not available yet (see docs/aws-compatibility.md)',
      },
    ]);
  }
  const r = validate(doc);
  if (!r.ok) throw new ConfigError(r.diagnostics);
  return r.value;
}

export async function readConfigFile(file: string): Promise<SourceDocument> {
  return loadSourceFile(file);
}

export function parseConfigText(text: string, file: string): SourceDocument {
  return parseSource(text, file);
}

let processFunctions: FunctionRegistry | undefined;
/** One function registry per process, so warm workers survive config reloads; its output goes to the log. */
function functionRegistry(logger: Logger): FunctionRegistry {
  processFunctions ??= new FunctionRegistry({
    log: (r) => logger.info({ type: 'function-log', function: r.functionName, requestId: r.requestId, fnLevel: r.level, source: r.source }, r.message),
  });
  return processFunctions;
}

/** The whole pipeline for one document: validate and compile. */
export function buildTable(doc: SourceDocument, deps: Omit<CompileDeps, 'plugins' | 'functions'> & { functions?: FunctionRegistry }): RouteTable {
  const config = validateDocument(doc);
  return compile(config, doc, { ...deps, functions: deps.functions ?? functionRegistry(deps.logger), plugins: BUNDLED_PLUGINS });
}
