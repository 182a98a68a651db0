/**
 * The agent protocol: how an instance's agent and the control plane talk, over HTTP on the
 * server's own port under /agent/v1. Local instances (child processes) and remote machines
 * speak it alike.
 *
 *   POST /agent/v1/poll     long-poll. The agent says which attempts it runs; the server
 *                           answers with attempts to start and attempts to stop. It is also
 *                           the heartbeat: an agent that stops polling is declared lost.
 *   POST /agent/v1/report   a batch of reports (attempt started, log lines, what a running
 *                           attempt used so far, attempt exited), applied in one transaction. Reports carry the attempt's fencing
 *                           token; a report whose token no longer owns the attempt is refused
 *                           and the agent is told to stop that process.
 *   POST /agent/v1/leave    the agent stopped for good (told to shut down, or a joined agent
 *                           stopped by its owner): its instance is closed at once.
 *
 * Every answer renews the agent's lease (compute/agentLease.ts): an agent that gets no answer
 * for `lease.ms` stops what it runs, because by then the control plane may run it elsewhere.
 *
 * Every request carries `Authorization: Bearer <instance token>`.
 */
import type { ExecutorName, JobSettings, UsageFigures } from '../executor/types.js';
import type { TaskFacts } from './taskMetadata.js';

export interface AttemptRef {
  jobId: string;
  attempt: number;
}

export interface Assignment extends AttemptRef {
  token: string;
  command: string[];
  env: Record<string, string>;
  vcpus: number;
  memoryMiB: number;
  gpus: number;
  /** the attempt is terminated (and fails with the timeout reason) after this many seconds, already scaled by the server's time dilation */
  timeoutSeconds: number | null;
  logStreamName: string;
  /** host paths the job sees in its working directory (the instance's launch template): containerPath is relative to it */
  mounts?: { sourcePath: string; containerPath: string }[];
  /** which executor runs it: its compute environment's (tag `openbatch:executor`, else the server's defaultExecutor) */
  executor: ExecutorName;
  /** the job definition's isolation settings */
  settings: JobSettings;
  /** set when the attempt must not start (a secret that cannot be resolved): the reason it fails with */
  cannotStart?: string;
  /** grace between SIGTERM and SIGKILL when the attempt times out (the server's terminateGraceSeconds) */
  terminateGraceMs?: number;
  /** the attempt's log output is kept up to this many bytes (the server's maxLogBytesPerAttempt); absent: no cap */
  logLimitBytes?: number;
  /** what the task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4) says of the attempt's task */
  task?: TaskFacts;
  /**
   * A job of several containers (ecsProperties, eksProperties): each one's own command,
   * environment, resources and settings. `command`, `env` and `settings` above are then its
   * first essential container's, and vcpus and memoryMiB the task's total.
   */
  containers?: AssignmentContainer[];
  /** how the task of `containers` runs and ends (executor/pod.ts): ECS or EKS */
  orchestration?: 'ECS' | 'EKS';
  /** EKS `secret` volumes: each volume's files (the secret's value), made read-only for the attempt */
  secretVolumes?: { name: string; files: Record<string, string> }[];
}

/** One container of a task, as its agent runs it. */
export interface AssignmentContainer {
  name: string;
  essential: boolean;
  /** an EKS init container (it runs before the attempt is RUNNING) */
  init?: boolean;
  dependsOn: { containerName: string; condition: 'START' | 'COMPLETE' | 'SUCCESS' }[];
  command: string[];
  env: Record<string, string>;
  /** reserved for it; 0: none of its own (it is held by the task's total) */
  vcpus: number;
  memoryMiB: number;
  settings: JobSettings;
  /** its log stream: its output's lines are reported with its name */
  logStreamName: string;
  /** its grace between SIGTERM and SIGKILL when the task stops (ECS stopTimeout) */
  stopTimeoutMs?: number;
}

