/**
 * What an attempt runs, built from its job row: the command (Ref:: already substituted at
 * submission), the job's environment with AWS Batch's injected variables, its resources and
 * timeout. Agents receive it as an Assignment; the Slurm provider writes it into a batch
 * script. One place, so a job runs with the same environment wherever it lands.
 */
import type { Assignment } from '../agent/protocol.js';
import { jobSpecOf, type JobRow } from '../store/jobs.js';

/** The job and attempt columns an assignment is built from. */
export type AttemptSource = Pick<JobRow, 'spec' | 'queue' | 'array_index' | 'array_size' | 'timeout_seconds' | 'vcpus' | 'memory_mib' | 'gpus'> & {
  job_id: string;
  attempt: number;
  token: string;
  log_stream_name: string;
  ce_name: string;
};

/** The job's environment plus AWS_BATCH_JOB_ID, _ATTEMPT, _JQ_NAME, _CE_NAME and the array variables. */
export function attemptEnvironment(a: AttemptSource): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of jobSpecOf(a).environment ?? []) if (e.name) env[e.name] = e.value ?? '';
  env.AWS_BATCH_JOB_ID = a.job_id;
  env.AWS_BATCH_JOB_ATTEMPT = String(a.attempt);
  env.AWS_BATCH_JQ_NAME = a.queue;
  env.AWS_BATCH_CE_NAME = a.ce_name;
  if (a.array_index !== null) env.AWS_BATCH_JOB_ARRAY_INDEX = String(a.array_index);
  if (a.array_size !== null) env.AWS_BATCH_JOB_ARRAY_SIZE = String(a.array_size);
  return env;
}

/** The attempt as an agent receives it; the timeout is scaled by the server's time dilation. */
export function buildAssignment(a: AttemptSource, timeDilation: number): Assignment {
  return {
    jobId: a.job_id,
    attempt: a.attempt,
    token: a.token,
    command: jobSpecOf(a).command,
    env: attemptEnvironment(a),
    vcpus: a.vcpus,
    memoryMiB: a.memory_mib,
    gpus: a.gpus,
    timeoutSeconds: a.timeout_seconds === null ? null : a.timeout_seconds / timeDilation,
    logStreamName: a.log_stream_name,
  };
}
