/**
 * Which executor runs a compute environment's jobs (docs/executors.md): the CE's tag
 * `openbatch:executor` (`process` or `container`), else the server setting defaultExecutor.
 * A tag, not a new field, because AWS's CreateComputeEnvironment has none for it; being a
 * tag it shows in DescribeComputeEnvironments, and each attempt's log names its executor.
 * Likewise the process executor's sandbox for the instances of a CE: `openbatch:sandbox`
 * (`auto` or `off`) and `openbatch:sandbox-network` (`none` or `host`), else the server's
 * sandbox and sandboxNetwork settings. And `openbatch:prefetch` (`auto` by default, or a
 * whole number; 0 turns it off): how many jobs each of the CE's instances may hold STARTING,
 * queued on its agent beyond what it has room to run (scheduler/schedule.ts, step 8; `auto`:
 * as deep as the jobs' recent run times make useful, scheduler/queueDepth.ts). And `openbatch:vcpu-limit`
 * (`quota` or `shares`), else the server's vcpuLimit: whether a job's VCPU caps its CPU or,
 * as on ECS, gives it 1,024 CPU shares per vCPU and no cap.
 */
import { ceTagsOf } from '../store/computeEnvironments.js';
import { EXECUTOR_NAMES, type ExecutorName } from '../executor/types.js';
import { clientError } from '../model/errors.js';

/** A compute environment's openbatch settings, from its tags and the server's defaults. */
export interface CeSettings {
  executor: ExecutorName;
  /** jobs each instance may hold queued on its agent beyond its room; `auto`: as the jobs' run times make useful */
  prefetch: Prefetch;
  sandbox: string;
  sandboxNetwork: string;
  vcpuLimit: 'quota' | 'shares';
}

/** The server settings a CE without the tag gets. */
export interface CeDefaults {
  defaultExecutor: string;
  sandbox: string;
  sandboxNetwork: string;
  vcpuLimit: string;
}

/** Parsed tags per row object: rows from the lookup cache are shared, so each is parsed once. */
const parsedTags = new WeakMap<object, Record<string, string>>();

/** The one place a CE row's tags become its settings (the scheduler, the agents' polls, launches). */
export function ceSettings(ce: { tags: string } | undefined, defaults: CeDefaults): CeSettings {
  let tags: Record<string, string> = {};
  if (ce) {
    const known = parsedTags.get(ce);
    if (known) tags = known;
    else parsedTags.set(ce, (tags = ceTagsOf(ce)));
  }
  return { executor: executorOf(tags, defaults.defaultExecutor as ExecutorName), prefetch: prefetchOf(tags), ...sandboxOf(tags, defaults), vcpuLimit: vcpuLimitOf(tags, defaults.vcpuLimit) };
}

export const VCPU_LIMIT_TAG = 'openbatch:vcpu-limit';
const VCPU_LIMIT_VALUES = ['quota', 'shares'] as const;

/**
 * How a CE's jobs are held to their VCPU. `quota` keeps jobs packed on a host from taking
 * each other's CPUs and makes their run times repeatable; `shares` lets a job alone on a host
 * use the CPUs no one else wants, as ECS does.
 */
function vcpuLimitOf(tags: Record<string, string>, fallback: string): 'quota' | 'shares' {
  const v = tags[VCPU_LIMIT_TAG] ?? fallback;
  return v === 'shares' ? 'shares' : 'quota';
}

/** CreateComputeEnvironment: a vcpu-limit tag that is not a setting is refused. */
export function checkVcpuLimitTag(field: string, tags: Record<string, string> | undefined): void {
  const v = tags?.[VCPU_LIMIT_TAG];
  if (v !== undefined && !(VCPU_LIMIT_VALUES as readonly string[]).includes(v)) {
    throw clientError(`${field}.${VCPU_LIMIT_TAG} must be one of ${VCPU_LIMIT_VALUES.join(', ')} (got '${v.slice(0, 40)}')`);
  }
}

