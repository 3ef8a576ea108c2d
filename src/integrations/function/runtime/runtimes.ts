/**
 * Function runtimes: how to start a process that speaks the Lambda Runtime API for one function
 * (DESIGN.md's seam `{ runtimes, start(fn) → process speaking the Lambda Runtime API }`), by Lambda's
 * runtime identifier (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtimes.html).
 *
 * A runtime says what to execute, which environment its language needs (layer folders mapped the way
 * Lambda mounts layers at /opt) and whether this machine can run it; the pool (pool.ts) owns everything
 * else, the same for every language: the clean environment, the Runtime API listener, warm processes,
 * timeouts and kills, the memory watchdog, stdout/stderr lines. Where the code is (`locate`) is
 * locate.ts's, checked at compile time from the config's collected inputs.
 *
 *   nodejs18.x | 20.x | 22.x        this Node binary running bootstrap.js (ESM and CommonJS handlers)
 *   python3.9 … python3.13          this machine's python3 running python/bootstrap.py (standard library only)
 *   provided | .al2 | .al2023       the function's own executable (`bootstrap` in its code folder)
 *   java*, dotnet*, ruby*           the runtime interface client the user installed, named by `runtimeCommand`
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { functionIdentity } from './identity.js';

export interface RuntimeCommand {
  /** Executable (absolute path, or a name found on the function's PATH). */
  file: string;
  args: string[];
}

/** What a runtime knows of the function it starts. */
export interface RuntimeStart {
  /** Absolute path of the handler file (Node, Python), the executable (provided), or the code folder (runtimeCommand). */
  module: string;
  /** Exported name (Node: dots walk into nested objects). */
  exportName: string;
  memoryMb: number;
  /** The Handler as written (`_HANDLER`). */
  handler: string;
  /** The function's code folder (LAMBDA_TASK_ROOT, the working directory). */
  codeDir: string;
  /** Absolute layer folders, in the order Lambda would extract them into /opt. */
  layers: readonly string[];
  /** The user's runtime interface client command (the handler is appended, or replaces `{handler}`). */
  runtimeCommand?: readonly string[] | undefined;
  /** Node only: load a `.js` handler as CommonJS whatever package.json above the code folder says (Lambda sees none). */
  forceCommonJs?: boolean | undefined;
}

/** Whether this machine can run a runtime: `ok` (maybe with a warning) or what to install. */
export type RuntimeSupport = { ok: true; warning?: string } | { ok: false; message: string };

export type RuntimeFamily = 'nodejs' | 'python' | 'provided' | 'java' | 'dotnet' | 'ruby';

export interface FunctionRuntime {
  /** Lambda's runtime identifier (AWS_EXECUTION_ENV is `AWS_Lambda_${name}`, except for OS-only runtimes). */
  readonly name: string;
  readonly family: RuntimeFamily;
  /** AWS_EXECUTION_ENV, or undefined where Lambda sets none (the OS-only `provided` runtimes). */
  readonly executionEnv: string | undefined;
  command(fn: RuntimeStart): RuntimeCommand;
  /** LAMBDA_RUNTIME_DIR (Lambda: /var/runtime): the folder of the runtime client that runs the handler. */
  runtimeDir(fn: RuntimeStart): string;
  /** Variables the language needs (NODE_PATH, PYTHONPATH, PATH, LD_LIBRARY_PATH from layers); the function's own environment may override them, as on Lambda (they are not reserved). */
  environment(fn: RuntimeStart, inherited: Readonly<Record<string, string>>): Record<string, string>;
  /** Checked once per compile (the machine probe behind it once per process). */
  support(fn: { runtimeCommand?: readonly string[] | undefined }): RuntimeSupport;
}

const here = dirname(fileURLToPath(import.meta.url));
const NODE_BOOTSTRAP = join(here, 'bootstrap.js');

