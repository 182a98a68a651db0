/**
 * Cost through the real server and CLI: a finished job costs what it reserved times the
 * configured prices; reports group by queue and tag and export CSV.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { CLI, startTestServer, type TestServer } from '../helpers/server.js';
import { basicFarm, submit, waitForStatus } from '../helpers/fixtures.js';
import type { CostRow } from '../../src/model/cost.js';

const run = promisify(execFile);
const VCPU_HOUR = 3.6; // 0.001 per vCPU-second
const GIB_HOUR = 0.36; // 0.0001 per GiB-second

describe('openbatch cost', () => {
  let t: TestServer;
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { env: { ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } })).stdout;

  before(async () => {
    t = await startTestServer({ prices: { currency: 'USD', default: { vcpuHour: VCPU_HOUR, gibHour: GIB_HOUR } } });
    await basicFarm(t.client, 'c', { maxvCpus: 2, command: ['sleep', '1'] });
  });
  after(async () => t.close());

  test('the cost of a finished job equals its reserved resources × the configured prices', async () => {
    const id = await submit(t.client, { jobQueue: 'c-q', jobDefinition: 'c-def', tags: { project: 'apollo' } });
    const job = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(job.status, 'SUCCEEDED');
    const a = JSON.parse(await cli('cost', '--job', id, '--json')) as { rows: CostRow[]; currency: string };
    assert.equal(a.rows.length, 1);
    const r = a.rows[0];
    assert.equal(r.key, id);
    assert.equal(r.attempts, 1);
    // The definition reserves 1 vCPU and 256 MiB, from placement to the end of the attempt.
    const seconds = r.vcpuSeconds;
    assert.ok(seconds >= (job.stoppedAt! - job.startedAt!) / 1000, 'reserved at least while the process ran');
    assert.ok(seconds <= (job.stoppedAt! - job.createdAt!) / 1000, 'reserved no longer than the job existed');
    assert.ok(Math.abs(r.gibSeconds - seconds * 0.25) < 1e-6);
    assert.ok(Math.abs(r.cost - (seconds * VCPU_HOUR + r.gibSeconds * GIB_HOUR) / 3600) < 1e-9);
    assert.equal(a.currency, 'USD');

    const byTag = await cli('cost', '--by', 'tag:project', '--csv');
    const [head, ...lines] = byTag.trim().split('\n');
    assert.match(head, /^group,key,name,attempts,vcpu_seconds,gib_seconds,gpu_seconds,cost,lost_cost/);
    assert.ok(lines.some((l) => l.startsWith('tag:project,apollo,,1,')), byTag);
    const byQueue = await cli('cost', '--by', 'queue', '--since', '1h');
    assert.match(byQueue, /c-q\s.*\s1\s/);
    assert.match(byQueue, /TOTAL/);
  });

  test('bad report input is a ClientException naming the member', async () => {
    await assert.rejects(cli('cost', '--by', 'colour'), (e: Error & { stderr?: string }) => /groupBy must be one of job, array, queue, share or tag:<key>/.test(e.stderr ?? ''));
  });
});

describe('openbatch cost without a price table', () => {
  let t: TestServer;
  const cli = async (...args: string[]) =>
    (await run(process.execPath, [CLI, ...args], { env: { ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } })).stdout;

  before(async () => {
    t = await startTestServer();
    await basicFarm(t.client, 'n', { maxvCpus: 2, command: ['true'] });
  });
  after(async () => t.close());

  test('covers the last 24 hours, counts an array as one job and shows resource-hours, not zero costs', async () => {
    const array = await submit(t.client, { jobQueue: 'n-q', jobDefinition: 'n-def', jobName: 'frames', arrayProperties: { size: 3 } });
    const single = await submit(t.client, { jobQueue: 'n-q', jobDefinition: 'n-def', jobName: 'single' });
    await waitForStatus(t.client, array, ['SUCCEEDED'], 60_000);
    await waitForStatus(t.client, single, ['SUCCEEDED'], 60_000);

    const before = Date.now();
    const a = JSON.parse(await cli('cost', '--json')) as { from: number; to: number; rows: CostRow[] };
    assert.ok(Math.abs(a.to - a.from - 24 * 3600_000) < 1000 && a.to >= before, 'the last 24 hours');
    assert.deepEqual(a.rows.map((r) => [r.key, r.name, r.attempts]).sort(), [[array, 'frames', 3], [single, 'single', 1]].sort());

    const text = await cli('cost');
    const [head] = text.split('\n');
    // The jobs' use was measured: what they used of what they held is shown beside the hours.
    assert.match(head, /^JOB\s+NAME\s+ATTEMPTS\s+VCPU-H\s+GIB-H\s+CPU USED\s+MEM USED\s+LOST$/);
    assert.match(text, new RegExp(`^${array}\\s+frames\\s+3\\s+0\\.\\d*[1-9]\\d*\\s+0\\.\\d*[1-9]\\d*\\s+(\\d+|<1)%\\s+(\\d+|<1)%\\s+-$`, 'm'), 'hours precise enough not to read as 0');
    assert.match(text, /resources reserved: no price table is configured/);

    // An array named with --job is shown child by child.
    const children = JSON.parse(await cli('cost', '--job', array, '--json')) as { rows: CostRow[] };
    assert.deepEqual(children.rows.map((r) => r.key).sort(), [0, 1, 2].map((i) => `${array}:${i}`));
  });
});
