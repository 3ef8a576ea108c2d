/**
 * Where a function's code is, decided as Lambda's runtimes decide it, once per config at compile time
 * (`turnpike validate` reports what the first call would otherwise fail with).
 *
 * Pure: every file is asked of a LocateIO. collectInputs (src/config/inputs.ts) runs the same function
 * against the disk and records every path it asked about, so compile, running it again against those
 * inputs, gets the same answers without I/O, and an edit to any file asked about (a handler appearing
 * as .js beside the .mjs, a package.json `type` changed) is a new config version.
 *
 * - Node (https://docs.aws.amazon.com/lambda/latest/dg/nodejs-handler.html): `Handler: path/to/file.export`:
 *   the module is what precedes the first dot after the last slash, the rest the export (dots walk into
 *   nested objects); the file is `file.js`, `file.mjs` or `file.cjs`. A `.js` file is an ES module when the
 *   nearest package.json (looked for from its folder up to the code folder: in Lambda nothing is above
 *   /var/task) says `"type": "module"`, else CommonJS. A CommonJS file named `.mjs` is refused here with
 *   the fix (rename it to `.cjs`), as it would fail at its first call.
 * - Python: `Handler: path/to/module.function` (the last dot splits; slashes and dots are package
 *   separators): `module.py` or `module/__init__.py` under the code folder or a layer's python folders.
 * - provided: the executable `bootstrap` in the code folder (or, failing it, the executable the Handler names there).
 * - a `runtimeCommand`: the user's runtime client finds the code itself; only the command is checked.
 */
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { FunctionDefConfig } from '../../../config/schema.js';
import { type FunctionRuntime, KNOWN_RUNTIMES, runtimeFor } from './runtimes.js';

/** The file questions locate asks (a config version's inputs at compile time; the disk when collecting them). */
export interface LocateIO {
  exists(path: string): boolean;
  /** The file's text, or undefined when it cannot be read. */
  readText(path: string): string | undefined;
  /** Whether the file is executable; undefined when the reader cannot tell (then it is assumed, and the start reports). */
  executable?(path: string): boolean | undefined;
}

export type FunctionCode = Pick<FunctionDefConfig, 'module' | 'export' | 'runtime' | 'handler' | 'codeUri' | 'layers'> & {
  runtimeCommand?: readonly string[] | undefined;
};

/** The spec fields a located function gets (types.ts FunctionSpec). */
export interface LocatedCode {
  runtime: string;
  module: string;
  export: string;
  handler: string;
  codeDir: string;
  layers: string[];
  runtimeCommand?: string[];
  forceCommonJs?: boolean;
}

export type LocateResult =
  | { ok: true; code: LocatedCode; runtime: FunctionRuntime; warnings: string[] }
  | { ok: false; at: 'module' | 'handler' | 'runtime' | 'runtimeCommand'; message: string };

const DEFAULT_RUNTIME = 'nodejs20.x';
const NODE_EXTENSIONS = ['.js', '.mjs', '.cjs'] as const;

