/**
 * The managed core rule set: a readable set in the spirit of the OWASP Core Rule Set
 * (https://coreruleset.org/), not a port of it. Groups: sqli, xss, traversal, scanners. Its coverage is
 * measured against CRS's own regression tests at paranoia level 1 (test/unit/waf-crs.test.ts, the
 * figures and the deliberate gaps are in docs/waf.md).
 *
 * Every pattern is matched case-insensitively against the views of ../decode.ts: each inspected value
 * decoded (`+`, %XX up to three times, full-width forms, HTML entities, JS escapes), then as it is, with
 * comments replaced by a space and with comments removed (MySQL versioned comments keep their contents,
 * `#` and `--` run to the end of the line), whitespace runs collapsed to one space. The `raw` target (the
 * request target exactly as received, for encodings that are themselves the attack) and `user-agent`
 * (the scanner list, matched as sent) are not decoded.
 *
 * A target's values (query names and values, form fields, cookie names and values, headers) are joined
 * with \x01 (SEP): a pattern that must see a whole value starts with VS and ends with VE, and the
 * negated classes that must stay inside one value exclude \x01.
 *
 * Rules of the same target that need the same characters (`needs`) are joined into ONE RegExp with a
 * named group per rule, so a view is scanned by a handful of RegExps whatever the number of rules, and
 * only by those whose characters it holds; the group that matched names the rule. Patterns must stay
 * linear: no nested quantifiers, no two adjacent quantifiers over the same characters (whitespace is
 * collapsed before matching, so `\s?` stands for any run of it), bounded repetitions, no lookbehind.
 * The unit tests run safe-regex2 over every pattern and time adversarial inputs.
 *
 * Paranoia 1 (default) aims at no false positives on ordinary text ("O'Brien", "select a plan",
 * "1=1 is math", "Left (WA)", "I sleep well!"); paranoia 2 adds broader patterns that will flag some
 * legitimate traffic.
 */

export type CoreGroup = 'sqli' | 'xss' | 'traversal' | 'scanners';
/**
 * What a rule looks at: the normalized path, the raw request target, query names and values, the body
 * (form fields, JSON strings, or the whole text), cookie names and values, User-Agent as sent
 * (scanners), and the decoded User-Agent, Referer and configured headers (`header`).
 */
export type CoreTarget = 'path' | 'raw' | 'query' | 'body' | 'cookie' | 'user-agent' | 'header';

export interface CoreRule {
  id: string;
  group: CoreGroup;
  paranoia: 1 | 2;
  targets: readonly CoreTarget[];
  /**
   * Strings one of which every match contains. Rules are grouped by it, and a view is scanned by a
   * group only when it holds one of them (String.includes): a sentence without quotes never pays for
   * the quote rules, a JSON body never for the tag rules. Leave it out when there is no such string.
   */
  needs?: readonly string[];
  pattern: string;
  description: string;
}

const ARGS: readonly CoreTarget[] = ['query', 'body', 'cookie'];
const ARGS_AND_PATH: readonly CoreTarget[] = ['path', 'query', 'body', 'cookie'];
const ARGS_AND_HEADERS: readonly CoreTarget[] = ['query', 'body', 'cookie', 'header'];
const EVERYWHERE: readonly CoreTarget[] = ['path', 'query', 'body', 'cookie', 'header'];

/** A quote that can open or close an SQL string or identifier, or an HTML attribute. */
const Q = `['"\`]`;
const QUOTES = ["'", '"', '`'];
/** Start and end of one value in a joined view (../decode.ts SEP). */
const VS = '(?:^|\\x01)';
const VE = '(?=$|\\x01)';
/** Between the letters of an obfuscated tag name: anything but a letter, digit, `<`, `>` or SEP. */
const J = '[^\\w<>\\x01]{0,2}';
/** `javascript` with whitespace allowed between its letters (browsers drop tabs and newlines in URLs). */
const spaced = (word: string, gap = '\\s?') => word.split('').join(gap);

/**
 * SQL functions an injection calls (CRS 942151 and friends), followed by `(` with at most one space.
 * Leaves out those that are common English words before a parenthesis (left, right, lower, space,
 * position, convert, degrees, quarter, floor, count, length, cast ...).
 */
