/**
 * Jobs of several containers through the real SDK: ECS tasks (ecsProperties) and EKS pods
 * (eksProperties), on the process executor (one sandbox, a process group per container) and
 * on the container executor (a pod of containers sharing a network). What is checked is what
 * AWS documents: dependsOn START / COMPLETE / SUCCESS, an essential container's exit ending
 * the task, each container's exit code, reason and log stream in DescribeJobs, retries and
 * timeouts of the task, init containers, $(VAR) in EKS commands, emptyDir and secret volumes,
 * eksAttempts with the pod's and node's names.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand, RegisterJobDefinitionCommand, SubmitJobCommand, TerminateJobCommand, type JobDetail } from '@aws-sdk/client-batch';
import { CLI, startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, eventually, jobUsage, logLines, waitForStatus } from '../helpers/fixtures.js';
import { HandAgent } from '../helpers/handAgent.js';
import { socketPath } from '../../src/executor/dockerApi.js';
import { findCatatonit } from '../../src/executor/containerPod.js';
import type { AttemptUsageDetail, UsageAnswer } from '../../src/model/usage.js';

const DOCKER_HOST = process.env.OPENBATCH_TEST_DOCKER_HOST ?? '';
const IMAGE = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';
const noDocker = DOCKER_HOST !== '' && existsSync(socketPath(DOCKER_HOST)) ? false : 'no Docker API socket: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh starts one)';
const noPause = findCatatonit() ? false : 'catatonit is not installed (scripts/ci/podman.sh installs it)';
const NODE = process.execPath;
const R = { VCPU: (v: string) => ({ type: 'VCPU' as const, value: v }), MEMORY: (v: string) => ({ type: 'MEMORY' as const, value: v }) };

/** A Node one-liner as a container's command. */
const node = (code: string) => [NODE, '--input-type=module', '-e', code];
/** A server on 127.0.0.1:<port> answering "hello from <name>", until SIGTERM. */
const server = (port: number, name: string) => node(`import http from 'node:http'; http.createServer((q, s) => s.end('hello from ${name}')).listen(${port}, '127.0.0.1', () => console.log('listening')); process.on('SIGTERM', () => { console.log('stopped'); process.exit(143); });`);
/** Asks 127.0.0.1:<port> until it answers (a server started is not yet listening), prints the answer. */
const client = (port: number) => node(`for (;;) { try { console.log(await (await fetch('http://127.0.0.1:${port}/')).text()); break; } catch { await new Promise((r) => setTimeout(r, 50)); } }`);

