/**
 * The managed core rule set: a small, readable set in the spirit of the OWASP Core Rule Set
 * (https://coreruleset.org/), not a port of it. Groups: sqli, xss, traversal, scanners.
 *
 * Every pattern is matched case-insensitively against the DECODED value (see ../decode.ts: `+`,
 * %XX twice, HTML entities, JS escapes, comments removed, whitespace runs collapsed to one space),
 * except the `raw` target (the request target exactly as received, for encodings that are themselves
 * the attack) and `user-agent` (matched as sent).
 *
 * Rules of the same target are joined into ONE RegExp with a named group per rule, so a value is
 * scanned once whatever the number of rules; the group that matched names the rule. Patterns must stay
 * linear: no nested quantifiers, no two adjacent quantifiers over the same characters (whitespace is
 * collapsed before matching, so `\s*` matches at most one character), bounded repetitions. The unit
 * tests run safe-regex2 over every pattern and time adversarial inputs.
 *
 * Paranoia 1 (default) aims at no false positives on ordinary text ("O'Brien", "select a plan",
 * "1=1 is math"); paranoia 2 adds broader patterns that will flag some legitimate traffic.
 */

export type CoreGroup = 'sqli' | 'xss' | 'traversal' | 'scanners';
/** What a rule looks at: the normalized path, the raw request target, the query, the body, Cookie, User-Agent. */
export type CoreTarget = 'path' | 'raw' | 'query' | 'body' | 'cookie' | 'user-agent';

export interface CoreRule {
  id: string;
  group: CoreGroup;
  paranoia: 1 | 2;
  targets: readonly CoreTarget[];
  pattern: string;
  description: string;
}

const ARGS: readonly CoreTarget[] = ['query', 'body', 'cookie'];
const ARGS_AND_PATH: readonly CoreTarget[] = ['path', 'query', 'body', 'cookie'];
const Q = `['"\`]`;

