/**
 * How Slurm's job states read in AWS Batch terms.
 *
 *   PENDING, CONFIGURING, REQUEUED, …      the attempt stays STARTING
 *   RUNNING, COMPLETING, SUSPENDED, …      RUNNING
 *   COMPLETED                              the batch script's exit code (0)
 *   FAILED                                 its exit code, "Essential container in task exited"
 *   TIMEOUT, DEADLINE                      AWS's timeout reason (Slurm's own time limit hit)
 *   NODE_FAIL, BOOT_FAIL, PREEMPTED        "Host EC2 (instance <node>) terminated." — the
 *                                          reason AWS gives when a host goes away, so retry
 *                                          strategies written for spot interruptions apply
 *   OUT_OF_MEMORY                          AWS's OutOfMemoryError reason, exit code 137
 *   CANCELLED                              TerminateJob's reason or openbatch's timeout when
 *                                          openbatch cancelled it; otherwise someone at the
 *                                          site did, and the reason says so
 * The exit code comes from the file the batch script writes after the command ends; Slurm's
 * wait status is the fallback (the script may have been killed before writing it).
 */
import { REASONS } from '../model/reasons.js';
import type { AttemptEnd } from '../store/attemptReports.js';
import type { SlurmJobState } from './slurmCli.js';

export type Phase = 'waiting' | 'running' | 'final';

const RUNNING = new Set(['RUNNING', 'COMPLETING', 'SUSPENDED', 'SIGNALING', 'STAGE_OUT', 'RESIZING']);
const FINAL = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'DEADLINE', 'NODE_FAIL', 'BOOT_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'REVOKED', 'SPECIAL_EXIT']);

export function phaseOf(state: string): Phase {
  if (FINAL.has(state)) return 'final';
  if (RUNNING.has(state)) return 'running';
  return 'waiting';
}

export const OUT_OF_MEMORY_REASON = 'OutOfMemoryError: Container killed due to memory usage';

/**
 * The attempt's end for a Slurm job in a final state. `stopReason` is what openbatch asked
 * for ('timeout' | 'terminate' | null); `exitFile` the code the batch script wrote, if any.
 */
export function attemptEndOf(job: SlurmJobState, stopReason: string | null, exitFile: number | null, hostId: string, now: number): AttemptEnd {
  const waitCode = job.exitStatus === null ? null : job.exitStatus & 0x7f ? 128 + (job.exitStatus & 0x7f) : job.exitStatus >> 8;
  const exitCode = exitFile ?? waitCode;
  const end: AttemptEnd = { exitCode, reason: null, stoppedAt: now };
  switch (job.state) {
    case 'COMPLETED':
      end.exitCode = exitFile ?? 0;
      return end;
    case 'FAILED':
      // A script that never ran (bad work directory, missing shell) still fails the attempt.
      if (!end.exitCode) end.reason = `Slurm job ${job.slurmJobId} failed: ${job.reason || 'FAILED'}`;
      return end;
    case 'TIMEOUT':
    case 'DEADLINE':
      return { ...end, timedOut: true, reason: `Slurm job ${job.slurmJobId} ended: ${job.state}` };
    case 'NODE_FAIL':
    case 'BOOT_FAIL':
    case 'PREEMPTED':
      return { ...end, exitCode: null, reason: `Slurm job ${job.slurmJobId} ended: ${job.state}`, statusReason: REASONS.hostTerminated(job.nodes || hostId) };
    case 'OUT_OF_MEMORY':
      return { ...end, exitCode: 137, reason: OUT_OF_MEMORY_REASON, statusReason: OUT_OF_MEMORY_REASON };
    case 'CANCELLED':
      if (stopReason === 'timeout') return { ...end, timedOut: true };
      // TerminateJob's reason is the job's terminate_reason; finishAttempt reports it.
      if (stopReason === 'terminate') return end;
      // Slurm marks a job CANCELLED at once and may say exit code 0 until its script is
      // reaped: without the script's own exit file, 0 is no success (the job SUCCEEDED so).
      return {
        ...end,
        exitCode: exitFile ?? (waitCode || null),
        reason: `Slurm job ${job.slurmJobId} was cancelled outside openbatch`,
        statusReason: `Slurm job ${job.slurmJobId} was cancelled outside openbatch`,
      };
    default:
      return { ...end, reason: `Slurm job ${job.slurmJobId} ended: ${job.state}`, statusReason: `Slurm job ${job.slurmJobId} ended: ${job.state}` };
  }
}
