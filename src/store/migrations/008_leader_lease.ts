import type { Kysely } from 'kysely';

/**
 * The leader lease: which of the control planes sharing a PostgreSQL database runs the
 * scheduler and the compute providers (src/cluster/leadership.ts, docs/design/leader.md).
 *
 * name        the lease ('scheduler'); one row
 * holder      the server holding it (host, pid and a random part)
 * epoch       +1 at every change of holder: the fencing token of the leader's writes
 * expires_at  epoch ms (database clock) after which another server may take the lease
 *
 * SQLite databases get the table too (one schema); a single SQLite server never uses it.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('leader_lease')
    .addColumn('name', 'text', (c) => c.primaryKey())
    .addColumn('holder', 'text', (c) => c.notNull())
    .addColumn('epoch', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
}
