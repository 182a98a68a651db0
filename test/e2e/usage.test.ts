/**
 * What jobs really used, end to end: a job that burns a known CPU time and holds a known
 * amount of memory shows figures in range in DescribeJobs' `openbatch:usage` member (while it
 * runs, with its memory over time, and at its end) and in `openbatch describe`; the JS SDK,
 * boto3 and the aws CLI drop the member; `openbatch usage` advises on a definition's runs and
 * `openbatch cost` shows used against asked.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { DescribeJobsCommand } from '@aws-sdk/client-batch';
import type { JobUsageDetail, UsageAnswer } from '../../src/model/usage.js';
import type { CostRow } from '../../src/model/cost.js';
import { AWS, PYTHON, TEST_CREDENTIALS_ENV, awsMissing, boto3Missing, run, show } from '../helpers/awsClients.js';
import { createCe, createQueue, eventually, rawDescribeJobs, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { CLI, sharedDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BOTO3_CALLS = join(ROOT, 'test/e2e/boto3_calls.py');

/** CPU seconds the job burns (its own process's CPU clock, whatever the load) and MiB it holds. */
const BURN_SECONDS = 1.5;
const HOLD_MIB = 200;

/**
 * Burns BURN_SECONDS of CPU, then holds HOLD_MIB (every page written) until the gate file
 * exists and then for the seconds of its second argument (none: 0): the test sees it running
 * with its memory held, then lets it end.
 */
const JOB = `
import os, sys, time
t = time.process_time()
while time.process_time() - t < ${BURN_SECONDS}:
    pass
held = b'x' * (${HOLD_MIB} * 1024 * 1024)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
time.sleep(float(sys.argv[2]) if len(sys.argv) > 2 else 0)
`;

