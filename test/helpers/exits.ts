import type { AttemptExit } from '../../src/executor/types.js';

/**
 * An attempt's exit without what it used (`usage`, whose figures vary from run to run), for
 * tests about exit codes and reasons; test/executor/usage.test.ts and test/e2e/usage.test.ts
 * test the figures.
 */
export function withoutUsage(exit: AttemptExit): Omit<AttemptExit, 'usage'> {
  const { usage: _, ...rest } = exit;
  return rest;
}
