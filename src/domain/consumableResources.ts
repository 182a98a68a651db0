/**
 * CreateConsumableResource, UpdateConsumableResource and DeleteConsumableResource with the AWS
 * SDK's own request and response types. A consumable resource is a named counted pool
 * (licenses, API tokens) that jobs name in `consumableResourceProperties`; holding units while
 * a job runs is the scheduler's.
 */
import type {
  CreateConsumableResourceRequest,
  CreateConsumableResourceResponse,
  DeleteConsumableResourceRequest,
  DeleteConsumableResourceResponse,
  UpdateConsumableResourceRequest,
  UpdateConsumableResourceResponse,
} from '@aws-sdk/client-batch';
import type { Core } from '../core.js';
import { makeArn, type ArnScope } from '../model/arn.js';
import { Conflict, Invalid } from '../model/errors.js';
import {
  deleteConsumableResource as deleteInStore,
  getConsumableResource,
  insertConsumableResource,
  updateConsumableResource as updateInStore,
  type ConsumableResourceRow,
  type NewConsumableResource,
} from '../store/consumableResources.js';
import type { Db } from '../store/db.js';
import { findConsumableResource } from './resolve.js';

export async function createConsumableResource(s: Core, scope: ArnScope, input: CreateConsumableResourceRequest): Promise<CreateConsumableResourceResponse> {
  const name = input.consumableResourceName!;
  const row: NewConsumableResource = {
    name,
    arn: makeArn(scope, 'consumable-resource', name),
    resource_type: input.resourceType ?? 'REPLENISHABLE',
    total_quantity: input.totalQuantity ?? 0,
    tags: input.tags ?? {},
    created_at: s.clock.now(),
  };
  await s.uow.write(async (tx) => {
    if (await getConsumableResource(tx.db, name)) throw new Conflict(`consumableResourceName '${name}' already exists`);
    await insertConsumableResource(tx.db, row);
  });
  return { consumableResourceName: name, consumableResourceArn: row.arn };
}

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
    throw new Invalid(
      `quantity ${quantity} cannot be removed from consumable resource '${row.name}': its totalQuantity is ${row.total_quantity}`,
    );
  }
  if (!Number.isSafeInteger(total)) {
    throw new Invalid(`totalQuantity of consumable resource '${row.name}' would be ${total}, more than ${Number.MAX_SAFE_INTEGER}`);
  }
  return total;
}

export async function updateConsumableResource(s: Core, input: UpdateConsumableResourceRequest): Promise<UpdateConsumableResourceResponse> {
  const response = await s.uow.write(async (tx) => {
    const row = await findConsumableResource(tx.db, input.consumableResource!);
    const now = s.clock.now();
    const tokens = input.clientToken === undefined ? undefined : tokensOf(s.db, now);
    const tokenKey = `${row.name}\u0000${input.clientToken}`;
    const payload = JSON.stringify([input.operation ?? null, input.quantity ?? null]);
    const applied = tokens?.get(tokenKey);
    if (applied) {
      if (applied.payload !== payload) {
        throw new Conflict(`clientToken '${input.clientToken}' was already used for a different update of consumable resource '${row.name}'`);
      }
      return applied.response;
    }
    let total = row.total_quantity;
    if (input.operation !== undefined && input.quantity !== undefined) {
      total = newTotal(row, input.operation, input.quantity);
      await updateInStore(tx.db, row.name, { total_quantity: total });
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
}

export async function deleteConsumableResource(s: Core, input: DeleteConsumableResourceRequest): Promise<DeleteConsumableResourceResponse> {
  const row = await findConsumableResource(s.db, input.consumableResource!);
  await deleteInStore(s.db, row.name);
  s.kickScheduler();
  return {};
}
