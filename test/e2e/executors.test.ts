/**
 * Executors through the real SDK: a job definition's isolation settings and secrets reach the
 * job the agent runs; limits end it as AWS Batch reports; a compute environment tagged
 * `openbatch:executor=container` runs its jobs as containers (when a Docker API socket is
 * there: scripts/ci/podman.sh). docs/executors.md.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeComputeEnvironmentsCommand, DescribeJobsCommand, RegisterJobDefinitionCommand, type ContainerProperties } from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createQueue, describeJob, logLines, submit, waitForStatus } from '../helpers/fixtures.js';
import { OOM_REASON } from '../../src/executor/process.js';
import { Sandbox } from '../../src/executor/sandbox.js';
import { CgroupHost, ContainerMemoryParent } from '../../src/executor/cgroups.js';
import { DockerApi, socketPath } from '../../src/executor/dockerApi.js';
import { CPU_SHARES_SCRIPT } from '../helpers/cpuScripts.js';

const DOCKER_HOST = process.env.OPENBATCH_TEST_DOCKER_HOST ?? '';
const IMAGE = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';
const noDocker = DOCKER_HOST !== '' && existsSync(socketPath(DOCKER_HOST)) ? false : 'no Docker API socket: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh starts one)';
const noSandbox = typeof Sandbox.probe() === 'string' ? 'bubblewrap cannot sandbox jobs on this host' : false;
const noMemoryCgroup = CgroupHost.probe().controllers.includes('memory') ? false : 'no memory cgroup on this host';
const noCpuCgroup = CgroupHost.probe().controllers.includes('cpu') ? false : 'no cpu cgroup on this host';

const SECRET_VALUE = 'p4ss-' + process.pid;
const ENV_SECRET_VALUE = 'tok-' + process.pid;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The agent of a local instance: a child process of this one (the server runs in-process here). */
function agentPids(instanceId: string): number[] {
  const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
  return children.map(Number).filter((pid) => {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      return argv.includes('agent') && argv.includes(instanceId);
    } catch {
      return false;
    }
  });
}

