/**
 * Queries of the slurm_jobs table (migration 006): the Slurm job that carries each attempt
 * placed on a Slurm partition. See compute/slurmProvider.ts.
 */
import type { Db } from './db.js';
import type { JobRow } from './jobs.js';
import type { SlurmJobTable } from './schema.js';
import type { Tx } from './unitOfWork.js';

export type SlurmJobRow = SlurmJobTable;
type Reader = Tx['db'] | Db;

/** An attempt placed on a Slurm instance, with what submitting and following it needs. */
export type SlurmAttempt = Pick<JobRow, 'arn' | 'spec' | 'name' | 'queue' | 'array_index' | 'array_size' | 'timeout_seconds' | 'vcpus' | 'memory_mib' | 'gpus' | 'terminate_reason' | 'node_index' | 'num_nodes' | 'parent_id'> & {
  job_id: string;
  attempt: number;
  token: string;
  status: string;
  started_at: number | null;
  log_stream_name: string;
  ce_name: string;
  instance_id: string;
  /** the slurm_jobs row, when there is one */
  slurm_job_id: string | null;
  work_dir: string | null;
  log_offset: number | null;
  stop_reason: string | null;
  submitted_at: number | null;
};

/** STARTING and RUNNING attempts on the given instances, each with its Slurm job if submitted. */
export async function activeSlurmAttempts(db: Reader, instanceIds: string[]): Promise<SlurmAttempt[]> {
  if (instanceIds.length === 0) return [];
  const rows = await db
    .selectFrom('attempts as a')
    .innerJoin('jobs as j', 'j.id', 'a.job_id')
    .leftJoin('slurm_jobs as s', (join) => join.onRef('s.job_id', '=', 'a.job_id').onRef('s.attempt', '=', 'a.attempt'))
    .select(['a.job_id', 'a.attempt', 'a.token', 'a.status', 'a.started_at', 'a.log_stream_name', 'a.ce_name', 'a.instance_id'])
    .select(['j.arn', 'j.spec', 'j.name', 'j.queue', 'j.array_index', 'j.array_size', 'j.timeout_seconds', 'j.vcpus', 'j.memory_mib', 'j.gpus', 'j.terminate_reason', 'j.node_index', 'j.num_nodes', 'j.parent_id'])
    .select(['s.slurm_job_id', 's.work_dir', 's.log_offset', 's.stop_reason', 's.submitted_at'])
    .where('a.instance_id', 'in', instanceIds)
    .where('a.status', 'in', ['STARTING', 'RUNNING'])
    .execute();
  return rows.map((r) => ({
    ...r,
    log_offset: r.log_offset === null ? null : Number(r.log_offset),
    started_at: r.started_at === null ? null : Number(r.started_at),
    submitted_at: r.submitted_at === null ? null : Number(r.submitted_at),
  })) as SlurmAttempt[];
}

/** slurm_jobs rows whose attempt has ended by other means (instance closed, job finished): their Slurm jobs are to be cancelled. */
export async function orphanedSlurmJobs(db: Reader): Promise<SlurmJobRow[]> {
  return db
    .selectFrom('slurm_jobs as s')
    .innerJoin('attempts as a', (join) => join.onRef('a.job_id', '=', 's.job_id').onRef('a.attempt', '=', 's.attempt'))
    .selectAll('s')
    .where('a.status', 'not in', ['STARTING', 'RUNNING'])
    .execute();
}

export async function insertSlurmJob(db: Reader, row: SlurmJobRow): Promise<void> {
  await db.insertInto('slurm_jobs').values(row).onConflict((oc) => oc.columns(['job_id', 'attempt']).doNothing()).execute();
}

export async function updateSlurmJob(db: Reader, jobId: string, attempt: number, patch: Partial<Pick<SlurmJobRow, 'slurm_job_id' | 'log_offset' | 'stop_reason'>>): Promise<void> {
  await db.updateTable('slurm_jobs').set(patch).where('job_id', '=', jobId).where('attempt', '=', attempt).execute();
}

export async function deleteSlurmJob(db: Reader, jobId: string, attempt: number): Promise<void> {
  await db.deleteFrom('slurm_jobs').where('job_id', '=', jobId).where('attempt', '=', attempt).execute();
}
