// Modules loaded on first use (start-up cost, issue 10; docs/architecture.md "Start-up: load what a
// config uses").
//
// Compiling a config is synchronous (buildTable/compile return the table, and callers and tests rely on
// that), yet the subsystems a config may name (the AWS importer and VTL engine, Redis, a plugin's
// implementation, the PostgreSQL source) cost tens to hundreds of ms to import and most configs use none
// of them. So the compiler reaches them through these loaders: the module is `require`d the first time
// a config needs it. Node >= 20.19 (our engines floor) loads ES modules through `require` (require(esm),
// no warning since 20.19), into the same module map `import` uses: one instance whichever comes first.
// The loaded graph must not use top-level await (require(esm) refuses it); ours does not.
//
// Where the caller is already async (CLI commands), plain `await import()` is used instead.
import { createRequire } from 'node:module';

/**
 * `specifier` resolved against `base` (pass `import.meta.url`), loaded on the first call and cached.
 * Type it with the module's own type: `lazyModule<typeof import('./x.js')>('./x.js', import.meta.url)`.
 */
export function lazyModule<T>(specifier: string, base: string): () => T {
  let mod: T | undefined;
  return () => {
    if (mod === undefined) mod = createRequire(base)(specifier) as T;
    return mod;
  };
}
