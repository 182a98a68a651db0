/** RegisterJobDefinition, DeregisterJobDefinition, DescribeJobDefinitions. */
import type { DescribeJobDefinitionsRequest, JobDefinition, RegisterJobDefinitionRequest } from '@aws-sdk/client-batch';
import { checkHostAccess } from '../../compute/hostAccess.js';
import { clientError, unlessNotFound } from '../../model/errors.js';
import { makeArn, parseArn } from '../../model/arn.js';
import { getJobDefinitionByArn, insertJobDefinition, listJobDefinitions, nextRevision, setJobDefinitionStatus, type JobDefinitionRow, definitionSpecOf } from '../../store/jobDefinitions.js';
import { toJson } from '../../store/json.js';
import { decodeToken, encodeToken } from '../../store/pagination.js';
import type { Handler } from '../context.js';
import { findJobDefinition } from '../../domain/resolve.js';
import { tagsOf } from '../../store/tags.js';
import { lookupsChanged } from '../../store/lookupCache.js';

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

const register: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as RegisterJobDefinitionRequest;
  const { jobDefinitionName, type, tags, ...spec } = input;
  const name = jobDefinitionName!;
  // Host paths and privilege are the operator's to grant (compute/hostAccess.ts).
  checkHostAccess(spec, s.config);
  // Revision numbers are taken inside the write transaction so two registrations never share one.
  const out = await s.uow.write(async (tx) => {
    const revision = await nextRevision(tx.db, name);
    const arn = makeArn(ctx.scope, 'job-definition', `${name}:${revision}`);
    await insertJobDefinition(tx.db, {
      arn,
      name,
      revision,
      status: 'ACTIVE',
      type: type!,
      spec: toJson(spec),
      tags: toJson(tags ?? {}),
      created_at: s.clock.now(),
    });
    return { jobDefinitionName: name, jobDefinitionArn: arn, revision };
  });
  // Once more after the commit: a cached lookup read before it holds the previous latest revision.
  lookupsChanged();
  return out;
};

const deregister: Handler = async (raw, _ctx, s) => {
  const ref = String(raw.jobDefinition);
  const nameRev = ref.startsWith('arn:') ? parseArn(ref)?.resource ?? '' : ref;
  if (!/^[A-Za-z0-9_-]+:\d+$/.test(nameRev)) {
    throw clientError(`jobDefinition '${ref}' must name a revision: use name:revision or the full job definition ARN`);
  }
  const row = await findJobDefinition(s.db, ref, 'jobDefinition', false);
  await setJobDefinitionStatus(s.db, row.arn, 'INACTIVE');
  return {};
};

const describe: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as DescribeJobDefinitionsRequest;
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
};

export const jobDefinitionHandlers: Record<string, Handler> = {
  RegisterJobDefinition: register,
  DeregisterJobDefinition: deregister,
  DescribeJobDefinitions: describe,
};
