/**
 * No plugin keeps module-level mutable state (issue 10, the shape §6): a Map, a counter or a cache at
 * module level is shared by every gateway in the process and outlives every config version. State goes
 * behind `deps.state` (src/plugins/state.ts) or into the instance create() returns.
 *
 * This reads the TypeScript sources of src/plugins/** and src/security/** (the code plugins run) and
 * refuses, at module level:
 * - `let` and `var`;
 * - `new X(...)` (a Map, a Set, a cache, any object with state), unless X is immutable (RegExp,
 *   TextEncoder, TextDecoder) or the declared type is read-only (ReadonlySet, ReadonlyMap, readonly
 *   T[], Readonly<...>): a lookup table the compiler keeps anyone from changing;
 * - an empty `[]` or `{}` (a container to be filled later) that is not frozen or typed read-only;
 * - the same in a class's static fields.
 * Non-empty literal tables and frozen values are constants. What remains mutable by design is listed in
 * ALLOWED with the reason.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import ts from 'typescript';
import { ROOT } from '../helpers/gateway.js';

const SCANNED = ['src/plugins', 'src/security'];

/** `file:name` -> why it may stay. */
const ALLOWED: Readonly<Record<string, string>> = Object.freeze({
  'src/plugins/waf/rules/core.ts:NEEDS_BITS': 'a lookup table filled once while the module loads (from CORE_RULES), only read afterwards; typed arrays have no read-only type',
});

const IMMUTABLE_CLASSES: ReadonlySet<string> = new Set(['RegExp', 'TextEncoder', 'TextDecoder']);

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') && !p.endsWith('.d.ts') ? [p] : [];
  });
}

function unwrap(e: ts.Expression): ts.Expression {
  let x = e;
  while (ts.isParenthesizedExpression(x) || ts.isAsExpression(x) || ts.isSatisfiesExpression(x) || ts.isNonNullExpression(x) || ts.isTypeAssertionExpression(x)) x = x.expression;
  return x;
}

function readonlyType(t: ts.TypeNode | undefined, sf: ts.SourceFile): boolean {
  if (t === undefined) return false;
  if (ts.isTypeOperatorNode(t) && t.operator === ts.SyntaxKind.ReadonlyKeyword) return true;
  return /^(ReadonlySet|ReadonlyMap|ReadonlyArray|Readonly)</.test(t.getText(sf));
}

function isFreeze(e: ts.Expression, sf: ts.SourceFile): boolean {
  return ts.isCallExpression(e) && e.expression.getText(sf) === 'Object.freeze';
}

/** Why `init` makes mutable state, or undefined when it is a constant. */
function mutableState(init: ts.Expression | undefined, type: ts.TypeNode | undefined, sf: ts.SourceFile): string | undefined {
  if (init === undefined) return undefined;
  const e = unwrap(init);
  if (isFreeze(e, sf) || readonlyType(type, sf)) return undefined;
  if (ts.isNewExpression(e)) {
    const cls = e.expression.getText(sf);
    return IMMUTABLE_CLASSES.has(cls) ? undefined : `new ${cls}(...)`;
  }
  if (ts.isArrayLiteralExpression(e) && e.elements.length === 0) return 'an empty array';
  if (ts.isObjectLiteralExpression(e) && e.properties.length === 0) return 'an empty object';
  return undefined;
}

/** Every module-level mutable binding in one source text, as `name: why`. */
function moduleState(fileName: string, text: string): { name: string; why: string }[] {
  const sf = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true);
  const out: { name: string; why: string }[] = [];
  for (const st of sf.statements) {
    if (ts.isVariableStatement(st)) {
      const flags = st.declarationList.flags;
      const binding = flags & ts.NodeFlags.Let ? 'let' : flags & (ts.NodeFlags.Const | ts.NodeFlags.Using) ? 'const' : 'var';
      for (const d of st.declarationList.declarations) {
        const name = d.name.getText(sf);
        if (binding !== 'const') out.push({ name, why: binding });
        else {
          const why = mutableState(d.initializer, d.type, sf);
          if (why !== undefined) out.push({ name, why });
        }
      }
    } else if (ts.isClassDeclaration(st)) {
      for (const m of st.members) {
        if (!ts.isPropertyDeclaration(m) || !m.modifiers?.some((x) => x.kind === ts.SyntaxKind.StaticKeyword)) continue;
        const name = `${st.name?.getText(sf) ?? '(class)'}.${m.name.getText(sf)}`;
        const readonly = m.modifiers.some((x) => x.kind === ts.SyntaxKind.ReadonlyKeyword);
        if (!readonly) out.push({ name, why: 'a static field that is not readonly' });
        else {
          const why = mutableState(m.initializer, m.type, sf);
          if (why !== undefined) out.push({ name, why });
        }
      }
    }
  }
  return out;
}

test('the scanner finds module-level state in every form it refuses, and accepts constants', () => {
  const found = moduleState(
    'sample.ts',
    `
    let counter = 0;
    var legacy = 1;
    const cache = new Map<string, number>();
    const seen = new WeakMap<object, number>();
    const pending = [];
    const byName = {};
    export class Registry { static instances = 0; static readonly all = new Set<string>(); }
    const PATTERN = /^a+$/;
    const BUILT = new RegExp('^b+$');
    const NAMES: ReadonlySet<string> = new Set(['a']);
    const LIST: readonly string[] = [];
    const FROZEN = Object.freeze({});
    const TABLE = { a: 1 };
    const ITEMS = ['x', 'y'];
    const create = () => new Map();
    function f() { let local = new Map(); return local; }
    `,
  );
  assert.deepEqual(
    found.map((f) => f.name),
    ['counter', 'legacy', 'cache', 'seen', 'pending', 'byName', 'Registry.instances', 'Registry.all'],
  );
});

test('no module-level mutable state in src/plugins/** or src/security/** (put it behind deps.state)', () => {
  const problems: string[] = [];
  const allowedSeen = new Set<string>();
  let files = 0;
  for (const dir of SCANNED) {
    for (const file of sourceFiles(join(ROOT, dir))) {
      files++;
      const rel = relative(ROOT, file);
      for (const { name, why } of moduleState(rel, readFileSync(file, 'utf8'))) {
        const key = `${rel}:${name}`;
        if (ALLOWED[key] !== undefined) allowedSeen.add(key);
        else problems.push(`${key}: ${why}`);
      }
    }
  }
  assert.ok(files > 30, `scanned ${files} files: is ${SCANNED.join(', ')} still where plugins live?`);
  assert.deepEqual(problems, [], 'module-level mutable state: keep it in deps.state (src/plugins/state.ts) or in the instance create() returns');
  assert.deepEqual([...allowedSeen].sort(), Object.keys(ALLOWED).sort(), 'an ALLOWED entry no longer matches anything: remove it');
});
