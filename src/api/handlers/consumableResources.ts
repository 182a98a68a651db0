/**
 * CreateConsumableResource, UpdateConsumableResource, DeleteConsumableResource,
 * DescribeConsumableResource, ListConsumableResources, ListJobsByConsumableResource.
 *
 * A consumable resource is a named counted pool (licenses, API tokens) that jobs name in
 * `consumableResourceProperties`. These operations manage the pools; holding units while a
 * job runs is the scheduler's, and in-use quantities come only from `inUseQuantities` in
 * store/consumableResources.ts.
 */
import { consumablesOf } from '../../store/jobs.js';
import type {
  ConsumableResourceSummary,
  CreateConsumableResourceRequest,
  DescribeConsumableResourceResponse,
  KeyValuesPair,
  ListConsumableResourcesRequest,
  ListJobsByConsumableResourceRequest,
  ListJobsByConsumableResourceSummary,
  UpdateConsumableResourceRequest,
  UpdateConsumableResourceResponse,
} from '@aws-sdk/client-batch';
import { clientError } from '../../model/errors.js';
import { makeArn } from '../../model/arn.js';
import {
  deleteConsumableResource,
  getConsumableResource,
  inUseQuantities,
  insertConsumableResource,
  listConsumableResources,
  updateConsumableResource,
  type ConsumableResourceRow,
  type NameMatch,
} from '../../store/consumableResources.js';
import type { Db } from '../../store/db.js';
import { toJson } from '../../store/json.js';
import { decodeToken, encodeToken, isNamePosition, isSeqPosition } from '../../store/pagination.js';
import type { Handler } from '../context.js';
import { findConsumableResource } from '../../domain/resolve.js';
import { tagsOf } from '../../store/tags.js';
import { listJobsRequiring } from '../../store/consumableResources.js';

const DEFAULT_PAGE = 100;

/** The units free now; never below 0 (a SET may lower the total under what jobs hold). */
function available(row: ConsumableResourceRow, inUse: number): number {
  return Math.max(0, row.total_quantity - inUse);
}

const create: Handler = async (raw, ctx, s) => {
  const input = raw as unknown as CreateConsumableResourceRequest;
  const name = input.consumableResourceName!;
  const row: ConsumableResourceRow = {
    name,
    arn: makeArn(ctx.scope, 'consumable-resource', name),
    resource_type: input.resourceType ?? 'REPLENISHABLE',
    total_quantity: input.totalQuantity ?? 0,
    tags: toJson(input.tags ?? {}),
    created_at: s.clock.now(),
  };
  await s.uow.write(async (tx) => {
    if (await getConsumableResource(tx.db, name)) throw clientError(`consumableResourceName '${name}' already exists`);
    await insertConsumableResource(tx.db, row);
  });
  return { consumableResourceName: name, consumableResourceArn: row.arn };
};

/**
 * `clientToken`: an update repeated with the same token and the same payload within 8 hours
 * is answered again without being applied again (model UpdateConsumableResource). The tokens
 * are remembered by this server process, per database, not across a restart.
 */
const TOKEN_LIFETIME_MS = 8 * 60 * 60 * 1000;
const TOKENS_KEPT = 10_000;
interface AppliedUpdate {
  payload: string;
  response: UpdateConsumableResourceResponse;
  expiresAt: number;
}
const appliedUpdates = new WeakMap<Db, Map<string, AppliedUpdate>>();

function tokensOf(db: Db, now: number): Map<string, AppliedUpdate> {
  let tokens = appliedUpdates.get(db);
  if (!tokens) appliedUpdates.set(db, (tokens = new Map()));
  for (const [key, applied] of tokens) if (applied.expiresAt <= now) tokens.delete(key);
  // Insertion order is age order: past the cap, forget the oldest first.
  for (const key of tokens.keys()) {
    if (tokens.size < TOKENS_KEPT) break;
    tokens.delete(key);
  }
  return tokens;
}

function newTotal(row: ConsumableResourceRow, operation: string, quantity: number): number {
  const total =
    operation === 'SET' ? quantity : operation === 'ADD' ? row.total_quantity + quantity : row.total_quantity - quantity;
  if (total < 0) {
    throw clientError(
      `quantity ${quantity} cannot be removed from consumable resource '${row.name}': its totalQuantity is ${row.total_quantity}`,
    );
  }
  if (!Number.isSafeInteger(total)) {
    throw clientError(`totalQuantity of consumable resource '${row.name}' would be ${total}, more than ${Number.MAX_SAFE_INTEGER}`);
  }
  return total;
}

const update: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as UpdateConsumableResourceRequest;
  const response = await s.uow.write(async (tx) => {
    const row = await findConsumableResource(tx.db, input.consumableResource!);
    const now = s.clock.now();
    const tokens = input.clientToken === undefined ? undefined : tokensOf(s.db, now);
    const tokenKey = `${row.name}\u0000${input.clientToken}`;
    const payload = JSON.stringify([input.operation ?? null, input.quantity ?? null]);
    const applied = tokens?.get(tokenKey);
    if (applied) {
      if (applied.payload !== payload) {
        throw clientError(`clientToken '${input.clientToken}' was already used for a different update of consumable resource '${row.name}'`);
      }
      return applied.response;
    }
    let total = row.total_quantity;
    if (input.operation !== undefined && input.quantity !== undefined) {
      total = newTotal(row, input.operation, input.quantity);
      await updateConsumableResource(tx.db, row.name, { total_quantity: total });
    }
    const out: UpdateConsumableResourceResponse = {
      consumableResourceName: row.name,
      consumableResourceArn: row.arn,
      totalQuantity: total,
    };
    tokens?.set(tokenKey, { payload, response: out, expiresAt: now + TOKEN_LIFETIME_MS });
    return out;
  });
  // More units may let waiting jobs start.
  s.kickScheduler();
  return response;
};

const remove: Handler = async (raw, _ctx, s) => {
  const row = await findConsumableResource(s.db, String(raw.consumableResource));
  await deleteConsumableResource(s.db, row.name);
  s.kickScheduler();
  return {};
};

const describe: Handler = async (raw, _ctx, s) => {
  const row = await findConsumableResource(s.db, String(raw.consumableResource));
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
};

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

const list: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as ListConsumableResourcesRequest;
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
};

/**
 * The jobs that require the resource, newest first, with JOB_STATUS and JOB_NAME filters.
 * Jobs keep their requirements in a JSON column, so this scans the jobs table: fine for an
 * occasional question, not for a hot path.
 */
const listJobs: Handler = async (raw, _ctx, s) => {
  const input = raw as unknown as ListJobsByConsumableResourceRequest;
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
};

export const consumableResourceHandlers: Record<string, Handler> = {
  CreateConsumableResource: create,
  UpdateConsumableResource: update,
  DeleteConsumableResource: remove,
  DescribeConsumableResource: describe,
  ListConsumableResources: list,
  ListJobsByConsumableResource: listJobs,
};
