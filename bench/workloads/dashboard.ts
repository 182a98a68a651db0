/**
 * Dashboard scale: what its pages ask the server, with a thousand jobs and with a million.
 * The jobs table pages by keyset (docs/design/dashboard.md), so its pages should cost about
 * the same at either size; the overview counts jobs per queue and state through an index,
 * which grows with the table; a waiting job's page asks `why` every 5 s.
 *
 * Method: a server in this process, its only compute environment (maxvCpus 1) kept busy by
 * one long job. Jobs are copies of a real submitted job inserted straight into the database
 * (as in the scheduler-scale workload): 90% RUNNABLE, 10% SUCCEEDED two hours ago. Each
 * request is made over HTTP as the browser makes it (no credentials configured, so no
 * signature), `rounds` times after one warm-up, first at the small size, then at the large.
 */
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import pino from 'pino';
import { CreateComputeEnvironmentCommand, CreateJobQueueCommand, RegisterJobDefinitionCommand, SubmitJobCommand } from '@aws-sdk/client-batch';
import { loadConfig } from '../../src/config.js';
import { startServer } from '../../src/server.js';
import { batchClient } from '../../test/helpers/server.js';
import { waitForStatus } from '../../test/helpers/fixtures.js';
import { percentiles, tempDir, type Percentiles } from '../lib.js';

export interface DashboardScaleResult {
  small: number;
  large: number;
  insertSeconds: number;
  rows: { request: string; smallMs: Percentiles; largeMs: Percentiles; ratio: number }[];
}

/** Copies a real job row `count` times with the given status, in one statement. */
function cloneJobs(dbFile: string, templateId: string, count: number, prefix: string, status: 'RUNNABLE' | 'SUCCEEDED'): void {
  const db = new SQLite(dbFile);
  db.pragma('busy_timeout = 30000');
  const columns = (db.prepare('PRAGMA table_info(jobs)').all() as { name: string }[]).map((c) => c.name).filter((c) => c !== 'seq');
  const done = status === 'SUCCEEDED';
  const override: Record<string, string> = {
    id: `'${prefix}' || n.i`,
    arn: `arn || '-${prefix}' || n.i`,
    name: `'${prefix}-' || n.i`,
    status: `'${status}'`,
    status_reason: 'NULL',
    wait_code: 'NULL',
    wait_since: 'NULL',
    started_at: done ? 'created_at - 7200000' : 'NULL',
    stopped_at: done ? 'created_at - 7190000' : 'NULL',
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

function middleSeq(dbFile: string): number {
  const db = new SQLite(dbFile, { readonly: true });
  const n = (db.prepare('SELECT count(*) AS n FROM jobs').get() as { n: number }).n;
  const seq = (db.prepare('SELECT seq FROM jobs ORDER BY seq LIMIT 1 OFFSET ?').get(Math.floor(n / 2)) as { seq: number }).seq;
  db.close();
  return seq;
}

export async function dashboardScale(o: { large: number; rounds: number }): Promise<DashboardScaleResult> {
  const small = 1_000;
  const dataDir = tempDir('openbatch-bench-dash-');
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

    const get = async (path: string) => {
      const res = await fetch(`${server.url}${path}`);
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    const post = async (path: string, body: object) => {
      const res = await fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
      if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    // The newest job: the one a person just submitted and now watches wait.
    let newest = template;
    const requests: [string, () => Promise<void>][] = [
      ['jobs page, newest 50', () => get('/openbatch/v1/dashboard/jobs?limit=50')],
      ['jobs page, queue filter', () => get('/openbatch/v1/dashboard/jobs?limit=50&queue=q')],
      ['jobs page, state SUCCEEDED', () => get('/openbatch/v1/dashboard/jobs?limit=50&status=SUCCEEDED')],
      ['jobs page, half-way back', () => get(`/openbatch/v1/dashboard/jobs?limit=50&before=${mid}`)],
      ['jobs page, name matching none', () => get('/openbatch/v1/dashboard/jobs?limit=50&name=nothing-named-so')],
      ['overview', () => get('/openbatch/v1/dashboard/overview')],
      ['why (newest waiting job)', () => post('/openbatch/v1/why', { jobId: newest })],
      ['cost (one job)', () => post('/openbatch/v1/cost', { jobId: newest })],
    ];
    let mid = 0;
    const measure = async () => {
      mid = middleSeq(dbFile);
      const out = new Map<string, Percentiles>();
      for (const [name, op] of requests) {
        await op(); // warm-up
        const ms: number[] = [];
        for (let i = 0; i < o.rounds; i++) {
          const t0 = performance.now();
          await op();
          ms.push(performance.now() - t0);
        }
        out.set(name, percentiles(ms));
      }
      return out;
    };

    cloneJobs(dbFile, template, Math.round(small * 0.9) - 2, 's', 'RUNNABLE');
    cloneJobs(dbFile, template, Math.round(small * 0.1), 'd', 'SUCCEEDED');
    newest = (await client.send(new SubmitJobCommand({ jobName: 'newest-small', jobQueue: 'q', jobDefinition: 'hold' }))).jobId!;
    await server.scheduler.pass();
    const smallMs = await measure();

    const t0 = performance.now();
    cloneJobs(dbFile, template, Math.round((o.large - small) * 0.9), 'l', 'RUNNABLE');
    cloneJobs(dbFile, template, Math.round((o.large - small) * 0.1), 'e', 'SUCCEEDED');
    const insertSeconds = (performance.now() - t0) / 1000;
    newest = (await client.send(new SubmitJobCommand({ jobName: 'newest-large', jobQueue: 'q', jobDefinition: 'hold' }))).jobId!;
    await server.scheduler.pass();
    const largeMs = await measure();

    return {
      small,
      large: o.large,
      insertSeconds,
      rows: requests.map(([name]) => {
        const s = smallMs.get(name)!;
        const l = largeMs.get(name)!;
        return { request: name, smallMs: s, largeMs: l, ratio: l.p50 / s.p50 };
      }),
    };
  } finally {
    client.destroy();
    await server.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
}
