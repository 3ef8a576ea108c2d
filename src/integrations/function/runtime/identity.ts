/**
 * The user a function process runs as (`server.functionRunAs`, docs/functions.md "Isolation").
 *
 * Why: a process can read /proc/<pid>/environ of every process of its own uid (the kernel checks
 * PTRACE_MODE_READ: same uid and a dumpable target, or CAP_SYS_PTRACE). A function running as the
 * gateway's uid could therefore read the gateway's environment, the Admin API token included, however
 * clean its own environment is. Node cannot make the gateway non-dumpable (prctl(PR_SET_DUMPABLE) has
 * no binding), so the supported fix is another uid: when the gateway runs as root (containers, CI),
 * function processes are spawned with spawn()'s `uid`/`gid` (libuv drops supplementary groups, then
 * setgid, then setuid, in the child before exec), by default as `nobody`.
 *
 * Names are resolved once, when the gateway starts (from /etc/passwd and /etc/group: Node has no
 * getpwnam), never per spawn. The code folder must be reachable by that user: the gateway adds search
 * permission (x, not read: nothing becomes listable) for that user's class where it lacks it (a folder
 * made by mkdtemp is 0700) on the function's own folder and on the folders between it and the config
 * file's folder (the operator's gateway folder, e.g. gateway.yaml beside aws/functions/), and refuses,
 * naming the folder and the fix, when a folder above those or the handler file itself is closed to it.
 */
import { chmodSync, readFileSync, statSync } from 'node:fs';
import { dirname, parse, sep } from 'node:path';

/** A uid/gid to spawn function processes with; `undefined` everywhere below means "the gateway's own". */
export interface FunctionIdentity {
  readonly uid: number;
  readonly gid: number;
  /** As the operator reads it in errors and logs: `nobody:nogroup (65534:65534)`. */
  readonly label: string;
}

/** `auto`: another user when the gateway can switch users, else the gateway's own. */
export const DEFAULT_RUN_AS = 'auto';
/** Linux's overflow ids: what `nobody`/`nogroup` are on nearly every distribution. */
const OVERFLOW_ID = 65534;
/** CAP_SETGID and CAP_SETUID (linux/capability.h): what spawn()'s gid/uid need without root. */
const CAP_SETGID = 6n;
const CAP_SETUID = 7n;

/** What the system says about users and the gateway's own powers (injected in unit tests). */
export interface IdentitySystem {
  uid: number | undefined;
  passwd: () => string;
  group: () => string;
  /** The gateway holds CAP_SETUID and CAP_SETGID (root, or granted to a non-root binary). */
  canSwitchUser: () => boolean;
}

const readOr = (file: string): string => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
};

function hasSwitchCapabilities(): boolean {
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(readOr('/proc/self/status'));
  if (!m?.[1]) return process.getuid?.() === 0;
  const eff = BigInt(`0x${m[1]}`);
  return ((eff >> CAP_SETUID) & 1n) === 1n && ((eff >> CAP_SETGID) & 1n) === 1n;
}

export const HOST_SYSTEM: IdentitySystem = {
  uid: process.getuid?.(),
  passwd: () => readOr('/etc/passwd'),
  group: () => readOr('/etc/group'),
  canSwitchUser: hasSwitchCapabilities,
};

/** name:x:id:... lines; the ids by name (first entry wins, as getpwnam). */
function table(text: string): Map<string, { id: number; primaryGid: number | undefined }> {
  const out = new Map<string, { id: number; primaryGid: number | undefined }>();
  for (const line of text.split('\n')) {
    const f = line.split(':');
    const name = f[0];
    const id = Number(f[2]);
    if (!name || f[2] === undefined || f[2] === '' || !Number.isInteger(id) || out.has(name)) continue;
    const gid = f[3] !== undefined && f[3] !== '' ? Number(f[3]) : Number.NaN;
    out.set(name, { id, primaryGid: Number.isInteger(gid) ? gid : undefined });
  }
  return out;
}

const isId = (s: string): boolean => /^\d{1,10}$/.test(s) && Number(s) <= 0xfffffffe;

/**
 * The identity `setting` names: `auto` (default), `inherit`, `USER`, `USER:GROUP`, `UID`, `UID:GID`.
 * A user without a group runs with that user's primary group (a bare number: the same number as gid).
 * Throws an Error whose message names the problem and the fix.
 */
