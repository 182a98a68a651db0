/**
 * `POST /openbatch/v1/cost`: the cost report (store/cost.ts) with its input checked; with
 * `format: "csv"` the answer carries the report as CSV too (`csv`, model/costCsv.ts), for the
 * dashboard's download.
 */
import { costCsv, type CostAnswer } from '../model/costCsv.js';
import { clientError } from '../model/errors.js';
import type { PriceTable } from '../model/cost.js';
import { costReport, type CostGroup } from '../store/cost.js';
import type { Db } from '../store/db.js';

const GROUPS = ['job', 'array', 'queue', 'share'];

export async function costOperation(db: Db, now: number, prices: PriceTable | null, input: Record<string, unknown>): Promise<CostAnswer & { csv?: string }> {
  const time = (name: string, fallback: number) => {
    const v = input[name];
    if (v === undefined) return fallback;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) throw clientError(`${name} must be a time in epoch milliseconds`);
    return v;
  };
  const from = time('from', 0);
  const to = time('to', now);
  if (to <= from) throw clientError(`to (${to}) must be after from (${from})`);
  const groupBy = input.groupBy ?? 'job';
  if (typeof groupBy !== 'string' || (!GROUPS.includes(groupBy) && !/^tag:.+$/.test(groupBy))) {
    throw clientError(`groupBy must be one of ${GROUPS.join(', ')} or tag:<key> (got ${JSON.stringify(groupBy)})`);
  }
  const opt = (name: string) => {
    const v = input[name];
    if (v !== undefined && (typeof v !== 'string' || v === '')) throw clientError(`${name} must be a string`);
    return v as string | undefined;
  };
  const format = input.format ?? 'json';
  if (format !== 'json' && format !== 'csv') throw clientError(`format must be json or csv (got ${JSON.stringify(format)})`);
  const report = await costReport(db, { from, to, groupBy: groupBy as CostGroup, jobId: opt('jobId'), queue: opt('jobQueue'), now });
  const answer: CostAnswer = { currency: prices?.currency ?? null, priced: prices !== null, from, to, groupBy, ...report };
  return format === 'csv' ? { ...answer, csv: costCsv(answer) } : answer;
}