/**
 * The package root: the nearest folder above this module with a package.json. The Python client is a
 * source file of the package (src/…/python/bootstrap.py), never copied: from dist/src/… and from src/…
 * alike it is found under the root, so a clean `npm ci` (which only compiles TypeScript) has it in place.
 */
function packageRoot(): string {
  let dir = here;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const up = dirname(dir);
    if (up === dir) return here;
    dir = up;
  }
}
let pythonClient: string | undefined;
export function pythonBootstrapPath(): string {
  pythonClient ??= join(packageRoot(), 'src', 'integrations', 'function', 'runtime', 'python', 'bootstrap.py');
  return pythonClient;
}

/** `prefix` folders before the inherited value of a PATH-like variable (empty parts dropped). */
function prepend(prefix: readonly string[], inherited: string | undefined): string | undefined {
  const parts = [...prefix, ...(inherited ? inherited.split(delimiter) : [])].filter((p) => p !== '');
  return parts.length > 0 ? parts.join(delimiter) : undefined;
}

/** What every runtime gets from its layers: `bin` on PATH, `lib` on LD_LIBRARY_PATH (Lambda's "all runtimes" row). */
function layerBase(fn: RuntimeStart, inherited: Readonly<Record<string, string>>): Record<string, string> {
  const env: Record<string, string> = {};
  const path = prepend(
    fn.layers.map((l) => join(l, 'bin')),
    inherited.PATH,
  );
  if (path !== undefined) env.PATH = path;
  // Lambda's LD_LIBRARY_PATH holds $LAMBDA_TASK_ROOT, $LAMBDA_TASK_ROOT/lib and /opt/lib; without layers the
  // machine's own libraries are left alone (a code folder's stray .so must not shadow the system's).
  if (fn.layers.length > 0) {
    const ld = prepend([fn.codeDir, join(fn.codeDir, 'lib'), ...fn.layers.map((l) => join(l, 'lib'))], inherited.LD_LIBRARY_PATH);
    if (ld !== undefined) env.LD_LIBRARY_PATH = ld;
  }
  return env;
}

/** A user-named runtime interface client: the command, then the handler (or the handler in place of `{handler}`). */
function clientCommand(cmd: readonly string[], handler: string): RuntimeCommand {
  const withHandler = cmd.includes('{handler}') ? cmd.map((a) => (a === '{handler}' ? handler : a)) : [...cmd, handler];
  const [file = '', ...args] = withHandler;
  return { file, args };
}

function nodeRuntime(name: string): FunctionRuntime {
  const major = /^nodejs(\d+)\.x$/.exec(name)?.[1] ?? '20';
  return {
    name,
    family: 'nodejs',
    executionEnv: `AWS_Lambda_${name}`,
    runtimeDir: () => here,
    command: (fn) =>
      fn.runtimeCommand
        ? clientCommand(fn.runtimeCommand, fn.handler)
        : {
            file: process.execPath,
            args: [`--max-old-space-size=${fn.memoryMb}`, NODE_BOOTSTRAP, fn.module, fn.exportName, ...(fn.forceCommonJs ? ['--commonjs'] : [])],
          },
    environment: (fn, inherited) => {
      const env = layerBase(fn, inherited);
      // Lambda's NODE_PATH: /opt/nodejs/nodeNN/node_modules:/opt/nodejs/node_modules (CommonJS `require` only, as on Lambda).
      const nodePath = prepend(
        fn.layers.flatMap((l) => [join(l, 'nodejs', `node${major}`, 'node_modules'), join(l, 'nodejs', 'node_modules')]),
        undefined,
      );
      if (nodePath !== undefined) env.NODE_PATH = nodePath;
      return env;
    },
    support: () => ({ ok: true }),
  };
}

