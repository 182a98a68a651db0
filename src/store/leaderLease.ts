/**
 * The leader lease (cluster/leadership.ts says how it is used): one row per lease in
 * `leader_lease`, with its holder, an epoch that grows with each new holder, and an expiry on
 * the database's clock, so that servers' clocks do not matter. PostgreSQL only.
 */
import { sql } from 'kysely';
import type { Db } from './db.js';
import type { Tx } from './unitOfWork.js';

/** now on the database's clock, in epoch ms */
const DB_NOW = sql<number>`(extract(epoch from clock_timestamp()) * 1000)::bigint`;

/** The lease whose holder runs the scheduler (cluster/leadership.ts). */
export const SCHEDULER_LEASE = 'scheduler';

/** Who holds a lease, whether or not it has expired. */
export async function leaseHolder(db: Db, name: string): Promise<{ holder: string; epoch: number } | undefined> {
  const row = await db.selectFrom('leader_lease').select(['holder', 'epoch']).where('name', '=', name).executeTakeFirst();
  return row && { holder: row.holder, epoch: Number(row.epoch) };
}

/** Who holds a lease that has not expired (on the database's clock), or null: no one leads. */
export async function liveLeaseHolder(db: Db, name: string): Promise<string | null> {
  const row = await db.selectFrom('leader_lease').select('holder').where('name', '=', name).where('expires_at', '>', DB_NOW).executeTakeFirst();
  return row?.holder ?? null;
}

/** Takes the lease when no one holds it or it has expired; answers the new epoch, or undefined. */
export async function acquireLease(db: Db, name: string, holder: string, leaseMs: number): Promise<number | undefined> {
  const row = await sql<{ epoch: number }>`
    INSERT INTO leader_lease (name, holder, epoch, expires_at) VALUES (${name}, ${holder}, 1, ${DB_NOW} + ${leaseMs})
    ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, epoch = leader_lease.epoch + 1, expires_at = excluded.expires_at
    WHERE leader_lease.expires_at < ${DB_NOW}
    RETURNING epoch`.execute(db);
  return row.rows[0] === undefined ? undefined : Number(row.rows[0].epoch);
}

/** Takes the lease from `from`, whatever its expiry, if `from` still holds it; answers the new epoch, or undefined. */
export async function takeLease(db: Db, name: string, holder: string, from: { holder: string; epoch: number }, leaseMs: number): Promise<number | undefined> {
  const row = await sql<{ epoch: number }>`
    UPDATE leader_lease SET holder = ${holder}, epoch = epoch + 1, expires_at = ${DB_NOW} + ${leaseMs}
    WHERE name = ${name} AND holder = ${from.holder} AND epoch = ${from.epoch}
    RETURNING epoch`.execute(db);
  return row.rows[0] === undefined ? undefined : Number(row.rows[0].epoch);
}

/** Extends the holder's unexpired lease by `leaseMs`; false when it has expired or was taken over. */
export async function renewLease(db: Db, name: string, holder: string, epoch: number, leaseMs: number): Promise<boolean> {
  const res = await sql`
    UPDATE leader_lease SET expires_at = ${DB_NOW} + ${leaseMs}
    WHERE name = ${name} AND holder = ${holder} AND epoch = ${epoch} AND expires_at >= ${DB_NOW}`.execute(db);
  return Number(res.numAffectedRows ?? 0) === 1;
}

/** Whether the holder still holds the lease with this epoch, unexpired (read in the caller's transaction). */
export async function holdsLease(db: Tx['db'], name: string, holder: string, epoch: number): Promise<boolean> {
  const row = await sql<{ ok: number }>`
    SELECT 1 AS ok FROM leader_lease WHERE name = ${name} AND holder = ${holder} AND epoch = ${epoch} AND expires_at > ${DB_NOW}`.execute(db);
  return row.rows.length > 0;
}

/** Gives the lease up (it expires now), if the holder still holds it with this epoch. */
export async function releaseLease(db: Db, name: string, holder: string, epoch: number): Promise<void> {
  await sql`UPDATE leader_lease SET expires_at = 0 WHERE name = ${name} AND holder = ${holder} AND epoch = ${epoch}`.execute(db);
}
