/**
 * Container jobs when their engine or their agent goes away, against a Podman API service of
 * the test's own (`podman system service` on a socket of its own, which the test stops and
 * starts): an engine stopped under running containers ends none of them — the instance is
 * IMPAIRED and takes no work meanwhile, saying why, and every job finishes once when the
 * engine is back; the container of an agent killed with SIGKILL is removed before its retry
 * starts. Runs where scripts/ci/podman.sh set up Podman (OPENBATCH_TEST_DOCKER_HOST).
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { DescribeComputeEnvironmentsCommand, type BatchClient } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { requestOpenbatch } from '../../src/cli/openbatchApi.js';
import { DockerApi } from '../../src/executor/dockerApi.js';
import { agentsUnder, hostVolume, startTestServer, writableDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { until } from '../helpers/until.js';

const IMAGE = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';

function podmanMissing(): string | undefined {
  if (!process.env.OPENBATCH_TEST_DOCKER_HOST) return 'no Podman here: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh)';
  try {
    execFileSync('podman', ['--version'], { stdio: 'ignore' });
  } catch {
    return 'the podman command is not installed';
  }
  return undefined;
}

const skip = podmanMissing();

/** `podman system service` on a socket of the test's own, stopped and started at will. */
class Engine {
  readonly dir = mkdtempSync('/var/tmp/openbatch-engine-');
  readonly socket = join(this.dir, 'podman.sock');
  private child: ChildProcess | undefined;

  async start(): Promise<void> {
    rmSync(this.socket, { force: true });
    this.child = spawn('podman', ['system', 'service', '--time=0', `unix://${this.socket}`], { stdio: 'ignore' });
    for (let i = 0; i < 200 && !existsSync(this.socket); i++) await new Promise((r) => setTimeout(r, 50));
    // Answering, not just listening.
    for (let i = 0; i < 100; i++) {
      try {
        await new DockerApi(`unix://${this.socket}`).call('GET', '/version');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    throw new Error('podman system service did not answer');
  }

  /** The API service stops; the containers it made run on (conmon keeps them). */
  async stop(): Promise<void> {
    const c = this.child;
    if (!c || c.exitCode !== null) return;
    const exited = new Promise((r) => c.once('exit', r));
    c.kill('SIGTERM');
    await exited;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

async function instance(t: TestServer, id: string): Promise<InstanceView | undefined> {
  const { instances } = await requestOpenbatch<{ instances: InstanceView[] }>({ endpoint: t.url, region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } }, 'GET', '/openbatch/v1/instances', {});
  return instances.find((i) => i.instanceId === id);
}

describe('container jobs when their engine or their agent goes away', { skip }, () => {
  const engine = new Engine();
  const files = writableDir('openbatch-engine-files-');
  let t: TestServer;
  let client: BatchClient;
  before(async () => {
    if (skip) return;
    await engine.start();
    // A short lease: its polls come every 2 s, so the impairment is seen (and lifted) sooner.
    t = await startTestServer({ dockerHost: `unix://${engine.socket}`, hostVolumeRoots: [files], agentTimeoutSeconds: 6 });
    client = t.client;
    await createCe(client, 'boxes', { maxvCpus: 2, tags: { 'openbatch:executor': 'container' } });
    await createQueue(client, 'q', ['boxes']);
    // Each run notes its attempt, then ticks until its gate opens.
    const script = `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT start" >> ${files}/ledger; while [ ! -e ${files}/"$GATE" ]; do echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT tick" >> ${files}/ticks; sleep 0.1; done`;
    await registerDefinition(client, 'gated', { image: IMAGE, command: ['sh', '-c', script], ...hostVolume(files) }, { retryStrategy: { attempts: 2 } });
  });
  after(async () => {
    if (skip) return;
    await t?.close();
    await engine.destroy();
    rmSync(files, { recursive: true, force: true });
  });

  const runsOf = (id: string) => readFileSync(join(files, 'ledger'), 'utf8').split('\n').filter((l) => l.startsWith(id + ' '));
  const gated = (gate: string) => submit(client, { jobQueue: 'q', jobDefinition: 'gated', containerOverrides: { environment: [{ name: 'GATE', value: gate }] } });

  test('an engine stopped under running containers ends none of them: the instance takes no work and says why, then every job finishes once', async () => {
    const a = await gated('gate-a');
    const first = await waitForStatus(client, a, ['RUNNING'], 60_000);
    const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
    await until('the job to start', async () => existsSync(join(files, 'ledger')) && runsOf(a).length === 1);

    await engine.stop();
    const impaired = await until('the instance to be impaired', async () => {
      const i = await instance(t, instanceId);
      return i?.state === 'IMPAIRED' && i;
    });
    assert.match(impaired.stateReason ?? '', /container engine .* does not answer/);
    const ceSays = async () => (await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['boxes'] }))).computeEnvironments![0].statusReason ?? '';
    const said = await until('the compute environment to say why', async () => {
      const r = await ceSays();
      return r.includes(`${instanceId}: the container engine`) && r;
    });
    assert.match(said, /^1 instance cannot run jobs: /);
    // Submitted meanwhile: it waits, it does not fail.
    const b = await gated('gate-b');

    await engine.start();
    await until('the instance to take work again', async () => (await instance(t, instanceId))?.state === 'ACTIVE');
    writeFileSync(join(files, 'gate-a'), '');
    writeFileSync(join(files, 'gate-b'), '');
    for (const id of [a, b]) {
      const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(j.status, 'SUCCEEDED', j.statusReason);
      assert.equal(j.attempts?.length, 1, `${id} was retried: ${j.attempts?.[0]?.statusReason}`);
      assert.deepEqual(runsOf(id), [`${id} 1 start`], 'ran once');
    }
    assert.equal(await until('the compute environment to be healthy again', async () => (await ceSays()) === 'ComputeEnvironment Healthy' && 'healthy'), 'healthy');
  });

  test("an agent killed with SIGKILL: its container is removed before the job's retry starts", async () => {
    const id = await gated('gate-c');
    const first = await waitForStatus(client, id, ['RUNNING'], 60_000);
    const instanceId = first.container!.containerInstanceArn!.split('/').pop()!;
    await until('the job to start', async () => runsOf(id).length === 1);
    const [agent] = agentsUnder(join(t.dataDir, 'work', instanceId));
    assert.ok(agent, 'the job has an agent');
    process.kill(agent, 'SIGKILL');

    await until('the retry to start', async () => runsOf(id).length === 2);
    const ticks = () => readFileSync(join(files, 'ticks'), 'utf8').split('\n').filter((l) => l === `${id} 1 tick`).length;
    const before = ticks();
    await new Promise((r) => setTimeout(r, 1_000));
    assert.equal(ticks(), before, 'the first attempt still ran beside its retry');
    // Nothing of the first attempt is left in the engine.
    const api = new DockerApi(`unix://${engine.socket}`);
    const left = await api.call<{ Names: string[] }[]>('GET', `/containers/json?all=1&filters=${encodeURIComponent(JSON.stringify({ label: [`openbatch.attempt=${id}#1`] }))}`);
    assert.deepEqual(left, []);
    writeFileSync(join(files, 'gate-c'), '');
    const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(j.status, 'SUCCEEDED', j.statusReason);
    assert.equal(j.attempts?.[0].statusReason, `Host EC2 (instance ${instanceId}) terminated.`);
    assert.equal((await describeJob(client, id)).attempts?.length, 2);
  });
});
