/** CreateComputeEnvironment, UpdateComputeEnvironment, DeleteComputeEnvironment (domain/computeEnvironments.ts), DescribeComputeEnvironments. */
import type {
  ComputeEnvironmentDetail,
  CreateComputeEnvironmentRequest,
  DeleteComputeEnvironmentRequest,
  DescribeComputeEnvironmentsRequest,
  UpdateComputeEnvironmentRequest,
} from '@aws-sdk/client-batch';
import { ecsArns, scopeOfArn } from '../../model/arn.js';
import { listComputeEnvironments, type ComputeEnvironmentRow, computeResourcesOf, ceExtraOf } from '../../store/computeEnvironments.js';
import { decodeToken, encodeToken, isNamePosition } from '../../store/pagination.js';
import { typed, type Handler } from '../context.js';
import { checkUpdatedComputeResources } from '../validate/computeEnvironments.js';
import { localName } from '../../domain/resolve.js';
import { createComputeEnvironment, deleteComputeEnvironment, updateComputeEnvironment } from '../../domain/computeEnvironments.js';
import { tagsOf } from '../../store/tags.js';

export function computeEnvironmentDetail(row: ComputeEnvironmentRow): ComputeEnvironmentDetail {
  const extra = ceExtraOf(row);
  const cr = computeResourcesOf(row);
  const computeResources = cr ? { ...cr, desiredvCpus: row.desired_vcpus } : undefined;
  const arn = row.arn;
  return {
    computeEnvironmentName: row.name,
    computeEnvironmentArn: arn,
    ecsClusterArn: ecsArns.cluster(scopeOfArn(arn), row.name, row.uuid),
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

const describe = typed<DescribeComputeEnvironmentsRequest>(async (input, ctx, s) => {
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
});

export const computeEnvironmentHandlers: Record<string, Handler> = {
  CreateComputeEnvironment: typed<CreateComputeEnvironmentRequest>((input, ctx, s) => createComputeEnvironment(s, ctx.scope, input)),
  UpdateComputeEnvironment: typed<UpdateComputeEnvironmentRequest>((input, _ctx, s) => updateComputeEnvironment(s, input, checkUpdatedComputeResources)),
  DeleteComputeEnvironment: typed<DeleteComputeEnvironmentRequest>((input, _ctx, s) => deleteComputeEnvironment(s, input)),
  DescribeComputeEnvironments: describe,
};
