/**
 * A linear-time matcher for the regular expressions users put in documents (JSON Schema `pattern`s of
 * AWS request-validator models, and anything else that must never backtrack).
 *
 * V8's engine backtracks: a pattern with nested or ambiguous quantifiers (the OWASP e-mail pattern,
 * `^(a+)+$`) takes time exponential in the input, so one 38-byte body freezes the event loop for a
 * minute. This engine compiles the pattern to a Thompson NFA and simulates every alternative at once
 * (a Pike VM without captures, https://swtch.com/~rsc/regexp/regexp2.html): `test()` costs
 * O(input length x program size) whatever the pattern, like RE2, with no native addon.
 *
 * It speaks ECMAScript's non-Unicode syntax (what ajv uses with `unicodeRegExp: false`): alternation,
 * groups (capturing, non-capturing, named), greedy and lazy quantifiers (laziness does not change
 * whether a string matches), classes with ranges and \d \w \s \D \W \S, `.`, ^ $ \b \B, the escapes
 * \t \n \v \f \r \0 \cX \xHH \uHHHH and identity escapes, Annex B's literal `{`, `}` and `]`. It
 * refuses (UnsupportedRegexError) what no automaton can do in linear time — backreferences and
 * lookaround — and flags other than none: the caller then refuses the pattern at load time.
 *
 * Only whether a string matches is computed (ajv's RegExpLike needs `test`), never where or with which
 * groups. Built once per pattern at config load; warm, `test` is one cached table lookup per character.
 */

export class UnsupportedRegexError extends Error {
  constructor(source: string, why: string) {
    super(`regular expression /${source}/ cannot run in linear time: ${why}`);
    this.name = 'UnsupportedRegexError';
  }
}

/** Program size cap: counted repetition is unrolled ({1000}{1000} would otherwise be a million states). */
export const MAX_PROGRAM = 20_000;

// ---------------------------------------------------------------------------------------------
// Parse

/** Inclusive code-unit ranges, sorted or not; `negate` flips membership. */
interface CharSet {
  ranges: number[];
  negate: boolean;
}
type Ast =
  | { t: 'set'; set: CharSet }
  | { t: 'seq'; items: Ast[] }
  | { t: 'alt'; alts: Ast[] }
  | { t: 'rep'; node: Ast; min: number; max: number }
  | { t: 'assert'; kind: AssertKind };
type AssertKind = 0 | 1 | 2 | 3; // ^ $ \b \B
const A_START = 0;
const A_END = 1;
const A_WORD = 2;
const A_NOT_WORD = 3;

const DIGIT = [0x30, 0x39];
const WORD = [0x30, 0x39, 0x41, 0x5a, 0x5f, 0x5f, 0x61, 0x7a];
// ECMAScript WhiteSpace and LineTerminator (the \s class).
const SPACE = [0x09, 0x0d, 0x20, 0x20, 0xa0, 0xa0, 0x1680, 0x1680, 0x2000, 0x200a, 0x2028, 0x2029, 0x202f, 0x202f, 0x205f, 0x205f, 0x3000, 0x3000, 0xfeff, 0xfeff];
const LINE_TERMINATORS = [0x0a, 0x0a, 0x0d, 0x0d, 0x2028, 0x2029];

class Parser {
  readonly #src: string;
  #i = 0;

  constructor(src: string) {
    this.#src = src;
  }

  parse(): Ast {
    const ast = this.#disjunction();
    if (this.#i < this.#src.length) this.#fail(`unmatched ')' at ${this.#i}`);
    return ast;
  }

  #fail(why: string): never {
    throw new UnsupportedRegexError(this.#src, why);
  }

  /** `\xHH` / `\uHHHH`: the code unit when `digits` hex digits follow, else the letter itself (Annex B identity escape). */
  #hexEscape(digits: number, letter: number): number {
    const h = this.#src.slice(this.#i, this.#i + digits);
    if (h.length !== digits || !/^[0-9a-fA-F]+$/.test(h)) return letter;
    this.#i += digits;
    return Number.parseInt(h, 16);
  }

