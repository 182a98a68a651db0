/** CreateComputeEnvironment, UpdateComputeEnvironment, DeleteComputeEnvironment, DescribeComputeEnvironments. */
import type {
  ComputeEnvironmentDetail,
  ComputeResource,
  CreateComputeEnvironmentRequest,
  DescribeComputeEnvironmentsRequest,
  UpdateComputeEnvironmentRequest,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { ecsArns, makeArn } from '../../model/arn.js';
import { deleteComputeEnvironment, getComputeEnvironment, insertComputeEnvironment, listComputeEnvironments, updateComputeEnvironment, type ComputeEnvironmentRow, computeResourcesOf, ceExtraOf } from '../../store/computeEnvironments.js';
import { allJobQueues, ceOrderOf } from '../../store/jobQueues.js';
import { toJson } from '../../store/json.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import { checkUpdatedComputeResources, isFargate } from '../validate/computeEnvironments.js';
import type { Handler } from '../context.js';
import { launchTemplatesOf, resolveLaunchTemplate } from '../../compute/launchTemplates.js';
import { findComputeEnvironment, localName } from '../../domain/resolve.js';
import { tagsOf } from '../../store/tags.js';

export function computeEnvironmentDetail(row: ComputeEnvironmentRow): ComputeEnvironmentDetail {
  const extra = ceExtraOf(row);
  const cr = computeResourcesOf(row);
  const computeResources = cr ? { ...cr, desiredvCpus: row.desired_vcpus } : undefined;
  const arn = row.arn;
  const region = arn.split(':')[3];
  const account = arn.split(':')[4];
  return {
    computeEnvironmentName: row.name,
    computeEnvironmentArn: arn,
    ecsClusterArn: ecsArns.cluster({ region, account }, row.name, row.uuid),
    tags: tagsOf(row.tags),
    type: row.type as ComputeEnvironmentDetail['type'],
    state: row.state as ComputeEnvironmentDetail['state'],
    status: row.status as ComputeEnvironmentDetail['status'],
    statusReason: row.status_reason ?? undefined,
    computeResources: computeResources as ComputeEnvironmentDetail['computeResources'],
    serviceRole: row.service_role ?? undefined,
    unmanagedvCpus: extra.unmanagedvCpus,
    updatePolicy: extra.updatePolicy as ComputeEnvironmentDetail['updatePolicy'],
    eksConfiguration: extra.eksConfiguration as ComputeEnvironmentDetail['eksConfiguration'],
    containerOrchestrationType: extra.eksConfiguration ? 'EKS' : 'ECS',
    uuid: row.uuid,
    context: extra.context,
  };
}

const create: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as CreateComputeEnvironmentRequest;
  const name = input.computeEnvironmentName!;
  if (await getComputeEnvironment(s.db, name)) {
    throw clientError(`computeEnvironmentName '${name}' already exists`);
  }
  const now = s.clock.now();
  const cr = input.computeResources;
  if (cr?.launchTemplate) resolveLaunchTemplate(launchTemplatesOf(s.config), cr.launchTemplate);
  const row: ComputeEnvironmentRow = {
    name,
    arn: makeArn(ctx.scope, 'compute-environment', name),
    uuid: s.ids.uuid(),
    type: input.type!,
    state: input.state ?? 'ENABLED',
    status: 'VALID',
    status_reason: 'ComputeEnvironment Healthy',
    compute_resources: cr ? toJson(cr) : null,
    service_role: input.serviceRole ?? null,
    extra: toJson({
      unmanagedvCpus: input.unmanagedvCpus,
      eksConfiguration: input.eksConfiguration,
      context: input.context,
    }),
    tags: toJson(input.tags ?? {}),
    desired_vcpus: cr ? (cr.desiredvCpus ?? cr.minvCpus ?? 0) : 0,
    created_at: now,
    updated_at: now,
  };
  await insertComputeEnvironment(s.db, row);
  s.kickScheduler();
  return { computeEnvironmentName: name, computeEnvironmentArn: row.arn };
};