const SQL_FUNCTIONS = [
  'benchmark',
  'coalesce',
  'concat_ws',
  'group_concat',
  'current_user',
  'session_user',
  'system_user',
  'connection_id',
  'db_name',
  'schema_name',
  'extractvalue',
  'updatexml',
  'xmltype',
  'load_file',
  'ifnull',
  'nullif',
  'make_set',
  'export_set',
  'name_const',
  'pg_sleep',
  'sysdate',
  'strcmp',
  'substring_index',
  'unhex',
  'find_in_set',
  'sqlite_(?:version|compileoption_(?:used|get))',
  'starts_with',
  'jsonb?_(?:pretty|build_object|extract|object|agg|keys)',
  'unistr',
  'lo_(?:import|export|get|put)',
  'crc32',
  'instr',
  'soundex',
  '(?:char|bit)_length',
  '(?:to|from)_base64',
  'aes_(?:en|de)crypt',
  'utl_(?:inaddr|http)\\.\\w{1,30}',
  'dbms_\\w{1,30}\\.\\w{1,30}',
  'randomblob',
].join('|');
/** Functions whose names could be a word in prose: with a space before `(`, a word must not follow (`Rand (ZAR)`). */
const SQL_WORD_FUNCTIONS = ['u?n?compress', 'concat', 'database', 'pow(?:er)?', 'rand', 'sin', 'cos', 'substr(?:ing)?', 'md5', 'sha[12]', '[lr]trim'].join('|');
/** Functions whose names are ordinary words or tokens: only written tight against `(` (or `=(`, `\(`). */
const SQL_TIGHT_FUNCTIONS = ['insert', 'mid', 'ord', 'ascii', 'hex', 'trim', 'decode', 'encode', 'char'].join('|');

/** Tags that load or run content (CRS 941160, 941200-941300 in spirit). */
const DANGEROUS_TAGS = [
  'style',
  'svg',
  'form',
  'dialog',
  'marquee',
  'iframe',
  'frame',
  'frameset',
  'object',
  'embed',
  'applet',
  'meta',
  'base',
  'link',
  'math',
  'isindex',
  'audio',
  'video',
  'animate',
  'img',
  'image',
  'body',
  'vmlframe',
  'bindings',
  'param',
  'xss',
].join('|');

