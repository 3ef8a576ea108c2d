/**
 * Starts the real gateway process (bin/turnpike serve) on loopback with a config written to a temp
 * dir, finds its ports from the "listening" log line, and collects its log lines for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../../..');
export const BIN = join(ROOT, 'bin', 'turnpike');

export interface RunningGateway {
  port: number;
  adminPort: number;
  url: string;
  adminUrl: string;
  proc: ChildProcess;
  dir: string;
  file: string;
  /** Every JSON log line so far (stdout). */
  logs: Record<string, unknown>[];
  stderr: () => string;
  /** Resolves when a log line matching the predicate appears (or rejects after timeoutMs). */
  waitForLog(pred: (l: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** Rewrites the config file (hot reload picks it up). */
  writeConfig(text: string): void;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

export interface StartOptions {
  workers?: number;
  args?: string[];
  env?: Record<string, string>;
  fileName?: string;
  /** Write the config into this directory instead of a new temp dir (e.g. beside copied fixtures). */
  dir?: string;
  /** Expect the process to exit (e.g. invalid config) instead of listening. */
  expectExit?: boolean;
  /** Start without a config file argument (e.g. `--database URL` in args); configText is then ignored. */
  noFile?: boolean;
  /**
   * The log line that means "started" (default: msg 'listening'); port and adminPort are read from it
   * when it carries them (e.g. a node waiting for its database logs only its adminPort).
   */
  startedLog?: (l: Record<string, unknown>) => boolean;
}

export async function startGateway(configText: string, opts: StartOptions = {}): Promise<RunningGateway> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'turnpike-test-'));
  const file = join(dir, opts.fileName ?? 'gateway.yaml');
  if (!opts.noFile) writeFileSync(file, configText);
  const proc = spawn(
    process.execPath,
    [BIN, 'serve', ...(opts.noFile ? [] : [file]), '--port', '0', '--admin-port', '0', '--host', '127.0.0.1', '--workers', String(opts.workers ?? 1), ...(opts.args ?? [])],
    { env: { ...process.env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const logs: Record<string, unknown>[] = [];
  const waiters: { pred: (l: Record<string, unknown>) => boolean; resolve: (l: Record<string, unknown>) => void }[] = [];
  let buf = '';
  let err = '';
  proc.stdout?.setEncoding('utf8');
  proc.stdout?.on('data', (chunk: string) => {
    buf += chunk;
    let nl = buf.indexOf('\n');
    while (nl >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      nl = buf.indexOf('\n');
      let obj: Record<string, unknown>;
      try {
        obj = JSON.parse(line) as Record<string, unknown>;
      } catch {
        obj = { raw: line };
      }
      logs.push(obj);
      for (let i = waiters.length - 1; i >= 0; i--) {
        const w = waiters[i];
        if (w?.pred(obj)) {
          waiters.splice(i, 1);
          w.resolve(obj);
        }
      }
    }
  });
  proc.stderr?.setEncoding('utf8');
  proc.stderr?.on('data', (c: string) => {
    err += c;
  });
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));

  const waitForLog = (pred: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000) => {
    const found = logs.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise<Record<string, unknown>>((resolveP, reject) => {
      const t = setTimeout(() => reject(new Error(`timed out waiting for log line; stderr: ${err.slice(-2000)}`)), timeoutMs);
      waiters.push({
        pred,
        resolve: (l) => {
          clearTimeout(t);
          resolveP(l);
        },
      });
    });
  };

  const gw: RunningGateway = {
    port: 0,
    adminPort: 0,
    url: '',
    adminUrl: '',
    proc,
    dir,
    file,
    logs,
    stderr: () => err,
    waitForLog,
    writeConfig: (text) => writeFileSync(file, text),
    async stop(signal = 'SIGTERM') {
      if (proc.exitCode !== null || proc.signalCode !== null) return proc.exitCode;
      proc.kill(signal);
      const t = setTimeout(() => proc.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(t);
      return code;
    },
  };
  if (opts.expectExit) {
    await exited;
    return gw;
  }
  let ready: Record<string, unknown>;
  try {
    ready = await Promise.race([
      // Generous: a primary with workers on a loaded 2-core CI machine has been seen to need over 20 s.
      waitForLog(opts.startedLog ?? ((l) => l.msg === 'listening'), 45_000),
      exited.then((code) => {
        throw new Error(`gateway exited with ${code} before listening: ${err}`);
      }),
    ]);
  } catch (e) {
    // The caller never gets `gw` to stop: a gateway that did not start in time would outlive the test
    // file (seen: primaries with their workers still running minutes later, slowing every later file).
    await gw.stop('SIGKILL');
    throw e;
  }
  gw.port = (ready.port as number | undefined) ?? 0;
  gw.adminPort = ready.adminPort as number;
  gw.url = `http://127.0.0.1:${gw.port}`;
  gw.adminUrl = `http://127.0.0.1:${gw.adminPort}`;
  return gw;
}

/** Runs a CLI command to completion. */
export function runCli(args: string[], env?: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveP) => {
    const p = spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    p.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    p.once('exit', (code) => resolveP({ code, stdout, stderr }));
  });
}

export function tempConfig(text: string, name = 'gateway.yaml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'turnpike-cfg-'));
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** AWS ground truth recorded against the real service: `shared/` beside the checkout (as CI lays it out). */
export const GROUND_TRUTH = resolve(ROOT, '..', 'shared', 'aws-groundtruth');
