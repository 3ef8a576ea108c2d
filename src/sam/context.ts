/**
 * What every step of a template's translation shares: the resolver (H1's src/sam/intrinsics.ts), the
 * problems found so far (each at a template key path), the side map from native config key paths to
 * template key paths, and small readers for resolved values.
 */
import { formatPath } from '../config/diagnostics.js';
import type { KeyPath, Resolver } from './intrinsics.js';

export type Path = readonly (string | number)[];

export interface Problem {
  path: Path;
  message: string;
  severity: 'error' | 'warning';
}

/** A native key path's origin in the template; `copy`: the subtree below is the template's own, key for key. */
export interface Origin {
  to: Path;
  copy: boolean;
}

export class TemplateContext {
  readonly problems: Problem[] = [];
  /** Formatted native config key path -> its origin in the template. */
  readonly sources = new Map<string, Origin>();

  constructor(
    readonly resolver: Resolver,
    readonly pseudo: { region: string; accountId: string; partition: string },
    readonly templateDir: string,
  ) {}

  error(path: Path, message: string): void {
    this.problems.push({ path, message, severity: 'error' });
  }

  warn(path: Path, message: string): void {
    this.problems.push({ path, message, severity: 'warning' });
  }

  /** Every intrinsic at or below `value` resolved; the resolver's problems are collected at the end. */
  resolve(value: unknown, path: Path): unknown {
    return this.resolver.resolve(value, path as KeyPath);
  }

  map(native: Path, template: Path, copy = false): void {
    this.sources.set(formatPath(native), { to: template, copy });
  }

  /** A key Turnpike does not implement: one warning naming it, never silence. */
  unsupported(path: Path, why = 'not implemented by Turnpike; ignored'): void {
    this.warn(path, why);
  }
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
}

export function num(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
}

export function bool(v: unknown): boolean | undefined {
  if (typeof v === 'boolean') return v;
  if (v === 'true' || v === 'True') return true;
  if (v === 'false' || v === 'False') return false;
  return undefined;
}

/**
 * SAM's Globals merge (https://github.com/aws/serverless-application-model/blob/develop/docs/globals.rst):
 * maps merge key by key (recursively), lists are the global items followed by the resource's, and any
 * other value of the resource replaces the global one. Intrinsic functions are values, never merged.
 */
export function mergeGlobals(global: unknown, local: unknown): unknown {
  if (local === undefined) return global;
  if (global === undefined) return local;
  if (Array.isArray(global) && Array.isArray(local)) return [...global, ...local];
  if (isRecord(global) && isRecord(local) && !isIntrinsic(global) && !isIntrinsic(local)) {
    const out: Record<string, unknown> = { ...global };
    for (const [k, v] of Object.entries(local)) out[k] = mergeGlobals(global[k], v);
    return out;
  }
  return local;
}

function isIntrinsic(v: Record<string, unknown>): boolean {
  const keys = Object.keys(v);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0] === 'Condition' || (keys[0] as string).startsWith('Fn::'));
}

const MAX_SOURCES = 20_000;
/** Every node of a copied subtree mapped to the same node in the template (a problem in it points at its own line). */
export function copySources(out: [Path, Path][], value: unknown, gen: Path, tpl: Path): void {
  if (out.length >= MAX_SOURCES) return;
  out.push([gen, tpl]);
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) copySources(out, v, [...gen, i], [...tpl, i]);
  } else if (isRecord(value)) for (const [k, v] of Object.entries(value)) copySources(out, v, [...gen, k], [...tpl, k]);
}