const update: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as UpdateComputeEnvironmentRequest;
  const row = await findComputeEnvironment(s.db, input.computeEnvironment!);
  const patch: Partial<ComputeEnvironmentRow> = { updated_at: s.clock.now() };
  if (input.state) patch.state = input.state;
  if (input.serviceRole !== undefined) patch.service_role = input.serviceRole;
  const extra = ceExtraOf(row);
  if (input.unmanagedvCpus !== undefined) {
    if (row.type !== 'UNMANAGED') throw clientError('unmanagedvCpus applies only to UNMANAGED compute environments');
    extra.unmanagedvCpus = input.unmanagedvCpus;
  }
  if (input.updatePolicy !== undefined) extra.updatePolicy = input.updatePolicy;
  if (input.context !== undefined) extra.context = input.context;
  patch.extra = toJson(extra);
  if (input.computeResources) {
    if (row.type !== 'MANAGED') throw clientError('computeResources can be updated only on MANAGED compute environments');
    const current = (computeResourcesOf(row) ?? ({} as ComputeResource));
    const update = input.computeResources;
    const merged = { ...current, ...update } as ComputeResource;
    if (update.type && isFargate(update.type) !== isFargate(current.type ?? 'EC2')) {
      throw clientError(
        `computeResources.type cannot change from ${current.type ?? 'EC2'} to ${update.type}: Fargate and EC2/SPOT capacity differ in kind; create a new compute environment`,
      );
    }
    const min = merged.minvCpus ?? 0;
    const max = merged.maxvCpus ?? 0;
    if (min > max) throw clientError(`computeResources.minvCpus (${min}) must not exceed maxvCpus (${max})`);
    if (update.desiredvCpus !== undefined) {
      if (update.desiredvCpus < row.desired_vcpus) {
        throw clientError(
          `computeResources.desiredvCpus: manually scaling down a compute environment is not supported (current ${row.desired_vcpus}, asked ${update.desiredvCpus}); lower maxvCpus instead`,
        );
      }
      if (update.desiredvCpus > max) throw clientError(`computeResources.desiredvCpus (${update.desiredvCpus}) must not exceed maxvCpus (${max})`);
      patch.desired_vcpus = update.desiredvCpus;
    }
    delete (merged as { desiredvCpus?: number }).desiredvCpus;
    checkUpdatedComputeResources(merged);
    if (update.launchTemplate) resolveLaunchTemplate(launchTemplatesOf(s.config), update.launchTemplate);
    patch.compute_resources = toJson(merged);
  }
  await updateComputeEnvironment(s.db, row.name, patch);
  s.kickScheduler();
  return { computeEnvironmentName: row.name, computeEnvironmentArn: row.arn };
};

const remove: Handler = async (raw, _ctx, s) => {
  const row = await findComputeEnvironment(s.db, String(raw.computeEnvironment));
  if (row.state !== 'DISABLED') {
    throw clientError(`computeEnvironment '${row.name}' must be DISABLED before it can be deleted (UpdateComputeEnvironment state=DISABLED)`);
  }
  const users = (await allJobQueues(s.db)).filter((q) =>
    ceOrderOf(q).some((o) => o.computeEnvironment === row.name),
  );
  if (users.length) {
    throw clientError(
      `computeEnvironment '${row.name}' is used by job queue(s) ${users.map((q) => `'${q.name}'`).join(', ')}; remove it from their computeEnvironmentOrder first`,
    );
  }
  await deleteComputeEnvironment(s.db, row.name);
  s.kickScheduler();
  return {};
};

const describe: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as DescribeComputeEnvironmentsRequest;
  const limit = input.maxResults ?? 100;
  const after = decodeToken<string>('DescribeComputeEnvironments', input.nextToken, isNamePosition);
  let names: string[] | undefined;
  if (input.computeEnvironments) {
    names = input.computeEnvironments.flatMap((x) => localName(x, 'compute-environment', ctx.scope.account) ?? []);
  }
  const rows = await listComputeEnvironments(s.db, { names, after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  return {
    computeEnvironments: page.map(computeEnvironmentDetail),
    nextToken: rows.length > limit ? encodeToken('DescribeComputeEnvironments', page[page.length - 1].name) : undefined,
  };
};

export const computeEnvironmentHandlers: Record<string, Handler> = {
  CreateComputeEnvironment: create,
  UpdateComputeEnvironment: update,
  DeleteComputeEnvironment: remove,
  DescribeComputeEnvironments: describe,
};
