/**
 * Scheduler scale: (a) a scheduler pass with N RUNNABLE jobs queued costs about the same
 * whether N is a thousand or a million, because a pass reads only the heads of the queues;
 * (b) SubmitJob of a 10,000-child array costs about what a plain SubmitJob does, because
 * children are created lazily; (c) SubmitJob's rate, 16 in flight, is the same with a
 * million queued as with a thousand (each submission kicks a pass, which reads only heads).
 *
 * Method (a): a server in this process; its only compute environment (maxvCpus 1) is kept
 * busy by one long job, so passes place nothing and do all their reading. N RUNNABLE jobs are
 * inserted straight into the database (copies of a real submitted job), then passes are run
 * and timed one after another, for N = small and N = large in the same run, each followed by
 * (c): SubmitJobs to that queue through the real SDK for `submitMs`. (b) alternates plain and
 * 10,000-child SubmitJobs through the real SDK to a queue whose CE is DISABLED.
 */
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pino from 'pino';
import { CreateComputeEnvironmentCommand, CreateJobQueueCommand, RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { batchClient } from '../../test/helpers/server.js';
import { waitForStatus } from '../../test/helpers/fixtures.js';
import { perSecond, percentiles, runFor, sleep, tempDir, type Percentiles } from '../lib.js';
import { rmSync } from 'node:fs';

export interface SchedulerScaleResult {
  small: { queued: number; passMs: Percentiles };
  large: { queued: number; passMs: Percentiles; insertSeconds: number };
  /** large p50 ÷ small p50: the target is ≤ 2 */
  passRatio: number;
  rssMiB: number;
  submitMs: { plain: Percentiles; array10k: Percentiles; ratio: number };
  /** (c) SubmitJob/s at 16 in flight into the queue holding the small and the large number of jobs, and large ÷ small */
  submitRate: { small: number; large: number; ratio: number };
}

const SUBMIT_CONCURRENCY = 16;

/** Copies a real job row `count` times as RUNNABLE jobs of the same queue, in one statement. */
function cloneRunnable(dbFile: string, templateId: string, count: number, prefix: string): void {
  const db = new SQLite(dbFile);
  db.pragma('busy_timeout = 30000');
  const columns = (db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'seq');
  const override: Record<string, string> = {
    id: `'${prefix}' || n.i`,
    arn: `arn || '-${prefix}' || n.i`,
    status: `'RUNNABLE'`,
    status_reason: 'NULL',
    wait_code: 'NULL',
    wait_since: 'NULL',
    started_at: 'NULL',
    stopped_at: 'NULL',
    attempt_count: '0',
    ce_name: 'NULL',
    instance_id: 'NULL',
    log_stream_name: 'NULL',
  };
  const select = columns.map((c) => override[c] ?? c).join(', ');
  db.prepare(
    `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
     INSERT INTO jobs (${columns.join(', ')}) SELECT ${select} FROM n, (SELECT * FROM jobs WHERE id = ?)`,
  ).run(count, templateId);
  db.close();
}

async function timePasses(pass: () => Promise<unknown>, n: number): Promise<Percentiles> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await pass();
    ms.push(performance.now() - t0);
  }
  return percentiles(ms);
}

export async function schedulerScale(o: { large: number; passes: number; submits: number; submitMs: number }): Promise<SchedulerScaleResult> {
  const dataDir = tempDir('openbatch-bench-sched-');
  const config = loadConfig({ port: 0, dataDir, logLevel: 'silent' }, {});
  const server = await startServer(config, { logger: pino({ level: 'silent' }) });
  const client = batchClient(server.url);
  try {
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'one',
        type: 'MANAGED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 1, instanceTypes: ['optimal'], subnets: ['s'], instanceRole: 'r' },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'q', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'one' }] }));
    await client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'hold',
        type: 'container',
        containerProperties: { image: 'x', command: ['sleep', '3600'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }] },
      }),
    );
    const holder = (await client.send(new SubmitJobCommand({ jobName: 'holder', jobQueue: 'q', jobDefinition: 'hold' }))).jobId!;
    await waitForStatus(client, holder, ['RUNNING'], 60_000);
    const template = (await client.send(new SubmitJobCommand({ jobName: 'queued', jobQueue: 'q', jobDefinition: 'hold' }))).jobId!;
    await waitForStatus(client, template, ['RUNNABLE'], 60_000);
    const dbFile = join(dataDir, 'openbatch.db');
    const pass = () => server.scheduler.pass();
    // (c) into the queue whose jobs are counted: its CE stays busy, so they stay queued
    const submitRate = async () =>
      perSecond(await runFor(o.submitMs, SUBMIT_CONCURRENCY, () => client.send(new SubmitJobCommand({ jobName: 'more', jobQueue: 'q', jobDefinition: 'hold' }))));

    const smallCount = 1_000;
    cloneRunnable(dbFile, template, smallCount - 1, 's');
    await timePasses(pass, 3); // warm-up: wait reasons written once
    const small = await timePasses(pass, o.passes);
    const submitSmall = await submitRate();

    const t0 = performance.now();
    cloneRunnable(dbFile, template, o.large - smallCount, 'l');
    const insertSeconds = (performance.now() - t0) / 1000;
    await timePasses(pass, 3);
    const large = await timePasses(pass, o.passes);
    const submitLarge = await submitRate();

    // (b) plain vs 10,000-child SubmitJob, to a queue that runs nothing.
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'off',
        type: 'MANAGED',
        state: 'DISABLED',
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 1, instanceTypes: ['optimal'], subnets: ['s'], instanceRole: 'r' },
      }),
    );
    await client.send(new CreateJobQueueCommand({ jobQueueName: 'parked', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'off' }] }));
    const plain: number[] = [];
    const arrays: number[] = [];
    for (let i = 0; i < o.submits; i++) {
      for (const [list, size] of [
        [plain, undefined],
        [arrays, 10_000],
      ] as const) {
        // Let the pass that follows each submission (an array's first window of children) end
        // first, so that each call is timed alone.
        await sleep(150);
        const s0 = performance.now();
        await client.send(new SubmitJobCommand({ jobName: 'j', jobQueue: 'parked', jobDefinition: 'hold', arrayProperties: size ? { size } : undefined }));
        list.push(performance.now() - s0);
      }
    }
    const p = percentiles(plain);
    const a = percentiles(arrays);
    return {
      small: { queued: smallCount, passMs: small },
      large: { queued: o.large, passMs: large, insertSeconds },
      passRatio: large.p50 / small.p50,
      rssMiB: process.memoryUsage().rss / 1024 / 1024,
      submitMs: { plain: p, array10k: a, ratio: a.p50 / p.p50 },
      submitRate: { small: submitSmall, large: submitLarge, ratio: submitLarge / submitSmall },
    };
  } finally {
    client.destroy();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
