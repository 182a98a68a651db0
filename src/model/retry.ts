/**
 * What happens after a failed attempt: retry or stop, by the job's retryStrategy.
 *
 * AWS's rules: evaluateOnExit entries are checked in order; an entry matches when every
 * pattern it gives matches (onStatusReason against the attempt's statusReason, onReason
 * against the container reason, onExitCode against the decimal exit code); patterns match
 * exactly or, ending in `*`, by prefix; the first match decides RETRY or EXIT (any case).
 * When no entry matches the job is retried if attempts remain. Timeouts, cancellations and
 * terminations are never retried.
 */
import type { RetryStrategy } from '@aws-sdk/client-batch';

export interface AttemptOutcome {
  exitCode: number | null;
  /** container-level reason (e.g. "OutOfMemoryError: …", "CannotStartContainerError: …") */
  reason: string | null;
  /** the attempt's statusReason (e.g. "Essential container in task exited", "Host EC2 (…) terminated.") */
  statusReason: string;
  /** the attempt ended by TerminateJob or a timeout: never retried */
  terminatedByUser: boolean;
  timedOut: boolean;
}

export function globMatches(pattern: string, value: string | null): boolean {
  if (value === null) return false;
  if (pattern.endsWith('*')) return value.startsWith(pattern.slice(0, -1));
  return value === pattern;
}

export function shouldRetry(strategy: RetryStrategy | undefined, attemptsMade: number, outcome: AttemptOutcome): boolean {
  if (outcome.terminatedByUser || outcome.timedOut) return false;
  const maxAttempts = strategy?.attempts ?? 1;
  if (attemptsMade >= maxAttempts) return false;
  for (const rule of strategy?.evaluateOnExit ?? []) {
    const checks: boolean[] = [];
    if (rule.onStatusReason !== undefined) checks.push(globMatches(rule.onStatusReason, outcome.statusReason));
    if (rule.onReason !== undefined) checks.push(globMatches(rule.onReason, outcome.reason));
    if (rule.onExitCode !== undefined) checks.push(globMatches(rule.onExitCode, outcome.exitCode === null ? null : String(outcome.exitCode)));
    if (checks.length > 0 && checks.every(Boolean)) return (rule.action ?? '').toUpperCase() === 'RETRY';
  }
  return true;
}