export const EXECUTOR_TAG = 'openbatch:executor';

/** The executor of a CE with these tags. */
export function executorOf(tags: Record<string, string> | undefined, defaultExecutor: ExecutorName): ExecutorName {
  const v = tags?.[EXECUTOR_TAG];
  return (EXECUTOR_NAMES as readonly string[]).includes(v ?? '') ? (v as ExecutorName) : defaultExecutor;
}

/** CreateComputeEnvironment: a tag naming an executor that does not exist is refused. */
export function checkExecutorTag(field: string, tags: Record<string, string> | undefined): void {
  const v = tags?.[EXECUTOR_TAG];
  if (v !== undefined && !(EXECUTOR_NAMES as readonly string[]).includes(v)) {
    throw clientError(`${field}.${EXECUTOR_TAG} must be one of ${EXECUTOR_NAMES.join(', ')} (got '${v}')`);
  }
}

export const SANDBOX_TAG = 'openbatch:sandbox';
export const SANDBOX_NETWORK_TAG = 'openbatch:sandbox-network';
/** `auto` is the former name of `on`, still taken. */
const SANDBOX_VALUES = ['on', 'off', 'auto'] as const;
const SANDBOX_NETWORK_VALUES = ['none', 'host'] as const;

/** The sandbox settings of the agents of a CE with these tags. */
export function sandboxOf(tags: Record<string, string> | undefined, defaults: { sandbox: string; sandboxNetwork: string }): { sandbox: string; sandboxNetwork: string } {
  const pick = (tag: string, allowed: readonly string[], fallback: string) => {
    const v = tags?.[tag];
    return v !== undefined && allowed.includes(v) ? v : fallback;
  };
  const sandbox = pick(SANDBOX_TAG, SANDBOX_VALUES, defaults.sandbox);
  return { sandbox: sandbox === 'auto' ? 'on' : sandbox, sandboxNetwork: pick(SANDBOX_NETWORK_TAG, SANDBOX_NETWORK_VALUES, defaults.sandboxNetwork) };
}

/** CreateComputeEnvironment: sandbox tags with values that are not settings are refused. */
export function checkSandboxTags(field: string, tags: Record<string, string> | undefined): void {
  for (const [tag, allowed] of [[SANDBOX_TAG, SANDBOX_VALUES], [SANDBOX_NETWORK_TAG, SANDBOX_NETWORK_VALUES]] as const) {
    const v = tags?.[tag];
    if (v !== undefined && !(allowed as readonly string[]).includes(v)) throw clientError(`${field}.${tag} must be one of ${allowed.filter((a) => a !== 'auto').join(', ')} (got '${v}')`);
  }
}

export const PREFETCH_TAG = 'openbatch:prefetch';
/** More queued on one agent than this would only pin jobs to an instance for nothing. */
export const MAX_PREFETCH = 1024;

/** A CE's queue depth on its agents: a fixed number of jobs (0: none, AWS's behaviour), or `auto`. */
export type Prefetch = number | 'auto';

/** How many jobs an instance of a CE with these tags may hold queued on its agent: `auto` unless the tag says a number. */
export function prefetchOf(tags: Record<string, string> | undefined): Prefetch {
  const v = tags?.[PREFETCH_TAG];
  if (v === undefined || !/^\d+$/.test(v)) return 'auto';
  return Math.min(Number(v), MAX_PREFETCH);
}

/** CreateComputeEnvironment: a prefetch tag that is neither `auto` nor a whole number in range is refused. */
export function checkPrefetchTag(field: string, tags: Record<string, string> | undefined): void {
  const v = tags?.[PREFETCH_TAG];
  if (v !== undefined && v !== 'auto' && (!/^\d+$/.test(v) || Number(v) > MAX_PREFETCH)) {
    throw clientError(`${field}.${PREFETCH_TAG} must be auto or a whole number from 0 to ${MAX_PREFETCH} (got '${v.slice(0, 40)}')`);
  }
}
