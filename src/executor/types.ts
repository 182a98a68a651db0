/**
 * The executor contract: how an agent runs one attempt. Every executor (process, container)
 * implements it; the agent never knows which one it has.
 */

export interface AttemptSpec {
  /** unique id of this attempt, e.g. "<jobId>#<attempt>"; used in messages */
  attemptId: string;
  /** argv after Ref:: parameter substitution; argv[0] is looked up on PATH */
  command: string[];
  /** the complete job environment (definition env + AWS_BATCH_* variables) */
  env: Record<string, string>;
  /** directory to run in; created by the caller */
  workDir: string;
  vcpus: number;
  memoryMiB: number;
}

export interface AttemptExit {
  /** exit code; 128 + signal number for a signal death, as Docker reports it; null if it never started */
  exitCode: number | null;
  /** AWS-style container reason when the executor knows one (e.g. it could not start) */
  reason?: string;
}

export type LogStream = 'stdout' | 'stderr';

export interface LogLine {
  stream: LogStream;
  timestamp: number;
  message: string;
}

export interface RunningAttempt {
  readonly pid: number | undefined;
  /** settles once, when the process has exited and all its output was delivered */
  readonly exited: Promise<AttemptExit>;
  /** SIGTERM to the whole process group, SIGKILL after graceMs if anything is alive; idempotent */
  terminate(graceMs?: number): void;
}

/** What an executor can enforce, declared as data (see STYLE.md, "capabilities are data"). */
export interface ExecutorCapabilities {
  processGroups: boolean;
  cgroups: boolean;
  sandbox: boolean;
  containers: boolean;
}

export interface Executor {
  readonly name: string;
  readonly capabilities: ExecutorCapabilities;
  /** starts the attempt; `onLog` receives complete lines in order, in small batches */
  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt;
}
