/** The farm's drain (`openbatch drain`): whether one is under way, begun, ended. */
import type { Db } from './db.js';
import type { Tx } from './unitOfWork.js';

type Reader = Tx['db'] | Db;

/** What the farm does: `draining` stops placements; `stopJobs` stops running jobs too. */
export interface FarmState {
  draining: boolean;
  stopJobs: boolean;
  /** epoch ms when the drain began */
  since: number | null;
}

export const NOT_DRAINING: FarmState = { draining: false, stopJobs: false, since: null };

export async function farmState(db: Reader): Promise<FarmState> {
  const row = await db.selectFrom('farm_drain').select(['stop_jobs', 'since']).where('name', '=', 'drain').executeTakeFirst();
  return row ? { draining: true, stopJobs: row.stop_jobs === 1, since: Number(row.since) } : NOT_DRAINING;
}

/** Begins a drain, or makes the one under way stop jobs too (it never goes back to letting them finish). */
export async function beginDrain(db: Reader, stopJobs: boolean, now: number): Promise<void> {
  await db
    .insertInto('farm_drain')
    .values({ name: 'drain', stop_jobs: stopJobs ? 1 : 0, since: now })
    .onConflict((oc) => oc.column('name').doUpdateSet((eb) => ({ stop_jobs: stopJobs ? 1 : eb.ref('farm_drain.stop_jobs') })))
    .execute();
}

export async function endDrain(db: Reader): Promise<void> {
  await db.deleteFrom('farm_drain').where('name', '=', 'drain').execute();
}

/** The drain as `openbatch drain` shows it: its state, what still runs, and whether it is over. */
export interface DrainStatus extends FarmState {
  /** attempts STARTING or RUNNING */
  runningJobs: number;
  /** instances of local and joined agents not yet terminated */
  instances: number;
  /** draining, and nothing runs any more: the servers may be stopped or upgraded */
  drained: boolean;
}

export async function drainStatus(db: Reader): Promise<DrainStatus> {
  const state = await farmState(db);
  const activity = await farmActivity(db);
  return { ...state, ...activity, drained: state.draining && activity.runningJobs === 0 && activity.instances === 0 };
}

/** What still runs: jobs STARTING or RUNNING, and instances of local and joined agents not yet terminated. */
async function farmActivity(db: Reader): Promise<{ runningJobs: number; instances: number }> {
  const jobs = await db.selectFrom('attempts').select((eb) => eb.fn.countAll<number>().as('n')).where('status', 'in', ['STARTING', 'RUNNING']).executeTakeFirstOrThrow();
  const instances = await db
    .selectFrom('instances')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('provider', 'in', ['local', 'joined'])
    .where('state', '!=', 'TERMINATED')
    .executeTakeFirstOrThrow();
  return { runningJobs: Number(jobs.n), instances: Number(instances.n) };
}
