/** Queries of the instances table: the capacity that compute environments have launched or that agents brought. */
import type { Updateable } from 'kysely';
import type { Db } from './db.js';
import { encodeColumns, fromJson, type WithValues } from './json.js';
import type { InstanceTable } from './schema.js';
import type { Tx } from './unitOfWork.js';
import { activeAttemptsOn } from './jobs.js';
import { failLostAttempts } from './attemptReports.js';
import { REASONS } from '../model/reasons.js';

export type InstanceRow = InstanceTable;

/**
 * What an instance's provider keeps about it (the `provider_data` column: a local agent's pid,
 * a joined agent's address, a Slurm partition, why it is held…), each provider its own shape.
 */
export function providerDataOf<T extends object>(inst: Pick<InstanceRow, 'provider_data'>): Partial<T> {
  return fromJson<Partial<T>>(inst.provider_data, {});
}

/** The launch template applied to an instance, if any, as the local provider recorded it. */
export function launchTemplateOf<T>(inst: Pick<InstanceRow, 'launch_template'>): T | null {
  return fromJson<T | null>(inst.launch_template, null);
}
type Reader = Tx['db'] | Db;

/** Instance states that hold capacity the scheduler may place on. */
export const LIVE_INSTANCE_STATES = ['LAUNCHING', 'ACTIVE'] as const;

