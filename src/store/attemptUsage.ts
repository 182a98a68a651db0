/**
 * What attempts really used (model/usage.ts): the figures agents report, kept on the attempt's
 * row (migration 017), and the reads that show them — an attempt's figures, a job
 * definition's recent runs for right-sizing advice.
 *
 * A report counts only from the instance the attempt was placed on, with the attempt's token
 * (as every agent report: store/attemptReports.ts); one that does not is dropped, since what
 * an attempt used decides nothing. Figures only grow (CPU time, the peak, bytes read and
 * written are cumulative; a late sample never lowers them); the memory of a running attempt's
 * samples goes into its series, at most SERIES_MAX points, thinned by half when full so a
 * long run keeps its whole shape at a coarser grain.
 */
import { isOutOfMemory, type AttemptUsage, type RunUsage, type UsageFigures } from '../model/usage.js';
import type { Db } from './db.js';
import type { AttemptRow } from './jobs.js';
import { fromJson, toJson } from './json.js';
import { FixedStatement } from './statementCache.js';
import type { Tx } from './unitOfWork.js';

/** Points of memory over time kept per attempt. */
export const SERIES_MAX = 120;

/** One report of what an attempt used. */
export interface UsageReport {
  jobId: string;
  attempt: number;
  token: string;
  /** when the figures were taken (epoch ms) */
  at: number;
  figures: UsageFigures;
  /** the attempt's end: its figures in all, not a sample of a running attempt (no point of the series) */
  final: boolean;
}

interface Current {
  token: string;
  instance_id: string;
  cpu_seconds: number | null;
  peak_memory_bytes: number | null;
  memory_bytes: number | null;
  read_bytes: number | null;
  write_bytes: number | null;
  usage_at: number | string | null;
  usage_source: string | null;
  memory_series: string | null;
}

const READ = new FixedStatement<Current>(
  'SELECT token, instance_id, cpu_seconds, peak_memory_bytes, memory_bytes, read_bytes, write_bytes, usage_at, usage_source, memory_series FROM attempts WHERE job_id = ? AND attempt = ?',
);
const WRITE = new FixedStatement<never>(
  'UPDATE attempts SET cpu_seconds = ?, peak_memory_bytes = ?, memory_bytes = ?, read_bytes = ?, write_bytes = ?, usage_at = ?, usage_source = ?, memory_series = ? WHERE job_id = ? AND attempt = ?',
);

const grown = (was: number | null, now: number | undefined) => (now === undefined ? was : was === null ? now : Math.max(Number(was), now));

/** The figures an attempt's end sets, each only where it grows. */
const FINAL_FIGURES = ['cpu_seconds', 'peak_memory_bytes', 'read_bytes', 'write_bytes'] as const;

/** `col = CASE … END`: the value where it is larger than the column's (or the column is null). */
const growSql = (col: string) => `${col} = CASE WHEN ${col} IS NULL OR ${col} < ? THEN ? ELSE ${col} END`;

/**
 * An attempt's end, in one statement without a read (every job ends, and this runs in the
 * report batch's transaction): the figures grow in SQL, fenced by token and instance in its
 * WHERE. One text per set of figures given (a handful), each prepared once.
 */
const finalStatements = new Map<string, FixedStatement<never>>();

async function recordFinal(tx: Tx, instanceId: string, r: UsageReport): Promise<void> {
  const f = r.figures;
  const given: [(typeof FINAL_FIGURES)[number], number][] = [];
  const values = { cpu_seconds: f.cpuSeconds, peak_memory_bytes: f.peakMemoryBytes ?? f.memoryBytes, read_bytes: f.readBytes, write_bytes: f.writeBytes };
  for (const c of FINAL_FIGURES) if (values[c] !== undefined) given.push([c, values[c]!]);
  const key = given.map(([c]) => c).join(',');
  let stmt = finalStatements.get(key);
  if (!stmt) {
    const sets = [...given.map(([c]) => growSql(c)), growSql('usage_at'), 'usage_source = ?'];
    stmt = new FixedStatement<never>(`UPDATE attempts SET ${sets.join(', ')} WHERE job_id = ? AND attempt = ? AND token = ? AND instance_id = ?`);
    finalStatements.set(key, stmt);
  }
  const at = Math.round(r.at);
  await stmt.exec(tx.db, [...given.flatMap(([, v]) => [v, v]), at, at, f.source, r.jobId, r.attempt, r.token, instanceId]);
}

