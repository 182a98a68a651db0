/**
 * Workload 1 — SubmitJob rate.
 *
 * The real SDK client (SigV4-signed) submits to a queue whose only CE is DISABLED: jobs are
 * accepted and queued, no process is ever started, so the figure is the API plus the durable
 * commit. Also measured, interleaved:
 *   dependent SubmitJob of a job with dependsOn one of the queued jobs (never finished), as a
 *             script submitting a pipeline or a chain does: a job that can only go PENDING
 * Peers, with the same client, connection pool and concurrency, interleaved in rounds:
 *   describe  DescribeJobs of one job (one of the first 100 submitted, in turn): the same SDK path
 *             and server route pipeline, read-only, no commit — workload 6's second API rate
 *   noop      the same SDK command, serialized and signed as usual, then sent to GET /healthz:
 *             every client-side cost, and the server's HTTP stack, with no handler work
 * and a physical limit for the sequential case, measured before and after in this process:
 *   commits   one-row SQLite transactions/s as the store commits them (WAL, synchronous=FULL):
 *             what the disk allows a design that commits each submission on its own
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { DescribeJobQueuesCommand, DescribeJobsCommand, SubmitJobCommand, type BatchClient } from '@aws-sdk/client-batch';
import { basicFarm } from '../../test/helpers/fixtures.js';
import { tempDir } from '../../test/helpers/server.js';
import { benchServer, interleavedRates, percentiles, perSecond, processCpuMs, type Percentiles, type ServerStart } from '../lib.js';

export interface SubmitRateOptions {
  concurrencies: number[];
  /** measuring time per operation kind and concurrency, split over the rounds */
  durationMs: number;
  rounds: number;
  /** how to start the server (the profiling run adds a profiler) */
  server?: ServerStart;
}

export interface RateFigure {
  perSecond: number;
  latencyMs: Percentiles;
  /**
   * The server process's CPU time per operation, ms (NaN without /proc): what the server
   * itself spends, whatever the client sharing its cores costs. Work an operation leaves
   * behind (the scheduler pass a SubmitJob kicks) counts towards whatever runs next when it
   * spills over, a few passes in each switch of operation.
   */
  serverCpuMs: number;
}

export interface SubmitRateRow {
  concurrency: number;
  submit: RateFigure;
  /** SubmitJob behind an unfinished dependency */
  dependent: RateFigure;
  describe: RateFigure;
  noop: RateFigure;
  /** submit rate ÷ peer rate */
  ratioToDescribe: number;
  ratioToNoop: number;
}

export interface SubmitRateResult {
  rows: SubmitRateRow[];
  /** durable one-row SQLite commits/s, one at a time */
  sqliteCommitsPerSecond: number;
  /** sequential SubmitJob/s ÷ sqliteCommitsPerSecond */
  sequentialRatioToCommits: number;
  jobsSubmitted: number;
  serverPid?: number;
}

/** A DescribeJobQueues that the SDK builds and signs as usual but that is sent to GET /healthz. */
function noopCommand(): DescribeJobQueuesCommand {
  const cmd = new DescribeJobQueuesCommand({});
  cmd.middlewareStack.add(
    (next) => async (args) => {
      const req = args.request as { method: string; path: string; body?: unknown; headers: Record<string, string> };
      req.method = 'GET';
      req.path = '/healthz';
      req.body = undefined;
      delete req.headers['content-length'];
      delete req.headers['content-type'];
      return next(args);
    },
    // after signing (finalizeRequest), just before the request goes out
    { step: 'deserialize', name: 'benchToHealthz', priority: 'low' },
  );
  return cmd;
}

/** One-row durable commits/s with the store's settings (WAL, synchronous = FULL), sequentially. */
export function sqliteCommitRate(durationMs: number): number {
  const dir = tempDir('openbatch-bench-sqlite-');
  const db = new SQLite(join(dir, 'commits.db'));
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = FULL');
    db.exec('create table t (id integer primary key, body text)');
    const insert = db.prepare('insert into t (body) values (?)');
    const body = 'x'.repeat(1024);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < durationMs) {
      db.exec('begin');
      insert.run(body);
      db.exec('commit');
      n++;
    }
    return (n * 1000) / (performance.now() - t0);
  } finally {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function submitRate(o: SubmitRateOptions): Promise<SubmitRateResult> {
  const commitsBefore = sqliteCommitRate(Math.min(o.durationMs / 2, 2_000));
  const s = await benchServer(o.server);
  try {
    const client: BatchClient = s.client;
    const farm = await basicFarm(client, 'rate', { state: 'DISABLED', maxvCpus: 2 });
    let jobsSubmitted = 0;
    const known: string[] = [];
    const ops = {
      submit: async (i: number) => {
        const { jobId } = await client.send(new SubmitJobCommand({ jobName: `rate-${i}`, jobQueue: farm.queueName, jobDefinition: farm.definitionName }));
        if (known.length < 100) known.push(jobId!);
        jobsSubmitted++;
      },
      dependent: async (i: number) => {
        await client.send(new SubmitJobCommand({ jobName: `dep-${i}`, jobQueue: farm.queueName, jobDefinition: farm.definitionName, dependsOn: [{ jobId: known[i % known.length] }] }));
        jobsSubmitted++;
      },
      describe: (i: number) => client.send(new DescribeJobsCommand({ jobs: [known[i % known.length]] })),
      noop: () => client.send(noopCommand()),
    };
    const rows: SubmitRateRow[] = [];
    for (let i = 0; known.length < 100 && i < 100; i++) await ops.submit(i);
    for (const concurrency of o.concurrencies) {
      // Warm-up: connections opened, JIT warm, first rows in the tables.
      await interleavedRates(ops, { rounds: 1, durationMs: 300, concurrency });
      const r = await interleavedRates(ops, { rounds: o.rounds, durationMs: o.durationMs, concurrency, cpuMs: () => processCpuMs(s.child.pid) });
      const fig = (k: keyof typeof r): RateFigure => ({
        perSecond: perSecond(r[k]),
        latencyMs: percentiles(r[k].latencies),
        serverCpuMs: r[k].cpuMs! / r[k].ops,
      });
      const submit = fig('submit');
      const dependent = fig('dependent');
      const describe = fig('describe');
      const noop = fig('noop');
      rows.push({
        concurrency,
        submit,
        dependent,
        describe,
        noop,
        ratioToDescribe: submit.perSecond / describe.perSecond,
        ratioToNoop: submit.perSecond / noop.perSecond,
      });
    }
    await s.close();
    const sqliteCommitsPerSecond = (commitsBefore + sqliteCommitRate(Math.min(o.durationMs / 2, 2_000))) / 2;
    const sequential = rows.find((r) => r.concurrency === 1);
    return {
      rows,
      jobsSubmitted,
      sqliteCommitsPerSecond,
      sequentialRatioToCommits: sequential ? sequential.submit.perSecond / sqliteCommitsPerSecond : NaN,
      serverPid: s.child.pid,
    };
  } finally {
    await s.close();
  }
}