export const CORE_RULES: readonly CoreRule[] = [
  // --- SQL injection (CRS 942xxx in spirit) ---
  {
    id: 'core-sqli-tautology',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `${Q}\\s?\\){0,4}\\s?(?:or|and|xor|\\|\\||&&)\\s?\\({0,4}\\s?(?:${Q}?[\\w.-]{1,64}${Q}?\\s?(?:=|<>|!=|<=|>=|<|>|\\blike\\b)|(?:true|false)\\b)`,
    description: "a quote that closes a string followed by OR/AND and a comparison: ' OR 1=1, ' or 'a'='a, \" OR true",
  },
  {
    id: 'core-sqli-numeric-tautology',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `\\d\\s(?:or|and)\\s(?<n>\\d{1,10})\\s?=\\s?\\k<n>\\b`,
    description: 'a numeric parameter extended with a tautology: 5 OR 1=1',
  },
  {
    id: 'core-sqli-union',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `\\bunion(?:\\s(?:all|distinct))?\\s?\\(?\\s?select\\b`,
    description: 'UNION [ALL] SELECT (comments between the words are removed before matching)',
  },
  {
    id: 'core-sqli-comment',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `\\w${Q}\\s?\\){0,4}\\s?;?\\s?(?:--|#|/\\*)`,
    description: "a value that closes a string and comments out the rest of the query: admin'--, 1'#, x'/*",
  },
  {
    id: 'core-sqli-stacked',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `;\\s?(?:drop\\s(?:table|database|schema)|truncate\\stable|shutdown\\b|exec(?:ute)?\\s(?:xp_|sp_|master\\.)|delete\\sfrom|insert\\sinto|alter\\stable|create\\s(?:table|user|database))\\b`,
    description: 'a second (stacked) statement: ; DROP TABLE, ; DELETE FROM, ; EXEC xp_cmdshell',
  },
  {
    id: 'core-sqli-functions',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `\\b(?:sleep|pg_sleep|benchmark)\\s?\\(\\s?\\d|\\bwaitfor\\sdelay\\s?${Q}|\\binformation_schema\\b|\\bxp_cmdshell\\b|\\b(?:extractvalue|updatexml|load_file)\\s?\\(|\\bdbms_pipe\\.receive_message\\b`,
    description: 'time-based and error-based probes and catalogue access: SLEEP(5), WAITFOR DELAY, information_schema',
  },
  {
    id: 'core-sqli-select-from',
    group: 'sqli',
    paranoia: 2,
    targets: ARGS,
    pattern: `\\bselect\\b[^;]{1,100}?\\bfrom\\b|\\b(?:or|and)\\s[\\w'"]{1,64}\\s?=\\s?[\\w'"]|${Q}\\s?(?:--|#)`,
    description: 'broader SQL shapes (flags legitimate prose such as "select a plan from the list")',
  },
  // --- Cross-site scripting (CRS 941xxx in spirit) ---
  {
    id: 'core-xss-script',
    group: 'xss',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `<\\s?/?\\s?script\\b`,
    description: '<script> and </script>',
  },
  {
    id: 'core-xss-handler',
    group: 'xss',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `(?:^|[\\s"'\`/;<>])on(?:error|load|click|dblclick|mouse(?:over|out|down|up|move|enter|leave)|focus(?:in|out)?|blur|toggle|animation(?:start|end|iteration)|transition(?:end|start|run)|pointer(?:over|down|up|enter|leave|move)|begin|change|submit|key(?:down|up|press)|input|unload|beforeunload|resize|scroll|wheel|auxclick|drag(?:start|end|over|enter|leave)?|drop|copy|paste|cut|contextmenu|play|playing|ended|hashchange|message|pageshow|popstate|readystatechange|search|show|invalid|reset)\\s?=`,
    description: 'an HTML event handler attribute: onerror=, onload=, onmouseover= ...',
  },
  {
    id: 'core-xss-js-uri',
    group: 'xss',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `\\b(?:javascript|vbscript|livescript)\\s?:(?:\\S|\\s?[\\w$.]{1,64}\\s?\\()|\\bdata\\s?:\\s?text/html\\b`,
    description: 'javascript:, vbscript: and data:text/html URIs (a colon followed by a space and prose, "JavaScript: The Good Parts", passes)',
  },
  {
    id: 'core-xss-tags',
    group: 'xss',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `<\\s?(?:iframe|frame|frameset|object|embed|applet|meta|base|svg|math|isindex)\\b|\\bdocument\\s?\\.\\s?(?:cookie|domain|write)\\b|\\bsrcdoc\\s?=`,
    description: 'tags that load or run content (<iframe, <svg, <object ...), document.cookie, srcdoc=',
  },
  {
    id: 'core-xss-any-tag',
    group: 'xss',
    paranoia: 2,
    targets: ARGS,
    pattern: `<\\s?[a-z][\\w-]{0,20}[\\s/>]|\\b(?:javascript|vbscript)\\s?:`,
    description: 'any HTML tag, any javascript: (flags legitimate HTML content and prose)',
  },
  // --- Path traversal and file access (CRS 930xxx in spirit) ---
  {
    id: 'core-traversal-dotdot',
    group: 'traversal',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `(?:^|[\\\\/=\\s'"&:,])\\.{2,3}[\\\\/;]|[\\\\/]\\.{2,3}(?:[\\\\/;]|$)`,
    description: '../ and ..\\ (after decoding, so %2e%2e%2f and %252e%252e%252f too)',
  },
  {
    id: 'core-traversal-encoded',
    group: 'traversal',
    paranoia: 1,
    targets: ['raw'],
    pattern: `%(?:25){0,3}2e%(?:25){0,3}2e|%(?:25){0,3}2e\\.|\\.%(?:25){0,3}2e|%c0%ae|%c0%af|%c1%9c|%e0%80%ae|%u002e|%u2215|%u2216|%uff0e`,
    description: 'encoded dots in the request target as sent: %2e%2e, %252e, overlong UTF-8 (%c0%ae), %u002e',
  },
  {
    id: 'core-traversal-files',
    group: 'traversal',
    paranoia: 1,
    targets: ARGS_AND_PATH,
    pattern: `/etc/(?:passwd|shadow|group|hosts)\\b|/proc/self/|\\b(?:win|boot|system)\\.ini\\b|c:[\\\\/]windows[\\\\/]|[\\\\/]windows[\\\\/]system32\\b|(?:^|/)\\.(?:htaccess|htpasswd|env|git/)|\\bweb\\.config\\b`,
    description: 'well-known sensitive files: /etc/passwd, win.ini, .env, .git/, .htaccess, web.config',
  },
  // --- Scanners (CRS 913xxx in spirit) ---
  {
    id: 'core-scanner-user-agent',
    group: 'scanners',
    paranoia: 1,
    targets: ['user-agent'],
    pattern: `\\b(?:sqlmap|nikto|nmap|acunetix|nessus|openvas|masscan|zgrab|nuclei|wpscan|dirbuster|gobuster|dirb|w3af|arachni|havij|netsparker|jaeles|whatweb|wfuzz|ffuf|feroxbuster|commix|skipfish|appscan|fimap|zmeu|morfeus|paros|webinspect|bsqlbf|sqlninja|pangolin|xsstrike|joomscan|droopescan|cmsmap|wapiti)\\b`,
    description: 'User-Agent of a known vulnerability scanner (sqlmap, Nikto, Nmap NSE, Acunetix, Nessus, nuclei ...)',
  },
];

export const CORE_GROUPS: readonly CoreGroup[] = ['sqli', 'xss', 'traversal', 'scanners'];

/** One target's rules joined into one case-insensitive RegExp; `ids[i]` names group `r{i}`. */
export interface CompiledTarget {
  re: RegExp;
  ids: readonly string[];
}

/** Joins the chosen rules per target. */
export function compileCore(groups: ReadonlySet<CoreGroup>, paranoia: number, disabled: ReadonlySet<string>): Map<CoreTarget, CompiledTarget> {
  const byTarget = new Map<CoreTarget, CoreRule[]>();
  for (const r of CORE_RULES) {
    if (!groups.has(r.group) || r.paranoia > paranoia || disabled.has(r.id)) continue;
    for (const t of r.targets) {
      const list = byTarget.get(t) ?? [];
      list.push(r);
      byTarget.set(t, list);
    }
  }
  const out = new Map<CoreTarget, CompiledTarget>();
  for (const [t, rules] of byTarget) {
    // Inner named groups (the numeric tautology's back-reference) are renamed per target so names stay unique.
    const source = rules.map((r, i) => `(?<r${i}>${r.pattern.replaceAll('<n>', `<n${i}>`)})`).join('|');
    out.set(t, { re: new RegExp(source, 'i'), ids: rules.map((r) => r.id) });
  }
  return out;
}

/** The id of the rule whose group matched, or undefined. */
export function matchCore(target: CompiledTarget, value: string): string | undefined {
  const m = target.re.exec(value);
  if (m === null) return undefined;
  const g = m.groups as Record<string, string | undefined>;
  for (let i = 0; i < target.ids.length; i++) if (g[`r${i}`] !== undefined) return target.ids[i];
  return target.ids[0];
}
