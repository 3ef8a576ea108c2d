/**
 * Runs one Markdown page's marked blocks (docs/doctests.md) in order, in a temp directory of its
 * own, against real processes on 127.0.0.1: shell blocks through bash with the repo's bin on PATH,
 * configs through the same load -> validate -> compile path as `turnpike validate`.
 *
 * A page is a reader's terminal session: variables a block sets (exported or not) are there in the
 * next block, files it writes stay in the directory. Failures are collected (a broken block does not
 * hide the next one's problem) and reported together, each with its file:line.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';
import { parse as parseYaml } from 'yaml';
import { ConfigError, formatDiagnostic } from '../../src/config/diagnostics.js';
import { buildTable, readConfigFile } from '../../src/config/index.js';
import { GatewayMetrics } from '../../src/observability/metrics.js';
import { loadTls } from '../../src/server/tls.js';
import { PoolRegistry } from '../../src/upstream/upstream.js';
import {
  type Block,
  type Directive,
  type ParsedPage,
  isTranscript,
  matchJson,
  matchText,
  parseTranscript,
} from './doctest-markdown.js';
import { ROOT } from './gateway.js';
import { createTestDatabase, type TestDatabase } from './postgres.js';
import { freePort } from './redis.js';

export interface PageCounts {
  executed: number;
  outputs: number;
  validated: number;
  skipped: number;
}

interface LastOutput {
  text: string;
  at: string;
}

interface Background {
  proc: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  at: string;
}

/** Names the harness gives the shell; the state file keeps everything else a block defined. */
const WRAPPER = `
__dt_known=" $(compgen -v | tr '\\n' ' ') "
if [ -f "$DT_STATE" ]; then . "$DT_STATE"; fi
__dt_save() {
  __dt_rc=$?
  { export -p
    for __dt_v in $(compgen -v); do
      case "$__dt_known" in *" $__dt_v "*) continue;; esac
      case "$__dt_v" in __dt_*|BASH*|FUNCNAME|PIPESTATUS|GROUPS|_) continue;; esac
      declare -p "$__dt_v" 2>/dev/null
    done
    for __dt_f in $(compgen -A function); do case "$__dt_f" in __dt_*) ;; *) declare -f "$__dt_f";; esac; done
  } > "$DT_STATE.tmp" && mv "$DT_STATE.tmp" "$DT_STATE"
  exit $__dt_rc
}
trap __dt_save EXIT
trap 'printf "\n[doctest: exit status %s from: %s]\n" $? "$BASH_COMMAND"' ERR
exec 2>&1
set -e -o pipefail
`;

/**
 * Process groups of `run background` blocks still running: killed if this process exits without
 * tearing its pages down (a test-runner timeout), so no gateway outlives the test.
 */
