/** RegisterJobDefinition, DeregisterJobDefinition (domain/jobDefinitions.ts), DescribeJobDefinitions. */
import type { DeregisterJobDefinitionRequest, DescribeJobDefinitionsRequest, JobDefinition, RegisterJobDefinitionRequest } from '@aws-sdk/client-batch';
import { clientError, unlessNotFound } from '../../model/errors.js';
import { getJobDefinitionByArn, listJobDefinitions, type JobDefinitionRow, definitionSpecOf } from '../../store/jobDefinitions.js';
import { decodeToken, encodeToken } from '../../store/pagination.js';
import { typed, type Handler } from '../context.js';
import { findJobDefinition } from '../../domain/resolve.js';
import { deregisterJobDefinition, registerJobDefinition } from '../../domain/jobDefinitions.js';
import { tagsOf } from '../../store/tags.js';

/** DescribeJobDefinitions pages by (name, revision). */
function isNameRevision(p: unknown): p is [string, number] {
  return Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && Number.isSafeInteger(p[1]);
}

export function jobDefinitionDetail(row: JobDefinitionRow): JobDefinition {
  const spec = definitionSpecOf(row);
  return {
    jobDefinitionName: row.name,
    jobDefinitionArn: row.arn,
    revision: row.revision,
    status: row.status,
    type: row.type,
    ...spec,
    tags: tagsOf(row.tags),
    containerOrchestrationType: spec.eksProperties ? 'EKS' : 'ECS',
  } as JobDefinition;
}

const describe = typed<DescribeJobDefinitionsRequest>(async (input, _ctx, s) => {
  const limit = input.maxResults ?? 100;
  const after = decodeToken<[string, number]>('DescribeJobDefinitions', input.nextToken, isNameRevision);
  let arns: string[] | undefined;
  if (input.jobDefinitions) {
    if (input.jobDefinitionName !== undefined || input.status !== undefined) {
      throw clientError('jobDefinitions cannot be combined with jobDefinitionName or status');
    }
    arns = [];
    for (const ref of input.jobDefinitions) {
      const row = await unlessNotFound(findJobDefinition(s.db, ref, 'jobDefinitions', false));
      if (row) arns.push(row.arn);
    }
  }
  let name = input.jobDefinitionName;
  if (name?.startsWith('arn:')) {
    const row = await getJobDefinitionByArn(s.db, name);
    arns = row ? [row.arn] : [];
    name = undefined;
  }
  const rows = await listJobDefinitions(s.db, { arns, name, status: input.status, after, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  return {
    jobDefinitions: page.map(jobDefinitionDetail),
    nextToken: rows.length > limit ? encodeToken('DescribeJobDefinitions', [last.name, last.revision]) : undefined,
  };
});

export const jobDefinitionHandlers: Record<string, Handler> = {
  RegisterJobDefinition: typed<RegisterJobDefinitionRequest>((input, ctx, s) => registerJobDefinition(s, ctx.scope, input)),
  DeregisterJobDefinition: typed<DeregisterJobDefinitionRequest>((input, _ctx, s) => deregisterJobDefinition(s, input)),
  DescribeJobDefinitions: describe,
};
