/**
 * waf: ordered rules on method, path, query, headers, body and client address, then a managed core set
 * (rules/core.ts). Everything is compiled in create(): regexes (refused when they can backtrack
 * catastrophically), CIDR lists, lower-cased needles, the managed set joined into one RegExp per target.
 *
 * Per request, each inspected field is produced at most once (a lazily filled RequestView). A managed
 * target (the path, the query's names and values, cookies, the body's fields, User-Agent, Referer and
 * the configured headers) is decoded once into at most three views (decode.ts), and each view is
 * scanned only by the joined RegExps whose trigger characters it holds (rules/core.ts). When nothing
 * matches, a GET without query, cookie or body costs a few regex tests (docs/waf.md has the measured
 * figure, bench/waf-micro.mjs).
 *
 * Bodies: `needsRequestBody` is static per plugin, and most WAF configs need no body, so the plugin
 * does not set it; the hook reads the body itself (`await ctx.readBody()`) only when a configured rule
 * inspects body content (or the size of a chunked body) and the request has one. The body is then
 * buffered (up to the route's body limit) and forwarded from memory, as with any body-reading plugin.
 *
 * A blocked request gets 403 {"message":"Forbidden","code":"WAF_BLOCKED","requestId"}; the rule id is
 * logged (warn, with the request id) and counted, never sent to the client. Matched values are never
 * logged (they may be credentials or personal data): only the rule id and the field name.
 */
import client from 'prom-client';
import { type Denial, denial } from '../../errors/catalogue.js';
import type { RequestContext } from '../../pipeline/context.js';
import type { PluginDefinition } from '../../pipeline/types.js';
import { isCatastrophic } from '../../util/regex-safety.js';
import { CidrSet, buildCidrList } from '../ip-restriction/cidr.js';
import { cookieFields, decodeQuery, formFields, headerText, isPlain, jsonFields, needsWork, viewsOf } from './decode.js';
import { type CompiledTarget, type CoreGroup, CORE_RULES, compileCore, matchCore } from './rules/core.js';
import { type WafCondition, schema } from './schema.js';

export type { WafConfig } from './schema.js';

type Problem = { path: (string | number)[]; message: string };
type Test = (s: string) => boolean;
type Cond = (v: RequestView) => boolean;
type Action = 'block' | 'count' | 'allow';

const BLOCKED = denial('WAF_BLOCKED');
const METRIC = 'turnpike_waf_rule_matches_total';

/** What the rules of one request look at, each field computed once on first use. */
class RequestView {
  readonly ctx: RequestContext;
  readonly #inspectBytes: number;
  #query: string | undefined = undefined;
  #args: URLSearchParams | undefined = undefined;
  #headers: Map<string, string[]> | undefined = undefined;
  #body: string | undefined = undefined;

