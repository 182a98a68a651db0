/**
 * What happens after a failed attempt: retry or stop, by the job's retryStrategy.
 *
 * AWS's rules: evaluateOnExit entries are checked in order; an entry matches when every
 * pattern it gives matches (onStatusReason against the attempt's statusReason, onReason
 * against the container reason, onExitCode against the decimal exit code); patterns match
 * exactly or, ending in `*`, by prefix; the first match decides RETRY or EXIT (any case).
 * When no entry matches the job is retried if attempts remain. Timeouts, cancellations and
 * terminations are never retried.
 *
 * A value the attempt does not have (no container reason after a plain non-zero exit, no
 * exit code after a host was lost) is matched as the empty string: `*` matches it, and any
 * other pattern does not. AWS's guide writes "retry only host failures" as
 * `[{RETRY, onStatusReason: "Host EC2*"}, {EXIT, onReason: "*"}]`, and Nextflow submits
 * exactly that for every task: were `*` to need a reason, every failing task would be
 * retried until its attempts ran out.
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

/** An evaluateOnExit pattern against a value; an absent value is the empty string. */
export function globMatches(pattern: string, value: string | null): boolean {
  const v = value ?? '';
  if (pattern.endsWith('*')) return v.startsWith(pattern.slice(0, -1));
  return v === pattern;
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
