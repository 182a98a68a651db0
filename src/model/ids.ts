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
