/**
 * The compute environment operations — CreateComputeEnvironment, UpdateComputeEnvironment,
 * DeleteComputeEnvironment — with the AWS SDK's own request and response types, each
 * resolve → decide → apply. The request's shape was checked before
 * (api/validate/computeEnvironments.ts); the AWS wire format is api/'s.
 */
import type {
  ComputeResource,
  CreateComputeEnvironmentRequest,
  CreateComputeEnvironmentResponse,
  DeleteComputeEnvironmentRequest,
  DeleteComputeEnvironmentResponse,
  UpdateComputeEnvironmentRequest,
  UpdateComputeEnvironmentResponse,
} from '@aws-sdk/client-batch';
import { launchTemplatesOf, resolveLaunchTemplate } from '../compute/launchTemplates.js';
import type { Core } from '../core.js';
import { makeArn, type ArnScope } from '../model/arn.js';
import { Conflict, Invalid } from '../model/errors.js';
import { REASONS } from '../model/reasons.js';
import {
  ceExtraOf,
  computeResourcesOf,
  deleteComputeEnvironment as deleteInStore,
  getComputeEnvironment,
  insertComputeEnvironment,
  updateComputeEnvironment as updateInStore,
  type NewComputeEnvironment,
} from '../store/computeEnvironments.js';
import { allJobQueues, ceOrderOf } from '../store/jobQueues.js';
import { findComputeEnvironment } from './resolve.js';
import { isFargate } from '../model/fargateSizes.js';

/** A compute environment or job queue is deleted only once DISABLED, as AWS asks: Conflict otherwise. */
export function disabledFirst(member: string, row: { name: string; state: string }, update: string): void {
  if (row.state !== 'DISABLED') throw new Conflict(`${member} '${row.name}' must be DISABLED before it can be deleted (${update} state=DISABLED)`);
}

export async function createComputeEnvironment(s: Core, scope: ArnScope, input: CreateComputeEnvironmentRequest): Promise<CreateComputeEnvironmentResponse> {
  const name = input.computeEnvironmentName!;
  if (await getComputeEnvironment(s.db, name)) throw new Conflict(`computeEnvironmentName '${name}' already exists`);
  const now = s.clock.now();
  const cr = input.computeResources;
  if (cr?.launchTemplate) resolveLaunchTemplate(launchTemplatesOf(s.config), cr.launchTemplate);
  const row: NewComputeEnvironment = {
    name,
    arn: makeArn(scope, 'compute-environment', name),
    uuid: s.ids.uuid(),
    type: input.type!,
    state: input.state ?? 'ENABLED',
    status: 'VALID',
    status_reason: REASONS.healthy,
    compute_resources: cr ?? null,
    service_role: input.serviceRole ?? null,
    extra: { unmanagedvCpus: input.unmanagedvCpus, eksConfiguration: input.eksConfiguration, context: input.context },
    tags: input.tags ?? {},
    desired_vcpus: cr ? (cr.desiredvCpus ?? cr.minvCpus ?? 0) : 0,
    created_at: now,
    updated_at: now,
  };
  await insertComputeEnvironment(s.db, row);
  s.kickScheduler();
  return { computeEnvironmentName: name, computeEnvironmentArn: row.arn };
}

/**
 * The computeResources rules of a request's shape (api/validate/computeEnvironments.ts), which
 * UpdateComputeEnvironment checks again on the merged result. Passed in: the domain does not
 * import api/, which sits above it.
 */
export type ComputeResourcesCheck = (merged: ComputeResource) => void;

/** Fargate capacity (FARGATE, FARGATE_SPOT) rather than instances (EC2, SPOT; the default). */

export async function updateComputeEnvironment(
  s: Core,
  input: UpdateComputeEnvironmentRequest,
  checkComputeResources: ComputeResourcesCheck,
): Promise<UpdateComputeEnvironmentResponse> {
  const row = await findComputeEnvironment(s.db, input.computeEnvironment!);
  const patch: Partial<NewComputeEnvironment> = { updated_at: s.clock.now() };
  if (input.state) patch.state = input.state;
  if (input.serviceRole !== undefined) patch.service_role = input.serviceRole;
  const extra = ceExtraOf(row);
  if (input.unmanagedvCpus !== undefined) {
    if (row.type !== 'UNMANAGED') throw new Invalid('unmanagedvCpus applies only to UNMANAGED compute environments');
    extra.unmanagedvCpus = input.unmanagedvCpus;
  }
  if (input.updatePolicy !== undefined) extra.updatePolicy = input.updatePolicy;
  if (input.context !== undefined) extra.context = input.context;
  patch.extra = extra;
  if (input.computeResources) {
    if (row.type !== 'MANAGED') throw new Invalid('computeResources can be updated only on MANAGED compute environments');
    const current = computeResourcesOf(row) ?? ({} as ComputeResource);
    const update = input.computeResources;
    const merged = { ...current, ...update } as ComputeResource;
    if (update.type && isFargate(update.type) !== isFargate(current.type)) {
      throw new Invalid(
        `computeResources.type cannot change from ${current.type ?? 'EC2'} to ${update.type}: Fargate and EC2/SPOT capacity differ in kind; create a new compute environment`,
      );
    }
    const min = merged.minvCpus ?? 0;
    const max = merged.maxvCpus ?? 0;
    if (min > max) throw new Invalid(`computeResources.minvCpus (${min}) must not exceed maxvCpus (${max})`);
    if (update.desiredvCpus !== undefined) {
      if (update.desiredvCpus < row.desired_vcpus) {
        throw new Invalid(
          `computeResources.desiredvCpus: manually scaling down a compute environment is not supported (current ${row.desired_vcpus}, asked ${update.desiredvCpus}); lower maxvCpus instead`,
        );
      }
      if (update.desiredvCpus > max) throw new Invalid(`computeResources.desiredvCpus (${update.desiredvCpus}) must not exceed maxvCpus (${max})`);
      patch.desired_vcpus = update.desiredvCpus;
    }
    delete merged.desiredvCpus;
    checkComputeResources(merged);
    if (update.launchTemplate) resolveLaunchTemplate(launchTemplatesOf(s.config), update.launchTemplate);
    patch.compute_resources = merged;
  }
  await updateInStore(s.db, row.name, patch);
  s.kickScheduler();
  return { computeEnvironmentName: row.name, computeEnvironmentArn: row.arn };
}

export async function deleteComputeEnvironment(s: Core, input: DeleteComputeEnvironmentRequest): Promise<DeleteComputeEnvironmentResponse> {
  const row = await findComputeEnvironment(s.db, input.computeEnvironment!);
  disabledFirst('computeEnvironment', row, 'UpdateComputeEnvironment');
  const users = (await allJobQueues(s.db)).filter((q) => ceOrderOf(q).some((o) => o.computeEnvironment === row.name));
  if (users.length) {
    throw new Conflict(
      `computeEnvironment '${row.name}' is used by job queue(s) ${users.map((q) => `'${q.name}'`).join(', ')}; remove it from their computeEnvironmentOrder first`,
    );
  }
  await deleteInStore(s.db, row.name);
  s.kickScheduler();
  return {};
}
