/** What /readyz asks of the store: does the database answer, and who holds the leader lease. */
import { sql } from 'kysely';
import type { Db } from './db.js';

/** Whether the database answers a trivial query within `timeoutMs`: undefined if it does, else why not. */
export async function databaseTrouble(db: Db, timeoutMs: number): Promise<string | undefined> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      sql`SELECT 1`.execute(db),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    clearTimeout(timer);
  }
}

/** PostgreSQL: the holder of a leader lease that has not expired (on the database's clock), or null. */
export async function leaseHolder(db: Db): Promise<string | null> {
  const row = await sql<{ holder: string }>`
    SELECT holder FROM leader_lease WHERE name = 'scheduler' AND expires_at > (extract(epoch from clock_timestamp()) * 1000)::bigint`.execute(db);
  return row.rows[0]?.holder ?? null;
}
