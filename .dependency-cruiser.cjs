// Import boundaries of Turnpike's core shape (issue 10). `npm run depcruise` fails the build on any
// violation that is not listed in .dependency-cruiser-known-violations.json. That baseline holds only
// known violations other changes are removing (the AWS translators leaving plugins and integrations);
// regenerate it when it shrinks, never to admit one:
//   npm run depcruise:baseline
// The rules are explained for readers in docs/architecture.md ("Import boundaries").

// The modules a request runs through once a config is compiled.
const REQUEST_PATH = '^src/(server/gateway[.]ts$|pipeline/|routing/|plugins/|integrations/|upstream/|stores/)';
// Where loading starts: the CLI behind bin/turnpike, the package export, and the function process's bootstrap
// (started by path from src/integrations/function/runtime/runtimes.ts, so no import reaches it).
const ENTRY_POINTS = '^src/(cli/main|gateway|integrations/function/runtime/bootstrap)[.]ts$';
// Config loading, validation and compilation, and their front ends: the work done once per config.
const CONFIG_AND_COMPILE = '^src/(config|compile|openapi|cli)/';
// `import type {…}` and `import('…').T` in a type position: erased by tsc, no run-time edge.
const TYPE_ONLY = ['type-only', 'type-import'];
// The shapes the request path may name: the compiled route table (the contract between compile and the
// request path) and the config types derived from the schema (the schema is the single source of truth
// for config types, and compile hands validated config objects to upstreams and integrations as they are).
const SHARED_SHAPES = '^src/(compile/types|config/schema)[.]ts$';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'request-path-not-to-config',
      comment:
        'The request path only runs what compile built: importing config, compile, OpenAPI or CLI code from it drags ' +
        'load-time work (and its start-up cost) onto every request and lets the two drift into one knot. ' +
        'Type-only imports cost nothing at run time and are checked by the next rule.',
      severity: 'error',
      from: { path: REQUEST_PATH },
      to: { path: CONFIG_AND_COMPILE, dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'request-path-types-only-shared-shapes',
      comment:
        'The request path may name the compiled route table (src/compile/types.ts) and the config types of the ' +
        'schema (src/config/schema.ts) as types; a type from any other config, compile, OpenAPI or CLI module ' +
        'couples it to how a config is loaded or written rather than to what it compiles to.',
      severity: 'error',
      from: { path: REQUEST_PATH },
      to: { path: CONFIG_AND_COMPILE, pathNot: SHARED_SHAPES, dependencyTypes: TYPE_ONLY },
    },
    {
      name: 'plugins-integrations-not-to-aws',
      comment:
        'AWS is a front end: documents are translated into native config before compile, so plugins and ' +
        'integrations must not know AWS document shapes or import the translators.',
      severity: 'error',
      from: { path: '^src/(plugins|integrations)/' },
      to: { path: '^src/(aws|openapi)/' },
    },
    {
      name: 'plugins-integrations-not-to-server',
      comment:
        'Plugins and integrations reach the world only through deps; importing the server, the CLI or the ' +
        'Admin API would make them depend on the process that hosts them (and breaks inject()).',
      severity: 'error',
      from: { path: '^src/(plugins|integrations)/' },
      to: { path: '^src/(server|cli|admin)/' },
    },
    {
      name: 'stores-upstream-not-to-plugins',
      comment:
        'Dependencies point one way (server -> pipeline -> plugins/integrations -> upstream/stores): a store or an ' +
        'upstream that imports a plugin or an integration turns that arrow into a cycle.',
      severity: 'error',
      from: { path: '^src/(stores|upstream)/' },
      to: { path: '^src/(plugins|integrations)/' },
    },
    {
      name: 'no-circular',
      comment:
        'A runtime import cycle makes module evaluation order matter (a binding read before it is set is ' +
        'undefined) and means two modules cannot be understood or loaded lazily apart. Cycles made only of ' +
        'type-only imports are erased by tsc and allowed.',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: TYPE_ONLY } },
    },
    {
      name: 'src-not-to-dev-dependencies',
      comment:
        'npm install --omit=dev leaves devDependencies out: a runtime import of one from src/ works in the ' +
        'repository and crashes in production. Type-only imports are erased and allowed.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: TYPE_ONLY },
    },
    {
      name: 'src-not-to-unlisted-packages',
      comment: 'A package that is not in package.json is only there by accident of hoisting; the next install may drop it.',
      severity: 'error',
      from: { path: '^src/' },
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'no-unreachable-src',
      comment:
        'A module in src/ that no entry point reaches is dead code: remove it, or import it where it is used ' +
        '(a lazily loaded module is reached through its `typeof import(...)`). A new entry point goes into ENTRY_POINTS.',
      severity: 'error',
      from: { path: ENTRY_POINTS },
      to: { path: '^src/', pathNot: [ENTRY_POINTS, '[.]d[.]ts$'], reachable: false },
    },
    {
      name: 'no-orphans',
      comment: 'A module in src/ with no imports either way is dead code (the cheap check; the rule above finds the rest).',
      severity: 'error',
      from: { orphan: true, path: '^src/', pathNot: [ENTRY_POINTS, '[.]d[.]ts$'] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    // tsc resolves NodeNext '.js' specifiers to their '.ts' sources; so does this.
    tsConfig: { fileName: 'tsconfig.json' },
    // Keep `import type` edges so the rules above can tell them apart from runtime imports.
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
    skipAnalysisNotInRules: true,
  },
};
