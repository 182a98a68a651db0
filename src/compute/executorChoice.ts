/**
 * Which executor runs a compute environment's jobs (docs/executors.md): the CE's tag
 * `openbatch:executor` (`process` or `container`), else the server setting defaultExecutor.
 * A tag, not a new field, because AWS's CreateComputeEnvironment has none for it; being a
 * tag it shows in DescribeComputeEnvironments, and each attempt's log names its executor.
 */
import { EXECUTOR_NAMES, type ExecutorName } from '../executor/types.js';
import { clientError } from '../model/errors.js';

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
