/**
 * Table types for Kysely. One interface per table; JSON columns hold AWS-shaped documents
 * that the API returns as given (e.g. a job definition's containerProperties), while every
 * value the scheduler or a query filters on has a column of its own.
 *
 * Times are epoch milliseconds (as AWS reports them). Booleans are 0/1 integers so the same
 * schema serves SQLite and PostgreSQL.
 */
import type { Generated } from 'kysely';

export interface ComputeEnvironmentTable {
  name: string;
  arn: string;
  uuid: string;
  type: string; // MANAGED | UNMANAGED
  state: string; // ENABLED | DISABLED
  status: string; // CREATING | UPDATING | DELETING | DELETED | VALID | INVALID
  status_reason: string | null;
  /** computeResources as given (JSON) or null for UNMANAGED */
  compute_resources: string | null;
  service_role: string | null;
  /** other members kept verbatim: unmanagedvCpus, eksConfiguration, updatePolicy, context (JSON) */
  extra: string;
  tags: string;
  desired_vcpus: number;
  created_at: number;
  updated_at: number;
}

export interface JobQueueTable {
  name: string;
  arn: string;
  state: string;
  status: string;
  status_reason: string | null;
  priority: number;
  /** [{order, computeEnvironment: <CE name>}] sorted by order (JSON) */
  ce_order: string;
  scheduling_policy_arn: string | null;
  /** jobStateTimeLimitActions (JSON) */
  time_limit_actions: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface JobDefinitionTable {
  arn: string;
  name: string;
  revision: number;
  status: string; // ACTIVE | INACTIVE
  type: string;
  /** everything else of RegisterJobDefinition (JSON) */
  spec: string;
  tags: string;
  created_at: number;
}

export interface SchedulingPolicyTable {
  name: string;
  arn: string;
  fairshare_policy: string | null;
  tags: string;
  created_at: number;
}

export interface ConsumableResourceTable {
  name: string;
  arn: string;
  resource_type: string;
  total_quantity: number;
  tags: string;
  created_at: number;
}

export interface JobTable {
  /** submission order; the FIFO tiebreak inside a queue */
  seq: Generated<number>;
  id: string;
  arn: string;
  name: string;
  queue: string;
  queue_arn: string;
  definition_arn: string;
  status: string;
  status_reason: string | null;
  /** why a RUNNABLE job waits: stable reason code from the scheduler's plan */
  wait_code: string | null;
  /** since when it waits for that reason (jobStateTimeLimitActions count from here) */
  wait_since: number | null;
  /** waiting for capacity: the pass's account of it (compute/planScaling.ts CapacityAccount, JSON; migration 014) */
  wait_detail: string | null;
  created_at: number;
  updated_at: number;
  runnable_at: number | null;
  started_at: number | null;
  stopped_at: number | null;
  /** effective job spec after overrides (JSON): see model/jobSpec.ts */
  spec: string;
  /** SubmitJob.dependsOn (JSON) */
  depends_on: string;
  /** dependencies not yet SUCCEEDED; the job is PENDING while > 0 */
  pending_deps: number;
  vcpus: number;
  memory_mib: number;
  gpus: number;
  share_identifier: string | null;
  scheduling_priority: number;
  /** consumable resources the job holds while STARTING/RUNNING: [{name, quantity}] (JSON), or null */
  consumables: string | null;
  max_attempts: number;
  /** attempts started so far (the next attempt's number is attempt_count + 1) */
  attempt_count: number;
  timeout_seconds: number | null;
  ce_name: string | null;
  instance_id: string | null;
  exit_code: number | null;
  log_stream_name: string | null;
  /** set by TerminateJob while the attempt is STARTING/RUNNING: the reason to fail with */
  terminate_reason: string | null;
  /** CANCEL or TERMINATE when a user stopped the job (isCancelled / isTerminated) */
  stopped_by: string | null;
  /** array parent and children: the array's size (children need it for AWS_BATCH_JOB_ARRAY_SIZE) */
  array_size: number | null;
  /** array child: its index */
  array_index: number | null;
  /** array child: the parent's id */
  parent_id: string | null;
  /** array parent: children created as rows so far (indexes 0 … n-1); see store/arrays.ts */
  array_materialized: number | null;
  /** array parent: children that reached SUCCEEDED / FAILED */
  array_succeeded: number | null;
  array_failed: number | null;
  tags: string;
  /** multi-node parent: the number of nodes in its gang */
  num_nodes: number | null;
  /** node of a multi-node job (id `<parentId>#<index>`): its index */
  node_index: number | null;
}

export interface JobDependencyTable {
  job_id: string;
  depends_on_id: string;
  type: string | null;
}

export interface AttemptTable {
  job_id: string;
  /** 1-based, as AWS_BATCH_JOB_ATTEMPT */
  attempt: number;
  /** fencing token: an agent report must carry it; a newer attempt or a recovery changes it */
  token: string;
  instance_id: string;
  ce_name: string;
  status: string; // STARTING | RUNNING | SUCCEEDED | FAILED
  created_at: number;
  started_at: number | null;
  stopped_at: number | null;
  exit_code: number | null;
  /** container-level reason from the executor (OutOfMemoryError…, CannotStartContainerError…) */
  reason: string | null;
  /** the attempt's statusReason, what evaluateOnExit's onStatusReason is matched against */
  status_reason: string | null;
  log_stream_name: string;
  /** CloudWatch log group of the attempt's stream; null (rows from before migration 003) means /aws/batch/job */
  log_group: string | null;
  /** resources reserved by the attempt (null for attempts recorded before they were kept) */
  vcpus: number | null;
  memory_mib: number | null;
  gpus: number | null;
  /** hourly cost at placement, from the price table; see model/cost.ts */
  rate_per_hour: number | null;
  /** the price the rate came from (`spot:<type>`, `ondemand:<type>`, `fargate`, `default`) */
  pricing: string | null;
  /** when the attempt was handed to its agent (epoch ms); null: not yet. Handed out once. */
  delivered_at: number | null;
  /** when the scheduler asked the agent to give the attempt back, queued and not started (epoch ms); null: not asked */
  withdraw_at: number | null;
  /** a task's containers as they ended, JSON [{name, exitCode, reason?}] (migration 018); null: a job of one container */
  containers: string | null;
  /** what the attempt used (migration 017, store/attemptUsage.ts); null: not measured */
  cpu_seconds: number | null;
  peak_memory_bytes: number | null;
  /** memory at the latest sample */
  memory_bytes: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  /** when the latest figures were taken (epoch ms) */
  usage_at: number | null;
  /** cgroup | proc | engine */
  usage_source: string | null;
  /** memory over time while it ran: JSON [[epoch ms, bytes], …] */
  memory_series: string | null;
}

/** The join token, hashed (one row, name 'agents'): every server of the database checks against it. */
export interface JoinTokenTable {
  name: string;
  token_hash: string;
  rotated_at: number;
}

export interface InstanceTable {
  id: string;
  ce_name: string;
  instance_type: string;
  vcpus: number;
  memory_mib: number;
  gpus: number;
  /** PENDING (bootstrap running, takes no work) | LAUNCHING | ACTIVE | IMPAIRED (its agent lives but cannot run jobs: status_reason) | TERMINATING | TERMINATED */
  state: string;
  /** agent credential, hashed */
  token_hash: string;
  /** who runs it: 'local' (an agent child process of this server) or 'joined' (an agent that registered itself) */
  provider: string;
  /** opaque provider data, e.g. the local agent's pid or a joined agent's hostname (JSON) */
  provider_data: string;
  launched_at: number;
  last_heartbeat_at: number;
  terminated_at: number | null;
  termination_reason: string | null;
  /** the launch template applied (JSON AppliedTemplate), null when none */
  launch_template: string | null;
  /** a Spot instance under interruption notice is terminated at this time */
  interrupt_at: number | null;
  /** when the instance became ready to take work (its agent's first poll); null while it boots */
  ready_at: number | null;
  /** IMPAIRED: why it takes no work (its agent says); null otherwise */
  status_reason: string | null;
}

export interface LogEventTable {
  id: Generated<number>;
  log_group: string;
  log_stream: string;
  timestamp: number;
  ingestion_time: number;
  message: string;
}

/** One row per log stream that has events: the summary DescribeLogStreams answers from. */
export interface LogStreamTable {
  log_group: string;
  log_stream: string;
  creation_time: number;
  first_event_timestamp: number;
  last_event_timestamp: number;
  last_ingestion_time: number;
  /** 0 while the stream has no events: its event timestamps are then placeholders, not reported */
  has_events: Generated<number>;
}

/** A job state change event still to deliver to one webhook (the transactional outbox). */
export interface WebhookOutboxTable {
  id: Generated<number>;
  /** the webhook's name (its URL when unnamed) */
  hook: string;
  job_id: string;
  /** the event as JSON, rendered in the transaction of the change */
  body: string;
  created_at: number;
  attempts: Generated<number>;
  next_attempt_at: number;
  last_error: string | null;
}

/** A file a trigger rule has submitted a job for (or failed to). */
export interface TriggerFileTable {
  rule: string;
  path: string;
  size: number;
  mtime_ms: number;
  job_id: string | null;
  submitted_at: number;
  error: string | null;
}

/** The leader lease of control planes sharing a PostgreSQL database (src/cluster/leadership.ts). */
export interface LeaderLeaseTable {
  name: string;
  holder: string;
  /** +1 at every change of holder: the fencing token of the leader's writes */
  epoch: number;
  /** epoch ms on the database's clock */
  expires_at: number;
}

/** The farm's drain while one is under way (migration 012; src/store/drain.ts). */
export interface FarmDrainTable {
  name: string;
  /** 1: running jobs are stopped too; 0: they finish */
  stop_jobs: number;
  since: number;
}

export interface Database {
  compute_environments: ComputeEnvironmentTable;
  job_queues: JobQueueTable;
  job_definitions: JobDefinitionTable;
  scheduling_policies: SchedulingPolicyTable;
  consumable_resources: ConsumableResourceTable;
  jobs: JobTable;
  job_dependencies: JobDependencyTable;
  attempts: AttemptTable;
  join_token: JoinTokenTable;
  instances: InstanceTable;
  log_events: LogEventTable;
  log_streams: LogStreamTable;
  webhook_outbox: WebhookOutboxTable;
  trigger_files: TriggerFileTable;
  slurm_jobs: SlurmJobTable;
  leader_lease: LeaderLeaseTable;
  farm_drain: FarmDrainTable;
}

/** An attempt carried by a Slurm job (migration 006; compute/slurmProvider.ts). */
export interface SlurmJobTable {
  job_id: string;
  attempt: number;
  instance_id: string;
  /** Slurm's job id; null while sbatch has not answered */
  slurm_job_id: string | null;
  /** the attempt's directory: batch script, output file, exit-code file */
  work_dir: string;
  /** bytes of the output file already stored as log events */
  log_offset: number;
  /** why openbatch cancelled the Slurm job ('timeout' | 'terminate'), null when it did not */
  stop_reason: string | null;
  submitted_at: number;
}