interface PythonFound {
  executable: string;
  version: string;
  minor: number;
}
let pythonProbe: PythonFound | null | undefined;
let pythonProbedAs: number | undefined;
/**
 * This machine's `python3` (once per process and function user): its real executable (no shim at every
 * start) and version. Probed as the user functions run as (identity.ts): a python3 the gateway's root can
 * run may sit where that user cannot reach (a pyenv shim under /root), and the search then finds the
 * next python3 on the PATH that it can run, as the function's own process would.
 */
function findPython(): PythonFound | null {
  const id = functionIdentity();
  if (pythonProbe !== undefined && pythonProbedAs === id?.uid) return pythonProbe;
  pythonProbedAs = id?.uid;
  try {
    const r = spawnSync('python3', ['-c', 'import sys; print(sys.executable); print("%d.%d.%d" % sys.version_info[:3])'], {
      encoding: 'utf8',
      timeout: 10_000,
      cwd: '/',
      env: { PATH: process.env.PATH ?? '', LANG: process.env.LANG ?? 'en_US.UTF-8' },
      ...(id !== undefined ? { uid: id.uid, gid: id.gid } : {}),
    });
    const [executable = '', version = ''] = (r.stdout ?? '').trim().split('\n');
    const m = /^3\.(\d+)\./.exec(version);
    pythonProbe = r.status === 0 && executable !== '' && m ? { executable, version, minor: Number(m[1]) } : null;
  } catch {
    pythonProbe = null;
  }
  return pythonProbe;
}

function pythonRuntime(name: string): FunctionRuntime {
  const declaredMinor = Number(/^python3\.(\d+)$/.exec(name)?.[1] ?? '0');
  return {
    name,
    family: 'python',
    executionEnv: `AWS_Lambda_${name}`,
    runtimeDir: () => dirname(pythonBootstrapPath()),
    command: (fn) =>
      fn.runtimeCommand
        ? clientCommand(fn.runtimeCommand, fn.handler)
        : // -u: print() reaches the gateway as it happens (lines are attributed to the invocation running then).
          { file: findPython()?.executable ?? 'python3', args: ['-u', pythonBootstrapPath()] },
    environment: (fn, inherited) => {
      const env = layerBase(fn, inherited);
      // Lambda's sys.path: /var/task, then the layers' python/lib/python3.x/site-packages and python.
      const py = prepend(
        fn.layers.flatMap((l) => [join(l, 'python', 'lib', `python3.${declaredMinor}`, 'site-packages'), join(l, 'python')]),
        undefined,
      );
      if (py !== undefined) env.PYTHONPATH = py;
      return env;
    },
    support: (fn) => {
      if (fn.runtimeCommand) return { ok: true };
      const found = findPython();
      if (!found) return { ok: false, message: `runtime ${name} needs Python 3 on the PATH as python3 (not found): install Python 3.${declaredMinor} (e.g. apt-get install python3) or name a runtime client with runtimeCommand` };
      if (found.minor !== declaredMinor) return { ok: true, warning: `runtime ${name}: this machine's python3 is ${found.version}; the function runs on it, not on Python 3.${declaredMinor}` };
      return { ok: true };
    },
  };
}

function providedRuntime(name: string): FunctionRuntime {
  return {
    name,
    family: 'provided',
    // OS-only runtimes: Lambda sets no AWS_EXECUTION_ENV for them.
    executionEnv: undefined,
    // Lambda's /var/runtime is empty for OS-only runtimes; the code folder is where this runtime's bootstrap is.
    runtimeDir: (fn) => fn.codeDir,
    command: (fn) => (fn.runtimeCommand ? clientCommand(fn.runtimeCommand, fn.handler) : { file: fn.module, args: [] }),
    environment: (fn, inherited) => layerBase(fn, inherited),
    support: () => ({ ok: true }),
  };
}