/** Locates a function entry's code; `baseDir` is the folder paths in the entry are relative to (the config file's). */
export function locateFunction(def: FunctionCode, baseDir: string, io: LocateIO): LocateResult {
  const runtimeName = def.runtime ?? DEFAULT_RUNTIME;
  const runtime = runtimeFor(runtimeName);
  if (!runtime) return { ok: false, at: 'runtime', message: `unknown runtime "${runtimeName}"; known: ${KNOWN_RUNTIMES.join(', ')}` };
  const command = def.runtimeCommand !== undefined ? [...def.runtimeCommand] : undefined;
  if (command !== undefined && (command.length === 0 || command[0] === '')) return { ok: false, at: 'runtimeCommand', message: 'runtimeCommand needs at least the executable' };
  const support = runtime.support({ runtimeCommand: command });
  if (!support.ok) return { ok: false, at: command ? 'runtimeCommand' : 'runtime', message: support.message };
  const warnings = support.warning ? [support.warning] : [];
  const layers = (def.layers ?? []).map((l) => resolve(baseDir, l));
  const ok = (code: Omit<LocatedCode, 'runtime' | 'layers'>): LocateResult => ({
    ok: true,
    code: { ...code, runtime: runtimeName, layers, ...(command ? { runtimeCommand: command } : {}) },
    runtime,
    warnings,
  });

  if (def.module !== undefined) {
    // A handler file named directly (Turnpike's own form): Node only, its folder is the code folder.
    if (runtime.family !== 'nodejs') return { ok: false, at: 'runtime', message: `"module" names a Node.js handler file; a ${runtimeName} function is named with "handler" and "codeUri"` };
    const module = resolve(baseDir, def.module);
    if (!io.exists(module)) return { ok: false, at: 'module', message: `handler file not found: ${module}` };
    const exportName = def.export ?? 'handler';
    const codeDir = dirname(module);
    // Turnpike's own form keeps Node's rules for .js (the nearest package.json anywhere above it).
    const problem = nodeModuleProblem(module, codeDir, io, false);
    if (typeof problem === 'string') return { ok: false, at: 'module', message: problem };
    return ok({ module, export: exportName, handler: `${basenameNoExt(module)}.${exportName}`, codeDir });
  }

  const handler = def.handler;
  const codeDir = resolve(baseDir, def.codeUri ?? '.');
  if (handler === undefined) return { ok: false, at: 'handler', message: 'a function needs "handler" (with "runtime" and "codeUri"), "module" (a handler file) or "endpoint" (a Lambda Invoke API)' };
  // The user's runtime client finds the code from the handler itself.
  if (command) return ok({ module: codeDir, export: handler, handler, codeDir });

  switch (runtime.family) {
    case 'nodejs': {
      const split = splitNodeHandler(handler);
      if (typeof split === 'string') return { ok: false, at: 'handler', message: split };
      const base = resolve(codeDir, split.modulePath);
      if (!inside(codeDir, base)) return { ok: false, at: 'handler', message: `handler "${handler}" points outside its code folder ${codeDir}` };
      for (const ext of NODE_EXTENSIONS) {
        const module = base + ext;
        if (!io.exists(module)) continue;
        const problem = nodeModuleProblem(module, codeDir, io, true);
        if (typeof problem === 'string') return { ok: false, at: 'handler', message: problem };
        if (problem.warning) warnings.push(problem.warning);
        return ok({ module, export: split.exportName, handler, codeDir, ...(problem.forceCommonJs ? { forceCommonJs: true } : {}) });
      }
      return { ok: false, at: 'handler', message: `handler file not found: ${base}.js (or .mjs, .cjs) for handler "${handler}" in ${codeDir}` };
    }
    case 'python': {
      const dot = handler.lastIndexOf('.');
      if (dot <= 0 || dot === handler.length - 1) return { ok: false, at: 'handler', message: `handler "${handler}" must be written as module.function (e.g. app.lambda_handler)` };
      const modulePath = handler.slice(0, dot).replace(/\./g, '/');
      if (modulePath.split('/').some((p) => p === '' || p === '..')) return { ok: false, at: 'handler', message: `handler "${handler}" is not a Python module path` };
      const minor = /^python3\.(\d+)$/.exec(runtimeName)?.[1] ?? '';
      const roots = [codeDir, ...layers.flatMap((l) => [join(l, 'python', 'lib', `python3.${minor}`, 'site-packages'), join(l, 'python')])];
      for (const root of roots) {
        for (const candidate of [`${join(root, modulePath)}.py`, join(root, modulePath, '__init__.py')]) {
          if (io.exists(candidate)) return ok({ module: candidate, export: handler.slice(dot + 1), handler, codeDir });
        }
      }
      return { ok: false, at: 'handler', message: `handler module not found: ${join(codeDir, modulePath)}.py for handler "${handler}" (looked in ${codeDir}${layers.length ? ' and the layers\' python folders' : ''})` };
    }
    case 'provided': {
      const bootstrap = join(codeDir, 'bootstrap');
      const named = resolve(codeDir, handler);
      const candidates = [bootstrap, ...(inside(codeDir, named) && named !== bootstrap ? [named] : [])];
      for (const exe of candidates) {
        if (!io.exists(exe)) continue;
        if (io.executable?.(exe) === false) return { ok: false, at: 'handler', message: `${exe} is not executable: chmod +x it (a ${runtimeName} function runs its own executable bootstrap)` };
        return ok({ module: exe, export: handler, handler, codeDir });
      }
      return { ok: false, at: 'handler', message: `${runtimeName} runs the executable "bootstrap" in the code folder: ${bootstrap} not found` };
    }
    default:
      // Unreachable: support() refused these without a runtimeCommand.
      return { ok: false, at: 'runtime', message: `runtime ${runtimeName} needs runtimeCommand` };
  }
}