export function resolveRunAs(setting: string | undefined, sys: IdentitySystem = HOST_SYSTEM): FunctionIdentity | undefined {
  const value = setting ?? DEFAULT_RUN_AS;
  if (value === 'inherit') return undefined;
  const canSwitch = sys.uid === 0 || sys.canSwitchUser();
  if (value === 'auto') {
    if (!canSwitch) return undefined; // documented residual risk: the gateway cannot change user
    const users = table(sys.passwd());
    const groups = table(sys.group());
    const nobody = users.get('nobody');
    const uid = nobody?.id ?? OVERFLOW_ID;
    const gid = nobody?.primaryGid ?? groups.get('nogroup')?.id ?? OVERFLOW_ID;
    const gname = [...groups].find(([, g]) => g.id === gid)?.[0];
    return { uid, gid, label: `${nobody ? 'nobody' : uid}:${gname ?? gid} (${uid}:${gid})` };
  }
  const [user = '', group] = value.split(':', 2);
  let uid: number;
  let primary: number | undefined;
  if (isId(user)) {
    uid = Number(user);
    primary = table(sys.passwd()).get(user)?.primaryGid ?? [...table(sys.passwd()).values()].find((u) => u.id === uid)?.primaryGid ?? uid;
  } else {
    const u = table(sys.passwd()).get(user);
    if (!u) throw new Error(`user "${user}" is not in /etc/passwd; name an existing user, or give numeric ids (UID:GID)`);
    uid = u.id;
    primary = u.primaryGid;
  }
  let gid: number;
  if (group === undefined || group === '') {
    if (primary === undefined) throw new Error(`user "${user}" has no primary group in /etc/passwd; write USER:GROUP`);
    gid = primary;
  } else if (isId(group)) gid = Number(group);
  else {
    const g = table(sys.group()).get(group);
    if (!g) throw new Error(`group "${group}" is not in /etc/group; name an existing group, or give a numeric gid`);
    gid = g.id;
  }
  if (uid === sys.uid && (sys.uid !== 0 || gid === 0)) return undefined; // the gateway's own user: nothing to switch
  if (!canSwitch) {
    throw new Error(
      `running functions as "${value}" needs the gateway to run as root (or with CAP_SETUID and CAP_SETGID); it runs as uid ${sys.uid}. Start it as root, or set "inherit"`,
    );
  }
  return { uid, gid, label: `${value} (${uid}:${gid})` };
}

// ---- the process-wide setting ----

/** `null`: not configured yet (a FunctionPool used on its own): `auto` is resolved on first use. */
let current: FunctionIdentity | undefined | null = null;
/**
 * Config files' folders: folders from a function's folder up to the one that holds it may be made
 * searchable. Every gateway of the process adds its own (an embedder or a test may run several).
 */
const grantRoots = new Set<string>();

/**
 * Sets the identity of function processes spawned from now on (the gateway calls it at start), and
 * the folder (the config file's) up to which a function's folders may be made searchable.
 */
export function configureFunctionIdentity(setting: string | undefined, configDir?: string, sys: IdentitySystem = HOST_SYSTEM): FunctionIdentity | undefined {
  current = resolveRunAs(setting, sys);
  if (configDir !== undefined) grantRoots.add(configDir);
  return current;
}

/** The identity in force (resolving the default on first use). */
export function functionIdentity(): FunctionIdentity | undefined {
  if (current === null) current = resolveRunAs(DEFAULT_RUN_AS);
  return current;
}

// ---- reaching the code ----

type Need = 'search' | 'read';
/** The permission bit `id` is judged by on `st` (owner, else group, else other: POSIX order). */
function bitFor(st: { uid: number; gid: number }, id: FunctionIdentity, need: Need): number {
  const base = need === 'search' ? 0o1 : 0o4;
  if (st.uid === id.uid) return base << 6;
  if (st.gid === id.gid) return base << 3;
  return base;
}

const octal = (mode: number): string => (mode & 0o7777).toString(8).padStart(4, '0');
/** Folders already made reachable, per identity (checked once per process). */
const reachable = new Set<string>();

/**
 * Makes `module`'s folder reachable by `id` and checks that the handler can be loaded: every folder
 * above it searchable, the folder itself searchable (granted here when it is not: search only), the
 * file readable. Throws an Error naming the path and the fix.
 */
export function prepareCodeAccess(module: string, id: FunctionIdentity, roots: Iterable<string> = grantRoots): void {
  const dir = dirname(module);
  const key = `${id.uid}:${id.gid}\0${module}`;
  if (reachable.has(key)) return;
  const { root } = parse(dir);
  // Grantable: the function's folder, and its ancestors inside a config file's folder (that one included;
  // the outermost such folder when several hold it).
  const within = (r: string): boolean => dir === r || dir.startsWith(r.endsWith(sep) ? r : `${r}${sep}`);
  let configDir: string | undefined;
  for (const r of roots) if (within(r) && (configDir === undefined || r.length < configDir.length)) configDir = r;
  const inside = configDir !== undefined;
  let grantable = true;
  for (let p = dir; ; p = dirname(p)) {
    const st = statSync(p, { throwIfNoEntry: false });
    if (st === undefined) return; // a missing folder is the runtime's to report
    const bit = bitFor(st, id, 'search');
    if ((st.mode & bit) === 0) {
      if (!grantable) {
        throw new Error(
          `function code ${module} cannot be reached by ${id.label}: the folder ${p} (mode ${octal(st.mode)}) is not searchable by it. Allow it (chmod o+x ${p}), move the code, or set server.functionRunAs`,
        );
      }
      chmodSync(p, (st.mode & 0o7777) | bit);
    }
    if (!inside || p === configDir) grantable = false;
    if (p === root) break;
  }
  const file = statSync(module, { throwIfNoEntry: false });
  // A missing handler is the runtime's to report (Runtime.ImportModuleError), as Lambda does.
  if (file === undefined) return;
  if ((file.mode & bitFor(file, id, 'read')) === 0) {
    throw new Error(`function code ${module} (mode ${octal(file.mode)}) is not readable by ${id.label}. Allow it (chmod o+r ${module}) or set server.functionRunAs`);
  }
  reachable.add(key);
}

/**
 * spawn() options for a function process of `module`: its uid/gid, after making its code reachable
 * (nothing when functions run as the gateway's own user). Throws when the code cannot be reached.
 */
export function spawnIdentity(module: string): { uid?: number; gid?: number } {
  const id = functionIdentity();
  if (id === undefined) return {};
  prepareCodeAccess(module, id);
  return { uid: id.uid, gid: id.gid };
}
