import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RetryStrategy } from '@aws-sdk/client-batch';
import { globMatches, shouldRetry, type AttemptOutcome } from '../../src/model/retry.js';

const EXITED = 'Essential container in task exited';
const HOST_LOST = 'Host EC2 (instance i-0abc) terminated.';

function outcome(o: Partial<AttemptOutcome>): AttemptOutcome {
  return { exitCode: 1, reason: null, statusReason: EXITED, terminatedByUser: false, timedOut: false, ...o };
}

describe('retry: evaluateOnExit patterns', () => {
  const cases: { pattern: string; value: string | null; matches: boolean }[] = [
    { pattern: '*', value: null, matches: true },
    { pattern: '*', value: '', matches: true },
    { pattern: '*', value: 'OutOfMemoryError: Container killed due to memory usage', matches: true },
    { pattern: 'Host EC2*', value: HOST_LOST, matches: true },
    { pattern: 'Host EC2*', value: null, matches: false },
    { pattern: 'Host EC2*', value: EXITED, matches: false },
    { pattern: 'OutOfMemoryError*', value: null, matches: false },
    { pattern: '137', value: '137', matches: true },
    { pattern: '137', value: '1370', matches: false },
    { pattern: '1*', value: '137', matches: true },
    { pattern: '1*', value: null, matches: false },
    { pattern: EXITED, value: EXITED, matches: true },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.pattern)} against ${JSON.stringify(c.value)}: ${c.matches ? 'matches' : 'does not match'}`, () => {
      assert.equal(globMatches(c.pattern, c.value), c.matches);
    });
  }
});

describe('retry: shouldRetry', () => {
  // AWS's guide and Nextflow (every task, with aws.batch.maxSpotAttempts): retry only host failures.
  const onlyHostFailures: RetryStrategy = {
    attempts: 5,
    evaluateOnExit: [
      { action: 'RETRY', onStatusReason: 'Host EC2*' },
      { action: 'EXIT', onReason: '*' },
    ],
  };

  test('retry-only-host-failures: a plain non-zero exit (no container reason) is not retried', () => {
    assert.equal(shouldRetry(onlyHostFailures, 1, outcome({ exitCode: 3 })), false);
  });

  test('retry-only-host-failures: an out-of-memory kill (a container reason) is not retried', () => {
    assert.equal(shouldRetry(onlyHostFailures, 1, outcome({ exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' })), false);
  });

  test('retry-only-host-failures: a lost host is retried while attempts remain', () => {
    assert.equal(shouldRetry(onlyHostFailures, 1, outcome({ exitCode: null, statusReason: HOST_LOST })), true);
    assert.equal(shouldRetry(onlyHostFailures, 5, outcome({ exitCode: null, statusReason: HOST_LOST })), false);
  });

  test('onExitCode "*" matches an attempt without an exit code', () => {
    const s: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'EXIT', onExitCode: '*' }] };
    assert.equal(shouldRetry(s, 1, outcome({ exitCode: null, statusReason: HOST_LOST })), false);
  });

  test('a rule whose exact pattern meets an absent value does not match: the next rule (or the default retry) decides', () => {
    const s: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'EXIT', onReason: 'CannotPullContainerError*' }] };
    assert.equal(shouldRetry(s, 1, outcome({})), true);
  });

  test('every pattern of a rule must match', () => {
    const s: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'EXIT', onExitCode: '137', onReason: '*' }] };
    assert.equal(shouldRetry(s, 1, outcome({ exitCode: 137 })), false);
    assert.equal(shouldRetry(s, 1, outcome({ exitCode: 1 })), true);
  });

  test('the action is read in any case', () => {
    const s: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'exit' as 'EXIT', onReason: '*' }] };
    assert.equal(shouldRetry(s, 1, outcome({})), false);
    const r: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'Retry' as 'RETRY', onReason: '*' }, { action: 'EXIT', onExitCode: '*' }] };
    assert.equal(shouldRetry(r, 1, outcome({})), true);
  });

  test('timeouts and terminations are never retried', () => {
    const s: RetryStrategy = { attempts: 3, evaluateOnExit: [{ action: 'RETRY', onReason: '*' }] };
    assert.equal(shouldRetry(s, 1, outcome({ timedOut: true })), false);
    assert.equal(shouldRetry(s, 1, outcome({ terminatedByUser: true })), false);
  });
});