describe('what a job really used', () => {
  let t: TestServer;
  let home: string;
  const gates = sharedDir('openbatch-usage-gates-');
  const env = () => ({ ...process.env, OPENBATCH_ENDPOINT: t.url, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' });
  const cli = async (...args: string[]) => (await exec(process.execPath, [CLI, ...args], { env: env() })).stdout;
  /** DescribeJobs as it comes over the wire, extension member and all. */
  const rawDescribe = (id: string) => rawDescribeJobs(t.url, [id]);
  let jobId: string;

  before(async () => {
    home = tempDir('openbatch-usage-home-');
    t = await startTestServer({ usageSampleSeconds: 0.2 });
    await createCe(t.client, 'u-ce', { maxvCpus: 2 });
    await createQueue(t.client, 'u-q', ['u-ce']);
    await registerDefinition(t.client, 'burner', {
      command: ['/usr/bin/python3', '-c', JOB, 'Ref::gate'],
      resourceRequirements: [
        { type: 'VCPU', value: '2' },
        { type: 'MEMORY', value: '1024' },
      ],
    });
  });
  after(async () => {
    rmSync(home, { recursive: true, force: true });
    rmSync(gates, { recursive: true, force: true });
    await t.close();
  });

  test('while it runs: its memory now and over time, in DescribeJobs and openbatch describe', async () => {
    const gate = join(gates, 'first');
    jobId = await submit(t.client, { jobQueue: 'u-q', jobDefinition: 'burner', parameters: { gate } });
    const running = await eventually(
      'the running job to show the memory it holds',
      async () => {
        const a = await rawDescribe(jobId);
        const u = a['openbatch:usage'][jobId]?.attempts[0];
        return u && (u.currentMemoryMiB ?? 0) >= HOLD_MIB ? u : undefined;
      },
      120_000,
    );
    assert.equal(running.status, 'RUNNING');
    assert.ok(running.currentMemoryMiB! < HOLD_MIB + 100, `memory now ${running.currentMemoryMiB} MiB`);
    assert.ok(running.cpuSeconds! >= BURN_SECONDS * 0.9, `CPU so far ${running.cpuSeconds} s`);
    const text = await cli('describe', jobId);
    assert.match(text, /^used\s+#1  so far: CPU [\d.]+ s \([\d.]+ of 2 vCPU on average\), memory 2\d\d MiB now, peak memory 2\d\d MiB of 1,024 MiB/m, text);
    writeFileSync(gate, '');
    const done = await waitForStatus(t.client, jobId, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(done.status, 'SUCCEEDED', done.statusReason);
  });

  test('at its end: CPU seconds and peak memory in range, in DescribeJobs and openbatch describe', async () => {
    const u = (await rawDescribe(jobId))['openbatch:usage'][jobId].attempts[0];
    assert.equal(u.status, 'SUCCEEDED');
    assert.equal(u.attempt, 1);
    assert.deepEqual(u.reserved, { vcpus: 2, memoryMiB: 1024 });
    // The burn, plus the interpreter's start and the shell around it: well under a second more.
    assert.ok(u.cpuSeconds! >= BURN_SECONDS * 0.95 && u.cpuSeconds! < BURN_SECONDS + 1.5, `CPU ${u.cpuSeconds} s`);
    assert.ok(u.peakMemoryMiB! >= HOLD_MIB && u.peakMemoryMiB! < HOLD_MIB + 100, `peak ${u.peakMemoryMiB} MiB`);
    assert.equal(u.currentMemoryMiB, undefined, 'an ended attempt holds no memory now');
    assert.ok(u.averageVcpus! > 0 && u.averageVcpus! <= 2.05, `average ${u.averageVcpus} vCPU`);
    const text = await cli('describe', jobId);
    assert.match(text, /^used\s+#1  CPU [\d.]+ s \([\d.]+ of 2 vCPU on average\), peak memory 2\d\d MiB of 1,024 MiB/m, text);
    const json = JSON.parse(await cli('describe', jobId, '--json')) as { 'openbatch:usage': JobUsageDetail };
    assert.equal(json['openbatch:usage'].attempts[0].peakMemoryMiB, u.peakMemoryMiB);
  });

  test('the JS SDK, boto3 and the aws CLI drop the extension member; the answer carries it', async () => {
    assert.ok((await rawDescribe(jobId))['openbatch:usage'][jobId], 'the raw answer has the member');
    const sdk = await t.client.send(new DescribeJobsCommand({ jobs: [jobId] }));
    assert.deepEqual(Object.keys(sdk).sort(), ['$metadata', 'jobs']);
    assert.equal(sdk.jobs![0].jobId, jobId);
    assert.ok(!JSON.stringify(sdk).includes('openbatch:usage'));

    if (!boto3Missing) {
      const r = await run(PYTHON, [BOTO3_CALLS, t.url], home, {}, { stdin: JSON.stringify([{ operation: 'DescribeJobs', input: { jobs: [jobId] } }]) });
      assert.equal(r.code, 0, show(r));
      const [answer] = JSON.parse(r.stdout) as Record<string, unknown>[];
      assert.deepEqual(Object.keys(answer), ['jobs']);
      assert.ok(!r.stdout.includes('openbatch:usage'));
    }
    if (!awsMissing) {
      const r = await run(AWS, ['batch', 'describe-jobs', '--endpoint-url', t.url, '--jobs', jobId, '--output', 'json'], home, TEST_CREDENTIALS_ENV);
      assert.equal(r.code, 0, show(r));
      assert.deepEqual(Object.keys(JSON.parse(r.stdout) as object), ['jobs']);
      assert.ok(!r.stdout.includes('openbatch:usage'));
    }
  });

  test('openbatch usage: no advice before 10 runs, then what would do; openbatch cost: used against asked', async () => {
    const early = JSON.parse(await cli('usage', 'burner', '--json')) as UsageAnswer;
    assert.equal(early.advice.code, 'TOO_FEW_RUNS');
    assert.equal(early.advice.runs, 1);
    // Nine more, short: an array job whose children burn little, find their gate at once and
    // hold their memory a second (without it, starting the interpreter and filling 200 MiB keep
    // one vCPU busy for most of a run that short, and 1.25 times that is 2 vCPUs).
    const gate = join(gates, 'open');
    writeFileSync(gate, '');
    const array = await submit(t.client, {
      jobQueue: 'u-q',
      jobDefinition: 'burner',
      parameters: { gate },
      arrayProperties: { size: 9 },
      containerOverrides: { command: ['/usr/bin/python3', '-c', JOB.replace(String(BURN_SECONDS), '0.05'), gate, '1'] },
    });
    const ended = await waitForStatus(t.client, array, ['SUCCEEDED', 'FAILED'], 240_000);
    assert.equal(ended.status, 'SUCCEEDED');
    const a = JSON.parse(await cli('usage', 'burner', '--json')) as UsageAnswer;
    assert.equal(a.advice.runs, 10);
    assert.equal(a.advice.code, 'OVERSIZED', a.advice.summary);
    // 200-odd MiB × 1.25 → 512 MiB; well under one vCPU on average → 1 vCPU.
    assert.deepEqual(a.advice.suggest, { vcpus: 1, memoryMiB: 512 });
    const text = await cli('usage', 'burner');
    assert.match(text, /^advice\s+OVERSIZED$/m);
    assert.match(text, /^why\s+asks 2 vCPU \/ 1,024 MiB; used at most [\d.]+ vCPU \/ 2\d\d MiB \(p95 over 10 runs\): 1 vCPU \/ 512 MiB would do$/m, text);

    const cost = JSON.parse(await cli('cost', '--json')) as { total: CostRow };
    assert.equal(cost.total.measuredAttempts, 10);
    // Peak memory 200-odd MiB of 1,024 held: a fifth to a third.
    const memShare = cost.total.peakGibSeconds / cost.total.gibSecondsWhileRunning;
    assert.ok(memShare > 0.19 && memShare < 0.35, `memory used ${memShare}`);
    assert.ok(cost.total.cpuSecondsUsed > 0 && cost.total.cpuSecondsUsed < cost.total.vcpuSecondsWhileRunning);
    assert.match(await cli('cost'), /CPU USED\s+MEM USED/);
  });
});
