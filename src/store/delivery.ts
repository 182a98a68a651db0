/**
 * Handing attempts to their agents, once. An assignment carries the job's command, its
 * environment and its resolved secrets: it goes to the agent of the instance the attempt was
 * placed on, in the one poll answer that marks it delivered, and never again — not to a
 * second poll, however it lists its running attempts, and not to a poll held by another
 * server of the same database at the same moment.
 */
import { InListStatement } from './statementCache.js';
import type { Tx } from './unitOfWork.js';
import type { Db } from './db.js';

const MARK = new InListStatement(
  (list) =>
    `UPDATE attempts SET delivered_at = ? WHERE instance_id = ? AND delivered_at IS NULL AND status IN ('STARTING', 'RUNNING') AND job_id IN (${list}) RETURNING job_id`,
);

/** Marks the current attempts of `jobIds` on `instanceId` delivered at `now`; answers the jobs this call marked (not those delivered before, or by another server meanwhile). */
export async function markDelivered(db: Db | Tx['db'], instanceId: string, jobIds: string[], now: number): Promise<Set<string>> {
  if (jobIds.length === 0) return new Set();
  const rows = await MARK.all<{ job_id: string }>(db, jobIds, [now, instanceId]);
  return new Set(rows.map((r) => r.job_id));
}