/** Lambda's Node runtime split: `dir/file.a.b` → module `dir/file`, export `a.b`. */
export function splitNodeHandler(handler: string): { modulePath: string; exportName: string } | string {
  const slash = handler.lastIndexOf('/');
  const dot = handler.indexOf('.', slash + 1);
  if (dot < 0 || dot === slash + 1 || dot === handler.length - 1) return `handler "${handler}" must be written as file.export (e.g. index.handler)`;
  return { modulePath: handler.slice(0, dot), exportName: handler.slice(dot + 1) };
}

/** ES module syntax at the start of a line (`import x from`, `import {`, `export const`…); `import(` is not it. */
const ESM_SYNTAX = /^[ \t]*(import[ \t]*[\w${*'"]|export[ \t{*])/m;
/** CommonJS's module object (`module.exports`, `exports.x =`, `require(`). */
const CJS_SYNTAX = /\bmodule\.exports\b|(^|[^.\w$])exports\.[A-Za-z_$][\w$]*\s*=|(^|[^.\w$])require\s*\(/m;

/** Whether a module's text is CommonJS (uses module.exports/require and no import/export statement). Cheap: two regex scans. */
export function looksCommonJs(text: string): boolean {
  return CJS_SYNTAX.test(text) && !ESM_SYNTAX.test(text);
}

/**
 * The module type a `.js` file gets from the nearest package.json from its folder up to `stop`
 * (inclusive), or to the file system's root when `stop` is undefined: 'module' or 'commonjs'.
 */
export function packageType(file: string, stop: string | undefined, io: LocateIO): { type: 'module' | 'commonjs'; from?: string } {
  let dir = dirname(file);
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (io.exists(pkg)) {
      let type: unknown;
      try {
        type = (JSON.parse(io.readText(pkg) ?? '{}') as { type?: unknown }).type;
      } catch {
        type = undefined; // Node refuses an invalid package.json at load time; the first call reports it
      }
      return { type: type === 'module' ? 'module' : 'commonjs', from: pkg };
    }
    if (stop !== undefined && dir === stop) return { type: 'commonjs' };
    const up = dirname(dir);
    if (up === dir) return { type: 'commonjs' };
    dir = up;
  }
}

/**
 * A Node handler file's problem (a string), or how to load it. `lambdaStyle` (a `handler` + `codeUri`
 * entry): the code folder is the whole package, as /var/task is on Lambda.
 */
function nodeModuleProblem(module: string, codeDir: string, io: LocateIO, lambdaStyle: boolean): { forceCommonJs?: boolean; warning?: string } | string {
  const text = io.readText(module);
  const file = module.slice(module.lastIndexOf(sep) + 1);
  const cjsName = `${basenameNoExt(module)}.cjs`;
  if (module.endsWith('.mjs')) {
    if (text !== undefined && looksCommonJs(text)) {
      return `${file} is CommonJS (module.exports / require) but named .mjs, which Node.js and Lambda load as an ES module: rename it to ${cjsName}`;
    }
    return {};
  }
  if (!module.endsWith('.js')) return {};
  const lambda = packageType(module, codeDir, io);
  if (lambda.type === 'module') {
    if (text !== undefined && looksCommonJs(text)) {
      return `${file} is CommonJS (module.exports / require) but ${lambda.from} says "type": "module", so Node.js and Lambda load it as an ES module: rename it to ${cjsName}`;
    }
    return {};
  }
  if (!lambdaStyle) return {};
  // Lambda sees no package.json above the code folder, so this .js is CommonJS there; locally Node would
  // take a `"type": "module"` from a package.json above it (a project root's) and load it as ESM.
  // None between the file and the code folder (looked at above): Node's answer starts from the code folder's parent.
  const node = packageType(codeDir, undefined, io);
  if (node.type !== 'module' || text === undefined) return {};
  // CommonJS code: loaded as CommonJS, as Lambda would. ES module code: Lambda would refuse it
  // (`Cannot use import statement outside a module`); it still runs here, with a warning saying the fix.
  if (looksCommonJs(text)) return { forceCommonJs: true };
  if (ESM_SYNTAX.test(text)) {
    return {
      warning: `${file} uses ES module syntax and runs here because ${node.from} says "type": "module", but that file is outside the code folder ${codeDir}: on Lambda it loads as CommonJS and fails; add a package.json with "type": "module" to ${codeDir} or rename it to ${basenameNoExt(module)}.mjs`,
    };
  }
  return {};
}

function basenameNoExt(path: string): string {
  const name = path.slice(path.lastIndexOf(sep) + 1);
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

function inside(root: string, path: string): boolean {
  const r = relative(root, path);
  return r === '' || (!r.startsWith('..') && !isAbsolute(r));
}
