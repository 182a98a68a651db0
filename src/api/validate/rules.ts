/**
 * Small reusable checkers for the semantic rules of AWS Batch requests.
 *
 * Every request has already passed `shapeCheck` (JSON types, required members, no unknown
 * members), so these only say what the types cannot: enum values, ranges, lengths, patterns.
 * Each checker takes the member's path as the user wrote it (`computeResources.maxvCpus`,
 * `dependsOn[3].jobId`) and throws a ClientException whose message starts with that path,
 * states the rule and shows the value received — one message style for the whole API.
 *
 * An absent value (undefined, or JSON null, which `shapeCheck` lets through for optional
 * members) passes every checker: whether a member must be present is the caller's rule.
 */
import { clientError } from '../../model/errors.js';

/** A member that may be missing: `undefined`, or JSON `null` from the wire. */
export type Maybe<T> = T | null | undefined;

/** True when the member was given. */
export function present<T>(value: Maybe<T>): value is T {
  return value !== undefined && value !== null;
}

/** Quotes a value for a message: strings in single quotes, the rest as JSON. */
export function show(value: unknown): string {
  return typeof value === 'string' ? `'${value}'` : JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------
// presence rules that depend on other members

/** The member must be given, for the reason stated (`is required when type is MANAGED`). */
export function requireMember<T>(path: string, value: T, rule: string): asserts value is NonNullable<T> {
  if (!present(value)) throw clientError(`${path} ${rule}`);
}

/** The member must not be given, for the reason stated (`is only allowed for SPOT …`). */
export function forbidMember(path: string, value: unknown, rule: string): void {
  if (present(value)) throw clientError(`${path} ${rule}`);
}

// ---------------------------------------------------------------------------------------
// enums

/** An SDK enum object (`CEType`) or, where the model types a member as a free string, a list. */
export type EnumLike = Readonly<Record<string, string>> | readonly string[];

export interface EnumOptions {
  /** Values the SDK knows that openbatch does not implement; rejected with their own message. */
  unsupported?: readonly string[];
  /** Why they are unsupported, shown after the value. */
  because?: string;
  /** AWS compares some enums case-insensitively (EvaluateOnExit.action). */
  ignoreCase?: boolean;
}

function valuesOf(values: EnumLike): readonly string[] {
  return Array.isArray(values) ? values : Object.values(values);
}

/** The member must be one of the enum's values: `type must be one of MANAGED, UNMANAGED (got 'SPOTTY')`. */
export function enumOf(path: string, value: Maybe<string>, values: EnumLike, options: EnumOptions = {}): void {
  if (!present(value)) return;
  const unsupported = options.unsupported ?? [];
  const allowed = valuesOf(values).filter((v) => !unsupported.includes(v));
  const same = (a: string, b: string) => (options.ignoreCase ? a.toUpperCase() === b.toUpperCase() : a === b);
  if (allowed.some((v) => same(v, value))) return;
  const choice = allowed.length === 1 ? allowed[0] : `one of ${allowed.join(', ')}`;
  if (unsupported.some((v) => same(v, value))) {
    const why = options.because ? ` (${options.because})` : '';
    throw clientError(`${path} ${show(value)} is not supported by openbatch${why}: use ${choice}`);
  }
  throw clientError(`${path} must be ${choice} (got ${show(value)})`);
}

// ---------------------------------------------------------------------------------------
// numbers

/** Inclusive bounds; either may be left open. */
export interface Range {
  min?: number;
  max?: number;
}

function rangeRule(range: Range): string {
  if (range.min !== undefined && range.max !== undefined) return `between ${range.min} and ${range.max}`;
  if (range.min !== undefined) return `at least ${range.min}`;
  return `at most ${range.max}`;
}

function outside(n: number, range: Range): boolean {
  return (range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max);
}

/** The member must be a whole number within the range: `timeout.attemptDurationSeconds must be at least 60 (got 5)`. */
export function intRange(path: string, value: Maybe<number>, range: Range): void {
  if (!present(value)) return;
  if (!Number.isInteger(value)) throw clientError(`${path} must be a whole number (got ${value})`);
  if (outside(value, range)) throw clientError(`${path} must be ${rangeRule(range)} (got ${value})`);
}

/** The member must be a number (fractions allowed) within the range. */
export function numberRange(path: string, value: Maybe<number>, range: Range): void {
  if (!present(value)) return;
  if (outside(value, range)) throw clientError(`${path} must be ${rangeRule(range)} (got ${value})`);
}

// ---------------------------------------------------------------------------------------
// strings

/** The string's length must be within the range: `reason must be at most 1024 characters long (got 2000)`. */
export function stringLength(path: string, value: Maybe<string>, range: Range): void {
  if (!present(value)) return;
  const n = value.length;
  if (!outside(n, range)) return;
  if (n === 0 && range.min === 1 && range.max === undefined) throw clientError(`${path} must not be empty`);
  const rule =
    range.min !== undefined && range.max !== undefined
      ? `${range.min}-${range.max} characters long`
      : range.min !== undefined
        ? `at least ${range.min} characters long`
        : `at most ${range.max} characters long`;
  throw clientError(`${path} must be ${rule} (got ${n})`);
}

/** The string must not be empty. */
export function nonEmpty(path: string, value: Maybe<string>): void {
  stringLength(path, value, { min: 1 });
}

/** The string must match `pattern`; `rule` says in words what is allowed. */
export function matches(path: string, value: Maybe<string>, pattern: RegExp, rule: string): void {
  if (!present(value)) return;
  if (!pattern.test(value)) throw clientError(`${path} ${show(value)} is invalid: ${rule}`);
}

// ---------------------------------------------------------------------------------------
// lists

/** The list's length must be within the range: `dependsOn must have at most 20 entries (got 21)`. */
export function listLength(path: string, list: Maybe<readonly unknown[]>, range: Range): void {
  if (!present(list)) return;
  const n = list.length;
  if (!outside(n, range)) return;
  const rule =
    range.min !== undefined && range.max !== undefined
      ? `${range.min}-${range.max} entries`
      : range.min !== undefined
        ? `at least ${range.min} ${range.min === 1 ? 'entry' : 'entries'}`
        : `at most ${range.max} ${range.max === 1 ? 'entry' : 'entries'}`;
  throw clientError(`${path} must have ${rule} (got ${n})`);
}

/**
 * No two entries may share a key: `computeEnvironmentOrder[1].order 1 is used twice (also in
 * computeEnvironmentOrder[0]): each must be unique`. `member` names the keyed member, if any.
 */
export function unique<T>(path: string, list: Maybe<readonly T[]>, key: (item: T) => unknown, member?: string): void {
  if (!present(list)) return;
  const seen = new Map<unknown, number>();
  list.forEach((item, i) => {
    const k = key(item);
    if (!present(k)) return;
    const first = seen.get(k);
    if (first !== undefined)
      throw clientError(
        `${path}[${i}]${member ? `.${member}` : ''} ${show(k)} is used twice (also in ${path}[${first}]): each must be unique`,
      );
    seen.set(k, i);
  });
}

// ---------------------------------------------------------------------------------------
// names, ARNs and identifiers

/** Names of compute environments, queues, job definitions, policies and consumable resources. */
const RESOURCE_NAME = /^[A-Za-z0-9_-]{1,128}$/;
/** Job names: the same alphabet, but the first character must be a letter or digit. */
const JOB_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;
/**
 * arn:<partition>:<service>:<region>:<account>:<resource>. Shape only: which resource an ARN
 * names, and whether it exists, is the store's business.
 */
const ARN = /^arn:[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]*:[0-9]*:\S+$/;

const NAME_RULE = 'use 1-128 letters, digits, hyphens (-) and underscores (_)';

/** A resource name: `jobDefinitionName 'my job' is invalid: use 1-128 letters, …`. */
export function resourceName(path: string, value: Maybe<string>): void {
  matches(path, value, RESOURCE_NAME, NAME_RULE);
}

/** A job name: up to 128 letters, digits, `-` and `_`, starting with a letter or digit. */
export function jobName(path: string, value: Maybe<string>): void {
  matches(path, value, JOB_NAME, 'use 1-128 letters, digits, hyphens (-) and underscores (_), starting with a letter or digit');
}

/** The member must look like an ARN. */
export function arn(path: string, value: Maybe<string>): void {
  matches(path, value, ARN, 'expected an ARN such as arn:aws:batch:<region>:<account>:<resource>');
}

/** A member documented as "name or ARN": an ARN if it starts with `arn:`, else a resource name. */
export function nameOrArn(path: string, value: Maybe<string>): void {
  if (!present(value)) return;
  if (value.startsWith('arn:')) arn(path, value);
  else matches(path, value, RESOURCE_NAME, `give the ARN, or a name of ${NAME_RULE.replace('use ', '')}`);
}

/**
 * A job definition reference: `name`, `name:revision` or an ARN. Operations that act on one
 * revision (DeregisterJobDefinition) require the revision.
 */
export function jobDefinitionRef(path: string, value: Maybe<string>, revision: 'optional' | 'required'): void {
  if (!present(value)) return;
  if (value.startsWith('arn:')) {
    const pattern = revision === 'required' ? /^arn:\S+:job-definition\/[A-Za-z0-9_-]{1,128}:[1-9][0-9]*$/ : ARN;
    matches(path, value, pattern, 'expected arn:aws:batch:<region>:<account>:job-definition/<name>:<revision>');
    return;
  }
  const pattern = revision === 'required' ? /^[A-Za-z0-9_-]{1,128}:[1-9][0-9]*$/ : /^[A-Za-z0-9_-]{1,128}(:[1-9][0-9]*)?$/;
  const rule =
    revision === 'required'
      ? 'use <name>:<revision> (a name of 1-128 letters, digits, - and _; a revision from 1) or the ARN'
      : 'use <name>, <name>:<revision> (a name of 1-128 letters, digits, - and _; a revision from 1) or the ARN';
  matches(path, value, pattern, rule);
}

// ---------------------------------------------------------------------------------------
// tags

const MAX_TAGS = 50;
const MAX_TAG_KEY = 128;
const MAX_TAG_VALUE = 256;

/** A tag key: 1-128 characters, not starting with the `aws:` prefix AWS reserves for itself. */
export function tagKey(path: string, key: string): void {
  if (key.length < 1 || key.length > MAX_TAG_KEY)
    throw clientError(`${path} key ${show(key)} must be 1-${MAX_TAG_KEY} characters long (got ${key.length})`);
  // AWS reserves the prefix in any letter case.
  if (key.toLowerCase().startsWith('aws:'))
    throw clientError(`${path} key ${show(key)} is reserved: keys starting with 'aws:' are for AWS use`);
}

/**
 * A tag map: at most 50 tags (at least `min`), keys per `tagKey`, values of at most 256
 * characters. Resources may be created with `tags: {}`; TagResource needs at least one.
 */
export function tagMap(path: string, tags: Maybe<Record<string, string>>, min = 0): void {
  if (!present(tags)) return;
  const entries = Object.entries(tags);
  if (entries.length < min) throw clientError(`${path} must have at least ${min} tag${min === 1 ? '' : 's'} (got ${entries.length})`);
  if (entries.length > MAX_TAGS) throw clientError(`${path} must have at most ${MAX_TAGS} tags (got ${entries.length})`);
  for (const [key, value] of entries) {
    tagKey(path, key);
    if (value.length > MAX_TAG_VALUE)
      throw clientError(`${path} value of key ${show(key)} must be at most ${MAX_TAG_VALUE} characters long (got ${value.length})`);
  }
}

/** Every entry of a list of strings must be non-empty: `subnets[1] must not be empty`. */
export function eachNonEmpty(path: string, list: Maybe<readonly string[]>): void {
  list?.forEach((item, i) => nonEmpty(`${path}[${i}]`, item));
}

// ---------------------------------------------------------------------------------------
// filters of the List* operations

/** One `{name, values}` filter, as the SDK's KeyValuesPair. */
export interface Filter {
  name?: Maybe<string>;
  values?: Maybe<string[]>;
}

/**
 * Each filter must have a known name and at least one non-empty value; where `values` maps a
 * filter name to an enum, its values must be members of it.
 */
export function filterList(
  path: string,
  list: Maybe<readonly Filter[]>,
  names: readonly string[],
  values: Readonly<Record<string, EnumLike>> = {},
): void {
  list?.forEach((filter, i) => {
    const at = `${path}[${i}]`;
    requireMember(`${at}.name`, filter.name, `is required: one of ${names.join(', ')}`);
    enumOf(`${at}.name`, filter.name, names);
    requireMember(`${at}.values`, filter.values, 'is required: give at least one value');
    listLength(`${at}.values`, filter.values, { min: 1 });
    eachNonEmpty(`${at}.values`, filter.values);
    const allowed = values[filter.name];
    if (allowed) filter.values.forEach((v, j) => enumOf(`${at}.values[${j}]`, v, allowed));
  });
}
