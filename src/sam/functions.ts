/**
 * `AWS::Serverless::Function` and `AWS::Lambda::Function` as native `functions` entries (the contract
 * in src/config/schema.ts FunctionDef: runtime, handler, codeUri, layers, environment, timeoutMs,
 * memoryMb). Globals.Function is merged in first, as SAM merges it. Code must be a local folder:
 * Turnpike runs the code where it is, it never downloads an S3 object.
 */
import { isAbsolute, relative, resolve } from 'node:path';
import { type Path, type TemplateContext, isRecord, mergeGlobals, num, str } from './context.js';

/** Keys of a function with no local meaning (IAM, tracing, deployment): each named once as ignored. */
const NOT_LOCAL: Readonly<Record<string, string>> = {
  Policies: 'IAM is not enforced on local functions; ignored',
  Role: 'IAM is not enforced on local functions; ignored',
  PermissionsBoundary: 'IAM is not enforced on local functions; ignored',
  Tracing: 'X-Ray tracing is not emulated; ignored',
  AutoPublishAlias: 'aliases and versions are not emulated (the latest code is served); ignored',
  DeploymentPreference: 'gradual deployments are not emulated; ignored',
  ReservedConcurrentExecutions: 'not emulated (use the function entry\'s concurrency); ignored',
  ProvisionedConcurrencyConfig: 'not emulated; ignored',
  VpcConfig: 'local functions run on this machine\'s network; ignored',
  DeadLetterQueue: 'asynchronous invocation is not emulated; ignored',
  EventInvokeConfig: 'asynchronous invocation is not emulated; ignored',
  FunctionUrlConfig: 'function URLs are not served; ignored',
  KmsKeyArn: 'ignored locally',
  Architectures: 'the local machine\'s architecture is used; ignored',
  EphemeralStorage: 'ignored locally',
  SnapStart: 'ignored locally',
  FileSystemConfigs: 'EFS mounts are not emulated; ignored',
  LoggingConfig: 'logs go to the gateway\'s log; ignored',
  RuntimeManagementConfig: 'ignored locally',
  RecursiveLoop: 'ignored locally',
  CodeSigningConfigArn: 'ignored locally',
  ImageConfig: 'container image functions are not supported',
  ImageUri: 'container image functions are not supported',
};
/** Keys read below, or descriptive only. */
const KNOWN = new Set(['Handler', 'Runtime', 'CodeUri', 'Code', 'InlineCode', 'Environment', 'Timeout', 'MemorySize', 'Layers', 'Events', 'FunctionName', 'Description', 'Tags', 'PackageType', 'PropagateTags', 'AssumeRolePolicyDocument', 'RolePath']);

export interface FunctionInfo {
  logicalId: string;
  /** The Lambda function name: FunctionName, else the logical id (what the native `functions` key is). */
  name: string;
  arn: string;
  /** Resolved properties, Globals.Function merged in (SAM functions only). */
  props: Record<string, unknown>;
  at: Path;
  serverless: boolean;
}

/** The function's name as Ref answers it, read before anything is resolved (a literal, else the logical id). */
export function functionNameOf(logicalId: string, rawProps: unknown): string {
  const n = isRecord(rawProps) ? rawProps.FunctionName : undefined;
  return typeof n === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(n) ? n : logicalId;
}

/**
 * Resolved properties of a function, with Globals.Function merged under them (SAM only), and the
 * origin of each top-level key: the resource's own, or Globals.
 */
export function functionProps(ctx: TemplateContext, logicalId: string, raw: Record<string, unknown>, serverless: boolean, globals: Record<string, unknown> | undefined): { props: Record<string, unknown>; origin: (key: string) => Path } {
  const at: Path = ['Resources', logicalId, 'Properties'];
  const own = isRecord(raw.Properties) ? raw.Properties : {};
  const props: Record<string, unknown> = {};
  const origin = new Map<string, Path>();
  if (serverless && globals !== undefined) {
    for (const [k, v] of Object.entries(globals)) {
      const r = ctx.resolve(v, ['Globals', 'Function', k]);
      if (r !== undefined) {
        props[k] = r;
        origin.set(k, ['Globals', 'Function', k]);
      }
    }
  }
  for (const [k, v] of Object.entries(own)) {
    // Events are resolved one at a time by their reader; keys with no local meaning are named, never resolved
    // (a role's ARN or a policy's table need nothing locally and must not fail the function).
    const r = k === 'Events' || NOT_LOCAL[k] !== undefined ? v : ctx.resolve(v, [...at, k]);
    if (r === undefined) continue;
    props[k] = mergeGlobals(props[k], r);
    origin.set(k, [...at, k]);
  }
  return { props, origin: (key) => origin.get(key) ?? at };
}

