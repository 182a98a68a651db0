import type { Kysely } from 'kysely';

/**
 * The Slurm jobs that carry openbatch attempts (compute/slurmProvider.ts): one row per
 * attempt placed on a Slurm partition, written before `sbatch` runs and removed when the
 * attempt's end is committed. It is what a restarted control plane re-attaches to, and
 * `log_offset` (bytes of the attempt's output file already stored as log events) moves in
 * the same transaction as the events, so a restart neither loses nor repeats a line.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('slurm_jobs')
    .addColumn('job_id', 'text', (c) => c.notNull())
    .addColumn('attempt', 'integer', (c) => c.notNull())
    .addColumn('instance_id', 'text', (c) => c.notNull())
    /** Slurm's job id; null while sbatch has not answered */
    .addColumn('slurm_job_id', 'text')
    .addColumn('work_dir', 'text', (c) => c.notNull())
    .addColumn('log_offset', 'bigint', (c) => c.notNull().defaultTo(0))
    /** why openbatch cancelled it ('timeout' | 'terminate'), null when it did not */
    .addColumn('stop_reason', 'text')
    .addColumn('submitted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('slurm_jobs_pk', ['job_id', 'attempt'])
    .execute();
}
