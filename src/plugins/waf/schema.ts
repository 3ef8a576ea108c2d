import { type Static, Type } from '@sinclair/typebox';
import { withDefault } from '../schema-defaults.js';

const lit = <T extends string>(values: readonly T[], description: string) =>
  Type.Union(
    values.map((v) => Type.Literal(v)),
    { description },
  );

export const FIELDS = ['method', 'path', 'query', 'query-raw', 'header', 'body', 'ip'] as const;
export const OPERATORS = ['regex', 'contains', 'equals', 'starts-with', 'size-gt', 'count-gt', 'ip-in'] as const;
export const ACTIONS = ['block', 'count', 'allow'] as const;
export const MANAGED = ['sqli', 'xss', 'traversal', 'scanners'] as const;

export const Condition = Type.Object(
  {
    field: lit(
      FIELDS,
      'What to inspect: method; path (the normalized path the router matched); query (decoded: + and %XX; with `name`, that argument\'s values); query-raw (as received); header (with `name`, that header\'s values, duplicates included; without, every header); body (the request body, read only when a rule needs it); ip (the client address resolved through trusted proxies).',
    ),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, description: 'Header name (case-insensitive) or query argument name.' })),
    operator: lit(
      OPERATORS,
      'regex (a JavaScript regular expression, checked for catastrophic backtracking at load), contains, equals, starts-with (string or list of strings: any), size-gt (bytes), count-gt (query arguments, header fields or path segments), ip-in (CIDR list, field ip only).',
    ),
    value: Type.Union([Type.String(), Type.Integer({ minimum: 0 }), Type.Array(Type.String(), { minItems: 1, maxItems: 10_000 })], {
      description: 'A pattern or string (or a list: any of them), a number for size-gt / count-gt, CIDRs for ip-in.',
    }),
    caseInsensitive: Type.Optional(withDefault(Type.Boolean({ description: 'Compare case-insensitively (regex, contains, equals, starts-with).' }), false)),
    negate: Type.Optional(withDefault(Type.Boolean({ description: 'The condition holds when the operator does NOT match.' }), false)),
  },
  { additionalProperties: false },
);

export const Rule = Type.Object(
  {
    id: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$', description: 'Rule id: logged and counted on a match, never sent to the client.' }),
    action: lit(ACTIONS, 'block: answer 403 and stop; count: log and count, go on; allow: stop evaluating (no later rule nor the managed set runs).'),
    when: Type.Array(Condition, { minItems: 1, maxItems: 16, description: 'Conditions, all of which must hold.' }),
    description: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);

export const schema = Type.Object(
  {
    rules: Type.Optional(Type.Array(Rule, { maxItems: 1000, description: 'Rules evaluated in order, before the managed set.' })),
    managed: Type.Optional(Type.Array(lit(MANAGED, 'A managed rule group.'), { description: 'Managed core rule groups: sqli, xss, traversal, scanners.' })),
    paranoia: Type.Optional(withDefault(Type.Integer({ minimum: 1, maximum: 2, description: 'Managed set paranoia level: 1 (default, few false positives) or 2 (broader, flags some legitimate input).' }), 1)),
    managedAction: Type.Optional(lit(['block', 'count'] as const, 'What a managed rule match does: block (default) or count (detection only).')),
    disabledRules: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { description: 'Managed rule ids to turn off (false positives), e.g. core-xss-handler.' })),
    inspectHeaders: Type.Optional(
      Type.Array(Type.String({ pattern: '^[!#$%&\'*+.^_`|~0-9A-Za-z-]{1,256}$' }), {
        maxItems: 64,
        description:
          'Request headers the managed sqli and xss rules inspect besides User-Agent and Referer (names, case-insensitive), e.g. X-Forwarded-Host or a header your application echoes. Values are decoded like the other inspected values.',
      }),
    ),
    inspectBody: Type.Optional(withDefault(Type.Boolean({ description: 'Managed rules inspect request bodies (the body is then buffered before the integration).' }), true)),
    bodyInspectBytes: Type.Optional(
      withDefault(Type.Integer({ minimum: 0, maximum: 10_485_760, description: 'Bytes of the body that content rules inspect (default 65536); size-gt always sees the whole size.' }), 65_536),
    ),
  },
  {
    additionalProperties: false,
    description: 'Web application firewall: ordered rules on method, path, query, headers, body and client address, and a managed core set (SQL injection, XSS, path traversal, scanners). Blocked requests get 403; the rule id is logged, never sent.',
  },
);
export type WafConfig = Static<typeof schema>;
export type WafCondition = Static<typeof Condition>;
export type WafRule = Static<typeof Rule>;