export interface PollRequest {
  instanceId: string;
  /** attempts the agent is running right now */
  running: AttemptRef[];
  /** how long the server may hold the request when there is nothing to say */
  waitMs: number;
  /**
   * why this agent cannot run jobs now (its container engine does not answer, its work
   * directory's disk is full); absent when it can. Its instance takes no work meanwhile.
   */
  impaired?: string;
  /**
   * What this agent runs beyond jobs of one container: `tasks`, jobs of several containers
   * (Assignment.containers). Absent: an older agent, which would run only a task's first
   * container; the server gives it such an attempt as one that cannot start.
   */
  features?: AgentFeature[];
}

/** See PollRequest.features. */
export type AgentFeature = 'tasks';

export interface PollResponse {
  start: Assignment[];
  /** attempts to stop (TerminateJob, or no longer owned by this agent) */
  stop: (AttemptRef & { graceMs: number })[];
  /** the instance is being terminated: stop everything, leave, and exit */
  shutdown: boolean;
  /**
   * The agent lease (compute/agentLease.ts): with no answer for `ms` since it sent a request,
   * the agent stops every attempt; `pollWaitMs` is how long its polls should ask to be held.
   * Absent (an older server): no lease.
   */
  lease?: { ms: number; pollWaitMs: number };
  /** the executor of the instance's jobs (its compute environment's): the agent watches what that one needs */
  executor?: ExecutorName;
  /**
   * the instance's size, sent with work. When its compute environment queues work on the
   * agent (`openbatch:prefetch`), `start` may hold more than fits, and the agent starts each
   * assignment, in order, once the attempts it runs leave room for it; otherwise everything
   * fits, and the size is the agent's guard. Absent (an older server): start everything at once.
   */
  capacity?: { vcpus: number; memoryMiB: number; gpus: number };
  /**
   * Queued attempts the scheduler takes back (a job that should run first was placed here):
   * the agent gives up each one it holds and has not started, with a `withdrawn` report, and
   * runs on those it has started. Absent: none (or an older server).
   */
  withdraw?: AttemptRef[];
  /**
   * The control plane records what running attempts use: every `sampleMs` the agent sends a
   * `usage` report for each attempt that has run at least that long. Absent (an older server,
   * or sampling turned off): none, since an older server refuses the kind. Exit reports carry
   * an attempt's final figures either way (an older server ignores them).
   */
  usage?: { sampleMs: number };
}

export interface LogLineReport {
  /** epoch ms */
  t: number;
  m: string;
}

export type Report =
  | (AttemptRef & { kind: 'started'; token: string; at: number })
  /** given back unstarted, as a poll answer's `withdraw` asked */
  | (AttemptRef & { kind: 'withdrawn'; token: string })
  /** `container`: the lines are that container's of a task (its own log stream); absent: the attempt's */
  | (AttemptRef & { kind: 'logs'; token: string; lines: LogLineReport[]; container?: string })
  /** what a running attempt used so far (cumulative figures, memory now), as the poll answer's `usage` asks */
  | (AttemptRef & { kind: 'usage'; token: string; at: number; usage: UsageFigures })
  | (AttemptRef & {
      kind: 'exited';
      token: string;
      at: number;
      exitCode: number | null;
      reason: string | null;
      timedOut: boolean;
      /**
       * the agent stopped the attempt for its own sake, not the job's (its lease ran out, its
       * instance was terminated, the agent was stopped): the attempt is lost, as on a lost host
       */
      hostLost?: boolean;
      /** the job's process never started (image, container, command, secrets): AWS's "Task failed to start" */
      neverStarted?: boolean;
      /** a task's containers, each as it ended (exitCode null: it never started, or was not seen to end) */
      containers?: ContainerExitReport[];
      /** what the attempt used in all, where it was measured */
      usage?: UsageFigures;
    });

export interface ContainerExitReport {
  name: string;
  exitCode: number | null;
  reason?: string;
}

export interface ReportRequest {
  instanceId: string;
  reports: Report[];
}

export interface ReportResponse {
  /** attempts whose reports were refused as stale: the agent must stop them */
  stale: AttemptRef[];
}
