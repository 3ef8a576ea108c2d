/**
 * Defaults live in a plugin's schema and nowhere else: `withDefault()` declares one (the value is
 * type-checked against the property's type, and the plugin's config type sees the property as always
 * present), and compile applies them once per plugin instance with `applyDefaults()`, so `create()`
 * never writes `config.x ?? 30`.
 *
 * Why compile applies them although config validation already does (ajv `useDefaults`): plugin configs
 * that never pass through the config schema — the ones the AWS importer builds from a document, and
 * configs of embedders' own plugins — must get the same values. Applying twice is harmless: a default
 * only fills a property that is absent.
 *
 * Why not TypeBox's `Value.Default`: it resolves unions by checking each branch (pulling in TypeBox's
 * value checker at start-up), and it only understands TypeBox schemas; a plugin written in plain
 * JavaScript with a JSON Schema literal gets its defaults here too. Like ajv, defaults inside
 * anyOf/oneOf branches are not applied (which branch is meant is not known before validation).
 */
import type { Static, TObject, TSchema } from '@sinclair/typebox';
import type { PluginConfig } from '../pipeline/types.js';

/**
 * `schema` with a `default` the config type knows about: wrap it in `Type.Optional(...)` as usual;
 * `PluginConfig<typeof schema>` (src/pipeline/types.ts) then types the property as present.
 * Call it on a schema built for this property only (it sets `default` on that object).
 */
export function withDefault<T extends TSchema, const V extends Static<T>>(schema: T, value: V): T & { default: Static<T> } {
  return Object.assign(schema, { default: value });
}

type JsonSchema = Readonly<Record<string, unknown>>;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A copy of `value` with the schema's defaults filled in where a property is absent, recursively
 * through objects, records and arrays. `value` itself is not modified; defaults are copied, so no two
 * instances share a default array.
 */
export function applyDefaults<S extends TObject>(schema: S, value: Static<S>): PluginConfig<S>;
/** The same for any JSON Schema (a plugin written in JavaScript). */
export function applyDefaults(schema: object, value: unknown): unknown;
export function applyDefaults(schema: object, value: unknown): unknown {
  return fill(schema as JsonSchema, structuredClone(value));
}

function fill(schema: JsonSchema, value: unknown): unknown {
  if (Array.isArray(value)) {
    const items = schema.items;
    if (isObject(items)) for (let i = 0; i < value.length; i++) value[i] = fill(items, value[i]);
    return value;
  }
  if (!isObject(value)) return value;
  const props = isObject(schema.properties) ? schema.properties : undefined;
  if (props !== undefined) {
    for (const key of Object.keys(props)) {
      const prop = props[key];
      if (!isObject(prop)) continue;
      if (value[key] === undefined && 'default' in prop) value[key] = structuredClone(prop.default);
      if (value[key] !== undefined) value[key] = fill(prop, value[key]);
    }
  }
  // Records (TypeBox Type.Record): every value follows the one pattern schema.
  const patterns = isObject(schema.patternProperties) ? schema.patternProperties : undefined;
  if (patterns !== undefined) {
    const inner = Object.values(patterns).find(isObject);
    if (inner !== undefined) for (const key of Object.keys(value)) if (props === undefined || !(key in props)) value[key] = fill(inner, value[key]);
  }
  return value;
}