  #peek(offset = 0): string | undefined {
    return this.#src[this.#i + offset];
  }

  #disjunction(): Ast {
    const alts = [this.#alternative()];
    while (this.#peek() === '|') {
      this.#i++;
      alts.push(this.#alternative());
    }
    return alts.length === 1 ? (alts[0] as Ast) : { t: 'alt', alts };
  }

  #alternative(): Ast {
    const items: Ast[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined || c === '|' || c === ')') break;
      const atom = this.#term();
      items.push(this.#quantified(atom));
    }
    return { t: 'seq', items };
  }

  #term(): Ast {
    const c = this.#src[this.#i++] as string;
    switch (c) {
      case '^':
        return { t: 'assert', kind: A_START };
      case '$':
        return { t: 'assert', kind: A_END };
      case '.':
        return { t: 'set', set: { ranges: LINE_TERMINATORS, negate: true } };
      case '(':
        return this.#group();
      case '[':
        return { t: 'set', set: this.#class() };
      case '\\':
        return this.#atomEscape();
      case '*':
      case '+':
      case '?':
        return this.#fail(`nothing to repeat at ${this.#i - 1}`);
      case '{':
        if (this.#braceQuantifierAhead(this.#i - 1)) this.#fail(`nothing to repeat at ${this.#i - 1}`);
        return literal(c.charCodeAt(0));
      default:
        return literal(c.charCodeAt(0));
    }
  }

  #group(): Ast {
    if (this.#peek() === '?') {
      const next = this.#peek(1);
      if (next === ':') this.#i += 2;
      else if (next === '=' || next === '!' || (next === '<' && (this.#peek(2) === '=' || this.#peek(2) === '!'))) this.#fail('lookaround assertions are not supported');
      else if (next === '<') {
        const end = this.#src.indexOf('>', this.#i + 2);
        if (end === -1 || !/^[A-Za-z_$][\w$]*$/.test(this.#src.slice(this.#i + 2, end))) this.#fail('invalid group name');
        this.#i = end + 1;
      } else this.#fail(`invalid group at ${this.#i}`);
    }
    const inner = this.#disjunction();
    if (this.#src[this.#i++] !== ')') this.#fail('unterminated group');
    return inner;
  }

  /** Whether a valid {n}, {n,} or {n,m} starts at `at`. */
  #braceQuantifierAhead(at: number): boolean {
    return /^\{\d+(?:,\d*)?\}/.test(this.#src.slice(at, at + 24));
  }

  #quantified(atom: Ast): Ast {
    let min: number;
    let max: number;
    const c = this.#peek();
    if (c === '*') [min, max] = [0, Infinity];
    else if (c === '+') [min, max] = [1, Infinity];
    else if (c === '?') [min, max] = [0, 1];
    else if (c === '{' && this.#braceQuantifierAhead(this.#i)) {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(this.#src.slice(this.#i)) as RegExpExecArray;
      min = Number(m[1]);
      max = m[2] === undefined ? min : m[3] === '' ? Infinity : Number(m[3]);
      if (max < min) this.#fail('numbers out of order in {} quantifier');
      this.#i += m[0].length - 1;
    } else return atom;
    this.#i++;
    if (this.#peek() === '?') this.#i++; // lazy: same language
    if (atom.t === 'assert') this.#fail('a quantified assertion is not supported');
    if (min > MAX_PROGRAM || (max !== Infinity && max > MAX_PROGRAM)) this.#fail('repetition count too large');
    return { t: 'rep', node: atom, min, max };
  }

  #atomEscape(): Ast {
    const c = this.#src[this.#i];
    if (c === undefined) this.#fail('\\ at end of pattern');
    if (c === 'b') {
      this.#i++;
      return { t: 'assert', kind: A_WORD };
    }
    if (c === 'B') {
      this.#i++;
      return { t: 'assert', kind: A_NOT_WORD };
    }
    if (c >= '1' && c <= '9') this.#fail('backreferences are not supported');
    if (c === 'k' && /^k<[A-Za-z_$][\w$]*>/.test(this.#src.slice(this.#i))) this.#fail('backreferences are not supported');
    return { t: 'set', set: this.#characterEscape(false) };
  }

  /** After a backslash: one class escape or one character, as a set. */
  #characterEscape(inClass: boolean): CharSet {
    const c = this.#src[this.#i++] as string;
    switch (c) {
      case 'd':
        return { ranges: DIGIT, negate: false };
      case 'D':
        return { ranges: DIGIT, negate: true };
      case 'w':
        return { ranges: WORD, negate: false };
      case 'W':
        return { ranges: WORD, negate: true };
      case 's':
        return { ranges: SPACE, negate: false };
      case 'S':
        return { ranges: SPACE, negate: true };
      case 't':
        return one(0x09);
      case 'n':
        return one(0x0a);
      case 'v':
        return one(0x0b);
      case 'f':
        return one(0x0c);
      case 'r':
        return one(0x0d);
      case 'b':
        return one(0x08); // only reached inside a class
      case '0':
        if (!/[0-9]/.test(this.#peek() ?? '')) return one(0);
        return this.#fail('octal escapes are not supported');
      case 'c': {
        const l = this.#peek();
        if (l !== undefined && /[A-Za-z]/.test(l)) {
          this.#i++;
          return one(l.charCodeAt(0) % 32);
        }
        this.#i--; // Annex B: `\c` not followed by a letter is a literal backslash
        return one(0x5c);
      }
      case 'x':
        return one(this.#hexEscape(2, 0x78));
      case 'u':
        return one(this.#hexEscape(4, 0x75));
      default:
        if (!inClass && c >= '1' && c <= '9') this.#fail('backreferences are not supported');
        if (inClass && c >= '1' && c <= '9') this.#fail('octal escapes are not supported');
        return one(c.charCodeAt(0)); // identity escape
    }
  }

  #class(): CharSet {
    const negate = this.#peek() === '^';
    if (negate) this.#i++;
    const ranges: number[] = [];
    for (;;) {
      const c = this.#peek();
      if (c === undefined) this.#fail('unterminated character class');
      if (c === ']') {
        this.#i++;
        break;
      }
      const lo = this.#classAtom();
      if (this.#peek() === '-' && this.#peek(1) !== ']' && this.#peek(1) !== undefined) {
        this.#i++;
        const hi = this.#classAtom();
        const a = single(lo);
        const b = single(hi);
        if (a === undefined || b === undefined) {
          // Annex B: a class escape next to '-' makes the '-' literal.
          ranges.push(...flatten(lo), 0x2d, 0x2d, ...flatten(hi));
          continue;
        }
        if (a > b) this.#fail('range out of order in character class');
        ranges.push(a, b);
      } else ranges.push(...flatten(lo));
    }
    return { ranges, negate };
  }

  #classAtom(): CharSet {
    const c = this.#src[this.#i++] as string;
    if (c !== '\\') return one(c.charCodeAt(0));
    if (this.#peek() === undefined) this.#fail('\\ at end of pattern');
    return this.#characterEscape(true);
  }
}

function one(code: number): CharSet {
  return { ranges: [code, code], negate: false };
}
function literal(code: number): Ast {
  return { t: 'set', set: one(code) };
}
function single(s: CharSet): number | undefined {
  return !s.negate && s.ranges.length === 2 && s.ranges[0] === s.ranges[1] ? s.ranges[0] : undefined;
}
/** A class escape inside a class: a negated one (\D, \W, \S) is its complement over the code units. */
function flatten(s: CharSet): number[] {
  if (!s.negate) return s.ranges;
  const sorted: [number, number][] = [];
  for (let i = 0; i < s.ranges.length; i += 2) sorted.push([s.ranges[i] as number, s.ranges[i + 1] as number]);
  sorted.sort((a, b) => a[0] - b[0]);
  const out: number[] = [];
  let next = 0;
  for (const [lo, hi] of sorted) {
    if (lo > next) out.push(next, lo - 1);
    next = Math.max(next, hi + 1);
  }
  if (next <= 0xffff) out.push(next, 0xffff);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Compile: a flat program of instructions

const OP_SET = 0;
const OP_SPLIT = 1;
const OP_JMP = 2;
const OP_ASSERT = 3;
const OP_MATCH = 4;

/** A character set as a test: a 128-bit ASCII table plus ranges for the rest. */
class CompiledSet {
  readonly #ascii = new Uint8Array(128);
  readonly #ranges: Uint32Array;
  readonly #negate: boolean;

  constructor(set: CharSet) {
    this.#negate = set.negate;
    const rest: number[] = [];
    for (let i = 0; i < set.ranges.length; i += 2) {
      const lo = set.ranges[i] as number;
      const hi = set.ranges[i + 1] as number;
      for (let c = lo; c <= Math.min(hi, 127); c++) this.#ascii[c] = 1;
      if (hi > 127) rest.push(Math.max(lo, 128), hi);
    }
    this.#ranges = Uint32Array.from(rest);
  }

  has(c: number): boolean {
    let hit: boolean;
    if (c < 128) hit = this.#ascii[c] === 1;
    else {
      hit = false;
      const r = this.#ranges;
      for (let i = 0; i < r.length; i += 2) {
        if (c >= (r[i] as number) && c <= (r[i + 1] as number)) {
          hit = true;
          break;
        }
      }
    }
    return hit !== this.#negate;
  }
}

class Program {
  readonly op: number[] = [];
  readonly x: number[] = [];
  readonly y: number[] = [];
  readonly sets: CompiledSet[] = [];
  readonly #source: string;

  constructor(source: string) {
    this.#source = source;
  }

  emit(op: number, x = 0, y = 0): number {
    if (this.op.length >= MAX_PROGRAM) throw new UnsupportedRegexError(this.#source, `it compiles to more than ${MAX_PROGRAM} states`);
    this.op.push(op);
    this.x.push(x);
    this.y.push(y);
    return this.op.length - 1;
  }

  gen(node: Ast): void {
    switch (node.t) {
      case 'set':
        this.sets.push(new CompiledSet(node.set));
        this.emit(OP_SET, this.sets.length - 1);
        return;
      case 'assert':
        this.emit(OP_ASSERT, node.kind);
        return;
      case 'seq':
        for (const n of node.items) this.gen(n);
        return;
      case 'alt': {
        // SPLIT L1, next; L1: alt0; JMP end; next: SPLIT L2, ...; last alternative falls through.
        const jumps: number[] = [];
        for (let i = 0; i < node.alts.length; i++) {
          const alt = node.alts[i] as Ast;
          if (i === node.alts.length - 1) {
            this.gen(alt);
            break;
          }
          const split = this.emit(OP_SPLIT);
          this.x[split] = this.op.length;
          this.gen(alt);
          jumps.push(this.emit(OP_JMP));
          this.y[split] = this.op.length;
        }
        for (const j of jumps) this.x[j] = this.op.length;
        return;
      }
      case 'rep': {
        for (let i = 0; i < node.min; i++) this.gen(node.node);
        if (node.max === Infinity) {
          // L: SPLIT body, out; body; JMP L
          const split = this.emit(OP_SPLIT);
          this.x[split] = this.op.length;
          this.gen(node.node);
          this.emit(OP_JMP, split);
          this.y[split] = this.op.length;
        } else {
          const splits: number[] = [];
          for (let i = node.min; i < node.max; i++) {
            const split = this.emit(OP_SPLIT);
            this.x[split] = this.op.length;
            splits.push(split);
            this.gen(node.node);
          }
          for (const s of splits) this.y[s] = this.op.length;
        }
        return;
      }
    }
  }
}

function isWordUnit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || c === 0x5f || (c >= 0x61 && c <= 0x7a);
}

/** A DFA state built lazily from a set of NFA states (RE2's approach): transitions are cached per character. */
interface DState {
  /** SET states live in this state (after following SPLIT/JMP/ASSERT). */
  readonly sets: Int32Array;
  /** MATCH is reachable here without consuming more input (not at the end of the input). */
  readonly matched: boolean;
  /** MATCH is reachable here when this is the end of the input ($ holds). */
  readonly matchedAtEnd: boolean;
  /** Next state per ASCII code unit (undefined: not computed yet). */
  readonly ascii: (DState | undefined)[];
  /** Next state for other code units. */
  other: Map<number, DState> | undefined;
}

/** Cached DFA states per pattern; past this the cache is dropped and rebuilt as the input goes (memory stays bounded). */
const MAX_DFA_STATES = 4_096;

/** A compiled pattern: RegExp's `test` contract (a match anywhere in the string), linear time. */
export class LinearRegExp {
  readonly source: string;
  readonly flags: string;
  readonly #op: Uint8Array;
  readonly #x: Int32Array;
  readonly #y: Int32Array;
  readonly #sets: readonly CompiledSet[];
  /** Starts with ^ in every alternative: threads start at position 0 only. */
  readonly #anchored: boolean;
  /** Uses \b or \B: those depend on the characters around a position, so the NFA is simulated directly. */
  readonly #wordAssertions: boolean;
  readonly #mark: Int32Array;
  readonly #stack: Int32Array;
  #gen = 0;
  #states = new Map<string, DState>();
  #start: DState | undefined;

  constructor(source: string, flags = '') {
    if (flags !== '') throw new UnsupportedRegexError(source, `flags "${flags}" are not supported`);
    this.source = source;
    this.flags = flags;
    const ast = new Parser(source).parse();
    const prog = new Program(source);
    prog.gen(ast);
    prog.emit(OP_MATCH);
    this.#op = Uint8Array.from(prog.op);
    this.#x = Int32Array.from(prog.x);
    this.#y = Int32Array.from(prog.y);
    this.#sets = prog.sets;
    this.#anchored = startsAnchored(ast);
    this.#wordAssertions = prog.op.some((o, i) => o === OP_ASSERT && (prog.x[i] === A_WORD || prog.x[i] === A_NOT_WORD));
    this.#mark = new Int32Array(this.#op.length);
    this.#stack = new Int32Array(this.#op.length * 2 + 2);
  }

  /** The number of NFA states (for docs and tests: the cost per input character is at most this). */
  get size(): number {
    return this.#op.length;
  }

  toString(): string {
    return `/${this.source}/${this.flags} (linear)`;
  }

  test(input: string): boolean {
    const s = String(input);
    return this.#wordAssertions ? this.#simulate(s) : this.#runDfa(s);
  }

  // -------------------------------------------------------------------------------------------
  // Lazy DFA (patterns without \b / \B): one cached table lookup per character once warm.

  /**
   * Follows SPLIT/JMP/ASSERT from the seeds. ^ holds only at the start; $ only at the end. Returns
   * the SET states reached and whether MATCH was.
   */
  #closure(seeds: readonly number[], atStart: boolean, atEnd: boolean): { sets: number[]; matched: boolean } {
    const gen = ++this.#gen;
    const mark = this.#mark;
    const stack = this.#stack;
    const op = this.#op;
    const xs = this.#x;
    const ys = this.#y;
    const sets: number[] = [];
    let matched = false;
    for (let i = seeds.length - 1; i >= 0; i--) {
      let sp = 0;
      stack[sp++] = seeds[i] as number;
      while (sp > 0) {
        const pc = stack[--sp] as number;
        if (mark[pc] === gen) continue;
        mark[pc] = gen;
        switch (op[pc]) {
          case OP_SET:
            sets.push(pc);
            break;
          case OP_JMP:
            stack[sp++] = xs[pc] as number;
            break;
          case OP_SPLIT:
            stack[sp++] = ys[pc] as number;
            stack[sp++] = xs[pc] as number;
            break;
          case OP_ASSERT:
            if ((xs[pc] === A_START && atStart) || (xs[pc] === A_END && atEnd)) stack[sp++] = pc + 1;
            break;
          case OP_MATCH:
            matched = true;
            break;
        }
      }
    }
    return { sets, matched };
  }

  #state(seeds: number[], atStart: boolean): DState {
    seeds.sort((a, b) => a - b);
    const key = (atStart ? 'S' : '') + seeds.join(',');
    const known = this.#states.get(key);
    if (known !== undefined) return known;
    if (this.#states.size >= MAX_DFA_STATES) {
      this.#states = new Map();
      this.#start = undefined;
    }
    const now = this.#closure(seeds, atStart, false);
    const state: DState = {
      sets: Int32Array.from(now.sets.sort((a, b) => a - b)),
      matched: now.matched,
      matchedAtEnd: now.matched || this.#closure(seeds, atStart, true).matched,
      ascii: new Array(128),
      other: undefined,
    };
    this.#states.set(key, state);
    return state;
  }

  #step(from: DState, c: number): DState {
    const seeds: number[] = [];
    const xs = this.#x;
    for (const pc of from.sets) if ((this.#sets[xs[pc] as number] as CompiledSet).has(c)) seeds.push(pc + 1);
    if (!this.#anchored) seeds.push(0);
    return this.#state(seeds, false);
  }

  #runDfa(s: string): boolean {
    const len = s.length;
    let state = (this.#start ??= this.#state([0], true));
    for (let pos = 0; pos < len; pos++) {
      if (state.matched) return true;
      if (state.sets.length === 0 && this.#anchored) return false;
      const c = s.charCodeAt(pos);
      let next: DState | undefined;
      if (c < 128) {
        next = state.ascii[c];
        if (next === undefined) {
          next = this.#step(state, c);
          state.ascii[c] = next;
        }
      } else {
        next = state.other?.get(c);
        if (next === undefined) {
          next = this.#step(state, c);
          (state.other ??= new Map()).set(c, next);
        }
      }
      state = next;
    }
    return state.matchedAtEnd;
  }

  // -------------------------------------------------------------------------------------------
  // NFA simulation (patterns with \b / \B): O(input x states), no caching.

  #simulate(s: string): boolean {
    const n = this.#op.length;
    let clist = new Int32Array(n);
    let nlist = new Int32Array(n);
    const mark = new Int32Array(n).fill(-1);
    const stack = new Int32Array(n * 2 + 2);
    let ccount = 0;
    const op = this.#op;
    const xs = this.#x;
    const ys = this.#y;
    const len = s.length;
    let matched = false;

    // Follows SPLIT/JMP/ASSERT from pc at position pos; SET states go on `list`. `gen` marks visited
    // states for this position, which also ends loops whose body can match the empty string.
    const add = (list: Int32Array, count: number, pc0: number, pos: number, gen: number): number => {
      let sp = 0;
      stack[sp++] = pc0;
      while (sp > 0) {
        const pc = stack[--sp] as number;
        if (mark[pc] === gen) continue;
        mark[pc] = gen;
        switch (op[pc]) {
          case OP_SET:
            list[count++] = pc;
            break;
          case OP_JMP:
            stack[sp++] = xs[pc] as number;
            break;
          case OP_SPLIT:
            stack[sp++] = ys[pc] as number;
            stack[sp++] = xs[pc] as number;
            break;
          case OP_ASSERT: {
            const k = xs[pc];
            let ok: boolean;
            if (k === A_START) ok = pos === 0;
            else if (k === A_END) ok = pos === len;
            else {
              const before = pos > 0 && isWordUnit(s.charCodeAt(pos - 1));
              const after = pos < len && isWordUnit(s.charCodeAt(pos));
              ok = (before !== after) === (k === A_WORD);
            }
            if (ok) stack[sp++] = pc + 1;
            break;
          }
          case OP_MATCH:
            matched = true;
            break;
        }
      }
      return count;
    };

    for (let pos = 0; ; pos++) {
      if (pos === 0 || !this.#anchored) ccount = add(clist, ccount, 0, pos, pos);
      if (matched) return true;
      if (pos === len || (ccount === 0 && this.#anchored)) return false;
      const c = s.charCodeAt(pos);
      let ncount = 0;
      for (let i = 0; i < ccount; i++) {
        const pc = clist[i] as number;
        if ((this.#sets[xs[pc] as number] as CompiledSet).has(c)) ncount = add(nlist, ncount, pc + 1, pos + 1, pos + 1);
      }
      if (matched) return true;
      const t = clist;
      clist = nlist;
      nlist = t;
      ccount = ncount;
    }
  }
}

function startsAnchored(ast: Ast): boolean {
  if (ast.t === 'assert') return ast.kind === A_START;
  if (ast.t === 'seq') {
    const first = ast.items[0];
    return first !== undefined && startsAnchored(first);
  }
  if (ast.t === 'alt') return ast.alts.every(startsAnchored);
  return false;
}