  constructor(ctx: RequestContext, inspectBytes: number) {
    this.ctx = ctx;
    this.#inspectBytes = inspectBytes;
  }
  get query(): string {
    if (this.#query === undefined) this.#query = decodeQuery(this.ctx.rawQuery);
    return this.#query;
  }
  get args(): URLSearchParams {
    if (this.#args === undefined) this.#args = new URLSearchParams(this.ctx.rawQuery);
    return this.#args;
  }
  /** Every value of a header (lower-case name), duplicates included, from the raw header list. */
  header(name: string): readonly string[] {
    if (this.#headers === undefined) {
      const m = new Map<string, string[]>();
      const raw = this.ctx.req.rawHeaders;
      for (let i = 0; i < raw.length; i += 2) {
        const k = (raw[i] as string).toLowerCase();
        const list = m.get(k);
        if (list === undefined) m.set(k, [raw[i + 1] as string]);
        else list.push(raw[i + 1] as string);
      }
      this.#headers = m;
    }
    return this.#headers.get(name) ?? NONE;
  }
  /** The first bodyInspectBytes of the body as UTF-8 ('' without a body). */
  get body(): string {
    if (this.#body === undefined) {
      const b = this.ctx.body;
      this.#body = b === undefined || b.length === 0 ? '' : b.subarray(0, this.#inspectBytes).toString('utf8');
    }
    return this.#body;
  }
  get bodySize(): number {
    return this.ctx.body !== undefined ? this.ctx.body.length : Math.max(this.ctx.contentLength, 0);
  }
}
const NONE: readonly string[] = Object.freeze([]);

const hasBody = (ctx: RequestContext) => ctx.contentLength > 0 || ctx.contentLength === -2;
const byteLength = (s: string) => Buffer.byteLength(s);

function stringTest(op: string, value: WafCondition['value'], ci: boolean, at: (string | number)[], problems: Problem[]): Test | undefined {
  const list = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  if (list === undefined) {
    problems.push({ path: [...at, 'value'], message: `operator "${op}" needs a string or a list of strings` });
    return undefined;
  }
  if (op === 'regex') {
    const res: RegExp[] = [];
    list.forEach((src, k) => {
      const where = typeof value === 'string' ? [...at, 'value'] : [...at, 'value', k];
      try {
        const re = new RegExp(src, ci ? 'i' : '');
        if (isCatastrophic(src))
          problems.push({ path: where, message: `regular expression /${src}/ can backtrack catastrophically (nested or overlapping quantifiers); rewrite it without a quantified group that itself repeats` });
        else res.push(re);
      } catch (e) {
        problems.push({ path: where, message: `invalid regular expression: ${(e as Error).message}` });
      }
    });
    if (res.length === 1) {
      const re = res[0] as RegExp;
      return (s) => re.test(s);
    }
    return (s) => {
      for (const re of res) if (re.test(s)) return true;
      return false;
    };
  }
  const needles = ci ? list.map((s) => s.toLowerCase()) : list;
  const norm = ci ? (s: string) => s.toLowerCase() : (s: string) => s;
  if (op === 'contains')
    return (s) => {
      const h = norm(s);
      for (const n of needles) if (h.includes(n)) return true;
      return false;
    };
  if (op === 'starts-with')
    return (s) => {
      const h = norm(s);
      for (const n of needles) if (h.startsWith(n)) return true;
      return false;
    };
  const set = new Set(needles);
  return (s) => set.has(norm(s));
}

function compileCondition(c: WafCondition, at: (string | number)[], problems: Problem[]): Cond | undefined {
  const { field, operator: op } = c;
  const name = c.name?.toLowerCase();
  const before = problems.length;
  if (c.name !== undefined && field !== 'header' && field !== 'query')
    problems.push({ path: [...at, 'name'], message: `"name" applies to the header and query fields only` });
  if ((field === 'ip') !== (op === 'ip-in'))
    problems.push({ path: [...at, 'operator'], message: field === 'ip' ? 'the ip field takes the ip-in operator' : 'ip-in applies to the ip field only' });
  if (op === 'count-gt' && field !== 'query' && field !== 'header' && field !== 'path')
    problems.push({ path: [...at, 'operator'], message: 'count-gt applies to query (arguments), header (fields) and path (segments)' });
  if (op === 'size-gt' && field === 'ip') problems.push({ path: [...at, 'operator'], message: 'size-gt does not apply to the ip field' });
  if ((op === 'size-gt' || op === 'count-gt') && typeof c.value !== 'number')
    problems.push({ path: [...at, 'value'], message: `operator "${op}" needs a whole number` });
  if (problems.length > before) return undefined;

  let cond: Cond | undefined;
  if (op === 'ip-in') {
    const entries = typeof c.value === 'string' ? [c.value] : Array.isArray(c.value) ? c.value : undefined;
    if (entries === undefined) {
      problems.push({ path: [...at, 'value'], message: 'ip-in needs a CIDR or a list of CIDRs' });
      return undefined;
    }
    const { list, problems: p } = buildCidrList(entries);
    for (const x of p) problems.push({ path: typeof c.value === 'string' ? [...at, 'value'] : [...at, 'value', x.index], message: x.message });
    const set = new CidrSet(list);
    cond = (v) => set.has(v.ctx.clientIp);
  } else if (op === 'size-gt') {
    const n = c.value as number;
    if (field === 'body') cond = (v) => v.bodySize > n;
    else if (field === 'header' && name === undefined)
      cond = (v) => {
        let total = 0;
        for (const s of v.ctx.req.rawHeaders) total += byteLength(s);
        return total > n;
      };
    else cond = anyValue(field, name, (s) => byteLength(s) > n);
  } else if (op === 'count-gt') {
    const n = c.value as number;
    if (field === 'path') cond = (v) => v.ctx.path.split('/').filter((x) => x !== '').length > n;
    else if (field === 'header') cond = name === undefined ? (v) => v.ctx.req.rawHeaders.length / 2 > n : (v) => v.header(name).length > n;
    else
      cond =
        name === undefined
          ? (v) => {
              let count = 0;
              for (const part of v.ctx.rawQuery.split('&')) if (part !== '') count++;
              return count > n;
            }
          : (v) => v.args.getAll(c.name as string).length > n;
  } else {
    const t = stringTest(op, c.value, c.caseInsensitive === true, at, problems);
    if (t === undefined) return undefined;
    cond = anyValue(field, name, t);
  }
  if (c.negate === true) {
    const inner = cond;
    return (v) => !inner(v);
  }
  return cond;
}

/** The condition holds when the test holds for the field's value, or any of its values. */
function anyValue(field: WafCondition['field'], name: string | undefined, t: Test): Cond {
  switch (field) {
    case 'method':
      return (v) => t(v.ctx.method);
    case 'path':
      return (v) => t(v.ctx.path);
    case 'query-raw':
      return (v) => t(v.ctx.rawQuery);
    case 'query':
      if (name === undefined) return (v) => t(v.query);
      return (v) => {
        for (const s of v.args.getAll(name)) if (t(s)) return true;
        return false;
      };
    case 'header':
      if (name === undefined)
        return (v) => {
          const raw = v.ctx.req.rawHeaders;
          for (let i = 1; i < raw.length; i += 2) if (t(raw[i] as string)) return true;
          return false;
        };
      return (v) => {
        for (const s of v.header(name)) if (t(s)) return true;
        return false;
      };
    case 'body':
      return (v) => t(v.body);
    default:
      return () => false;
  }
}

interface CompiledRule {
  id: string;
  action: Action;
  conds: Cond[];
}

export const waf: PluginDefinition<typeof schema> = {
  name: 'waf',
  priority: 2900,
  phases: ['onRequest'],
  description: 'Web application firewall: ordered block/count/allow rules and a managed core set (SQL injection, XSS, path traversal, scanners).',
  configSchema: schema,
  create(config, deps) {
    const problems: Problem[] = [];
    const rules: CompiledRule[] = [];
    const seen = new Map<string, number>();
    let bodyContent = false;
    let bodySize = false;
    (config.rules ?? []).forEach((r, i) => {
      const prev = seen.get(r.id);
      if (prev !== undefined) problems.push({ path: ['rules', i, 'id'], message: `duplicate rule id "${r.id}" (first at rules[${prev}])` });
      seen.set(r.id, i);
      const conds: Cond[] = [];
      r.when.forEach((c, j) => {
        const cond = compileCondition(c, ['rules', i, 'when', j], problems);
        if (cond !== undefined) conds.push(cond);
        if (c.field === 'body') {
          if (c.operator === 'size-gt') bodySize = true;
          else bodyContent = true;
        }
      });
      rules.push({ id: r.id, action: r.action, conds });
    });

    const groups = new Set<CoreGroup>(config.managed ?? []);
    const known = new Set(CORE_RULES.map((r) => r.id));
    (config.disabledRules ?? []).forEach((id, k) => {
      if (!known.has(id)) problems.push({ path: ['disabledRules', k], message: `unknown managed rule "${id}"; managed rules: ${[...known].join(', ')}` });
    });
    if (config.inspectHeaders !== undefined && config.inspectHeaders.length > 0 && !groups.has('sqli') && !groups.has('xss'))
      problems.push({ path: ['inspectHeaders'], message: 'inspectHeaders applies to the managed sqli and xss groups: add one of them to "managed", or drop inspectHeaders' });
    if (rules.length === 0 && groups.size === 0) problems.push({ path: [], message: 'give "rules", "managed" or both' });
    if (problems.length > 0) throw Object.assign(new Error(problems.map((p) => p.message).join('; ')), { problems });

    const core = compileCore(groups, config.paranoia, new Set(config.disabledRules ?? []));
    const corePath = core.get('path');
    const coreRaw = core.get('raw');
    const coreQuery = core.get('query');
    const coreBody = !config.inspectBody ? undefined : core.get('body');
    const coreCookie = core.get('cookie');
    const coreUa = core.get('user-agent');
    const coreHeader = core.get('header');
    // User-Agent and Referer, as CRS inspects them at paranoia 1, then the configured ones.
    const inspectedHeaders = [...new Set(['user-agent', 'referer', ...(config.inspectHeaders ?? []).map((h) => h.toLowerCase())])];
    if (coreBody !== undefined) bodyContent = true;
    const managedAction: Action = config.managedAction ?? 'block';
    const inspectBytes = config.bodyInspectBytes;
    const logger = deps.logger;

    const report = (ctx: RequestContext, ruleId: string, action: Action, field: string): Denial | undefined => {
      const registry = ctx.table.metrics.registry;
      const counter = (registry.getSingleMetric(METRIC) as client.Counter<'rule' | 'action'> | undefined) ??
        new client.Counter({ name: METRIC, help: 'WAF rule matches by rule id and action (block, count, allow).', labelNames: ['rule', 'action'], registers: [registry] });
      counter.inc({ rule: ruleId, action });
      if (action === 'block') {
        logger.warn({ requestId: ctx.id, ruleId, action, field, route: ctx.route?.id, clientIp: ctx.clientIp }, 'waf blocked a request');
        return BLOCKED;
      }
      if (action === 'count') logger.warn({ requestId: ctx.id, ruleId, action, field, route: ctx.route?.id, clientIp: ctx.clientIp }, 'waf rule matched');
      else if (logger.isLevelEnabled('debug')) logger.debug({ requestId: ctx.id, ruleId, action, route: ctx.route?.id }, 'waf allowed a request');
      return undefined;
    };

    /** The first rule of the target that matches any view of the values, or undefined. */
    const scan = (target: CompiledTarget, values: readonly string[], plusIsSpace: boolean, plain = false): string | undefined => {
      for (const view of viewsOf(values, plusIsSpace, plain)) {
        const id = matchCore(target, view);
        if (id !== undefined) return id;
      }
      return undefined;
    };
    /** HOT PATH: one value with nothing to decode is its only view; no arrays are built for it. */
    const scanOne = (target: CompiledTarget, value: string): string | undefined => (needsWork(value, false) ? scan(target, [value], false) : matchCore(target, value));
    const managedHit = (ctx: RequestContext, id: string | undefined, field: string): Denial | undefined | null => {
      if (id === undefined) return null;
      return report(ctx, id, managedAction, field);
    };
    /** Headers are scanned together; only after a match is each scanned again, to log which one it was. */
    const headerHit = (ctx: RequestContext, v: RequestView, target: CompiledTarget): Denial | undefined | null => {
      const values: string[] = [];
      for (const name of inspectedHeaders) for (const h of v.header(name)) values.push(headerText(h));
      if (values.length === 0) return null;
      const id = values.length === 1 ? scanOne(target, values[0] as string) : scan(target, values, false);
      if (id === undefined) return null;
      const name = inspectedHeaders.find((n) => v.header(n).some((h) => scan(target, [headerText(h)], false) !== undefined)) ?? 'headers';
      return report(ctx, id, managedAction, `header:${name}`);
    };

    const evaluate = (ctx: RequestContext): Denial | undefined => {
      const v = new RequestView(ctx, inspectBytes);
      for (const r of rules) {
        let all = true;
        for (const c of r.conds) {
          if (!c(v)) {
            all = false;
            break;
          }
        }
        if (!all) continue;
        if (r.action === 'allow') return report(ctx, r.id, 'allow', 'rule');
        const early = report(ctx, r.id, r.action, 'rule');
        if (early !== undefined) return early;
      }
      // Managed set; a `count` match goes on to the next target, a block answers.
      let hit: Denial | undefined | null;
      if (coreUa !== undefined) {
        const ua = v.header('user-agent');
        if (ua.length > 0 && (hit = managedHit(ctx, matchCore(coreUa, ua.length === 1 ? (ua[0] as string) : ua.join('\n')), 'header:user-agent'))) return hit;
      }
      if (coreHeader !== undefined && (hit = headerHit(ctx, v, coreHeader))) return hit;
      if (corePath !== undefined && (hit = managedHit(ctx, scanOne(corePath, ctx.path), 'path'))) return hit;
      if (coreRaw !== undefined) {
        const url = ctx.req.url ?? '';
        if (url.includes('%') && (hit = managedHit(ctx, matchCore(coreRaw, url), 'target'))) return hit;
      }
      if (coreQuery !== undefined && ctx.rawQuery !== '') {
        const fields: string[] = [];
        formFields(ctx.rawQuery, fields);
        if (fields.length > 0 && (hit = managedHit(ctx, scan(coreQuery, fields, true, isPlain(ctx.rawQuery, true)), 'query'))) return hit;
      }
      if (coreCookie !== undefined) {
        const cookies = v.header('cookie');
        if (cookies.length > 0) {
          const fields: string[] = [];
          cookieFields(cookies, fields);
          if (fields.length > 0 && (hit = managedHit(ctx, scan(coreCookie, fields, false), 'header:cookie'))) return hit;
        }
      }
      if (coreBody !== undefined && ctx.body !== undefined && ctx.body.length > 0) {
        // A form body is fields like a query string, a JSON body its strings; any other body (XML, text,
        // multipart) is one value.
        const type = (ctx.req.headers['content-type'] ?? '').toLowerCase();
        const form = type.includes('x-www-form-urlencoded');
        const body = v.body;
        let fields: string[];
        if (form) {
          fields = [];
          formFields(body, fields);
        } else if (type.includes('json')) {
          fields = [];
          jsonFields(body, fields);
        } else fields = [body];
        if (fields.length > 0 && (hit = managedHit(ctx, scan(coreBody, fields, form, isPlain(body, form)), 'body'))) return hit;
      }
      return undefined;
    };

    return {
      onRequest(ctx) {
        if (ctx.body === undefined && hasBody(ctx) && (bodyContent || (bodySize && ctx.contentLength === -2))) {
          return ctx.readBody().then(() => evaluate(ctx));
        }
        return evaluate(ctx);
      },
    };
  },
};
