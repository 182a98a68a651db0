/**
 * `openbatch drain`: stopping the farm on purpose, through the real CLI. No job starts while
 * it drains; running jobs finish, then every local and joined agent stops (minvCpus or not);
 * with --stop-jobs running jobs are stopped as on a lost host and run again after --resume.
 */
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import { agentsUnder, CLI, hostVolume, startTestServer, tempDir, writableDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import type { DrainStatus } from '../../src/store/drain.js';

let t: TestServer;
// The jobs' ledger and gates: a host directory their definition mounts, the server grants.
const files = writableDir('openbatch-drain-files-');
const joinedDir = tempDir('openbatch-drain-agent-');
let joined: ChildProcess | undefined;
before(async () => {
  t = await startTestServer({ agentJoinToken: 'drain-join-token', hostVolumeRoots: [files] });
});
after(async () => {
  joined?.kill('SIGKILL');
  await t.close();
  rmSync(files, { recursive: true, force: true });
  rmSync(joinedDir, { recursive: true, force: true });
});

function drain(...args: string[]): Promise<DrainStatus> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [CLI, 'drain', '--json', ...args], { env: { ...process.env, OPENBATCH_ENDPOINT: t.url } }, (err, stdout, stderr) => {
      if (err) reject(new Error(`openbatch drain ${args.join(' ')}: ${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as DrainStatus);
    });
  });
}

const GATED = ['sh', '-c', `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT" >> ${join(files, 'ledger')}; while [ ! -e "$GATE" ]; do sleep 0.05; done`];

function gated(queue: string, gate: string, definition = 'gated'): Promise<string> {
  return submit(t.client, { jobQueue: queue, jobDefinition: definition, containerOverrides: { environment: [{ name: 'GATE', value: join(files, gate) }] } });
}

test('drain: nothing starts, running jobs finish, then every agent stops, minvCpus and joined ones too; resume starts the rest', async () => {
  await createCe(t.client, 'local', { minvCpus: 1, maxvCpus: 2 });
  await createQueue(t.client, 'q', ['local']);
  await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'mine', type: 'UNMANAGED' }));
  await createQueue(t.client, 'mine-q', ['mine']);
  await registerDefinition(t.client, 'gated', { command: GATED, ...hostVolume(files) }, { retryStrategy: { attempts: 2 } });
  joined = spawn(process.execPath, [CLI, 'agent', '--server', t.url, '--ce', 'mine', '--vcpus', '1', '--memory', '512', '--work-dir', joinedDir], {
    env: { ...process.env, OPENBATCH_AGENT_TOKEN: 'drain-join-token' },
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  const joinedExit = new Promise<number | null>((r) => joined!.once('exit', (code) => r(code)));

  const running = await gated('q', 'first');
  const onJoined = await gated('mine-q', 'first');
  await waitForStatus(t.client, running, ['RUNNING']);
  await waitForStatus(t.client, onJoined, ['RUNNING']);

  const s = await drain();
  assert.equal(s.draining, true);
  assert.equal(s.stopJobs, false);
  assert.equal(s.drained, false);
  // Submitted during the drain: it waits, and says why.
  const waiting = await gated('q', 'second');
  const w = await waitForStatus(t.client, waiting, ['RUNNABLE']);
  for (let i = 0; i < 100 && !(await describeJob(t.client, waiting)).statusReason; i++) await new Promise((r) => setTimeout(r, 50));
  assert.match((await describeJob(t.client, waiting)).statusReason ?? '', /openbatch drain/, w.statusReason);

  // The running jobs finish; then the farm empties, local agents (minvCpus notwithstanding) and the joined one.
  writeFileSync(join(files, 'first'), '');
  for (const id of [running, onJoined]) assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
  const done = await drain('--wait', '--timeout', '60');
  assert.equal(done.drained, true);
  assert.equal(done.instances, 0);
  assert.equal(await joinedExit, 0, 'the joined agent left and exited');
  for (let i = 0; i < 100 && agentsUnder(t.dataDir).length; i++) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(agentsUnder(t.dataDir), [], 'no local agent is left');
  assert.equal((await describeJob(t.client, waiting)).status, 'RUNNABLE');

  // Resumed: the waiting job starts on a new instance.
  assert.equal((await drain('--resume')).draining, false);
  writeFileSync(join(files, 'second'), '');
  assert.equal((await waitForStatus(t.client, waiting, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
});

test('drain --stop-jobs: running jobs are stopped as on a lost host, the agents go, and the jobs run again after resume', async () => {
  const id = await gated('q', 'third');
  const first = await waitForStatus(t.client, id, ['RUNNING']);
  const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
  const done = await drain('--stop-jobs', '--wait', '--timeout', '60');
  assert.equal(done.drained, true);
  const stopped = await describeJob(t.client, id);
  assert.equal(stopped.status, 'RUNNABLE');
  assert.equal(stopped.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
  assert.deepEqual(agentsUnder(t.dataDir), []);
  await drain('--resume');
  writeFileSync(join(files, 'third'), '');
  const j = await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED']);
  assert.equal(j.status, 'SUCCEEDED', j.statusReason);
  assert.equal(j.attempts?.length, 2);
  const runs = readFileSync(join(files, 'ledger'), 'utf8').split('\n').filter((l) => l.startsWith(id));
  assert.deepEqual(runs, [`${id} 1`, `${id} 2`]);
});