const liveGroups = new Set<number>();
process.once('exit', () => {
  for (const pid of liveGroups) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Serialises in-process validations: a block's `env` is set on process.env while it compiles. */
let compileChain: Promise<unknown> = Promise.resolve();

/** `turnpike <cmd> --help` parsed into its option names, once per command for the whole run. */
const helpCache = new Map<string, Promise<{ ok: boolean; options: Set<string>; text: string }>>();

export class PageRun {
  readonly counts: PageCounts = { executed: 0, outputs: 0, validated: 0, skipped: 0 };
  readonly failures: string[] = [];
  readonly #page: ParsedPage;
  #dir = '';
  #state = '';
  #binDir = '';
  #ports = new Map<string, number>();
  #db: TestDatabase | undefined;
  #dbDocUrl: string | undefined;
  #env: Record<string, string> = {};
  #last: LastOutput | undefined;
  readonly #background = new Map<string, Background>();

  constructor(page: ParsedPage) {
    this.#page = page;
  }

  async run(): Promise<void> {
    try {
      await this.#setup();
      for (const step of this.#page.steps) {
        if (step.kind === 'directive') await this.#directive(step.directive);
        else await this.#block(step.block);
      }
    } finally {
      await this.#teardown();
    }
  }

  // ---------------------------------------------------------------------------------------------

  async #setup(): Promise<void> {
    this.#dir = mkdtempSync(join(tmpdir(), 'turnpike-doctest-'));
    // mkdtemp makes it 0700; a reader's project folder is not, and as root a gateway runs functions as
    // nobody (server.functionRunAs), who must reach the code in it.
    chmodSync(this.#dir, 0o755);
    this.#state = join(this.#dir, '.doctest-state.sh');
    // curl fails on an HTTP error (the block fails with it), quietly, and never hangs a page.
    writeFileSync(join(this.#dir, '.curlrc'), 'fail-with-body\nsilent\nshow-error\nmax-time = 20\n');
    const page = this.#page.page;
    for (const p of (page?.attrs.ports ?? '').split(/[\s,]+/).filter(Boolean)) this.#ports.set(p, await freePort());
    if (page?.attrs.database) {
      this.#db = await createTestDatabase();
      this.#dbDocUrl = page.attrs.database;
    }
    // `turnpike` and `./bin/turnpike` both work; with substituted ports a `serve` that names no port gets the page's.
    this.#binDir = join(this.#dir, 'bin');
    if (this.#ports.size === 0) symlinkSync(join(ROOT, 'bin'), this.#binDir);
    else {
      mkdirSync(this.#binDir);
      const port = this.#ports.get('8080');
      const admin = this.#ports.get('9080');
      const shim = `#!/bin/bash
# doctest shim (docs/doctests.md, "Ports"): this page's ports are substituted, and a serve that
# names no port would take the default one, so it gets the page's port here.
if [ "$1" = serve ]; then
  p=; a=
  for x in "$@"; do case "$x" in -p|--port|--port=*) p=1;; --admin-port|--admin-port=*) a=1;; esac; done
${port ? `  [ -n "$p" ] || set -- "$@" --port ${port}\n` : ''}${admin ? `  [ -n "$a" ] || set -- "$@" --admin-port ${admin}\n` : ''}fi
exec "${process.execPath}" "${join(ROOT, 'bin', 'turnpike')}" "$@"
`;
      writeFileSync(join(this.#binDir, 'turnpike'), shim);
      chmodSync(join(this.#binDir, 'turnpike'), 0o755);
    }
    this.#env = {
      ...(process.env as Record<string, string>),
      PATH: `${this.#binDir}:${process.env.PATH ?? ''}`,
      CURL_HOME: this.#dir,
      DT_STATE: this.#state,
      DOCTEST_REPO: ROOT,
      TURNPIKE_STATE_DIR: this.#dir,
    };
    // A test run's own settings must not leak into what a reader would see.
    delete this.#env.TURNPIKE_LOG_LEVEL;
    delete this.#env.TURNPIKE_ADMIN_TOKEN;
    delete this.#env.TURNPIKE_DATABASE_URL;
  }

  async #teardown(): Promise<void> {
    for (const [id, bg] of this.#background) await this.#stop(id, bg);
    await this.#db?.drop().catch(() => undefined);
    if (this.failures.length === 0) rmSync(this.#dir, { recursive: true, force: true });
    else this.failures.push(`(the page's working directory is kept: ${this.#dir})`);
  }

  /** Doc text -> what runs here: the page's ports and database, then the block's own `replace`. */
  #subst(text: string, replace?: string): string {
    let out = text;
    for (const [doc, real] of this.#ports) out = out.replace(new RegExp(`(?<![\\d.])${doc}(?!\\d)`, 'g'), String(real));
    if (this.#db && this.#dbDocUrl) out = out.split(this.#dbDocUrl).join(this.#db.url);
    for (const pair of (replace ?? '').split(';').filter((p) => p.includes('='))) {
      const eq = pair.indexOf('=');
      out = out.split(pair.slice(0, eq)).join(pair.slice(eq + 1));
    }
    return out;
  }

  /** Real output -> doc terms, so a page's expected output can show its own ports and URLs. */
  #unsubst(text: string): string {
    let out = text.split(`${this.#dir}/`).join('');
    if (this.#db && this.#dbDocUrl) out = out.split(this.#db.url).join(this.#dbDocUrl.replace(/:[^:@/]+@/, ':***@'));
    for (const [doc, real] of this.#ports) out = out.replace(new RegExp(`(?<!\\d)${real}(?!\\d)`, 'g'), doc);
    return out;
  }

  #fail(at: string, message: string): void {
    this.failures.push(`${at}: ${message}`);
  }

  // ---------------------------------------------------------------------------------------------

  async #directive(d: Directive): Promise<void> {
    const at = `${this.#page.file}:${d.line}`;
    if (d.mode === 'file') {
      this.#write(d.attrs.name as string, this.#subst(d.body));
    } else if (d.mode === 'setup') {
      const r = await this.#bash(this.#subst(d.body), {}, 60_000);
      if (r.code !== 0) this.#fail(at, `setup exited ${r.code}:\n${r.output}`);
    }
  }

  async #block(b: Block): Promise<void> {
    const m = b.marker;
    if (!m) return; // reported by the marker test
    const at = `${b.file}:${b.line}`;
    const a = m.attrs;
    switch (m.mode) {
      case 'skip':
        this.counts.skipped++;
        return;
      case 'run':
        this.counts.executed++;
        if (a.background) return this.#startBackground(b, at);
        return this.#run(b, at);
      case 'output': {
        this.counts.outputs++;
        if (!this.#last) return this.#fail(at, 'an output block needs a run, config or validate block before it');
        const mode = a.match ?? 'text';
        const problem =
          mode === 'json' || mode === 'json-subset'
            ? matchJson(b.text, this.#last.text, mode === 'json-subset')
            : matchText(b.text, this.#last.text, mode === 'contains' ? 'contains' : 'text');
        if (problem) this.#fail(at, `(output of ${this.#last.at}) ${problem}`);
        return;
      }
      case 'config':
      case 'validate': {
        this.counts.validated++;
        const name = a.name ?? `.doctest-${b.line}.${b.lang === 'json' ? 'json' : 'yaml'}`;
        let text = this.#subst(b.text, a.replace);
        if (a.fragment) text = completeFragment(text);
        this.#write(name, text);
        const r = await this.#compile(name, parseEnv(a.env));
        this.#last = { text: r.output, at };
        if (a.invalid && r.ok) this.#fail(at, `expected this config to be rejected, but it is valid: ${r.output}`);
        if (!a.invalid && !r.ok) this.#fail(at, `config rejected:\n${r.output}`);
        return;
      }
      case 'file':
        this.counts.validated++;
        if (b.lang === 'json') {
          try {
            JSON.parse(b.text);
          } catch (e) {
            this.#fail(at, `not valid JSON: ${(e as Error).message}`);
          }
        }
        this.#write(a.name as string, this.#subst(b.text));
        return;
      case 'json':
        this.counts.validated++;
        try {
          JSON.parse(b.text);
        } catch (e) {
          this.#fail(at, `not valid JSON: ${(e as Error).message}`);
        }
        return;
      case 'imports':
        this.counts.validated++;
        return this.#imports(b, at, a.base as string);
      case 'flags':
        this.counts.validated++;
        return this.#flags(b, at);
    }
  }

  #write(name: string, text: string): void {
    const path = join(this.#dir, name);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, text);
  }

  async #run(b: Block, at: string): Promise<void> {
    const a = b.marker?.attrs ?? {};
    const env = parseEnv(a.env);
    const exit = Number(a.exit ?? 0);
    const timeout = Number(a.timeout ?? 60_000);
    if (isTranscript(b.text)) {
      for (const c of parseTranscript(b.text)) {
        const r = await this.#bash(this.#subst(c.command, a.replace), env, timeout, a.cwd);
        const output = this.#unsubst(r.output);
        if (r.code !== exit) this.#fail(at, `\`${c.command}\` exited ${r.code}, the page expects ${exit}:\n${output}`);
        const problem = matchText(c.expected, PageRun.clean(output));
        if (problem) this.#fail(at, `\`${c.command}\`: ${problem}`);
        this.#last = { text: PageRun.clean(output), at };
      }
      return;
    }
    const r = await this.#bash(this.#subst(b.text, a.replace), env, timeout, a.cwd);
    const output = this.#unsubst(r.output);
    this.#last = { text: PageRun.clean(output), at };
    if (r.code !== exit) this.#fail(at, `exited ${r.code}, the page expects ${exit}:\n${output}`);
  }

  /**
   * What a page's expected output is compared with: without the harness's own notes, i.e. the
   * ERR-trap line and what the `.curlrc` adds (`curl: (22) The requested URL returned error: N`).
   */
  static clean(output: string): string {
    return output.replace(/\n?\[doctest: exit status [^\n]*\]\n?/g, '').replace(/^curl: \(22\) The requested URL returned error: \d+\n/gm, '');
  }

  #bash(script: string, env: Record<string, string>, timeoutMs: number, cwd = '.'): Promise<{ code: number | null; output: string }> {
    return new Promise((resolve) => {
      const p = spawn('bash', ['-c', `${WRAPPER}\n${script}`], { cwd: join(this.#dir, cwd), env: { ...this.#env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      let output = '';
      p.stdout.setEncoding('utf8').on('data', (c: string) => (output += c));
      p.stderr.setEncoding('utf8').on('data', (c: string) => (output += c));
      const t = setTimeout(() => {
        output += `\n[doctest: killed after ${timeoutMs} ms]`;
        killGroup(p, 'SIGKILL');
      }, timeoutMs);
      // A block may leave a process behind that holds the pipe: the exit decides, then its group goes.
      p.once('exit', (code) => {
        clearTimeout(t);
        const late = setTimeout(() => {
          killGroup(p, 'SIGKILL');
          resolve({ code, output });
        }, 2000);
        p.once('close', () => {
          clearTimeout(late);
          resolve({ code, output });
        });
      });
    });
  }

  async #startBackground(b: Block, at: string): Promise<void> {
    const a = b.marker?.attrs ?? {};
    const id = a.id ?? 'server';
    const old = this.#background.get(id);
    if (old) await this.#stop(id, old);
    const script = this.#subst(b.text, a.replace);
    const p = spawn('bash', ['-c', `${WRAPPER.replace('trap __dt_save EXIT', '')}\n${script}`], {
      cwd: this.#dir,
      env: { ...this.#env, ...parseEnv(a.env) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    p.stdout?.setEncoding('utf8').on('data', (c: string) => (output += c));
    p.stderr?.setEncoding('utf8').on('data', (c: string) => (output += c));
    if (p.pid !== undefined) liveGroups.add(p.pid);
    const exited = new Promise<number | null>((r) =>
      p.once('close', (code) => {
        if (p.pid !== undefined) liveGroups.delete(p.pid);
        r(code);
      }),
    );
    const bg: Background = { proc: p, output: () => this.#unsubst(output), exited, at };
    this.#background.set(id, bg);
    const wait = a.wait ? this.#subst(a.wait) : undefined;
    if (!wait) return;
    const deadline = Date.now() + Number(a.timeout ?? 60_000);
    let done = false;
    void exited.then(() => (done = true));
    while (Date.now() < deadline && !done) {
      if (await probe(wait)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    this.#fail(at, `${done ? 'exited' : 'not ready'} before ${a.wait} answered:\n${bg.output()}`);
  }

  async #stop(id: string, bg: Background): Promise<void> {
    this.#background.delete(id);
    if (bg.proc.exitCode !== null || bg.proc.signalCode !== null) return;
    killGroup(bg.proc, 'SIGTERM');
    const t = setTimeout(() => killGroup(bg.proc, 'SIGKILL'), 15_000);
    await bg.exited;
    clearTimeout(t);
  }

  async #compile(name: string, env: Record<string, string>): Promise<{ ok: boolean; output: string }> {
    const file = join(this.#dir, name);
    const job = compileChain.then(async () => {
      const saved: Record<string, string | undefined> = {};
      for (const [k, v] of Object.entries(env)) {
        saved[k] = process.env[k];
        process.env[k] = v;
      }
      try {
        const doc = await readConfigFile(file);
        const table = buildTable(doc, { logger: pino({ level: 'silent' }), metrics: new GatewayMetrics(), pools: new PoolRegistry() });
        try {
          loadTls(doc); // as `turnpike validate` does
        } catch (err) {
          await table.close();
          throw err;
        }
        const warnings = [...doc.warnings, ...table.warnings].map((w) => formatDiagnostic(w));
        const n = table.routes.length;
        await table.close();
        return { ok: true, output: [...warnings, `${file}: ok (${n} route${n === 1 ? '' : 's'}, version ${table.version})`].join('\n') };
      } catch (err) {
        return { ok: false, output: err instanceof ConfigError ? err.message : `${file}: ${(err as Error).message}` };
      } finally {
        for (const [k, v] of Object.entries(saved)) {
          if (v === undefined) delete process.env[k];
          else process.env[k] = v;
        }
      }
    });
    compileChain = job.catch(() => undefined);
    const r = await job;
    return { ok: r.ok, output: this.#unsubst(r.output) };
  }

  async #imports(b: Block, at: string, base: string): Promise<void> {
    const imports = [...b.text.matchAll(/import\s*(type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)];
    if (imports.length === 0) return this.#fail(at, 'an imports block needs at least one `import { … } from "…"`');
    for (const m of imports) {
      if (m[1]) continue;
      const spec = m[3] as string;
      const path = join(ROOT, 'dist', base, spec);
      let mod: Record<string, unknown>;
      try {
        mod = (await import(pathToFileURL(path).href)) as Record<string, unknown>;
      } catch (e) {
        this.#fail(at, `cannot import ${spec} (from ${base}): ${(e as Error).message}`);
        continue;
      }
      for (const raw of (m[2] as string).split(',')) {
        const name = raw.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0] as string;
        if (name && !raw.trim().startsWith('type ') && !(name in mod)) this.#fail(at, `${spec} (from ${base}) exports no "${name}"`);
      }
    }
  }

  /** Every `turnpike <command> --flag` in the block names a command and flags that exist. */
  async #flags(b: Block, at: string): Promise<void> {
    const text = b.text.replace(/\\\n/g, ' ');
    let found = 0;
    for (const line of text.split('\n')) {
      // A synopsis's `[--opt VALUE]` and `a|b` count as the options they name.
      const code = line
        .replace(/(^|\s)#.*$/, '')
        .replace(/[[\]]/g, ' ')
        .replace(/(\w)\|(\w)/g, '$1/$2');
      for (const m of code.matchAll(/(?:^|[\s;&|(])(?:\.\/bin\/|npx\s+)?turnpike((?:\s+[^\s;&|)#]+)*)/g)) {
        const words = (m[1] as string).trim().split(/\s+/).filter(Boolean);
        const cmd: string[] = [];
        for (const w of words) {
          if (w.startsWith('-') || cmd.length === (cmd[0] === 'keys' ? 2 : 1)) break;
          cmd.push(w);
        }
        if (cmd[0] === 'help' || words[0]?.startsWith('-')) continue;
        found++;
        const help = await turnpikeHelp(cmd);
        if (!help.ok) {
          this.#fail(at, `\`turnpike ${cmd.join(' ')}\`: no such command (its --help does not describe it)`);
          continue;
        }
        for (const w of words) {
          if (!w.startsWith('-') || w === '-' || w === '--') continue;
          const flag = w.split('=')[0] as string;
          if (!help.options.has(flag)) this.#fail(at, `\`turnpike ${cmd.join(' ')}\` has no option ${flag} (it has: ${[...help.options].join(' ')})`);
        }
      }
    }
    if (found === 0) this.#fail(at, 'a flags block needs at least one `turnpike COMMAND` line');
  }
}

function turnpikeHelp(cmd: string[]): Promise<{ ok: boolean; options: Set<string>; text: string }> {
  const key = cmd.join(' ');
  let p = helpCache.get(key);
  if (!p) {
    p = new Promise((resolve) => {
      const c = spawn(process.execPath, [join(ROOT, 'bin', 'turnpike'), ...cmd, '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
      let text = '';
      c.stdout.setEncoding('utf8').on('data', (s: string) => (text += s));
      c.stderr.setEncoding('utf8').on('data', (s: string) => (text += s));
      c.once('close', (code) => {
        const options = new Set<string>();
        const section = text.split(/\nOptions:\n/)[1]?.split(/\n\S/)[0] ?? '';
        for (const m of section.matchAll(/^\s{2}(-\w)?(?:,\s*)?(--[\w-]+)?/gm)) {
          if (m[1]) options.add(m[1]);
          if (m[2]) options.add(m[2]);
        }
        resolve({ ok: code === 0 && text.startsWith(`Usage: turnpike ${key}`), options, text });
      });
    });
    helpCache.set(key, p);
  }
  return p;
}

function killGroup(p: ChildProcess, signal: NodeJS.Signals): void {
  try {
    if (p.pid !== undefined) process.kill(-p.pid, signal);
  } catch {
    // already gone
  }
}

async function probe(target: string): Promise<boolean> {
  if (/^\d+$/.test(target)) {
    return new Promise((resolve) => {
      const s = net.connect(Number(target), '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  }
  try {
    const r = await fetch(target, { signal: AbortSignal.timeout(2000) });
    await r.arrayBuffer();
    return r.ok;
  } catch {
    return false;
  }
}

function parseEnv(spec: string | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of (spec ?? '').split(/\s+/).filter(Boolean)) {
    const eq = pair.indexOf('=');
    if (eq > 0) env[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return env;
}

/** A config fragment (no `apis`) gets one mock route, so it validates and compiles as a whole file. */
export function completeFragment(text: string): string {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch {
    return text; // the validator reports the syntax error with its position
  }
  if (data !== null && typeof data === 'object' && 'apis' in data) return text;
  return `${text.replace(/\n*$/, '\n')}apis:\n  - name: doctest-fragment\n    routes: [{ path: /doctest-fragment, integration: { type: mock } }]\n`;
}
