/**
 * Structural validation of request bodies against the AWS SDK's own schemas.
 *
 * `@aws-sdk/client-batch` exports a compact schema for every shape (the `…$` exports):
 *   structure  [3, namespace, name, traits, memberNames[], memberSchemas[], requiredCount?]
 *              (the first `requiredCount` members are the required ones)
 *   list       [1, namespace, name, traits, valueSchema]      or the number 64 | simpleType
 *   map        [2, namespace, name, traits, keySchema, valueSchema] or 128 | simpleType
 *   simple     0 string, 1 number, 2 boolean (other codes: accepted as they come)
 *   member     schema, `() => schema` (lazy), or [schema, memberTraits]
 *
 * Walking those schemas gives every operation a type/required/unknown-member check with no
 * hand-written copy of the model: when the SDK learns a new member, so do we. Semantic rules
 * (enums, ranges, cross-field rules) are hand-written in `validate/`.
 */
import { clientError } from '../model/errors.js';

type Lazy<T> = T | (() => T);
// The SDK's schema tuples are untyped on purpose (they are data); we read them defensively.
type SchemaRef = Lazy<unknown>;

const STRING = 0;
const NUMBER = 1;
const BOOLEAN = 2;
const LIST_OF = 64;
const MAP_OF = 128;

function deref(s: SchemaRef): unknown {
  return typeof s === 'function' ? (s as () => unknown)() : s;
}

/** A member schema may come wrapped with its traits: [schema, traits]. */
function memberSchema(s: SchemaRef): unknown {
  const d = deref(s);
  if (Array.isArray(d) && d.length === 2 && (typeof d[1] === 'number' || (typeof d[1] === 'object' && d[1] !== null))) {
    // [schema, traits] — but not a structure/list tuple, which is longer.
    return deref(d[0] as SchemaRef);
  }
  return d;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `a string`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

function where(path: string): string {
  return path === '' ? 'request body' : path;
}

function join(path: string, member: string): string {
  return path === '' ? member : `${path}.${member}`;
}

function checkSimple(code: number, value: unknown, path: string): void {
  switch (code) {
    case STRING:
      if (typeof value !== 'string') throw clientError(`${where(path)} must be a string, got ${describe(value)}`);
      return;
    case NUMBER:
      if (typeof value !== 'number' || !Number.isFinite(value))
        throw clientError(`${where(path)} must be a number, got ${describe(value)}`);
      return;
    case BOOLEAN:
      if (typeof value !== 'boolean') throw clientError(`${where(path)} must be true or false, got ${describe(value)}`);
      return;
    default:
      return;
  }
}

function checkList(itemSchema: unknown, value: unknown, path: string): void {
  if (!Array.isArray(value)) throw clientError(`${where(path)} must be a list, got ${describe(value)}`);
  value.forEach((item, i) => check(itemSchema, item, `${path}[${i}]`));
}

function checkMap(valueSchema: unknown, value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw clientError(`${where(path)} must be an object (a map of keys to values), got ${describe(value)}`);
  for (const [k, v] of Object.entries(value)) check(valueSchema, v, `${path}.${k}`);
}

function checkStructure(schema: unknown[], value: unknown, path: string): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw clientError(`${where(path)} must be an object, got ${describe(value)}`);
  const names = schema[4] as string[];
  const members = schema[5] as SchemaRef[];
  const required = typeof schema[6] === 'number' ? schema[6] : 0;
  const record = value as Record<string, unknown>;
  // Unknown members first: a required member written in the wrong case (`JobQueueName`) is
  // best reported as the slip it is, with the hint, not as the member being missing.
  for (const key of Object.keys(record)) {
    if (names.includes(key)) continue;
    const hint = names.find((n) => n.toLowerCase() === key.toLowerCase());
    throw clientError(`${join(path, key)} is not a member of ${String(schema[2])}` + (hint ? ` (did you mean '${hint}'?)` : ''));
  }
  for (let i = 0; i < required; i++) {
    const v = record[names[i]];
    if (v === undefined || v === null) throw clientError(`${join(path, names[i])} is required`);
  }
  for (const [key, v] of Object.entries(record)) {
    // JSON null for an optional member means "absent", as AWS's parsers treat it.
    if (v === null) continue;
    check(memberSchema(members[names.indexOf(key)]), v, join(path, key));
  }
}

/** Checks `value` against an SDK schema; throws a ClientException naming the first bad member. */
export function check(schemaRef: SchemaRef, value: unknown, path = ''): void {
  const schema = deref(schemaRef);
  if (typeof schema === 'number') {
    if (schema & MAP_OF) return checkMap(schema & ~MAP_OF, value, path);
    if (schema & LIST_OF) return checkList(schema & ~LIST_OF, value, path);
    return checkSimple(schema, value, path);
  }
  if (!Array.isArray(schema)) return;
  switch (schema[0]) {
    case 3:
      return checkStructure(schema, value, path);
    case 1:
      return checkList(memberSchema(schema[4] as SchemaRef), value, path);
    case 2:
      return checkMap(memberSchema(schema[5] as SchemaRef), value, path);
    default:
      // A simple schema with traits, e.g. [0, ns, name, traits, 0]: check the underlying type.
      if (schema.length === 5 && typeof schema[0] === 'number' && schema[0] === 0) return check(schema[4] as SchemaRef, value, path);
      return;
  }
}

/**
 * Member traits that put a member in the URL or headers rather than the body. Numeric traits
 * are a bitmask in the order of @smithy/core's `translateTraits`: httpLabel (1), idempotent,
 * idempotencyToken (4), sensitive, httpPayload, httpResponseCode, httpQueryParams (64). An
 * idempotency token such as UpdateConsumableResource's `clientToken` stays in the body.
 */
const HTTP_LABEL = 1;
const HTTP_QUERY_PARAMS = 64;
const HTTP_BINDING_TRAITS = ['httpLabel', 'httpQuery', 'httpQueryParams', 'httpHeader', 'httpPrefixHeaders'];

function isHttpBound(traits: unknown): boolean {
  if (typeof traits === 'number') return (traits & (HTTP_LABEL | HTTP_QUERY_PARAMS)) !== 0;
  if (typeof traits === 'object' && traits !== null) return HTTP_BINDING_TRAITS.some((t) => t in traits);
  return false;
}

/** Member names of an SDK structure schema that are bound to the HTTP path, query or headers (not the body). */
export function httpBoundMembers(structRef: SchemaRef): string[] {
  const schema = deref(structRef) as unknown[];
  const names = schema[4] as string[];
  const members = schema[5] as SchemaRef[];
  return names.filter((_, i) => {
    const m = deref(members[i]);
    return Array.isArray(m) && m.length === 2 && isHttpBound(m[1]);
  });
}
