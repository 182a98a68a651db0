/**
 * Triggers: a rule watching a directory submits one job per new file, with the file's path as
 * parameter and in the environment; a file is taken once, even across a kill -9 and restart,
 * and only once it has stopped growing.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdirSync, rmSync, writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ListJobsCommand, type BatchClient, type JobSummary } from '@aws-sdk/client-batch';
import { batchClient, type ServerProcess, sharedDir, spawnServer, tempDir } from '../helpers/server.js';
import { createCe, createQueue, describeJob, logLines, registerDefinition, waitForStatus } from '../helpers/fixtures.js';

const dataDir = tempDir();
const inbox = sharedDir('openbatch-inbox-');
let server: ServerProcess | undefined;
after(async () => {
  await server?.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(inbox, { recursive: true, force: true });
});

/** The queue's jobs, each once (a job moving on between the per-status reads is seen twice). */
async function jobsOf(client: BatchClient): Promise<JobSummary[]> {
  const out: JobSummary[] = [];
  for (const jobStatus of ['SUBMITTED', 'PENDING', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED', 'FAILED'] as const) {
    const res = await client.send(new ListJobsCommand({ jobQueue: 'ingest', jobStatus }));
    out.push(...(res.jobSummaryList ?? []));
  }
  return [...new Map(out.map((j) => [j.jobId, j])).values()];
}

async function waitForJobs(client: BatchClient, n: number): Promise<JobSummary[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const jobs = await jobsOf(client);
    if (jobs.length >= n || Date.now() > deadline) return jobs;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** path → the job's log (it prints the parameter, the environment variable and the byte count) */
async function outputs(client: BatchClient, url: string, jobs: JobSummary[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const j of jobs) {
    const d = await waitForStatus(client, j.jobId!, ['SUCCEEDED', 'FAILED']);
    assert.equal(d.status, 'SUCCEEDED', d.statusReason);
    const lines = await logLines(url, d.container!.logStreamName!);
    out.set(d.parameters!.file, lines);
  }
  return out;
}

test('one job per dropped file, the file passed as Ref::file and OPENBATCH_TRIGGER_FILE; none again after a restart; new files after it are taken', async () => {
  const env = {
    OPENBATCH_TRIGGERS: JSON.stringify([
      { name: 'ingest', watch: join(inbox, '**/*.txt'), jobQueue: 'ingest', jobDefinition: 'count', settleSeconds: 1, pollSeconds: 0.2 },
    ]),
  };
  server = await spawnServer(dataDir, 0, env);
  let client = batchClient(server.url);
  await createCe(client, 'ce', { maxvCpus: 2 });
  await createQueue(client, 'ingest', ['ce']);
  await registerDefinition(client, 'count', { command: ['sh', '-c', 'echo "param=$1 env=$OPENBATCH_TRIGGER_FILE bytes=$(wc -c < "$1")"', 'count', 'Ref::file'] });

  mkdirSync(join(inbox, 'sub'));
  writeFileSync(join(inbox, 'a.txt'), 'alpha\n');
  writeFileSync(join(inbox, 'sub', 'b.txt'), 'bravo\n');
  writeFileSync(join(inbox, 'ignored.csv'), 'not matched\n');
  // Uploaders write under a hidden name and rename when done: the hidden file is never taken.
  writeFileSync(join(inbox, '.c.txt.part'), 'charlie\n');
  writeFileSync(join(inbox, '.hidden.txt'), 'hidden\n');
  // A file still being written: it grows for a while; its job must see all of it.
  const slow = join(inbox, 'slow.txt');
  writeFileSync(slow, '');
  for (let i = 0; i < 6; i++) {
    appendFileSync(slow, '0123456789\n');
    await new Promise((r) => setTimeout(r, 300));
  }
  renameSync(join(inbox, '.c.txt.part'), join(inbox, 'c.txt'));

  const first = await waitForJobs(client, 4);
  let logs = await outputs(client, server.url, first);
  assert.deepEqual([...logs.keys()].sort(), ['a.txt', 'c.txt', 'slow.txt', 'sub/b.txt'].map((f) => join(inbox, f)).sort());
  assert.deepEqual(logs.get(join(inbox, 'a.txt')), [`param=${join(inbox, 'a.txt')} env=${join(inbox, 'a.txt')} bytes=6`]);
  assert.match(logs.get(slow)![0], /bytes=66$/, 'the growing file was taken once complete');
  const d = await describeJob(client, first[0].jobId!);
  assert.equal(d.tags?.['openbatch:trigger'], 'ingest');

  client.destroy();
  await server.kill('SIGKILL');
  server = await spawnServer(dataDir, 0, env);
  let serverLog = '';
  server.child.stdout!.on('data', (c: Buffer) => (serverLog += c.toString()));
  client = batchClient(server.url);
  writeFileSync(join(inbox, 'after-restart.txt'), 'delta\n');
  const all = await waitForJobs(client, 5);
  // Give the new server more scans over the old files before counting.
  writeFileSync(join(inbox, 'sub', 'last.txt'), 'echo\n');
  const final = await waitForJobs(client, 6);
  logs = await outputs(client, server.url, final);
  assert.equal(all.length >= 5, true);
  assert.equal(final.length, 6, `jobs: ${final.map((j) => j.jobName).join(', ')}\nserver log:\n${serverLog.split('\n').filter((l) => l.includes('trigger')).join('\n')}`);
  assert.deepEqual(
    [...logs.keys()].sort(),
    ['a.txt', 'after-restart.txt', 'c.txt', 'slow.txt', 'sub/b.txt', 'sub/last.txt'].map((f) => join(inbox, f)).sort(),
  );
  client.destroy();
});
