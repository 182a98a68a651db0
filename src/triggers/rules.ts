/**
 * Trigger rules (the `triggers` setting): watch a directory glob and submit one job per new
 * file — or an array job (`arrayProperties`, as EventBridge's Batch target allows) and the
 * jobs that follow it (`then`, each depending on the one before: render frames, then stitch
 * them). Checked once at start; errors name the entry and the field.
 */
import { compileGlob, type CompiledGlob } from './glob.js';

export interface TriggerRule {
  name: string;
  /** the glob files must match (relative paths are from the server's working directory) */
  watch: string;
  glob: CompiledGlob;
  jobQueue: string;
  jobDefinition: string;
  /** default: <name>-<file name>, made a valid jobName */
  jobName?: string;
  /** the parameter that receives the file's absolute path (Ref::file by default) */
  parameterName: string;
  parameters: Record<string, string>;
  containerOverrides?: Record<string, unknown>;
  retryStrategy?: Record<string, unknown>;
  timeout?: Record<string, unknown>;
  tags?: Record<string, string>;
  /** the file's job is an array job of this size */
  arrayProperties?: Record<string, unknown>;
  /** jobs submitted with it, each depending on the one before (the file's job first) */
  then: FollowUp[];
  /** a file is taken once its size and mtime have not changed for this long */
  settleSeconds: number;
  /** how often the directory is scanned */
  pollSeconds: number;
}

/** A job submitted after the file's job, depending on the job before it in the rule's chain. */
export interface FollowUp {
  jobDefinition: string;
  /** default: the rule's queue */
  jobQueue?: string;
  /** default: <rule's job name>-<definition name> */
  jobName?: string;
  /** the dependency's type: N_TO_N (this job is an array of the same size) or none (the whole job) */
  dependencyType?: 'N_TO_N';
  parameters: Record<string, string>;
  containerOverrides?: Record<string, unknown>;
  arrayProperties?: Record<string, unknown>;
  retryStrategy?: Record<string, unknown>;
  timeout?: Record<string, unknown>;
}

const KEYS = ['name', 'watch', 'jobQueue', 'jobDefinition', 'jobName', 'parameterName', 'parameters', 'containerOverrides', 'arrayProperties', 'retryStrategy', 'timeout', 'tags', 'then', 'settleSeconds', 'pollSeconds'];
const THEN_KEYS = ['jobDefinition', 'jobQueue', 'jobName', 'dependencyType', 'parameters', 'containerOverrides', 'arrayProperties', 'retryStrategy', 'timeout'];

function followUps(v: unknown, where: string): FollowUp[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new Error(`${where} must be a list of {jobDefinition, jobQueue, dependencyType, …}`);
  return v.map((raw, i) => {
    const at = `${where}[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${at} must be an object`);
    const h = raw as Record<string, unknown>;
    for (const k of Object.keys(h)) if (!THEN_KEYS.includes(k)) throw new Error(`${at}: unknown field '${k}' (known: ${THEN_KEYS.join(', ')})`);
    if (h.dependencyType !== undefined && h.dependencyType !== 'N_TO_N') throw new Error(`${at}.dependencyType must be N_TO_N, or absent to wait for the whole job before it`);
    return {
      jobDefinition: str(h, 'jobDefinition', at, true)!,
      jobQueue: str(h, 'jobQueue', at, false),
      jobName: str(h, 'jobName', at, false),
      dependencyType: h.dependencyType as 'N_TO_N' | undefined,
      parameters: stringMap(h.parameters, `${at}.parameters`) ?? {},
      containerOverrides: object(h.containerOverrides, `${at}.containerOverrides`),
      arrayProperties: object(h.arrayProperties, `${at}.arrayProperties`),
      retryStrategy: object(h.retryStrategy, `${at}.retryStrategy`),
      timeout: object(h.timeout, `${at}.timeout`),
    };
  });
}

function str(h: Record<string, unknown>, key: string, where: string, required: boolean): string | undefined {
  const v = h[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string' || v === '') throw new Error(`${where}.${key} ${required ? 'is required and ' : ''}must be a non-empty string`);
  return v;
}

function stringMap(v: unknown, where: string): Record<string, string> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.values(v).some((x) => typeof x !== 'string')) {
    throw new Error(`${where} must be an object of string values`);
  }
  return v as Record<string, string>;
}

function object(v: unknown, where: string): Record<string, unknown> | undefined {
  if (v === undefined) return undefined;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${where} must be an object`);
  return v as Record<string, unknown>;
}

function seconds(v: unknown, where: string, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (typeof v !== 'number' || !(n >= 0)) throw new Error(`${where} must be a non-negative number of seconds`);
  return n;
}

export function parseTriggers(value: unknown, cwd = process.cwd()): TriggerRule[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new Error('triggers must be a JSON list of {name, watch, jobQueue, jobDefinition, …}');
  const names = new Set<string>();
  return value.map((raw, i) => {
    const where = `triggers[${i}]`;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${where} must be an object`);
    const h = raw as Record<string, unknown>;
    for (const k of Object.keys(h)) if (!KEYS.includes(k)) throw new Error(`${where}: unknown field '${k}' (known: ${KEYS.join(', ')})`);
    const name = str(h, 'name', where, true)!;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(name)) throw new Error(`${where}.name '${name}' must be 1-64 letters, digits, hyphens or underscores`);
    if (names.has(name)) throw new Error(`${where}.name '${name}' is used by another trigger`);
    names.add(name);
    const watch = str(h, 'watch', where, true)!;
    const pollSeconds = seconds(h.pollSeconds, `${where}.pollSeconds`, 2);
    if (pollSeconds <= 0) throw new Error(`${where}.pollSeconds must be more than 0`);
    return {
      name,
      watch,
      glob: compileGlob(watch, cwd),
      jobQueue: str(h, 'jobQueue', where, true)!,
      jobDefinition: str(h, 'jobDefinition', where, true)!,
      jobName: str(h, 'jobName', where, false),
      parameterName: str(h, 'parameterName', where, false) ?? 'file',
      parameters: stringMap(h.parameters, `${where}.parameters`) ?? {},
      containerOverrides: object(h.containerOverrides, `${where}.containerOverrides`),
      retryStrategy: object(h.retryStrategy, `${where}.retryStrategy`),
      timeout: object(h.timeout, `${where}.timeout`),
      arrayProperties: object(h.arrayProperties, `${where}.arrayProperties`),
      then: followUps(h.then, `${where}.then`),
      tags: stringMap(h.tags, `${where}.tags`),
      settleSeconds: seconds(h.settleSeconds, `${where}.settleSeconds`, 2),
      pollSeconds,
    };
  });
}
