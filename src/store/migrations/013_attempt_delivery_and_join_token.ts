import type { Kysely } from 'kysely';

/**
 * attempts.delivered_at  when the attempt's assignment (its command, environment and resolved
 *                        secrets) was handed to its agent; null until then. An assignment is
 *                        handed out once (compute/agentHub.ts).
 * join_token             the join token agents present to join UNMANAGED compute environments,
 *                        as a SHA-256 hash, shared by every server of the database so that a
 *                        rotation holds for all of them (compute/joinedAgents.ts). One row,
 *                        name 'agents'.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('attempts').addColumn('delivered_at', 'bigint').execute();
  await db.schema
    .createTable('join_token')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('rotated_at', 'bigint', (c) => c.notNull())
    .execute();
}