function managedCe(name: string, tags?: Record<string, string>) {
  return new CreateComputeEnvironmentCommand({
    computeEnvironmentName: name,
    type: 'MANAGED',
    tags,
    computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 2, instanceTypes: ['optimal'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' },
  });
}

describe('executors through the API', () => {
  let t: TestServer;
  const dir = mkdtempSync(join(tmpdir(), 'openbatch-executors-'));
  const register = (name: string, cp: Partial<ContainerProperties>) =>
    t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: name,
        type: 'container',
        containerProperties: { image: IMAGE, resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }], ...cp },
      }),
    );
  const run = async (definition: string, queue = 'q') => {
    const id = await submit(t.client, { jobName: definition, jobQueue: queue, jobDefinition: definition });
    return waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
  };

  before(async () => {
    const secretsFile = join(dir, 'secrets.json');
    writeFileSync(secretsFile, JSON.stringify({ 'db-pass': SECRET_VALUE }));
    process.env[`OPENBATCH_SECRET_api_token_${process.pid}`] = ENV_SECRET_VALUE;
    t = await startTestServer({ secretsFile, dockerHost: DOCKER_HOST, hostVolumeRoots: [dir] });
    await t.client.send(managedCe('local'));
    await createQueue(t.client, 'q', ['local']);
  });
  after(async () => {
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a volume is mounted where the job definition says, and readonlyRootFilesystem holds', { skip: noSandbox }, async () => {
    const vol = mkdtempSync(join(dir, 'vol-'));
    writeFileSync(join(vol, 'in.txt'), 'from the host\n');
    // The job's to read and write: a root agent runs it as nobody.
    chmodSync(vol, 0o777);
    await register('mounted', {
      command: ['sh', '-c', 'cat /data/in.txt; echo written > /data/out.txt; touch /etc/openbatch-ro 2>/dev/null && echo root-writable || echo root-read-only'],
      volumes: [{ name: 'data', host: { sourcePath: vol } }],
      mountPoints: [{ sourceVolume: 'data', containerPath: '/data' }],
      readonlyRootFilesystem: true,
    });
    const job = await run('mounted');
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), ['from the host', 'root-read-only']);
    assert.equal(readFileSync(join(vol, 'out.txt'), 'utf8'), 'written\n');
  });

  test('secrets reach the job’s environment, but not DescribeJobs nor its log', async () => {
    await register('secretive', {
      // The job shows digests of what it got, so that the test can check the values without the log holding them.
      command: ['sh', '-c', 'printf %s "$DB_PASSWORD" | sha256sum | cut -c1-64; printf %s "$API_TOKEN" | sha256sum | cut -c1-64'],
      secrets: [
        { name: 'DB_PASSWORD', valueFrom: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-pass' },
        { name: 'API_TOKEN', valueFrom: `api_token_${process.pid}` },
      ],
    });
    const job = await run('secretive');
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    const digest = (v: string) => createHash('sha256').update(v).digest('hex');
    assert.deepEqual(await logLines(t.url, job.container!.logStreamName!), [digest(SECRET_VALUE), digest(ENV_SECRET_VALUE)]);
    const described = JSON.stringify((await t.client.send(new DescribeJobsCommand({ jobs: [job.jobId!] }))).jobs);
    assert.ok(!described.includes(SECRET_VALUE) && !described.includes(ENV_SECRET_VALUE), described);
    assert.ok(described.includes('arn:aws:secretsmanager:us-east-1:123456789012:secret:db-pass'), 'valueFrom is shown, as AWS does');
  });

  test('a secret the store does not have fails the attempt with AWS’s ResourceInitializationError', async () => {
    await register('missing-secret', { command: ['true'], secrets: [{ name: 'NOPE', valueFrom: 'arn:aws:ssm:us-east-1:123456789012:parameter/not/there' }] });
    const job = await run('missing-secret');
    assert.equal(job.status, 'FAILED');
    const reason = job.attempts?.[0]?.container?.reason ?? job.container?.reason ?? '';
    assert.match(reason, /^ResourceInitializationError: unable to pull secrets or registry auth: .*NOPE/);
    assert.equal(job.statusReason, 'Task failed to start');
    assert.equal(job.attempts?.[0]?.startedAt, undefined, 'it never ran');
    assert.equal(job.startedAt, undefined);
  });

  test('a job over its memory limit exits 137 with AWS’s OutOfMemoryError reason', { skip: noMemoryCgroup }, async () => {
    await register('hungry', {
      command: ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'],
      resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }],
    });
    const job = await run('hungry');
    assert.equal(job.status, 'FAILED');
    assert.equal(job.container?.exitCode, 137);
    assert.equal(job.attempts?.[0]?.container?.reason ?? job.container?.reason, OOM_REASON);
  });

  test('a compute environment names its executor with a tag; a name that is not one is refused', async () => {
    await assert.rejects(t.client.send(managedCe('bad', { 'openbatch:executor': 'vm' })), (e: Error) => e.name === 'ClientException' && /tags\.openbatch:executor must be one of process, container/.test(e.message));
    await t.client.send(managedCe('boxes', { 'openbatch:executor': 'container' }));
    const ce = (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['boxes'] }))).computeEnvironments?.[0];
    assert.equal(ce?.tags?.['openbatch:executor'], 'container');
  });

  test('a compute environment tagged openbatch:sandbox=off runs its jobs outside the sandbox; a value that is not a setting is refused', { skip: noSandbox }, async () => {
    await assert.rejects(t.client.send(managedCe('bad-sandbox', { 'openbatch:sandbox': 'no' })), (e: Error) => e.name === 'ClientException' && /tags\.openbatch:sandbox must be one of on, off \(got 'no'\)/.test(e.message));
    await assert.rejects(t.client.send(managedCe('bad-network', { 'openbatch:sandbox-network': 'bridge' })), (e: Error) => e.name === 'ClientException' && /tags\.openbatch:sandbox-network must be one of none, host/.test(e.message));
    await t.client.send(managedCe('bare', { 'openbatch:sandbox': 'off' }));
    await createQueue(t.client, 'bare-q', ['bare']);
    // A sandboxed job has a private /tmp: what it writes there never reaches the host's.
    const marker = (where: string) => `/tmp/openbatch-sandbox-tag-${process.pid}-${where}`;
    await register('tmp-writer', { command: ['sh', '-c', 'echo here > "$1"', 'sh', 'Ref::path'] });
    const runAt = async (queue: string, path: string) => {
      const id = await submit(t.client, { jobName: 'tmp-writer', jobQueue: queue, jobDefinition: 'tmp-writer', parameters: { path } });
      return waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    };
    try {
      assert.equal((await runAt('q', marker('sandboxed'))).status, 'SUCCEEDED');
      assert.equal(existsSync(marker('sandboxed')), false, 'the default CE sandboxes its jobs');
      assert.equal((await runAt('bare-q', marker('bare'))).status, 'SUCCEEDED');
      assert.equal(readFileSync(marker('bare'), 'utf8'), 'here\n', 'the CE tagged sandbox=off does not');
    } finally {
      rmSync(marker('sandboxed'), { force: true });
      rmSync(marker('bare'), { force: true });
    }
  });

  test('a compute environment tagged openbatch:vcpu-limit=shares gives its jobs 1,024 CPU shares per vCPU and no quota; a value that is not a setting is refused', { skip: noCpuCgroup }, async () => {
    await assert.rejects(t.client.send(managedCe('bad-vcpu', { 'openbatch:vcpu-limit': 'cap' })), (e: Error) => e.name === 'ClientException' && /tags\.openbatch:vcpu-limit must be one of quota, shares \(got 'cap'\)/.test(e.message));
    await t.client.send(managedCe('shared', { 'openbatch:vcpu-limit': 'shares' }));
    await createQueue(t.client, 'shared-q', ['shared']);
    await register('shares', { command: ['sh', '-c', CPU_SHARES_SCRIPT], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }] });
    const job = await run('shares', 'shared-q');
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    const [line] = await logLines(t.url, job.container!.logStreamName!);
    assert.ok(['1024 -1', '39 max'].includes(line.trim()), line);
  });

  test('jobs of a compute environment tagged openbatch:executor=container run as containers', { skip: noDocker }, async () => {
    await createQueue(t.client, 'cq', ['boxes']);
    // The test image's /etc/passwd has two users (scripts/ci/podman.sh); the host's has more.
    await register('boxed', { command: ['sh', '-c', 'wc -l < /etc/passwd'] });
    const job = await run('boxed', 'cq');
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.deepEqual((await logLines(t.url, job.container!.logStreamName!)).map((l) => l.trim()), ['2']);
  });

  test('a container whose image cannot be pulled never runs: "Task failed to start", which a retry rule matches as on AWS', { skip: noDocker }, async () => {
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'unpullable',
        type: 'container',
        retryStrategy: { attempts: 2, evaluateOnExit: [{ action: 'RETRY', onStatusReason: 'Task failed to start' }, { action: 'EXIT', onReason: '*' }] },
        containerProperties: { image: 'localhost:1/openbatch/no-such-image:1', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '128' }] },
      }),
    );
    const job = await run('unpullable', 'cq');
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Task failed to start');
    assert.equal(job.attempts?.length, 2, 'retried once by the rule on the statusReason');
    for (const a of job.attempts ?? []) {
      assert.equal(a.statusReason, 'Task failed to start');
      assert.match(a.container?.reason ?? '', /^CannotPullContainerError: /);
      assert.equal(a.startedAt, undefined, 'never RUNNING');
    }
    assert.equal(job.startedAt, undefined);
  });

  test('a container whose agent is killed with SIGKILL is removed', { skip: noDocker }, async () => {
    await register('boxed-forever', { command: ['sleep', '300'] });
    const id = await submit(t.client, { jobName: 'boxed-forever', jobQueue: 'cq', jobDefinition: 'boxed-forever' });
    await waitForStatus(t.client, id, ['RUNNING'], 60_000);
    const api = new DockerApi(DOCKER_HOST);
    const filters = encodeURIComponent(JSON.stringify({ label: [`openbatch.attempt=${id}#1`] }));
    const containers = () => api.call<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`);
    for (let i = 0; i < 200 && (await containers()).length === 0; i++) await sleep(100);
    const [container] = (await containers()) as { Names: string[] }[];
    assert.ok(container, 'the job has a container');
    const name = container.Names[0].replace(/^\//, '');
    const instanceId = (await describeJob(t.client, id)).container?.containerInstanceArn?.split('/').pop() ?? '';
    const agents = agentPids(instanceId);
    assert.equal(agents.length, 1, `one agent serves ${instanceId}`);
    process.kill(agents[0], 'SIGKILL');
    let left = 1;
    for (let i = 0; i < 300 && left > 0; i++) {
      await sleep(100);
      left = (await containers()).length;
    }
    assert.equal(left, 0, 'the dead agent\'s container is still there');
    // On cgroup v1 its memory cgroup (see executor/container.ts) goes with it.
    const parent = ContainerMemoryParent.of(name);
    const gone = () => !parent || !existsSync(join('/sys/fs/cgroup/memory', parent.cgroupParent));
    for (let i = 0; i < 100 && !gone(); i++) await sleep(100);
    assert.ok(gone(), `the dead agent's container left its memory cgroup ${parent?.cgroupParent}`);
    await waitForStatus(t.client, id, ['FAILED'], 60_000);
  });
});
