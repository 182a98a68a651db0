/**
 * Sources of identity and time, injected everywhere so that tests are deterministic.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export interface Clock {
  /** epoch milliseconds */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

export interface IdSource {
  /** a job id or resource uuid (RFC 4122 v4, as AWS Batch job ids are) */
  uuid(): string;
  /** an EC2-style instance id: "i-" and 17 hex digits */
  instanceId(): string;
  /** an opaque secret (agent tokens, attempt fencing tokens) */
  secret(): string;
}

export const randomIds: IdSource = {
  uuid: () => randomUUID(),
  instanceId: () => 'i-' + randomBytes(9).toString('hex').slice(0, 17),
  secret: () => randomBytes(24).toString('base64url'),
};

/** A timer started by `Timers`; `clear` cancels it (a timer that has fired: nothing). */
export interface Timer {
  clear(): void;
}

/**
 * Waiting, injected like the clock: every part of the control plane that waits — the
 * scheduler's tick, the agents' long polls, webhook retries, log retention, the leader lease —
 * does it through this, so that a test can run days of the server's time in milliseconds
 * (test/harness/fakeTime.ts). None of these timers holds the process open: a server is kept
 * alive by its listening socket.
 */
export interface Timers {
  /** runs `fn` once, `ms` from now */
  after(ms: number, fn: () => void): Timer;
  /** runs `fn` every `ms` until cleared */
  every(ms: number, fn: () => void): Timer;
}

export const systemTimers: Timers = {
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref();
    return { clear: () => clearTimeout(t) };
  },
  every(ms, fn) {
    const t = setInterval(fn, ms);
    t.unref();
    return { clear: () => clearInterval(t) };
  },
};
