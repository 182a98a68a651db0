/**
 * The executor contract: how an agent runs one attempt. Every executor (process, container)
 * implements it; the agent picks one per attempt by name and never knows more about it.
 * docs/executors.md says which job-definition fields each one honours.
 */
import type { UsageFigures } from '../model/usage.js';

import type { ContainerOutcome, PodMember } from './pod.js';

/** The executors there are; a compute environment chooses one (tag `openbatch:executor`). */
export const EXECUTOR_NAMES = ['process', 'container'] as const;
export type ExecutorName = (typeof EXECUTOR_NAMES)[number];

/** A host path made visible to the job (a job definition's `volumes[].host`). */
export interface VolumeSpec {
  name: string;
  /** host directory; absent: an empty scratch directory that lives as long as the attempt */
  sourcePath?: string;
  /** a kind of volume this host cannot provide (e.g. "efsVolumeConfiguration"); the attempt cannot start */
  unsupported?: string;
}

export interface MountSpec {
  sourceVolume: string;
  containerPath: string;
  readOnly: boolean;
}

export interface DeviceSpec {
  hostPath: string;
  /** defaults to hostPath */
  containerPath?: string;
  /** of "READ", "WRITE", "MKNOD"; all when absent */
  permissions?: string[];
}

export interface TmpfsSpec {
  containerPath: string;
  sizeMiB: number;
  mountOptions?: string[];
}

/** A resource limit (setrlimit) by Docker's name: nofile, nproc, core, stack, … */
export interface UlimitSpec {
  name: string;
  softLimit: number;
  hardLimit: number;
}

/**
 * The job definition's isolation settings (containerProperties), in executor terms. Every
 * field is optional; an executor that cannot honour a field the job sets says so (see
 * RunningAttempt's notices) instead of silently ignoring it.
 */
export interface JobSettings {
  image?: string;
  /** "name", "uid", "name:group" or "uid:gid" as in a job definition's `user` */
  user?: string;
  privileged?: boolean;
  readonlyRootFilesystem?: boolean;
  volumes?: VolumeSpec[];
  mountPoints?: MountSpec[];
  ulimits?: UlimitSpec[];
  devices?: DeviceSpec[];
  initProcessEnabled?: boolean;
  sharedMemorySizeMiB?: number;
  tmpfs?: TmpfsSpec[];
  /** swap allowed beyond the memory limit; absent or 0: none */
  maxSwapMiB?: number;
  /**
   * How VCPU is enforced (the server's `vcpuLimit`): `quota` (absent) caps the job at its
   * vCPUs; `shares` gives it 1,024 CPU shares per vCPU and no cap, as ECS does, so a job
   * alone on a host may use its idle CPUs.
   */
  vcpuLimit?: 'quota' | 'shares';
}

/**
 * The attempt's task metadata endpoint (agent/taskMetadata.ts): the executor makes it
 * reachable from where the job runs, and gives the job its URI as ECS_CONTAINER_METADATA_URI_V4.
 */
export interface MetadataEndpoint {
  /** the URI on the host's loopback, for a job that shares the host's network (undefined: not served) */
  loopback(): string | undefined;
  /** the URI on another address of this host (an engine's bridge gateway); undefined when the agent cannot listen there */
  at(host: string): Promise<string | undefined>;
  /** a unix socket made at `path` that answers the attempt's documents only; the URI's path through it */
  unix(path: string): string;
  /** the job's process started at `at` (epoch ms), in the engine's containers of these ids by name */
  started(at: number, dockerIds?: Record<string, string>): void;
}

/** One attempt to run, as the agent received it from the control plane. */
export interface AttemptSpec {
  /** unique id of this attempt, e.g. "<jobId>#<attemptNumber>"; used in messages */
  attemptId: string;
  /** argv after Ref:: parameter substitution; argv[0] is looked up on PATH */
  command: string[];
  /** the complete job environment (job definition env + AWS_BATCH_* variables); merged over a small base env */
  env: Record<string, string>;
  /** directory to run in, the attempt's own: created by the caller, given to the job's user when that is not the agent's */
  workDir: string;
  vcpus: number;
  memoryMiB: number;
  /** the job definition's isolation settings; absent = none */
  settings?: JobSettings;
  /** host paths the instance's launch template gives every job (linked from the working directory) */
  mounts?: { sourcePath: string; containerPath: string }[];
  /** the task metadata endpoint to give the job (ECS_CONTAINER_METADATA_URI_V4); absent: none */
  metadata?: MetadataEndpoint;
  /**
   * Paths in the working directory given to the job's user with it (the process executor),
   * recursively: what only the job may read (a task's plan, its secret volumes)
   */
  ownPaths?: string[];
  /** the container's name in its task (a member of `containers`): its metadata, its labels */
  name?: string;
  /**
   * A task of several containers (ecsProperties, eksProperties), run as executor/pod.ts
   * says: each member's own command, environment, resources and settings. `command`, `env`
   * and `settings` above are then its first essential container's (what the attempt as a
   * whole is isolated by on the process executor), and vcpus and memoryMiB the task's total.
   */
  containers?: PodContainerSpec[];
  /** how the task of `containers` runs and ends */
  orchestration?: 'ECS' | 'EKS';
  /** grace between SIGTERM and SIGKILL of a task's container that names no stopTimeout, when the task stops */
  graceMs?: number;
}

