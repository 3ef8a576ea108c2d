/**
 * The OpenAPI 3.1 description of the Admin API, served at /openapi.json. Entity schemas are cut out of
 * fullSchema() (the config schema with every bundled plugin's schema in place), the same object the file
 * validator compiles, so the description cannot drift from what the API accepts. OpenAPI 3.1 uses JSON
 * Schema 2020-12, of which the TypeBox output is a subset.
 */
import { ERRORS } from '../errors/catalogue.js';
import { fullSchema } from '../config/index.js';

type Schema = Record<string, unknown>;
type Json = Record<string, unknown>;

/** TypeBox schemas carry Symbol keys (its own metadata); a JSON round trip leaves the plain JSON Schema. */
const plain = (s: unknown): Schema => JSON.parse(JSON.stringify(s)) as Schema;

/** The value schema of a map keyed by pattern (TypeBox Record), and the key's pattern. */
function recordValue(record: Schema): { key: string; value: Schema } {
  const entries = Object.entries((record.patternProperties ?? {}) as Record<string, Schema>);
  const first = entries[0];
  if (first === undefined) throw new Error('expected a TypeBox Record schema');
  return { key: first[0], value: first[1] };
}

/** The config schema's pieces, one per entity kind, as the file validator sees them. */
export function entitySchemas(): {
  settings: Schema;
  plugins: Record<string, Schema>;
  upstream: { key: string; value: Schema };
  function: { key: string; value: Schema };
  api: Schema;
  route: Schema;
  apiKey: Schema;
  usagePlan: { key: string; value: Schema };
  config: Schema;
} {
  const root = plain(fullSchema());
  const props = root.properties as Record<string, Schema>;
  const apiItem = (props.apis as Schema).items as Schema;
  const { routes, ...apiProps } = apiItem.properties as Record<string, Schema>;
  const { $id: _id, ...config } = root;
  return {
    settings: props.server as Schema,
    plugins: (props.plugins as Schema).properties as Record<string, Schema>,
    upstream: recordValue(props.upstreams as Schema),
    function: recordValue(props.functions as Schema),
    // An API entity is an API without its routes: those are entities of their own.
    api: { ...apiItem, properties: apiProps },
    route: (routes as Schema).items as Schema,
    apiKey: (props.apiKeys as Schema).items as Schema,
    usagePlan: recordValue(props.usagePlans as Schema),
    config,
  };
}

/** A map-keyed entity as the API carries it: the config schema plus its `name`. */
function withName(value: Schema, keyPattern: string, what: string): Schema {
  return {
    ...value,
    properties: { name: { type: 'string', pattern: keyPattern, description: `Name of the ${what} (its key in the config document).` }, ...(value.properties as Schema) },
    required: ['name', ...((value.required as string[] | undefined) ?? [])],
  };
}

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });

export function buildAdminOpenApi(): Json {
  const e = entitySchemas();
  const schemas: Record<string, Schema> = {
    Settings: e.settings,
    Upstream: withName(e.upstream.value, e.upstream.key, 'upstream'),
    Function: withName(e.function.value, e.function.key, 'function'),
    Api: e.api,
    Route: e.route,
    ApiKey: e.apiKey,
    ApiKeyCreate: {
      ...e.apiKey,
      required: ((e.apiKey.required as string[] | undefined) ?? []).filter((k) => k !== 'hash' && k !== 'id'),
      description: 'Without "hash" a key is generated and returned once, in the 201 answer; without "id" one is generated.',
    },
    // A copy rather than allOf: ApiKey forbids additional properties, and `key` is one.
    ApiKeyCreated: {
      ...e.apiKey,
      properties: {
        ...(e.apiKey.properties as Schema),
        key: { type: 'string', description: 'The generated key. Shown only in this answer: only its hash is stored.' },
      },
      required: [...((e.apiKey.required as string[] | undefined) ?? []), 'key'],
    },
    UsagePlan: withName(e.usagePlan.value, e.usagePlan.key, 'usage plan'),
    Config: e.config,
    MergePatch: { type: 'object', description: 'JSON Merge Patch (RFC 7396): keys set to null are removed, objects merge, anything else replaces.' },
    Error: {
      type: 'object',
      required: ['message', 'code', 'requestId'],
      properties: {
        message: { type: 'string', description: 'What went wrong, for a person; may gain detail between releases.' },
        code: { type: 'string', enum: Object.keys(ERRORS), description: "The gateway's error code (docs/errors.md): test on this, not on message." },
        requestId: { type: 'string' },
        errors: { type: 'array', items: ref('Diagnostic') },
      },
    },
    Diagnostic: {
      type: 'object',
      required: ['path', 'message', 'text'],
      properties: {
        path: { type: 'string', description: 'Key path in the whole config document, e.g. apis[0].routes[1].integration.' },
        message: { type: 'string' },
        text: { type: 'string', description: 'The line `turnpike validate` prints for the same problem: file:line:col key.path: message.' },
        severity: { type: 'string', enum: ['warning'] },
      },
    },
  };
  const pluginNames = Object.keys(e.plugins).sort();
  for (const name of pluginNames) {
    const s = e.plugins[name] as Schema;
    schemas[`Plugin.${name}`] = {
      ...s,
      properties: { name: { const: name }, ...(s.properties as Schema) },
      required: ['name', ...((s.required as string[] | undefined) ?? [])],
    };
  }
  schemas.Plugin = { oneOf: pluginNames.map((n) => ref(`Plugin.${n}`)), discriminator: { propertyName: 'name' } };

  const error = (description: string, headers?: Json) => ({ description, content: json(ref('Error')), ...(headers ? { headers } : {}) });
  const responses: Json = {
    BadRequest: error('Invalid JSON, or the change would make the configuration invalid (errors[] lists every problem).'),
    Unauthorized: error('Missing or wrong admin token.', { 'WWW-Authenticate': { schema: { type: 'string' } } }),
    TooManyAuthFailures: error(
      'This client address presented 10 wrong admin tokens within 60 s: every Admin API request from it is refused until that window ends, whatever token it sends.',
      { 'Retry-After': { schema: { type: 'integer' }, description: 'Seconds until the address may try again.' } },
    ),
    Forbidden: error('No admin token is configured: the entity endpoints are off.'),
    NotFound: error('No such entity.'),
    MethodNotAllowed: error('Method not allowed here, or the configuration is file-based (read-only): edit the file or run with --database.', {
      Allow: { schema: { type: 'string' } },
    }),
    Conflict: error('The entity exists already (POST), or a concurrent change conflicted.'),
    PreconditionFailed: {
      description:
        'If-Match or If-None-Match does not hold: the entity changed since it was read (its current ETag is in the ETag header and `etag`), does not exist (If-Match), or exists (If-None-Match). Nothing was changed.',
      headers: { ETag: { schema: { type: 'string' }, description: "The entity's current ETag (absent when it does not exist)." } },
      content: json({ allOf: [ref('Error'), { type: 'object', properties: { etag: { type: 'string', description: "The entity's current ETag." } } }] }),
    },
    PayloadTooLarge: error('Body larger than 1 MiB.'),
    UnsupportedMediaType: error('The body is not JSON.'),
    Unavailable: error('The config store cannot be reached; the gateway keeps serving the last good config.', { 'Retry-After': { schema: { type: 'integer' } } }),
  };
  const r = (name: string) => ({ $ref: `#/components/responses/${name}` });
  const common = { '401': r('Unauthorized'), '403': r('Forbidden'), '429': r('TooManyAuthFailures'), '503': r('Unavailable') };
  const writeErrors = { '400': r('BadRequest'), '405': r('MethodNotAllowed'), '409': r('Conflict'), '413': r('PayloadTooLarge'), '415': r('UnsupportedMediaType') };
  const version = { 'X-Config-Version': { schema: { type: 'string' }, description: 'Config version after the request.' } };
  const etag = {
    ETag: {
      schema: { type: 'string' },
      description:
        "Strong entity tag. An entity's is a hash of its stored row, the same on every node of one database, and changes whenever the entity does; send it back in If-Match to write only over what you read.",
    },
  };
  const ok = (description: string, schema: Schema) => ({ description, headers: { ...version, ...etag }, content: json(schema) });
  const notModified = { description: 'If-None-Match matched the current ETag: not modified (no body).', headers: etag };
  const ifMatch = {
    name: 'If-Match',
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description:
      'Write only if the entity\'s current ETag is one of these (a comma-separated list of quoted tags, as ETag gives them), or, with "*", only if it exists; otherwise 412 and nothing is changed. Checked atomically with the write, on every node.',
  };
  const ifNoneMatch = (write: boolean) => ({
    name: 'If-None-Match',
    in: 'header',
    required: false,
    schema: { type: 'string' },
    description: write
      ? '"*": create only (412 if the entity exists). A list of tags: 412 if the current ETag is one of them.'
      : '304 Not Modified (no body) if the current ETag is one of these (weak comparison) or "*".',
  });
  const ifMatchRead = { ...ifMatch, description: '412 if the current ETag is not one of these.' };
  const list = (item: Schema) => ({ type: 'object', required: ['version', 'items'], properties: { version: { type: 'string' }, items: { type: 'array', items: item } } });
  const body = (schema: Schema, extra: Json = {}) => ({ required: true, content: { ...json(schema), ...extra } });
  const patchBody = { required: true, content: { 'application/merge-patch+json': { schema: ref('MergePatch') }, 'application/json': { schema: ref('MergePatch') } } };
  const keyParam = (name: string, description: string) => ({ name, in: 'path', required: true, schema: { type: 'string' }, description });

  const paths: Json = {};
  const one = (what: string, schema: Schema, params: Json[], opId: string) => ({
    parameters: params,
    get: {
      operationId: `get${opId}`,
      summary: `Read one ${what}`,
      parameters: [ifNoneMatch(false), ifMatchRead],
      responses: { '200': ok(what, schema), '304': notModified, '404': r('NotFound'), '412': r('PreconditionFailed'), ...common },
    },
    put: {
      operationId: `put${opId}`,
      summary: `Create or replace one ${what}`,
      parameters: [ifMatch, ifNoneMatch(true)],
      requestBody: body(schema),
      responses: { '200': ok('replaced', schema), '201': ok('created', schema), ...writeErrors, '412': r('PreconditionFailed'), ...common },
    },
    patch: {
      operationId: `patch${opId}`,
      summary: `Change one ${what} with a JSON Merge Patch`,
      parameters: [ifMatch, ifNoneMatch(true)],
      requestBody: patchBody,
      responses: { '200': ok('changed', schema), '404': r('NotFound'), ...writeErrors, '412': r('PreconditionFailed'), ...common },
    },
    delete: {
      operationId: `delete${opId}`,
      summary: `Delete one ${what}`,
      parameters: [ifMatch, ifNoneMatch(true)],
      responses: { '204': { description: 'deleted', headers: version }, '404': r('NotFound'), ...writeErrors, '412': r('PreconditionFailed'), ...common },
    },
  });
  const collection = (what: string, schema: Schema, createSchema: Schema, created: Schema, params: Json[], opId: string) => ({
    ...(params.length > 0 ? { parameters: params } : {}),
    get: {
      operationId: `list${opId}`,
      summary: `List ${what}`,
      description: 'The ETag is a hash of this answer, which carries the config version: it changes with any change to the config. It serves If-None-Match (304); writes to a collection take no preconditions.',
      parameters: [ifNoneMatch(false), ifMatchRead],
      responses: { '200': ok(what, list(schema)), '304': notModified, ...(params.length > 0 ? { '404': r('NotFound') } : {}), '412': r('PreconditionFailed'), ...common },
    },
    post: {
      operationId: `create${opId}`,
      summary: `Create one (409 if it exists)`,
      description: 'If-Match and If-None-Match are refused here (400): to create only, PUT the entity with "If-None-Match: *".',
      requestBody: body(createSchema),
      responses: {
        '201': { description: 'created', headers: { ...version, ...etag, Location: { schema: { type: 'string' } } }, content: json(created) },
        ...(params.length > 0 ? { '404': r('NotFound') } : {}),
        ...writeErrors,
        ...common,
      },
    },
  });
  const kinds: [string, string, string, string][] = [
    ['plugins', 'Plugin', 'global plugins', 'Plugin'],
    ['upstreams', 'Upstream', 'upstreams', 'Upstream'],
    ['functions', 'Function', 'functions', 'Function'],
    ['apis', 'Api', 'APIs (without their routes)', 'Api'],
    ['api-keys', 'ApiKey', 'API keys (hashes only)', 'ApiKey'],
    ['usage-plans', 'UsagePlan', 'usage plans', 'UsagePlan'],
  ];
  paths['/config'] = {
    get: {
      operationId: 'getConfig',
      summary: 'The whole configuration as one document, with its version',
      parameters: [{ name: 'format', in: 'query', required: false, schema: { type: 'string', enum: ['json', 'yaml'] } }, ifNoneMatch(false), ifMatchRead],
      responses: {
        '304': notModified,
        '412': r('PreconditionFailed'),
        '200': {
          description: 'the document (its ETag is a hash of this answer)',
          headers: { ...version, ...etag },
          content: {
            ...json({ type: 'object', required: ['version', 'document'], properties: { version: { type: 'string' }, document: ref('Config') } }),
            'application/yaml': { schema: { type: 'string' } },
          },
        },
        ...common,
      },
    },
  };
  const settingsOps = one('the server settings', ref('Settings'), [], 'Settings') as Json;
  delete settingsOps.parameters;
  paths['/settings'] = settingsOps;
  for (const [path, schema, what, opId] of kinds) {
    const keyName = path === 'api-keys' ? 'id' : 'name';
    paths[`/${path}`] = collection(
      what,
      ref(schema),
      path === 'api-keys' ? ref('ApiKeyCreate') : ref(schema),
      path === 'api-keys' ? { oneOf: [ref('ApiKey'), ref('ApiKeyCreated')] } : ref(schema),
      [],
      `${opId}s`,
    );
    paths[`/${path}/{${keyName}}`] = one(what.replace(/s?( \(.*\))?$/, ''), ref(schema), [keyParam(keyName, 'The key (URL-encoded).')], opId);
  }
  const apiParam = keyParam('name', 'API name.');
  paths['/apis/{name}/routes'] = collection('routes of one API', ref('Route'), ref('Route'), ref('Route'), [apiParam], 'Routes');
  paths['/apis/{name}/routes/{route}'] = one('route', ref('Route'), [apiParam, keyParam('route', "The route's name, or 'METHODS path' (e.g. 'GET,POST /users/{id}') when it has none; URL-encoded.")], 'Route');
  paths['/openapi.json'] = {
    get: { operationId: 'getOpenApi', summary: 'This document', security: [], responses: { '200': { description: 'OpenAPI 3.1', content: json({ type: 'object' }) } } },
  };
  for (const [p, summary] of [
    ['/health', 'Process alive'],
    ['/ready', 'A config is loaded and traffic is accepted (503 otherwise)'],
    ['/routes', 'The live route table'],
    ['/metrics', 'Prometheus metrics'],
  ] as const) {
    paths[p] = { get: { operationId: `probe${p.slice(1)}`, summary, security: [], responses: { '200': { description: summary } } } };
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Turnpike Admin API',
      version: '1',
      description:
        'Create, read, replace, patch and delete the configuration entities. Every write is validated as a whole configuration with the same schema and messages as a config file. File-based configs are read-only (writes answer 405). Optimistic concurrency: reads answer a strong ETag; PUT, PATCH and DELETE honour If-Match and If-None-Match (412 Precondition Failed with the current ETag). See docs/admin-api.md.',
    },
    servers: [{ url: '/' }],
    security: [{ adminToken: [] }],
    paths,
    components: {
      schemas,
      responses,
      securitySchemes: { adminToken: { type: 'http', scheme: 'bearer', description: 'TURNPIKE_ADMIN_TOKEN or the content of --admin-token-file.' } },
    },
  };
}
