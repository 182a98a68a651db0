/**
 * The executor contract: how an agent runs one attempt. Every executor (process, and later
 * container) implements it; the agent never knows which one it has.
 */

/** One attempt to run, as the agent received it from the control plane. */
export interface AttemptSpec {
  /** unique id of this attempt, e.g. "<jobId>#<attemptNumber>"; used in messages */
  attemptId: string;
  /** argv after Ref:: parameter substitution; argv[0] is looked up on PATH */
  command: string[];
  /** the complete job environment (job definition env + AWS_BATCH_* variables); merged over a small base env */
  env: Record<string, string>;
  /** directory to run in; created by the caller */
  workDir: string;
  vcpus: number;
  memoryMiB: number;
}

/** How an attempt ended. */
export interface AttemptExit {
  /** process exit code; for a signal death 128+signo as Docker reports it; null only if the process never started */
  exitCode: number | null;
  /** AWS-style reason when the executor knows one (e.g. the process could not start), else undefined */
  reason?: string;
}

/** Which of the job's output streams a line came from. */
export type LogStream = 'stdout' | 'stderr';

/** One complete line of output, without its line terminator. */
export interface LogLine {
  stream: LogStream;
  /** epoch milliseconds, from the executor's clock, when the line was received */
  timestamp: number;
  message: string;
}

/** Handle on a started attempt. */
export interface RunningAttempt {
  /** OS pid once known: through the fork server it arrives a moment after `start` returns */
  readonly pid: number | undefined;
  /** where `pid` may be unknown at first: settles with it once known (undefined if the process never started) */
  readonly whenStarted?: Promise<number | undefined>;
  /** settles exactly once, when the process (and its process group leader) has exited and all output is delivered */
  readonly exited: Promise<AttemptExit>;
  /** SIGTERM to the whole process group, SIGKILL after graceMs (default 30000) if anything is still alive; idempotent */
  terminate(graceMs?: number): void;
}

/** What an executor can enforce, declared as data (STYLE.md, "capabilities are data"). */
export interface ExecutorCapabilities {
  /** the attempt's descendants are signalled together and cleaned up with it */
  processGroups: boolean;
  /** vcpus/memoryMiB are enforced as limits */
  cgroups: boolean;
  /** the attempt cannot see or touch the host beyond its workDir */
  sandbox: boolean;
  /** the attempt runs in the job definition's container image */
  containers: boolean;
}

/** Runs attempts. Implementations must never throw from `start` nor emit unhandled errors. */
export interface Executor {
  readonly name: string;
  readonly capabilities: ExecutorCapabilities;
  /** starts the attempt; `onLog` receives complete lines in order (batched delivery is fine) */
  start(spec: AttemptSpec, onLog: (lines: LogLine[]) => void): RunningAttempt;
}