export const CORE_RULES: readonly CoreRule[] = [
  // --- SQL injection (CRS 942xxx in spirit) ---
  {
    id: 'core-sqli-tautology',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    needs: QUOTES,
    pattern: `${Q}\\s?\\){0,4}\\s?(?:(?:or|and|xor)\\b|\\|\\||&&)\\s?\\({0,4}\\s?(?:${Q}?[\\w.-]{1,64}${Q}?\\s?(?:=|<>|!=|<=|>=|<|>|\\blike\\b)|(?:true|false)\\b)`,
    description: "a quote that closes a string followed by OR/AND and a comparison: ' OR 1=1, ' or 'a'='a, \" OR true",
  },
  {
    id: 'core-sqli-numeric-tautology',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    needs: ['='],
    pattern: `\\d\\s(?:or|and)\\s(?<n>\\d{1,10})\\s?=\\s?\\k<n>\\b`,
    description: 'a numeric parameter extended with a tautology: 5 OR 1=1',
  },
  {
    id: 'core-sqli-after-quote',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    needs: QUOTES,
    pattern: `${Q}\\s?(?:!=|<>|<=>)\\s?${Q}|${Q}!${Q}|${Q}\\s?\\|\\|\\s?\\(?\\s?select\\b|${Q}\\s?(?:regexp|rlike)\\s|${Q}\\s?;\\s?select\\b|${Q};?select\\s[\\w*@]`,
    description: "SQL right after a closing quote: 'x'!='y', '||(select …), '; SELECT, 'select …, ` REGEXP",
  },
  {
    id: 'core-sqli-union',
    group: 'sqli',
    paranoia: 1,
    targets: EVERYWHERE,
    pattern: `\\bunion(?:\\s(?:all|distinct|distinctrow))?\\s?\\(?\\s?select\\b|union(?:\\sall)?\\s?select(?:\\s[\\w*,.]{1,64}\\s|\\s?)from\\b`,
    description: 'UNION [ALL|DISTINCT] SELECT, UNIONSELECT…FROM (comments between or inside the words are removed or replaced first)',
  },
  {
    id: 'core-sqli-comment',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: ['--', '#', '/*'],
    pattern: `\\w${Q}\\s?\\){0,4}\\s?;?\\s?(?:--|#|/\\*)`,
    description: "a value that closes a string and comments out the rest of the query: admin'--, 1'#, x'/*",
  },
  {
    id: 'core-sqli-inline-comment',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: ['/*'],
    pattern: `/\\*\\s?[!+][\\w\\s-]{0,100}\\*/`,
    description: 'a MySQL versioned comment or an optimizer hint holding only words: /*!50000from*/, /*+ optimizer hint */ (a licence banner /*! jQuery v3.6 | … */ passes)',
  },
  {
    id: 'core-sqli-stacked',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    needs: [';'],
    pattern: `;\\s?(?:drop\\s(?:table|database|schema|function|procedure)|truncate\\b|shutdown\\b|exec(?:ute)?\\s(?:xp_|sp_|master\\.)|delete\\sfrom|insert\\sinto|(?:insert|replace)\\s(?:into\\s)?[\\w\`".]{1,64}\\s?(?:\\(|values\\b)|alter\\stable|create\\s(?:table|user|database|function|procedure))\\b`,
    description: 'a second (stacked) statement: ; DROP TABLE, ; DELETE FROM, ; INSERT INTO, ; REPLACE t (…), ; TRUNCATE, ; EXEC xp_cmdshell',
  },
  {
    id: 'core-sqli-auth-bypass',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: [';'],
    pattern: `${VS}[^'\\x01]{0,200}'\\s?;|${VS}[^"\\x01]{0,200}"\\s?;|${VS}[^\`\\x01]{0,200}\`\\s?;`,
    description: "a value whose first quote ends the statement: admin@example.com'; (the rest of the query is cut off)",
  },
  {
    id: 'core-sqli-functions',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    needs: ['('],
    pattern: `\\bsleep\\s?\\(\\s?(?:[\\d'"(-]|\\w{1,16}\\s?\\()|\\b(?:pg_sleep|benchmark)\\s?\\(|\\b(?:extractvalue|updatexml|load_file)\\s?\\(`,
    description: 'time-based and error-based probes: SLEEP(5), SLEEP((…)), PG_SLEEP(, BENCHMARK(, EXTRACTVALUE(, UPDATEXML(, LOAD_FILE(',
  },
  {
    id: 'core-sqli-time-delay',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    pattern: `\\bwaitfor\\s(?:delay|time)\\s?${Q}|\\bselect\\s(?:pg_sleep|benchmark|sleep)\\b`,
    description: "delays without a parenthesis: WAITFOR DELAY '0:0:5', SELECT PG_SLEEP",
  },
  {
    id: 'core-sqli-function-call',
    group: 'sqli',
    paranoia: 1,
    // Not headers: every browser User-Agent is full of parentheses, and the list is long.
    targets: ARGS,
    needs: ['('],
    pattern: `\\b(?:${SQL_FUNCTIONS})\\s?\\\\?\\(|\\b(?:${SQL_WORD_FUNCTIONS})(?:\\\\?\\(|\\s\\(\\s?(?![a-z]))|\\b(?:${SQL_TIGHT_FUNCTIONS})[=\\\\]?\\((?!s\\))|\\b(?:current_)?user\\((?!s\\))|\\b(?:version|now)\\(\\)|\\bselect\\s?(?:char|if|case|count|convert)\\s?\\(|\\bconvert\\s?\\(\\s?(?:nvarchar|varchar|char|int)\\b|\\bchar\\s?\\(\\s?\\d{1,3}\\s?[,)]|\\biif\\s?\\(`,
    description: 'an SQL function call: CONCAT(, SUBSTRING(, GROUP_CONCAT(, MD5(, HEX(, USER(, IIF(, CHAR(113) … (not English words such as left ( and lower (, nor a name, a space and a parenthesised word: Rand (ZAR))',
  },
  {
    id: 'core-sqli-catalog',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `\\b(?:information_schema|pg_catalog|pg_shadow|pg_user|mysql\\.(?:db|user)|msysaccessobjects|msysobjects|sysobjects|syscolumns|sysdatabases|sqlite_master|schema_name)\\b|${VS}(?:tempdb|msdb|northwind|master|all_tables|user_tables)${VE}|\\b(?:tempdb|msdb|northwind|master)\\.\\.?(?:dbo|sys|information_schema)\\b|@@(?:version|datadir|hostname)\\b`,
    description: 'database catalogues and system databases: information_schema, pg_catalog, mysql.db, MSysAccessObjects, @@version; tempdb, msdb, Northwind as a whole value or qualified (tempdb..sysobjects)',
  },
  {
    id: 'core-sqli-mssql',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS_AND_HEADERS,
    pattern: `\\bexec(?:ute)?\\s?(?:master\\.|xp_\\w|sp_\\w|\\(\\s?@)|\\bxp_(?:cmdshell|dirtree|regread|fileexist)\\b|\\bdeclare\\s?@\\w|\\binto\\s(?:out|dump)file\\b|\\bexecute\\simmediate\\b|\\bprocedure\\sanalyse\\b|\\bopen(?:rowset|datasource|query)\\s?\\(|\\bdbms_pipe\\.receive_message\\b`,
    description: 'MSSQL, Oracle and MySQL statements an injection runs: EXEC master., xp_cmdshell, DECLARE @x, EXEC(@, INTO OUTFILE, EXECUTE IMMEDIATE, PROCEDURE ANALYSE',
  },
  {
    id: 'core-sqli-conditional',
    group: 'sqli',
    paranoia: 1,
    targets: EVERYWHERE,
    pattern: `\\)\\s?like\\s?\\(|(?:^|\\x01|[(,=]|\\bselect)\\s?case\\swhen\\s[^\\x01]{1,100}?\\sthen\\b|\\bhaving\\s(?:(?:count|sum|avg|min|max)\\s?\\(|${Q}?\\w{1,64}${Q}?\\s?(?:[<>]=?|!?=))|\\bif\\((?:\\d{1,10}\\s?[=<>]|\\w{1,32}\\(\\)\\s?[=<>])`,
    description: 'conditional probes: ) LIKE (, CASE WHEN … THEN, HAVING COUNT(…) >=, IF(1=, IF(now()=',
  },
  {
    id: 'core-sqli-ddl',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    pattern: `\\balter\\stable\\s${Q}?[\\w.]{1,64}${Q}?\\s(?:add|change|drop|modify|rename|alter)\\b|\\bcreate\\s(?:temporary\\s)?table\\s(?:if\\snot\\sexists\\s)?${Q}?[\\w.]{1,64}${Q}?\\s?(?:\\(|;|${VE}|\\bas\\b|\\blike\\b)|\\bcreate\\s(?:or\\sreplace\\s)?(?:function|procedure|trigger)\\s${Q}?\\w`,
    description: 'schema changes: ALTER TABLE t ADD|CHANGE …, CREATE TABLE t (…), CREATE FUNCTION f',
  },
  {
    id: 'core-sqli-json',
    group: 'sqli',
    paranoia: 1,
    targets: ['path', 'query', 'body', 'cookie'],
    needs: [':', '(', "'", '@'],
    pattern: `::\\s?(?:int|integer|bigint|smallint|bool|boolean|numeric|double\\sprecision|jsonb?|bytea|regclass|oid)\\b|[)'"]::\\s?(?:text|varchar|char|real|float)\\b|\\bdiv\\s?\\(\\s?-?\\d|'[\\[{][^'\\x01]{0,200}[\\]}]'\\s?(?:::|->|#>|#-|@>|<@|@\\?|@@|\\?[|&]?|\\|\\||[<>]|-\\s?\\d)|(?:@>|<@)\\s?'[\\[{]|\\bjson_extract\\s?\\(`,
    description: "PostgreSQL casts and JSON operators, JSON_EXTRACT: password::int, '{\"a\":1}'::jsonb, '{…}' <@ '{…}', '[1,2]' ? '1', DIV(23,-2)",
  },
  {
    id: 'core-sqli-mysql-syntax',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: ['.', ...QUOTES],
    pattern: `\\d\\.e\\s?\\(\\s?(?:ascii|ord|hex|substr\\w{0,7}|mid|char|concat\\w{0,3}|select|sleep|if|user|database|version)\\b|\\d\\.e\\.(?:tables|columns|schemata|user|users|db)\\b|(?:\\d|${Q})\\sas\\s?(?:${Q}[\\w.-]{0,64}${Q}\\s?|${Q}\\s?)from\\b`,
    description: 'MySQL tricks: 1.e(ascii …) (a number glued to a function), 1234 AS "x" FROM',
  },
  {
    id: 'core-sqli-nosql',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: ['$'],
    pattern: `(?:^|[\\x01\\["'{,])\\$(?:ne|eq|[lg]te?|n?in|not|nor|and|or|where|regex|exists|elemmatch|text|expr|all|size|type|mod|jsonschema)(?=$|[\\x01\\]"':])`,
    description: 'MongoDB query operators as a name, a key or a value: id[$ne]=1, {"$where": …}, {"$exists": true}',
  },
  {
    id: 'core-sqli-magic-number',
    group: 'sqli',
    paranoia: 1,
    targets: ARGS,
    needs: ['4294967296', '2.2250738585072'],
    pattern: `(?:^|[\\x01"])(?:4294967296|2\\.225073858507201[12]?e-0{0,3}308)(?=$|[\\x01"])`,
    description: 'numbers that crash or hang parsers: 2.2250738585072011e-308 (Java/PHP), 4294967296 (32-bit overflow)',
  },
  {
    id: 'core-sqli-select-from',
    group: 'sqli',
    paranoia: 2,
    targets: ARGS,
    pattern: `\\bselect\\b[^;\\x01]{1,100}?\\bfrom\\b|\\b(?:or|and)\\s[\\w'"]{1,64}\\s?=\\s?[\\w'"]|${Q}\\s?(?:--|#)`,
    description: 'broader SQL shapes (flags legitimate prose such as "select a plan from the list")',
  },
  // --- Cross-site scripting (CRS 941xxx in spirit) ---
  {
    id: 'core-xss-script',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['<'],
    pattern: `<${J}/?${J}${spaced('script', J)}(?![a-z])|<${J}/?${J}[\\w-]{1,20}${J}:${J}${spaced('script', J)}(?![a-z])`,
    description: '<script>, </script>, <x:script> and < s c r i p t',
  },
  {
    id: 'core-xss-handler',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['='],
    pattern: `(?:^|[\\s"'\`/;(,=\\x01])on[a-z]{3,50}\\s?=[^=\\x01]|${Q}\\s?on[a-z]{3,50}\\s?=|<[a-z][\\w:-]{0,30}[\\s/][^<>\\x01]{0,100}?\\bon[a-z]{3,50}\\s?=`,
    description: 'an HTML event handler attribute: onerror=, onload=, onmouseover= … (any on…= after a space, quote, slash or semicolon, or inside a tag)',
  },
  {
    id: 'core-xss-js-uri',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: [':'],
    pattern: `\\b(?:${spaced('javascript')}|${spaced('vbscript')}|livescript)\\s?:(?:\\S|\\s?[\\w$.]{1,64}\\s?\\(|\\s?[\\\\/]|\\s?${VE}|\\s?["']\\s?/?>)`,
    description: 'javascript: and vbscript: URIs, also with whitespace inside the word (ja&Tab;vascript:) ("JavaScript: The Good Parts" passes)',
  },
  {
    id: 'core-xss-data-uri',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: [':'],
    pattern: `\\bdata\\s?:\\s?(?:text/html\\b|[\\w-]{1,30}/[\\w.+-]{1,60}\\s?,|,)`,
    description: 'data: URIs that carry a document or script: data:text/html, data:,alert(1), data:application/x-foo,…',
  },
  {
    id: 'core-xss-css',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['(', ':'],
    pattern: `\\burl\\s?\\(\\s?${Q}?\\s?javascript\\b|-moz-binding\\s?:`,
    description: 'script from CSS: url(javascript:…), -moz-binding:',
  },
  {
    id: 'core-xss-tags',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['<'],
    pattern: `<${J}(?:${DANGEROUS_TAGS})(?![a-z])|<${J}[\\w-]{1,20}:(?:${DANGEROUS_TAGS})(?![a-z])|<${J}(?:${spaced('form', J)}|${spaced('dialog', J)})(?![a-z])|<\\s?\\??\\s?import(?:\\s|implementation)`,
    description: 'tags that load or run content: <iframe, <svg, <object, <img, <form, <style, <meta, <link, <base …, <x:svg, <?import, and <f o r m, <d i a l o g (junk between the letters, as NoScript checks)',
  },
  {
    id: 'core-xss-attributes',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['='],
    pattern: `\\sxmlns\\s?=|\\sxmlns:[\\w-]{1,32}\\s?=|\\bxlink:href\\s?=|${Q}\\s?formaction\\s?=|\\spattern\\s?=\\s?${Q}|\\bsrcdoc\\s?=`,
    description: 'XML and HTML attributes used for injection: xmlns=, xlink:href=, "formaction=, pattern="…", srcdoc=',
  },
  {
    id: 'core-xss-xml-entity',
    group: 'xss',
    paranoia: 1,
    targets: EVERYWHERE,
    needs: ['!'],
    pattern: `!entity\\s(?:%\\s)?[\\w.-]{1,64}\\s(?:system|public)\\b`,
    description: 'an external XML entity: <!ENTITY % x SYSTEM "http://…"',
  },
  {
    id: 'core-xss-dom',
    group: 'xss',
    paranoia: 1,
    targets: ARGS,
    needs: ['.', '<', '['],
    pattern: `\\bdocument\\s?\\.\\s?(?:cookie|domain|queryselector|body\\s?\\.\\s?appendchild)\\b|\\bdocument\\s?\\.\\s?write(?:ln)?\\s?\\(|\\bwindow\\s?\\.\\s?location\\b|\\.\\s?(?:innerhtml|outerhtml|parentnode)\\b|<!--|<!\\[cdata\\[|\\b(?:window|self|top|this|parent|frames|globalthis|document)\\s?\\)?\\s?\\[\\s?${Q}`,
    description: "DOM access: document.cookie (also document /**/ . cookie), window.location, .innerHTML, self['alert'], (document)['cookie'], <!--",
  },
  {
    id: 'core-xss-js-call',
    group: 'xss',
    paranoia: 1,
    targets: ARGS,
    needs: ['('],
    pattern: `\\b(?:eval|set(?:timeout|interval)|alert|atob|btoa|prompt|confirm|fetch|import)\\(|\\bnew\\sfunction\\s?\\(`,
    description: 'JavaScript calls: eval(, setTimeout(, alert(, prompt(, import(, new Function( (alert ( with a space, as in prose, passes)',
  },
  {
    id: 'core-xss-js-obfuscation',
    group: 'xss',
    paranoia: 1,
    targets: ARGS,
    needs: ['`', '[]', '{'],
    pattern: `\\bimport\\s?\\{\\s?\\w|(?:\\]|\\breflect)\\s?\\.\\s?(?:sort|map|apply|call|filter|reduce|find|some|every|foreach|bind)\\s?\\.\\s?call\\s?\`|![!+\\s]\\[\\]`,
    description: 'JavaScript written to dodge filters: [].sort.call`…`, Reflect.apply.call`…` (tagged templates), JSFuck (![]+[]), import { … }',
  },
  {
    id: 'core-xss-charset',
    group: 'xss',
    paranoia: 1,
    targets: ['path', 'query', 'body', 'cookie'],
    needs: ['+ADw-', '\u00bc'],
    pattern: `\\+ADw-\\w|\\u00bc(?:[a-z]{1,20}|/[a-z]{1,20}[^\\u00bc\\u00be\\s\\x01]{0,2})\\u00be`,
    description: 'tags written for other charsets: UTF-7 +ADw-script, US-ASCII ¼script¾ / ¼/script¾',
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
    needs: ['..'],
    pattern: `(?:^|[\\\\/=\\s'"&:,\\x01])\\.{2,3}[\\\\/;]|[\\\\/]\\.{2,3}(?:[\\\\/;\\x01]|$)`,
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
    needs: ['/', '.', '\\'],
    pattern: `/etc/(?:passwd|shadow|group|hosts)\\b|/proc/self/|\\b(?:win|boot|system)\\.ini\\b|c:[\\\\/]windows[\\\\/]|[\\\\/]windows[\\\\/]system32\\b|(?:^|[/\\x01])\\.(?:htaccess|htpasswd|env|git/)|\\bweb\\.config\\b`,
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

/** Rules of one target that share `needs`, joined into one case-insensitive RegExp; `ids[i]` names group `r{i}`. */
export interface CompiledPart {
  needs: readonly string[] | undefined;
  /** Bits (NEEDS_BITS) of the first characters of `needs`; `multi` when a needle is longer than one character. */
  mask: number;
  multi: boolean;
  re: RegExp;
  ids: readonly string[];
}

/** One target's rules, in parts by `needs` (in the order each part's first rule appears). */
export interface CompiledTarget {
  parts: readonly CompiledPart[];
}

/** A bit per character that starts some rule's needle (they are all below U+0100), 0 for the others. */
const NEEDS_BITS = new Uint32Array(256);
{
  let next = 0;
  for (const r of CORE_RULES)
    for (const n of r.needs ?? []) {
      const c = n.charCodeAt(0);
      if (c > 0xff) throw new Error(`${r.id}: a needle must start below U+0100 (${n})`);
      if (NEEDS_BITS[c] === 0) {
        if (next === 32) throw new Error('more than 32 distinct first characters in needs');
        NEEDS_BITS[c] = 2 ** next++;
      }
    }
}
/** Views up to this long get their trigger characters in one pass; longer ones are searched per needle (memchr beats a JS loop). */
const MASK_SCAN_MAX = 512;

/** Joins the chosen rules per target and per `needs`. */
export function compileCore(groups: ReadonlySet<CoreGroup>, paranoia: number, disabled: ReadonlySet<string>): Map<CoreTarget, CompiledTarget> {
  const byTarget = new Map<CoreTarget, Map<string, CoreRule[]>>();
  for (const r of CORE_RULES) {
    if (!groups.has(r.group) || r.paranoia > paranoia || disabled.has(r.id)) continue;
    const key = r.needs === undefined ? '' : JSON.stringify(r.needs);
    for (const t of r.targets) {
      const parts = byTarget.get(t) ?? new Map<string, CoreRule[]>();
      byTarget.set(t, parts);
      const list = parts.get(key) ?? [];
      list.push(r);
      parts.set(key, list);
    }
  }
  const out = new Map<CoreTarget, CompiledTarget>();
  for (const [t, parts] of byTarget) {
    const compiled: CompiledPart[] = [];
    for (const rules of parts.values()) {
      // Inner named groups (the numeric tautology's back-reference) are renamed per rule so names stay unique.
      const source = rules.map((r, i) => `(?<r${i}>${r.pattern.replaceAll('<n>', `<n${i}>`)})`).join('|');
      const needs = (rules[0] as CoreRule).needs;
      let mask = 0;
      for (const n of needs ?? []) mask |= NEEDS_BITS[n.charCodeAt(0)] as number;
      compiled.push({ needs, mask: mask >>> 0, multi: (needs ?? []).some((n) => n.length > 1), re: new RegExp(source, 'i'), ids: rules.map((r) => r.id) });
    }
    out.set(t, { parts: compiled });
  }
  return out;
}

/**
 * The id of the first rule that matches the view, or undefined.
 * HOT PATH: one pass over a short view collects its trigger characters, then each part whose needs
 * are absent costs an AND; only the parts that can match run their RegExp.
 */
export function matchCore(target: CompiledTarget, value: string): string | undefined {
  let present = 0;
  const short = value.length <= MASK_SCAN_MAX;
  if (short) {
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c <= 0xff) present |= NEEDS_BITS[c] as number;
    }
  }
  for (const part of target.parts) {
    const needs = part.needs;
    if (needs !== undefined && (!short || (present & part.mask) !== 0)) {
      if (!short || part.multi) {
        let found = false;
        for (const n of needs) {
          if (value.includes(n)) {
            found = true;
            break;
          }
        }
        if (!found) continue;
      }
    } else if (needs !== undefined) continue;
    const m = part.re.exec(value);
    if (m === null) continue;
    const g = m.groups as Record<string, string | undefined>;
    for (let i = 0; i < part.ids.length; i++) if (g[`r${i}`] !== undefined) return part.ids[i];
    return part.ids[0];
  }
  return undefined;
}
