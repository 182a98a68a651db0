import type { Kysely } from 'kysely';

/**
 * When an instance became ready: its agent's first poll (LAUNCHING → ACTIVE), or its launch
 * for instances that are ready as they are recorded (joined agents, Slurm nodes). Null while
 * it boots. readyAt − launchedAt is the boot time that slow-start chaos lengthens and that
 * why-pending's scale-up estimate learns from.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('instances').addColumn('ready_at', 'bigint').execute();
}