/** The native `functions` entry of one function, or undefined when it cannot run locally (reported). */
export function nativeFunction(ctx: TemplateContext, fn: FunctionInfo, origin: (key: string) => Path, layerFolders: ReadonlyMap<string, string>): Record<string, unknown> | undefined {
  const { props } = fn;
  for (const key of Object.keys(props)) {
    const why = NOT_LOCAL[key];
    if (why !== undefined) ctx.unsupported(origin(key), why);
    else if (!KNOWN.has(key)) ctx.unsupported(origin(key), `${key}: not implemented by Turnpike; ignored`);
  }
  const native = ['functions', fn.name];
  ctx.map(native, fn.at);
  if (str(props.PackageType) === 'Image') {
    ctx.error(origin('PackageType'), 'container image functions (PackageType: Image) are not supported: Turnpike runs zip functions from their local folder');
    return undefined;
  }
  const out: Record<string, unknown> = {};
  const handler = str(props.Handler);
  const runtime = str(props.Runtime);
  if (handler === undefined) {
    ctx.error(fn.at, 'a function needs a Handler (e.g. app.lambdaHandler)');
    return undefined;
  }
  if (runtime === undefined) {
    ctx.error(fn.at, 'a zip function needs a Runtime (e.g. nodejs20.x, python3.12)');
    return undefined;
  }
  out.runtime = runtime;
  ctx.map([...native, 'runtime'], origin('Runtime'));
  out.handler = handler;
  ctx.map([...native, 'handler'], origin('Handler'));

  const codeKey = fn.serverless ? 'CodeUri' : 'Code';
  const code = props[codeKey];
  const folder = localFolder(ctx, code, origin(codeKey), codeKey);
  if (props.InlineCode !== undefined || (isRecord(code) && code.ZipFile !== undefined)) {
    ctx.error(props.InlineCode !== undefined ? origin('InlineCode') : [...origin(codeKey), 'ZipFile'], 'inline code is not supported: put the code in a folder and name it with CodeUri');
    return undefined;
  }
  if (folder === null) return undefined;
  if (folder !== undefined) {
    out.codeUri = folder;
    ctx.map([...native, 'codeUri'], origin(codeKey));
  }

  const env = isRecord(props.Environment) ? props.Environment.Variables : undefined;
  if (isRecord(env)) {
    const environment: Record<string, string> = {};
    for (const [k, v] of Object.entries(env)) {
      const s = str(v);
      if (s !== undefined) environment[k] = s;
      else ctx.warn([...origin('Environment'), 'Variables', k], `environment variable ${k} is not a string here; left unset`);
    }
    out.environment = environment;
    ctx.map([...native, 'environment'], [...origin('Environment'), 'Variables'], true);
  }
  const timeout = num(props.Timeout);
  // Lambda's default is 3 seconds (SAM's too).
  out.timeoutMs = Math.round((timeout ?? 3) * 1000);
  ctx.map([...native, 'timeoutMs'], origin('Timeout'));
  const memory = num(props.MemorySize);
  if (memory !== undefined) {
    out.memoryMb = memory;
    ctx.map([...native, 'memoryMb'], origin('MemorySize'));
  }
  if (Array.isArray(props.Layers)) {
    const layers: string[] = [];
    props.Layers.forEach((l, i) => {
      const arn = str(l);
      const folderOf = arn === undefined ? undefined : layerFolders.get(arn);
      if (folderOf !== undefined) layers.push(folderOf);
      else ctx.warn([...origin('Layers'), i], `layer ${arn ?? JSON.stringify(l)} is not a local folder (only AWS::Serverless::LayerVersion or AWS::Lambda::LayerVersion resources of this template with a local ContentUri are mounted); ignored`);
    });
    if (layers.length > 0) {
      out.layers = layers;
      ctx.map([...native, 'layers'], origin('Layers'));
    }
  }
  return out;
}

/**
 * A CodeUri / ContentUri that names a local folder, relative to the template (as `sam build` reads
 * it); undefined when absent (the template's folder), null when it is not local (reported).
 */
export function localFolder(ctx: TemplateContext, value: unknown, at: Path, key: string): string | undefined | null {
  if (value === undefined) return undefined;
  const s = str(value);
  if (s === undefined || /^s3:\/\//i.test(s)) {
    const remote = isRecord(value) && (value.Bucket !== undefined || value.S3Bucket !== undefined);
    if (isRecord(value) && value.ZipFile !== undefined) return undefined;
    ctx.error(at, `${key} ${remote || s !== undefined ? 'names an S3 object' : 'is not a folder'}: Turnpike runs code from a local folder; give ${key} as a path relative to the template (as before \`sam package\`)`);
    return null;
  }
  const abs = resolve(ctx.templateDir, s);
  const rel = relative(ctx.templateDir, abs);
  return rel === '' ? '.' : isAbsolute(rel) ? abs : rel;
}