/** One container of a task. */
export interface PodContainerSpec extends PodMember {
  command: string[];
  env: Record<string, string>;
  /** reserved for it; 0: none of its own (it runs within the task's total) */
  vcpus: number;
  memoryMiB: number;
  settings: JobSettings;
  /** its own task metadata endpoint (ECS_CONTAINER_METADATA_URI_V4) */
  metadata?: MetadataEndpoint;
}

/** What an attempt used since it started (model/usage.ts; executor/usage.ts says how each executor measures it). */
export type { UsageFigures };

/** How an attempt ended. */
export interface AttemptExit {
  /** process exit code; for a signal death 128+signo as Docker reports it; null only if the process never started */
  exitCode: number | null;
  /** AWS-style reason when the executor knows one (could not start, out of memory), else undefined */
  reason?: string;
  /**
   * The job's process never started (its image could not be pulled, its container could not
   * be created or started, its command not found, it was stopped first): AWS ends such an
   * attempt with the statusReason "Task failed to start", never RUNNING.
   */
  neverStarted?: boolean;
  /** a task's containers, each as it ended */
  containers?: ContainerOutcome[];
  /** what the attempt used, as measured at its end; absent where nothing could be */
  usage?: UsageFigures;
}

/** Which of the job's output streams a line came from. */
export type LogStream = 'stdout' | 'stderr';

/** One complete line of output, without its line terminator. */
export interface LogLine {
  stream: LogStream;
  /** epoch milliseconds, from the executor's clock, when the line was received */
  timestamp: number;
  message: string;
  /** the container of a task whose line it is (its own log stream); absent: the attempt's */
  container?: string;
}

/** Handle on a started attempt. */
export interface RunningAttempt {
  /** OS pid once known: through the fork server it arrives a moment after `start` returns */
  readonly pid: number | undefined;
  /** where `pid` may be unknown at first: settles with it once known (undefined if the process never started) */
  readonly whenStarted?: Promise<number | undefined>;
  /** settles exactly once, when the process (and its process group leader) has exited and all output is delivered */
  readonly exited: Promise<AttemptExit>;
  /**
   * Where starting takes a while (a container's image pulled, the container created): settles
   * with the time (epoch ms) the job's process started, or undefined when it never does. Until
   * then the attempt is STARTING, as on ECS, and its timeout has not begun. Absent: the job
   * runs from `start`.
   */
  readonly whenRunning?: Promise<number | undefined>;
  /** for containers: the container's name, so that whoever finds the agent dead can remove it */
  readonly containerName?: string;
  /** for containers: the Docker API socket the container was made through */
  readonly dockerSocket?: string;
  /**
   * What the attempt has used so far (the agent samples running attempts with it); undefined
   * when nothing can be measured (yet). Absent: this executor does not measure.
   */
  usage?(): Promise<UsageFigures | undefined>;
  /** SIGTERM to the job's processes, SIGKILL after graceMs (default 30000) if anything is still alive; idempotent */
  terminate(graceMs?: number): void;
}

/** What an executor can enforce on this host, declared as data (STYLE.md, "capabilities are data"). */
export interface ExecutorCapabilities {
  /** the attempt's descendants are signalled together and cleaned up with it */
  processGroups: boolean;
  /** vcpus/memoryMiB are enforced as limits */
  cgroups: boolean;
  /** own mount, pid and network namespaces; volumes, read-only root */
  sandbox: boolean;
  /** the attempt runs in the job definition's container image */
  containers: boolean;
}

/**
 * The first log line of an attempt whose job asked for something this executor could not
 * enforce here; it names each thing and why. docs/executors.md documents it.
 */
export const NOTICE_PREFIX = 'openbatch: not enforced on this host: ';

/** Runs attempts. Implementations must never throw from `start` nor emit unhandled errors. */
export interface Executor {
  readonly name: ExecutorName;
  readonly capabilities: ExecutorCapabilities;
  /** what this executor cannot do on this host, said once when the agent starts (empty: everything) */
  readonly unavailable: string[];
  /** starts the attempt; `onLog` receives complete lines in order (batched delivery is fine) */
  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt;
  /**
   * Why this executor cannot start attempts now (its container engine does not answer), or
   * undefined when it can. Cheap to call often: it answers within a few seconds at most.
   */
  health?(): Promise<string | undefined>;
}

/** A container of a task's pod (containerPod.ts): joined to the pod's network, labelled with it. */
export interface PodMembership {
  /** the pod's pause container, whose network the member joins (absent: a network of its own) */
  network?: string;
  /** the pod's name, a label of the member so that a dead agent's pod is removed whole */
  pod: string;
}