/** Records a batch of reports from one agent (see the file comment). */
export async function recordUsage(tx: Tx, instanceId: string, reports: readonly UsageReport[]): Promise<void> {
  // Several samples of one attempt in a batch: each builds on the last.
  const rows = new Map<string, Current | null>();
  for (const r of reports) {
    const key = `${r.jobId}#${r.attempt}`;
    if (r.final) {
      await recordFinal(tx, instanceId, r);
      rows.delete(key);
      continue;
    }
    let row = rows.get(key);
    if (row === undefined) {
      row = (await READ.run(tx.db, [r.jobId, r.attempt]))[0] ?? null;
      rows.set(key, row);
    }
    if (!row || row.token !== r.token || row.instance_id !== instanceId) continue;
    const f = r.figures;
    row.cpu_seconds = grown(row.cpu_seconds, f.cpuSeconds);
    row.peak_memory_bytes = grown(row.peak_memory_bytes, f.peakMemoryBytes ?? f.memoryBytes);
    row.read_bytes = grown(row.read_bytes, f.readBytes);
    row.write_bytes = grown(row.write_bytes, f.writeBytes);
    row.usage_at = Math.max(Number(row.usage_at ?? 0), Math.round(r.at));
    row.usage_source = f.source;
    if (f.memoryBytes !== undefined) {
      row.memory_bytes = f.memoryBytes;
      row.memory_series = toJson(appendPoint(fromJson<[number, number][]>(row.memory_series, []), [r.at, f.memoryBytes]));
    }
    await WRITE.exec(tx.db, [
      row.cpu_seconds,
      row.peak_memory_bytes,
      row.memory_bytes,
      row.read_bytes,
      row.write_bytes,
      row.usage_at,
      row.usage_source,
      row.memory_series,
      r.jobId,
      r.attempt,
    ]);
  }
}

/** The series with one more point; full, every other older point goes first (see the file comment). */
export function appendPoint(series: [number, number][], point: [number, number]): [number, number][] {
  const out = series.length >= SERIES_MAX ? series.filter((_, i) => i % 2 === 1) : [...series];
  out.push(point);
  return out;
}

/**
 * An attempt's recorded figures, or undefined when nothing was measured; with its memory
 * series only when asked (`series`): DescribeJobs, which answers without it, is polled hard,
 * and a series is up to SERIES_MAX points of JSON to decode per attempt.
 */
export function attemptUsageOf(a: AttemptRow, series = false): AttemptUsage | undefined {
  if (a.usage_at === null || a.usage_source === null) return undefined;
  const num = (v: number | null) => (v === null ? undefined : Number(v));
  const out: AttemptUsage = { source: a.usage_source as AttemptUsage['source'], at: Number(a.usage_at) };
  const set = (k: 'cpuSeconds' | 'peakMemoryBytes' | 'memoryBytes' | 'readBytes' | 'writeBytes', v: number | null) => {
    const n = num(v);
    if (n !== undefined) out[k] = n;
  };
  set('cpuSeconds', a.cpu_seconds);
  set('peakMemoryBytes', a.peak_memory_bytes);
  set('memoryBytes', a.memory_bytes);
  set('readBytes', a.read_bytes);
  set('writeBytes', a.write_bytes);
  if (series) {
    const points = fromJson<[number, number][]>(a.memory_series, []);
    if (points.length) out.memorySeries = points;
  }
  return out;
}

/**
 * A job definition's recent runs, newest first, for right-sizing advice (model/usage.ts):
 * the attempts of its latest ended jobs that SUCCEEDED with figures, or were killed for
 * exceeding their memory. `definitionArns`: the revisions to read, newest first; each is
 * read through jobs_definition_stopped, at most `limit` jobs of it.
 */
export async function recentRuns(db: Db, definitionArns: readonly string[], limit: number): Promise<RunUsage[]> {
  const found: (RunUsage & { stoppedAt: number })[] = [];
  for (const arn of definitionArns) {
    const rows = await db
      .selectFrom('jobs as j')
      .innerJoin('attempts as a', 'a.job_id', 'j.id')
      .select(['a.status', 'a.reason', 'a.started_at', 'a.stopped_at', 'a.cpu_seconds', 'a.peak_memory_bytes'])
      .where('j.definition_arn', '=', arn)
      .where('j.stopped_at', 'is not', null)
      .orderBy('j.stopped_at', 'desc')
      .limit(limit * 2)
      .execute();
    for (const r of rows) {
      if (r.started_at === null || r.stopped_at === null) continue;
      const oom = r.status === 'FAILED' && isOutOfMemory(r.reason);
      if (r.status !== 'SUCCEEDED' && !oom) continue;
      if (!oom && r.cpu_seconds === null && r.peak_memory_bytes === null) continue;
      found.push({
        stoppedAt: Number(r.stopped_at),
        runSeconds: (Number(r.stopped_at) - Number(r.started_at)) / 1000,
        ...(oom ? { outOfMemory: true } : {}),
        ...(r.cpu_seconds !== null ? { cpuSeconds: Number(r.cpu_seconds) } : {}),
        ...(r.peak_memory_bytes !== null ? { peakMemoryMiB: Number(r.peak_memory_bytes) / (1024 * 1024) } : {}),
      });
    }
    if (found.length >= limit) break;
  }
  return found
    .sort((a, b) => b.stoppedAt - a.stoppedAt)
    .slice(0, limit)
    .map(({ stoppedAt: _, ...run }) => run);
}
