/**
 * Lazy array expansion: an array parent whose own dependencies are met gets its children as
 * rows a window at a time, so submitting 10,000 children costs one row and the scheduler only
 * ever sees a window of them (docs/design/lazy-arrays.md). A child's dependencies are edges
 * like any job's: on the child before it (SEQUENTIAL) or on the child of the same index of
 * another array (N_TO_N) — an edge may point at a child not yet created; its success finds
 * the edge when it comes.
 */
import type { JobRow } from './jobs.js';
import { createChildren, settle } from './transitions.js';
import type { Tx } from './unitOfWork.js';

/** The array parent of up to this many not-yet-started children gets no more until some start. */
export const ARRAY_WINDOW = 512;

/** Creates the next window of children of every array ready for them, up to `budget` in all; returns how many. */
export async function expandArrays(tx: Tx, now: number, budget: number): Promise<number> {
  const parents = (await tx.db
    .selectFrom('jobs')
    .selectAll()
    .where('status', '=', 'PENDING')
    .where('parent_id', 'is', null)
    .where('array_size', 'is not', null)
    .where('pending_deps', '<=', 0)
    .where((eb) => eb('array_materialized', '<', eb.ref('array_size')))
    .execute()) as JobRow[];
  // Sorted here, not in SQL: ORDER BY seq would make SQLite walk every PENDING job by seq.
  parents.sort((a, b) => a.seq - b.seq);
  let created = 0;
  for (const p of parents) {
    if (created >= budget) break;
    const live = await tx.db
      .selectFrom('jobs')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('parent_id', '=', p.id)
      .where('status', 'in', ['PENDING', 'RUNNABLE'])
      .executeTakeFirst();
    const from = p.array_materialized ?? 0;
    const n = Math.min(ARRAY_WINDOW - Number(live?.n ?? 0), p.array_size! - from, budget - created);
    if (n <= 0) continue;
    // Children whose dependency failed already are created FAILED: what that causes follows.
    await settle(tx, await createChildren(tx, p, from, n, now, null), now);
    created += n;
  }
  return created;
}