export async function getInstance(db: Reader, id: string): Promise<InstanceRow | undefined> {
  return db.selectFrom('instances').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Every instance not yet TERMINATED (PENDING and IMPAIRED ones hold host budget but take no work). */
export async function liveInstances(db: Reader): Promise<InstanceRow[]> {
  return db.selectFrom('instances').selectAll().where('state', 'in', ['PENDING', ...LIVE_INSTANCE_STATES, 'IMPAIRED', 'TERMINATING']).orderBy('launched_at').execute();
}

/** Instances newest first: those in `states`, else every one (includeTerminated) or every one not yet TERMINATED. */
export async function listInstances(db: Reader, opts: { ceName?: string; states?: string[]; includeTerminated?: boolean; limit: number }): Promise<InstanceRow[]> {
  let q = db.selectFrom('instances').selectAll().orderBy('launched_at', 'desc').orderBy('id').limit(opts.limit);
  if (opts.ceName !== undefined) q = q.where('ce_name', '=', opts.ceName);
  if (opts.states?.length) q = q.where('state', 'in', opts.states);
  else if (!opts.includeTerminated) q = q.where('state', '!=', 'TERMINATED');
  return q.execute();
}

/**
 * A new instance as it is written: its provider's data and the launch template applied as
 * values; the launch template and the Spot notice default to none.
 */
export type NewInstance = WithValues<
  Omit<InstanceRow, 'launch_template' | 'interrupt_at' | 'ready_at' | 'status_reason'> & Partial<Pick<InstanceRow, 'interrupt_at' | 'ready_at' | 'status_reason'>>,
  { provider_data: object; launch_template?: object | null }
>;

/** A change of an instance's columns; its provider's data as a value (the whole of it). */
export type InstancePatch = WithValues<Updateable<InstanceTable>, { provider_data?: object }>;

const JSON_COLUMNS = ['provider_data', 'launch_template'] as const;

/** Records a new instance (one recorded ACTIVE is ready at its launch); answers the row as stored. */
export async function insertInstance(db: Reader, row: NewInstance): Promise<InstanceRow> {
  const defaults = { launch_template: null, interrupt_at: null, status_reason: null, ready_at: row.state === 'ACTIVE' ? row.launched_at : null };
  const stored = { ...defaults, ...encodeColumns<Partial<InstanceRow>>(row, JSON_COLUMNS) } as InstanceRow;
  await db.insertInto('instances').values(stored).execute();
  return stored;
}

/** Merges `patch` into an instance's provider data; answers the instance as it is now (undefined: none). */
export async function patchProviderData<T extends object>(db: Reader, id: string, patch: Partial<T>): Promise<InstanceRow | undefined> {
  const inst = await getInstance(db, id);
  if (!inst) return undefined;
  const updated = { ...inst, provider_data: JSON.stringify({ ...providerDataOf<T>(inst), ...patch }) };
  await db.updateTable('instances').set({ provider_data: updated.provider_data }).where('id', '=', id).execute();
  return updated;
}

/**
 * What its agent says about an instance that can (`reason` null) or cannot run jobs: an
 * ACTIVE (or LAUNCHING) one becomes IMPAIRED with the reason, an IMPAIRED one ACTIVE again.
 * An UNMANAGED compute environment's statusReason says so while any of its instances is
 * impaired (a VALID one's); a MANAGED one's is the scaling plan's to write, which says the same
 * (compute/planScaling.ts). Answers what changed.
 */
export async function setImpairment(db: Reader, inst: InstanceRow, reason: string | null): Promise<'impaired' | 'recovered' | undefined> {
  let change: 'impaired' | 'recovered' | undefined;
  if (reason !== null && (inst.state === 'ACTIVE' || inst.state === 'LAUNCHING' || (inst.state === 'IMPAIRED' && inst.status_reason !== reason))) {
    await db.updateTable('instances').set({ state: 'IMPAIRED', status_reason: reason }).where('id', '=', inst.id).where('state', 'in', ['LAUNCHING', 'ACTIVE', 'IMPAIRED']).execute();
    change = inst.state === 'IMPAIRED' ? undefined : 'impaired';
  } else if (reason === null && inst.state === 'IMPAIRED') {
    await db.updateTable('instances').set({ state: 'ACTIVE', status_reason: null }).where('id', '=', inst.id).where('state', '=', 'IMPAIRED').execute();
    change = 'recovered';
  } else {
    return undefined;
  }
  const impaired = await db.selectFrom('instances').select(['id', 'status_reason']).where('ce_name', '=', inst.ce_name).where('state', '=', 'IMPAIRED').orderBy('id').execute();
  const ceReason = impaired.length ? REASONS.instancesImpaired(impaired.length, { id: impaired[0].id, reason: impaired[0].status_reason ?? '' }) : REASONS.healthy;
  await db.updateTable('compute_environments').set({ status_reason: ceReason }).where('name', '=', inst.ce_name).where('status', '=', 'VALID').where('type', '=', 'UNMANAGED').execute();
  return change;
}

export async function updateInstance(db: Reader, id: string, patch: InstancePatch): Promise<void> {
  await db.updateTable('instances').set(encodeColumns<Updateable<InstanceTable>>(patch, ['provider_data'])).where('id', '=', id).execute();
}

/** A one-job instance (a Fargate task) whose job has ended takes no more work: TERMINATING, unless it is past that. */
export async function markTerminating(db: Reader, id: string): Promise<void> {
  await db.updateTable('instances').set({ state: 'TERMINATING' }).where('id', '=', id).where('state', 'in', ['LAUNCHING', 'ACTIVE', 'IMPAIRED']).execute();
}

/**
 * An instance is gone: TERMINATED with its reason, and every attempt it ran fails with
 * `attemptReason` (the retry strategy of each job decides what follows).
 */
export async function closeInstance(tx: Tx, id: string, reason: string, attemptReason: string, now: number): Promise<void> {
  const current = await tx.db.selectFrom('instances').select('state').where('id', '=', id).executeTakeFirst();
  // The first reason stands: an agent exiting after its instance was closed changes nothing.
  if (!current || current.state === 'TERMINATED') return;
  await updateInstance(tx.db, id, { state: 'TERMINATED', terminated_at: now, termination_reason: reason });
  await failLostAttempts(tx, await activeAttemptsOn(tx.db, [id]), attemptReason, now);
}

/** Why a local instance was terminated, as its provider records it (provider_data.stopReason) for the agent's leave. */
export function stopReasonOf(inst: InstanceRow): string {
  try {
    return (JSON.parse(inst.provider_data) as { stopReason?: string }).stopReason ?? 'agent left';
  } catch {
    return 'agent left';
  }
}

/** A compute environment's launches and terminations since a time, the terminations by reason. */
export interface ScalingCounts {
  ceName: string;
  launched: number;
  terminated: number;
  /** terminations by the first clause of their reason ("scaled down: idle", "Spot interruption"…), most first */
  byReason: { reason: string; count: number }[];
}

/** The reason's first clause, without the numbers that make each one differ (seconds, instance ids). */
function reasonKind(reason: string | null): string {
  return (reason ?? 'no reason recorded').split(/[;(]/)[0].replace(/\bi-[0-9a-f]+\b/g, 'i-…').replace(/\d+(\.\d+)?/g, 'N').trim();
}

/** Launches and terminations of every compute environment since `since` (the dashboard's compute page). */
export async function scalingCounts(db: Reader, since: number): Promise<ScalingCounts[]> {
  const [launched, ended] = await Promise.all([
    db.selectFrom('instances').select(['ce_name', (eb) => eb.fn.countAll<number>().as('n')]).where('launched_at', '>=', since).groupBy('ce_name').execute(),
    db.selectFrom('instances').select(['ce_name', 'termination_reason', (eb) => eb.fn.countAll<number>().as('n')]).where('terminated_at', '>=', since).groupBy(['ce_name', 'termination_reason']).execute(),
  ]);
  const out = new Map<string, ScalingCounts & { reasons: Map<string, number> }>();
  const of = (ce: string) => out.get(ce) ?? out.set(ce, { ceName: ce, launched: 0, terminated: 0, byReason: [], reasons: new Map() }).get(ce)!;
  for (const r of launched) of(r.ce_name).launched = Number(r.n);
  for (const r of ended) {
    const c = of(r.ce_name);
    const kind = reasonKind(r.termination_reason);
    c.terminated += Number(r.n);
    c.reasons.set(kind, (c.reasons.get(kind) ?? 0) + Number(r.n));
  }
  return [...out.values()].map(({ reasons, ...c }) => ({ ...c, byReason: [...reasons].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count) }));
}
