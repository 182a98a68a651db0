/**
 * CreateConsumableResource, UpdateConsumableResource, DeleteConsumableResource
 * (domain/consumableResources.ts), DescribeConsumableResource, ListConsumableResources,
 * ListJobsByConsumableResource. In-use quantities come only from `inUseQuantities` in
 * store/consumableResources.ts.
 */
import { consumablesOf } from '../../store/jobs.js';
import type {
  ConsumableResourceSummary,
  CreateConsumableResourceRequest,
  DeleteConsumableResourceRequest,
  DescribeConsumableResourceRequest,
  DescribeConsumableResourceResponse,
  KeyValuesPair,
  ListConsumableResourcesRequest,
  ListJobsByConsumableResourceRequest,
  ListJobsByConsumableResourceSummary,
  UpdateConsumableResourceRequest,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { inUseQuantities, listConsumableResources, listJobsRequiring, type ConsumableResourceRow, type NameMatch } from '../../store/consumableResources.js';
import { decodeToken, encodeToken, isNamePosition, isSeqPosition } from '../../store/pagination.js';
import { typed, type Handler } from '../context.js';
import { findConsumableResource } from '../../domain/resolve.js';
import { createConsumableResource, deleteConsumableResource, updateConsumableResource } from '../../domain/consumableResources.js';
import { tagsOf } from '../../store/tags.js';

const DEFAULT_PAGE = 100;

/** The units free now; never below 0 (a SET may lower the total under what jobs hold). */
function available(row: ConsumableResourceRow, inUse: number): number {
  return Math.max(0, row.total_quantity - inUse);
}

const describe = typed<DescribeConsumableResourceRequest>(async (input, _ctx, s) => {
  const row = await findConsumableResource(s.db, input.consumableResource!);
  const inUse = (await inUseQuantities(s.db, [row.name])).get(row.name) ?? 0;
  const out: DescribeConsumableResourceResponse = {
    consumableResourceName: row.name,
    consumableResourceArn: row.arn,
    totalQuantity: row.total_quantity,
    inUseQuantity: inUse,
    availableQuantity: available(row, inUse),
    resourceType: row.resource_type,
    createdAt: row.created_at,
    tags: tagsOf(row.tags),
  };
  return out;
});

/** CONSUMABLE_RESOURCE_NAME filter values: case-insensitive names, or prefixes ending in `*`. */
function nameMatches(filters: KeyValuesPair[] | undefined): NameMatch[] {
  return (filters ?? []).map((f) => {
    const values = f.values ?? [];
    return {
      exact: values.filter((v) => !v.endsWith('*')),
      prefixes: values.filter((v) => v.endsWith('*')).map((v) => v.slice(0, -1)),
    };
  });
}

const list = typed<ListConsumableResourcesRequest>(async (input, _ctx, s) => {
  const limit = input.maxResults ?? DEFAULT_PAGE;
  const after = decodeToken<string>('ListConsumableResources', input.nextToken, isNamePosition);
  const rows = await listConsumableResources(s.db, { after, limit: limit + 1, names: nameMatches(input.filters) });
  const page = rows.slice(0, limit);
  const inUse = await inUseQuantities(s.db, page.map((r) => r.name));
  const summaries: ConsumableResourceSummary[] = page.map((r) => ({
    consumableResourceArn: r.arn,
    consumableResourceName: r.name,
    totalQuantity: r.total_quantity,
    inUseQuantity: inUse.get(r.name) ?? 0,
    resourceType: r.resource_type,
  }));
  return {
    consumableResources: summaries,
    nextToken: rows.length > limit ? encodeToken('ListConsumableResources', page[page.length - 1].name) : undefined,
  };
});

/**
 * The jobs that require the resource, newest first, with JOB_STATUS and JOB_NAME filters.
 * Jobs keep their requirements in a JSON column, so this scans the jobs table: fine for an
 * occasional question, not for a hot path.
 */
const listJobs = typed<ListJobsByConsumableResourceRequest>(async (input, _ctx, s) => {
  const resource = await findConsumableResource(s.db, input.consumableResource!);
  const afterSeq = decodeToken<number>('ListJobsByConsumableResource', input.nextToken, isSeqPosition);
  const limit = input.maxResults ?? 100;
  let statuses: string[] | undefined;
  let names: string[] | undefined;
  for (const f of input.filters ?? []) {
    if (f.name === 'JOB_STATUS') statuses = (f.values ?? []).map((v) => v.toUpperCase());
    else if (f.name === 'JOB_NAME') names = f.values ?? [];
    else throw clientError(`filters: unknown filter name '${f.name}'; use JOB_STATUS or JOB_NAME`);
  }
  const rows = await listJobsRequiring(s.db, resource.name, { statuses, names, afterSeq, limit: limit + 1 });
  const page = rows.slice(0, limit);
  const jobs: ListJobsByConsumableResourceSummary[] = page.map((j) => {
    const held = consumablesOf(j).find((c) => c.name === resource.name);
    return {
      jobArn: j.arn,
      jobQueueArn: j.queue_arn,
      jobName: j.name,
      jobDefinitionArn: j.definition_arn,
      shareIdentifier: j.share_identifier ?? undefined,
      jobStatus: j.status,
      quantity: held?.quantity ?? 0,
      statusReason: j.status_reason ?? undefined,
      startedAt: j.started_at ?? undefined,
      createdAt: j.created_at,
      consumableResourceProperties: {
        consumableResourceList: consumablesOf(j).map((c) => ({ consumableResource: c.name, quantity: c.quantity })),
      },
    };
  });
  return { jobs, nextToken: rows.length > limit ? encodeToken('ListJobsByConsumableResource', page[page.length - 1].seq) : undefined };
});

export const consumableResourceHandlers: Record<string, Handler> = {
  CreateConsumableResource: typed<CreateConsumableResourceRequest>((input, ctx, s) => createConsumableResource(s, ctx.scope, input)),
  UpdateConsumableResource: typed<UpdateConsumableResourceRequest>((input, _ctx, s) => updateConsumableResource(s, input)),
  DeleteConsumableResource: typed<DeleteConsumableResourceRequest>((input, _ctx, s) => deleteConsumableResource(s, input)),
  DescribeConsumableResource: describe,
  ListConsumableResources: list,
  ListJobsByConsumableResource: listJobs,
};