describe('jobs of several containers', () => {
  let t: TestServer;
  const work = tempDir('openbatch-multi-');
  before(async () => {
    const secrets = join(work, 'secrets.json');
    writeFileSync(secrets, JSON.stringify({ 'db-password': 's3cret', 'app-config': { 'config.ini': 'mode=fast', token: 'abc' } }));
    t = await startTestServer({ timeDilation: 60, terminateGraceSeconds: 5, secretsFile: secrets, dockerHost: DOCKER_HOST });
    await createCe(t.client, 'procs', { maxvCpus: 4 });
    await createQueue(t.client, 'q', ['procs']);
    if (!noDocker) {
      await createCe(t.client, 'pods', { maxvCpus: 4, tags: { 'openbatch:executor': 'container' } });
      await createQueue(t.client, 'cq', ['pods']);
    }
  });
  after(async () => t.close());

  async function register(name: string, body: Omit<ConstructorParameters<typeof RegisterJobDefinitionCommand>[0], 'jobDefinitionName'>): Promise<void> {
    await t.client.send(new RegisterJobDefinitionCommand({ jobDefinitionName: name, ...body }));
  }
  async function run(queue: string, definition: string, extra: Partial<ConstructorParameters<typeof SubmitJobCommand>[0]> = {}): Promise<JobDetail> {
    const { jobId } = await t.client.send(new SubmitJobCommand({ jobName: definition, jobQueue: queue, jobDefinition: definition, ...extra }));
    return waitForStatus(t.client, jobId!, ['SUCCEEDED', 'FAILED'], 90_000);
  }
  /** `openbatch <args>` against the server: what it printed on stdout. */
  async function cli(...args: string[]): Promise<string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('OPENBATCH_')) env[k] = v;
    return (await promisify(execFile)(process.execPath, [CLI, '--endpoint-url', t.url, ...args], { env })).stdout;
  }
  const cliLogs = (...args: string[]) => cli('logs', ...args);
  /** A stream's lines without the notices of what the host does not enforce. */
  const output = async (url: string, stream: string) => (await logLines(url, stream)).filter((l) => !l.startsWith('openbatch: not enforced'));
  /** What the job's task used in all (DescribeJobs' openbatch:usage, which the SDK drops). */
  async function used(jobId: string): Promise<AttemptUsageDetail | undefined> {
    return (await jobUsage(t.url, jobId))?.attempts[0];
  }
  const containers = (job: JobDetail) => Object.fromEntries((job.ecsProperties?.taskProperties?.[0].containers ?? []).map((c) => [c.name!, c]));

  test('ECS: the containers share a network; the essential one ends the task, and each exit and stream is reported', async () => {
    await register('web', {
      type: 'container',
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'server', image: 'busybox', essential: false, command: server(8181, 'server'), resourceRequirements: [R.VCPU('1'), R.MEMORY('256')] },
              { name: 'app', image: 'busybox', dependsOn: [{ containerName: 'server', condition: 'START' }], command: client(8181), resourceRequirements: [R.VCPU('1'), R.MEMORY('256')] },
            ],
          },
        ],
      },
    });
    const job = await run('q', 'web');
    assert.equal(job.status, 'SUCCEEDED', `${job.statusReason}: ${JSON.stringify(job.ecsProperties)}`);
    assert.equal(job.container, undefined, 'a job of ecsProperties has no container member');
    const c = containers(job);
    assert.equal(c.app.exitCode, 0);
    assert.equal(c.server.exitCode, 143, 'the server was stopped when the essential app ended');
    assert.match(c.app.logStreamName ?? '', /^web\/app\/[0-9a-f]+$/);
    assert.deepEqual(await output(t.url, c.app.logStreamName!), ['hello from server']);
    assert.deepEqual(await output(t.url, c.server.logStreamName!), ['listening', 'stopped']);
    // The CLI prints the essential container's output, or the one named.
    assert.equal(await cliLogs(job.jobId!), 'hello from server\n');
    assert.equal(await cliLogs('--container', 'server', job.jobId!), 'listening\nstopped\n');
    const described = await cli('describe', job.jobId!);
    assert.match(described, /^containers +server {2}exit 143$/m);
    assert.match(described, /^ +app {2}exit 0$/m);
    const attempt = job.attempts?.[0];
    assert.equal(attempt?.container, undefined);
    assert.deepEqual(
      attempt?.taskProperties?.[0].containers?.map((x) => [x.name, x.exitCode]),
      [
        ['server', 143],
        ['app', 0],
      ],
    );
    assert.equal(attempt?.taskProperties?.[0].taskArn, job.ecsProperties?.taskProperties?.[0].taskArn);
    // What the task used: its containers together, in one sandbox's cgroup.
    const u = await used(job.jobId!);
    assert.ok(u && u.cpuSeconds! > 0 && u.peakMemoryMiB! > 0, JSON.stringify(u));
    assert.deepEqual(u.reserved, { vcpus: 2, memoryMiB: 512 });
    // Right-sizing advice compares the runs with what the task asks: its containers' total.
    const advice = JSON.parse(await cli('usage', 'web', '--json')) as UsageAnswer;
    assert.deepEqual([advice.advice.asks, advice.advice.runs], [{ vcpus: 2, memoryMiB: 512, fargate: false }, 1]);
    // The task holds its containers' sum.
    assert.deepEqual(job.ecsProperties?.taskProperties?.[0].containers?.map((x) => x.resourceRequirements), [
      [R.VCPU('1'), R.MEMORY('256')],
      [R.VCPU('1'), R.MEMORY('256')],
    ]);
  });

  test('ECS: COMPLETE and SUCCESS wait for a container to end; a failed SUCCESS leaves the essential one unstarted and fails the job', async () => {
    const setup = (code: number) => node(`import { writeFileSync } from 'node:fs'; writeFileSync('prepared', 'ready'); process.exit(${code});`);
    const task = (code: number, condition: 'COMPLETE' | 'SUCCESS') => ({
      type: 'container' as const,
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'setup', image: 'busybox', essential: false, command: setup(code) },
              { name: 'main', image: 'busybox', dependsOn: [{ containerName: 'setup', condition }], command: node(`import { readFileSync } from 'node:fs'; console.log(readFileSync('prepared', 'utf8'));`), resourceRequirements: [R.VCPU('1'), R.MEMORY('128')] },
            ],
          },
        ],
      },
    });
    await register('staged-ok', task(0, 'SUCCESS'));
    await register('staged-complete', task(3, 'COMPLETE'));
    await register('staged-bad', task(3, 'SUCCESS'));
    const ok = await run('q', 'staged-ok');
    assert.equal(ok.status, 'SUCCEEDED', ok.statusReason);
    assert.deepEqual(await output(t.url, containers(ok).main.logStreamName!), ['ready']);
    const complete = await run('q', 'staged-complete');
    assert.equal(complete.status, 'SUCCEEDED', 'COMPLETE takes any exit of a container that is not essential');
    assert.equal(containers(complete).setup.exitCode, 3);
    const bad = await run('q', 'staged-bad');
    assert.equal(bad.status, 'FAILED');
    const main = containers(bad).main;
    assert.equal(main.exitCode, undefined, 'it never started');
    assert.match(main.reason ?? '', /^CannotStartContainerError: dependency not satisfied: container "setup" \(SUCCESS\) exited with 3/);
    assert.equal(containers(bad).setup.exitCode, 3);
  });

  test('ECS: an essential container that fails fails the job with its exit code; the retry strategy and overrides apply per container', async () => {
    await register('flaky', {
      type: 'container',
      retryStrategy: { attempts: 2, evaluateOnExit: [{ onExitCode: '7', action: 'RETRY' }, { onExitCode: '*', action: 'EXIT' }] },
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'sidecar', image: 'busybox', essential: false, command: server(8282, 'sidecar'), environment: [{ name: 'ROLE', value: 'sidecar' }] },
              {
                name: 'worker',
                image: 'busybox',
                command: node(`console.log(process.env.ROLE, process.env.PASSWORD, process.env.AWS_BATCH_JOB_ATTEMPT); process.exit(Number(process.env.CODE));`),
                environment: [{ name: 'ROLE', value: 'worker' }, { name: 'CODE', value: '0' }],
                secrets: [{ name: 'PASSWORD', valueFrom: 'db-password' }],
                resourceRequirements: [R.VCPU('1'), R.MEMORY('128')],
              },
            ],
          },
        ],
      },
    });
    const job = await run('q', 'flaky', { ecsPropertiesOverride: { taskProperties: [{ containers: [{ name: 'worker', environment: [{ name: 'CODE', value: '7' }] }] }] } });
    assert.equal(job.status, 'FAILED');
    assert.equal(job.statusReason, 'Essential container in task exited');
    assert.equal(job.attempts?.length, 2, 'exit 7 was retried once');
    assert.deepEqual(job.attempts?.map((a) => a.taskProperties?.[0].containers?.find((x) => x.name === 'worker')?.exitCode), [7, 7]);
    const worker = containers(job).worker;
    assert.equal(worker.exitCode, 7);
    assert.deepEqual(worker.environment?.find((e) => e.name === 'CODE'), { name: 'CODE', value: '7' });
    assert.deepEqual(await output(t.url, worker.logStreamName!), ['worker s3cret 2']);
  });

  test("ECS: the attempt timeout and TerminateJob stop every container of the task", async () => {
    await register('stuck', {
      type: 'container',
      timeout: { attemptDurationSeconds: 60 },
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'a', image: 'busybox', command: ['sleep', '600'] },
              { name: 'b', image: 'busybox', essential: false, command: ['sleep', '600'] },
            ],
          },
        ],
      },
    });
    const timedOut = await run('q', 'stuck');
    assert.equal(timedOut.status, 'FAILED');
    assert.equal(timedOut.statusReason, 'Job attempt duration exceeded timeout');
    assert.deepEqual(Object.values(containers(timedOut)).map((c) => c.exitCode), [143, 143]);
    const { jobId } = await t.client.send(new SubmitJobCommand({ jobName: 'stuck', jobQueue: 'q', jobDefinition: 'stuck', timeout: { attemptDurationSeconds: 36_000 } }));
    await waitForStatus(t.client, jobId!, ['RUNNING']);
    await t.client.send(new TerminateJobCommand({ jobId, reason: 'enough' }));
    const terminated = await waitForStatus(t.client, jobId!, ['SUCCEEDED', 'FAILED']);
    assert.equal(terminated.statusReason, 'enough');
    assert.deepEqual(Object.values(containers(terminated)).map((c) => c.exitCode), [143, 143]);
  });

  test('EKS: init containers first, $(VAR) in commands, emptyDir and secret volumes; eksAttempts name the pod and node', async () => {
    await register('pod', {
      type: 'container',
      eksProperties: {
        podProperties: {
          volumes: [{ name: 'scratch', emptyDir: {} }, { name: 'config', secret: { secretName: 'app-config' } }],
          initContainers: [{ name: 'fetch', image: 'busybox', command: ['sh', '-c'], args: ['echo "$(GREETING) from init" > /data/greeting'], env: [{ name: 'GREETING', value: 'hi' }], volumeMounts: [{ name: 'scratch', mountPath: '/data' }] }],
          containers: [
            {
              name: 'main',
              image: 'busybox',
              command: ['sh', '-c', "cat /data/greeting; cat /config/config.ini; echo; echo '$$(KEPT) $(MISSING)'"],
              resources: { limits: { cpu: '1', memory: '256Mi' } },
              volumeMounts: [
                { name: 'scratch', mountPath: '/data' },
                { name: 'config', mountPath: '/config', readOnly: true },
              ],
            },
          ],
        },
      },
    });
    const job = await run('q', 'pod');
    const stream = `pod/main/${(job.eksAttempts?.[0]?.podName ?? '').slice('aws-batch.'.length)}`;
    assert.equal(job.status, 'SUCCEEDED', `${job.statusReason} ${JSON.stringify(job.eksAttempts)}\n${(await logLines(t.url, stream)).join('\n')}`);
    assert.equal(job.container, undefined);
    assert.deepEqual(job.attempts, []);
    const attempt = job.eksAttempts?.[0];
    assert.match(attempt?.podName ?? '', /^aws-batch\.[0-9a-f]+$/);
    assert.match(attempt?.nodeName ?? '', /^i-[0-9a-f]+$/);
    assert.deepEqual(attempt?.initContainers, [{ name: 'fetch', exitCode: 0 }]);
    assert.deepEqual(attempt?.containers, [{ name: 'main', exitCode: 0 }]);
    assert.equal(job.eksProperties?.podProperties?.podName, attempt?.podName);
    assert.equal(job.eksProperties?.podProperties?.containers?.[0].exitCode, 0);
    // Its containers' output has a stream each, named as ECS names them (EKS jobs report none).
    assert.deepEqual(await output(t.url, stream), ['hi from init', 'mode=fast', '$(KEPT) $(MISSING)']);
    assert.equal(await cliLogs(job.jobId!), 'hi from init\nmode=fast\n$(KEPT) $(MISSING)\n');
  });

  test('EKS: a failing init container fails the pod and its containers never start', async () => {
    await register('pod-bad-init', {
      type: 'container',
      eksProperties: { podProperties: { initContainers: [{ name: 'check', image: 'busybox', command: ['sh', '-c', 'exit 4'] }], containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } },
    });
    const job = await run('q', 'pod-bad-init');
    assert.equal(job.status, 'FAILED');
    assert.deepEqual(job.eksAttempts?.[0].initContainers, [{ name: 'check', exitCode: 4 }]);
    assert.equal(job.eksAttempts?.[0].containers?.[0].exitCode, undefined);
    assert.match(job.eksAttempts?.[0].containers?.[0].reason ?? '', /dependency not satisfied: container "check" \(SUCCESS\) exited with 4/);
  });

  test('an agent of an older openbatch, which runs one container, is given such a job as one that cannot start, without its secrets', async () => {
    await t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'old-agents', type: 'UNMANAGED' }));
    await createQueue(t.client, 'old-q', ['old-agents']);
    await register('old-task', {
      type: 'container',
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'main', image: 'busybox', command: ['true'], secrets: [{ name: 'DB_PASSWORD', valueFrom: 'db-password' }] },
              { name: 'side', image: 'busybox', essential: false, command: ['true'] },
            ],
          },
        ],
      },
    });
    // Its polls name no features, as before jobs of several containers.
    const agent = await HandAgent.join(t, 'old-agents', { vcpus: 4, memoryMiB: 8192, gpus: 0 });
    const { jobId } = await t.client.send(new SubmitJobCommand({ jobName: 'old', jobQueue: 'old-q', jobDefinition: 'old-task' }));
    const a = await eventually('the attempt handed to the agent', async () => (await agent.poll()).start.find((x) => x.jobId === jobId));
    assert.match(a.cannotStart ?? '', /^CannotStartContainerError: the agent of instance i-[0-9a-f]+ is of an older openbatch that cannot run jobs of several containers/);
    assert.equal(a.containers, undefined);
    assert.doesNotMatch(JSON.stringify(a), /s3cret/);
  });

  test('on the container executor: a pod whose containers reach each other on localhost', { skip: noDocker || noPause }, async () => {
    await register('web-pod', {
      type: 'container',
      ecsProperties: {
        taskProperties: [
          {
            containers: [
              { name: 'server', image: IMAGE, essential: false, command: ['sh', '-c', 'mkdir -p /tmp/www && echo hello from the pod > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www'] },
              {
                name: 'app',
                image: IMAGE,
                dependsOn: [{ containerName: 'server', condition: 'START' }],
                command: ['sh', '-c', 'until wget -qO- http://127.0.0.1:8080/index.html; do sleep 0.1; done'],
                resourceRequirements: [R.VCPU('1'), R.MEMORY('64')],
              },
            ],
          },
        ],
      },
    });
    const job = await run('cq', 'web-pod');
    assert.equal(job.status, 'SUCCEEDED', `${job.statusReason} ${JSON.stringify(job.ecsProperties?.taskProperties?.[0].containers?.map((c) => [c.name, c.exitCode, c.reason]))}`);
    const c = containers(job);
    assert.equal(c.app.exitCode, 0);
    assert.deepEqual(await output(t.url, c.app.logStreamName!), ['hello from the pod']);
    assert.notEqual(c.server.exitCode, undefined, 'the server was stopped with the task');
    // What the pod used: its containers' figures together, from the engine.
    const u = await used(job.jobId!);
    assert.ok(u && u.source === 'engine' && u.cpuSeconds! > 0 && u.peakMemoryMiB! > 0, JSON.stringify(u));
  });
});