/** Managed runtimes Turnpike ships no client for: the user's runtime interface client runs them. */
const CLIENT_HINT: Record<'java' | 'dotnet' | 'ruby', string> = {
  java: 'install the AWS Lambda Java runtime interface client (com.amazonaws:aws-lambda-java-runtime-interface-client) and set runtimeCommand, e.g. ["java", "-cp", "lib/*:.", "com.amazonaws.services.lambda.runtime.api.client.AWSLambda"]',
  dotnet: 'build your function with Amazon.Lambda.RuntimeSupport (an executable that runs its own bootstrap) and set runtimeCommand, e.g. ["dotnet", "MyFunction.dll"]',
  ruby: 'install the aws_lambda_ric gem and set runtimeCommand, e.g. ["aws_lambda_ric"]',
};

function clientRuntime(name: string, family: 'java' | 'dotnet' | 'ruby'): FunctionRuntime {
  return {
    name,
    family,
    executionEnv: `AWS_Lambda_${name}`,
    runtimeDir: (fn) => fn.codeDir,
    command: (fn) => clientCommand(fn.runtimeCommand ?? [], fn.handler),
    environment: (fn, inherited) => {
      const env = layerBase(fn, inherited);
      if (family === 'java') {
        const cp = prepend(fn.layers.map((l) => join(l, 'java', 'lib', '*')), inherited.CLASSPATH);
        if (cp !== undefined) env.CLASSPATH = cp;
      } else if (family === 'ruby') {
        const lib = prepend(fn.layers.map((l) => join(l, 'ruby', 'lib')), undefined);
        if (lib !== undefined) env.RUBYLIB = lib;
        const gems = prepend(fn.layers.map((l) => join(l, 'ruby', 'gems', '3.4.0')), undefined);
        if (gems !== undefined) env.GEM_PATH = gems;
      }
      return env;
    },
    support: (fn) =>
      fn.runtimeCommand && fn.runtimeCommand.length > 0 ? { ok: true } : { ok: false, message: `runtime ${name} has no runtime client in Turnpike: ${CLIENT_HINT[family]} (the handler is appended to it)` },
  };
}

/** The runtime identifiers this registry knows, as error messages list them. */
export const KNOWN_RUNTIMES: readonly string[] = [
  'nodejs18.x',
  'nodejs20.x',
  'nodejs22.x',
  'python3.9',
  'python3.10',
  'python3.11',
  'python3.12',
  'python3.13',
  'provided',
  'provided.al2',
  'provided.al2023',
  'java8.al2',
  'java11',
  'java17',
  'java21',
  'dotnet8',
  'ruby3.2',
  'ruby3.3',
  'ruby3.4',
];

const cache = new Map<string, FunctionRuntime>();

/** The runtime for Lambda identifier `name`, or undefined for one this registry does not know. */
export function runtimeFor(name: string): FunctionRuntime | undefined {
  const known = cache.get(name);
  if (known) return known;
  let rt: FunctionRuntime | undefined;
  if (/^nodejs(1[89]|[2-9]\d)\.x$/.test(name)) rt = nodeRuntime(name);
  else if (/^python3\.(9|1[0-9])$/.test(name)) rt = pythonRuntime(name);
  else if (name === 'provided' || name === 'provided.al2' || name === 'provided.al2023') rt = providedRuntime(name);
  else if (/^java\d+(\.al2)?$/.test(name)) rt = clientRuntime(name, 'java');
  else if (/^dotnet\d+$/.test(name)) rt = clientRuntime(name, 'dotnet');
  else if (/^ruby\d+\.\d+$/.test(name)) rt = clientRuntime(name, 'ruby');
  if (rt) cache.set(name, rt);
  return rt;
}

/** The default runtime (a `module:` entry, or a function with no `runtime`). */
export const nodejs: FunctionRuntime = runtimeFor('nodejs20.x') as FunctionRuntime;

/** Every runtime id matched so far, plus the catalogue (for diagnostics). */
export const RUNTIMES: ReadonlyMap<string, FunctionRuntime> = new Map(KNOWN_RUNTIMES.map((n) => [n, runtimeFor(n) as FunctionRuntime]));
