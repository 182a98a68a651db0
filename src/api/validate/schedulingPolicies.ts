/**
 * Semantic rules of the scheduling policy operations, and the share identifier rule that
 * submissions share.
 *
 * A fair-share policy weighs share identifiers against each other; an entry ending in `*`
 * sets the weight of every identifier with that prefix, so entries must not overlap.
 * Quota-share policies belong with quota shares, which openbatch does not implement.
 */
import type {
  CreateSchedulingPolicyCommandInput,
  DeleteSchedulingPolicyCommandInput,
  DescribeSchedulingPoliciesCommandInput,
  FairsharePolicy,
  ListSchedulingPoliciesCommandInput,
  UpdateSchedulingPolicyCommandInput,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { validatePage } from './pagination.js';
import {
  arn,
  forbidMember,
  intRange,
  listLength,
  matches,
  numberRange,
  present,
  resourceName,
  tagMap,
  unique,
  type Maybe,
} from './rules.js';

/** Up to 255 letters and digits, optionally followed by `*` (a prefix). */
const SHARE_IDENTIFIER = /^[A-Za-z0-9]{1,255}\*?$/;

const SHARE_DECAY_SECONDS = { min: 0, max: 604800 };
const COMPUTE_RESERVATION = { min: 0, max: 99 };
const WEIGHT_FACTOR = { min: 0.0001, max: 999.9999 };
const MAX_SHARES = 500;

/** A share identifier: up to 255 letters and digits, optionally ending in `*`. */
export function checkShareIdentifier(path: string, value: Maybe<string>): void {
  matches(path, value, SHARE_IDENTIFIER, "use 1-255 letters and digits, optionally followed by '*'");
}

/** A prefix entry `P*` overlaps every other entry that starts with P. */
function noOverlap(path: string, ids: readonly string[]): void {
  ids.forEach((id, i) => {
    if (!id.endsWith('*')) return;
    const prefix = id.slice(0, -1);
    const j = ids.findIndex((other, k) => k !== i && other.startsWith(prefix));
    if (j >= 0)
      throw clientError(
        `${path}[${j}].shareIdentifier '${ids[j]}' overlaps '${id}' (${path}[${i}]): share identifiers in a policy must not overlap`,
      );
  });
}

function fairsharePolicy(path: string, policy: Maybe<FairsharePolicy>): void {
  if (!present(policy)) return;
  intRange(`${path}.shareDecaySeconds`, policy.shareDecaySeconds, SHARE_DECAY_SECONDS);
  intRange(`${path}.computeReservation`, policy.computeReservation, COMPUTE_RESERVATION);
  const shares = policy.shareDistribution;
  const sharesPath = `${path}.shareDistribution`;
  listLength(sharesPath, shares, { max: MAX_SHARES });
  shares?.forEach((share, i) => {
    checkShareIdentifier(`${sharesPath}[${i}].shareIdentifier`, share.shareIdentifier);
    numberRange(`${sharesPath}[${i}].weightFactor`, share.weightFactor, WEIGHT_FACTOR);
  });
  unique(sharesPath, shares, (s) => s.shareIdentifier, 'shareIdentifier');
  noOverlap(sharesPath, (shares ?? []).map((s) => s.shareIdentifier ?? ''));
}

function noQuotaShare(value: unknown): void {
  forbidMember('quotaSharePolicy', value, 'is not supported by openbatch (quota shares are not implemented): use fairsharePolicy');
}

/** CreateSchedulingPolicy: name, fair-share bounds, non-overlapping share identifiers. */
export function validateCreateSchedulingPolicy(input: CreateSchedulingPolicyCommandInput): void {
  resourceName('name', input.name);
  noQuotaShare(input.quotaSharePolicy);
  fairsharePolicy('fairsharePolicy', input.fairsharePolicy);
  tagMap('tags', input.tags);
}

/** UpdateSchedulingPolicy: the policy's ARN and the fair-share rules of CreateSchedulingPolicy. */
export function validateUpdateSchedulingPolicy(input: UpdateSchedulingPolicyCommandInput): void {
  arn('arn', input.arn);
  noQuotaShare(input.quotaSharePolicy);
  fairsharePolicy('fairsharePolicy', input.fairsharePolicy);
}

/** DeleteSchedulingPolicy: the policy's ARN. */
export function validateDeleteSchedulingPolicy(input: DeleteSchedulingPolicyCommandInput): void {
  arn('arn', input.arn);
}

/** DescribeSchedulingPolicies: 1-100 ARNs. */
export function validateDescribeSchedulingPolicies(input: DescribeSchedulingPoliciesCommandInput): void {
  listLength('arns', input.arns, { min: 1, max: 100 });
  input.arns?.forEach((a, i) => arn(`arns[${i}]`, a));
}

/** ListSchedulingPolicies: page size 1-100. */
export function validateListSchedulingPolicies(input: ListSchedulingPoliciesCommandInput): void {
  validatePage(input);
}
