/**
 * The shape of every Describe answer, member by member, as each client a user has sees it:
 * the JS SDK (`@aws-sdk/client-batch`), boto3 and the aws CLI. AWS returns empty lists and
 * maps rather than leaving members out, and clients index them directly
 * (`job['container']['environment']`), so each row is a member a client may index and what
 * it must find there for resources created with the fewest members AWS accepts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import * as batchSdk from '@aws-sdk/client-batch';
import {
  CreateConsumableResourceCommand,
  CreateSchedulingPolicyCommand,
  DescribeJobsCommand,
  RegisterJobDefinitionCommand,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { AWS, PYTHON, TEST_CREDENTIALS_ENV, awsMissing, boto3Missing, cliCommand, run, show } from '../helpers/awsClients.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BOTO3_CALLS = join(ROOT, 'test/e2e/boto3_calls.py');

/** A member that must not be in the answer. */
const ABSENT = Symbol('absent');

interface Call {
  operation: string;
  input: Record<string, unknown>;
}

/** A member of the answer to call `call` (`jobs[0].container.command`), and what it must hold. */
interface Row {
  call: number;
  member: string;
  want: unknown;
  /** A member added to the model after Debian 12's botocore (1.29): its boto3 and aws CLI drop it. */
  newerThanDebianBotocore?: true;
}

/** The value at a path such as `jobs[1].attempts[0].container.networkInterfaces`, or ABSENT. */
function at(answer: unknown, path: string): unknown {
  let v: unknown = answer;
  for (const step of path.split('.')) {
    const m = /^([^[]+)((?:\[\d+\])*)$/.exec(step)!;
    v = v === null || typeof v !== 'object' || !(m[1] in v) ? ABSENT : (v as Record<string, unknown>)[m[1]];
    for (const i of m[2].match(/\d+/g) ?? []) v = Array.isArray(v) && Number(i) < v.length ? v[Number(i)] : ABSENT;
    if (v === ABSENT) return ABSENT;
  }
  return v;
}

/** Answers of the JS SDK, without the SDK's own `$metadata`. */
async function viaSdk(client: BatchClient, calls: Call[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const c of calls) {
    const Command = (batchSdk as unknown as Record<string, new (input: unknown) => never>)[`${c.operation}Command`];
    const { $metadata: _, ...answer } = (await client.send(new Command(c.input))) as unknown as Record<string, unknown>;
    out.push(answer);
  }
  return out;
}

function check(client: string, answers: unknown[], rows: Row[], known: (operation: string) => boolean, calls: Call[], botocore = false): void {
  const wrong: string[] = [];
  for (const row of rows) {
    if (!known(calls[row.call].operation) || (botocore && row.newerThanDebianBotocore)) continue;
    const got = at(answers[row.call], row.member);
    try {
      if (row.want === ABSENT) assert.equal(got, ABSENT);
      else assert.deepEqual(got, row.want);
    } catch {
      wrong.push(`${calls[row.call].operation} ${row.member}: want ${row.want === ABSENT ? '(absent)' : JSON.stringify(row.want)}, got ${got === ABSENT ? '(absent)' : JSON.stringify(got)}`);
    }
  }
  assert.deepEqual(wrong, [], `${client} sees members shaped otherwise than AWS answers them:\n${wrong.join('\n')}`);
}

describe('answers shaped as AWS shapes them, through the JS SDK, boto3 and the aws CLI', () => {
  let t: TestServer;
  let home: string;
  const calls: Call[] = [];
  const rows: Row[] = [];

  before(async () => {
    t = await startTestServer();
    home = tempDir('openbatch-shapes-home-');
    // Minimal resources: only what AWS requires of each.
    await createCe(t.client, 'shapes-off', { state: 'DISABLED' });
    const queueArn = await createQueue(t.client, 'shapes-wait', ['shapes-off']);
    await createCe(t.client, 'shapes-on', { maxvCpus: 1 });
    await createQueue(t.client, 'shapes-run', ['shapes-on']);
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'shapes-bare',
        type: 'container',
        containerProperties: { image: 'busybox', vcpus: 1, memory: 128 },
        retryStrategy: { attempts: 2 },
      }),
    );
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'shapes-retry',
        type: 'container',
        containerProperties: { image: 'busybox', vcpus: 1, memory: 128 },
        retryStrategy: {
          attempts: 2,
          evaluateOnExit: [
            { action: 'EXIT', onReason: '*' },
            { action: 'Retry' as 'RETRY', onExitCode: '1' },
          ],
        },
      }),
    );
    await registerDefinition(t.client, 'shapes-rr', { command: ['true'] });
    // Jobs of several containers: an ECS task (an essential container and a sidecar) and an EKS pod.
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'shapes-ecs',
        type: 'container',
        ecsProperties: {
          taskProperties: [
            {
              containers: [
                { name: 'app', image: 'busybox', command: ['true'] },
                { name: 'side', image: 'busybox', essential: false, command: ['true'] },
              ],
            },
          ],
        },
      }),
    );
    await t.client.send(
      new RegisterJobDefinitionCommand({
        jobDefinitionName: 'shapes-eks',
        type: 'container',
        eksProperties: { podProperties: { containers: [{ name: 'main', image: 'busybox', command: ['true'] }] } },
      }),
    );
    const policy = await t.client.send(new CreateSchedulingPolicyCommand({ name: 'shapes-sp', fairsharePolicy: { shareDecaySeconds: 0 } }));
    await t.client.send(new CreateConsumableResourceCommand({ consumableResourceName: 'shapes-cr', totalQuantity: 1 }));

    const waiting = await submit(t.client, { jobName: 'waiting', jobQueue: 'shapes-wait', jobDefinition: 'shapes-bare' });
    const finished = await submit(t.client, { jobName: 'finished', jobQueue: 'shapes-run', jobDefinition: 'shapes-rr' });
    const array = await submit(t.client, { jobName: 'array', jobQueue: 'shapes-wait', jobDefinition: 'shapes-bare', arrayProperties: { size: 2 } });
    const ecs = await submit(t.client, { jobName: 'ecs', jobQueue: 'shapes-run', jobDefinition: 'shapes-ecs' });
    const eks = await submit(t.client, { jobName: 'eks', jobQueue: 'shapes-run', jobDefinition: 'shapes-eks' });
    for (const id of [finished, ecs, eks]) await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], 60_000);
    // Children exist as rows once the scheduler expands the array (design/lazy-arrays.md).
    while (!(await t.client.send(new DescribeJobsCommand({ jobs: [`${array}:0`] }))).jobs?.length) await new Promise((r) => setTimeout(r, 25));

    calls.push(
      { operation: 'DescribeJobs', input: { jobs: [waiting, finished, `${array}:0`, ecs, eks] } },
      { operation: 'DescribeJobDefinitions', input: { jobDefinitions: ['shapes-bare:1', 'shapes-retry:1', 'shapes-rr:1'] } },
      { operation: 'DescribeJobQueues', input: { jobQueues: ['shapes-wait'] } },
      { operation: 'DescribeComputeEnvironments', input: { computeEnvironments: ['shapes-off'] } },
      { operation: 'DescribeSchedulingPolicies', input: { arns: [policy.arn] } },
      { operation: 'DescribeConsumableResource', input: { consumableResource: 'shapes-cr' } },
      { operation: 'ListTagsForResource', input: { resourceArn: queueArn } },
    );
    const job = (i: number, member: string, want: unknown): Row => ({ call: 0, member: `jobs[${i}].${member}`, want });
    // ecsProperties and eksProperties came after Debian 12's botocore.
    const newer = (i: number, member: string, want: unknown): Row => ({ ...job(i, member, want), newerThanDebianBotocore: true });
    const ecsRows = (i: number): Row[] => [
      job(i, 'status', 'SUCCEEDED'),
      job(i, 'container', ABSENT),
      newer(i, 'ecsProperties.taskProperties[0].containers[0].name', 'app'),
      newer(i, 'ecsProperties.taskProperties[0].containers[0].exitCode', 0),
      newer(i, 'ecsProperties.taskProperties[0].containers[0].environment', []),
      newer(i, 'ecsProperties.taskProperties[0].containers[0].dependsOn', []),
      newer(i, 'ecsProperties.taskProperties[0].containers[0].networkInterfaces', []),
      newer(i, 'ecsProperties.taskProperties[0].containers[1].essential', false),
      newer(i, 'ecsProperties.taskProperties[0].containers[1].exitCode', 0),
      newer(i, 'ecsProperties.taskProperties[0].volumes', []),
      newer(i, 'attempts[0].taskProperties[0].containers[0].name', 'app'),
      newer(i, 'attempts[0].taskProperties[0].containers[0].exitCode', 0),
      newer(i, 'attempts[0].taskProperties[0].containers[0].networkInterfaces', []),
    ];
    const eksRows = (i: number): Row[] => [
      job(i, 'status', 'SUCCEEDED'),
      job(i, 'container', ABSENT),
      job(i, 'attempts', []),
      newer(i, 'eksProperties.podProperties.containers[0].exitCode', 0),
      newer(i, 'eksProperties.podProperties.containers[0].args', []),
      newer(i, 'eksProperties.podProperties.containers[0].env', []),
      newer(i, 'eksProperties.podProperties.containers[0].volumeMounts', []),
      newer(i, 'eksProperties.podProperties.volumes', []),
      newer(i, 'eksAttempts[0].containers[0].exitCode', 0),
    ];
    const def = (i: number, member: string, want: unknown): Row => ({ call: 1, member: `jobDefinitions[${i}].${member}`, want });
    rows.push(
      // A job waiting in its queue: nothing ran, nothing was given but image and resources.
      job(0, 'status', 'RUNNABLE'),
      job(0, 'attempts', []),
      job(0, 'dependsOn', []),
      job(0, 'parameters', {}),
      job(0, 'tags', {}),
      job(0, 'platformCapabilities', []),
      job(0, 'eksAttempts', []),
      job(0, 'retryStrategy', { attempts: 2, evaluateOnExit: [] }),
      job(0, 'container.command', []),
      job(0, 'container.environment', []),
      job(0, 'container.volumes', []),
      job(0, 'container.mountPoints', []),
      job(0, 'container.ulimits', []),
      job(0, 'container.secrets', []),
      job(0, 'container.networkInterfaces', []),
      // Resources given by the deprecated members are reported by them, as AWS does.
      job(0, 'container.vcpus', 1),
      job(0, 'container.memory', 128),
      job(0, 'container.resourceRequirements', []),
      job(0, 'arrayProperties', ABSENT),
      job(0, 'eksProperties', ABSENT),
      // A job that ran: each attempt's container has its (empty) network interfaces.
      job(1, 'attempts[0].container.networkInterfaces', []),
      job(1, 'container.vcpus', ABSENT),
      job(1, 'container.resourceRequirements', [
        { type: 'VCPU', value: '1' },
        { type: 'MEMORY', value: '256' },
      ]),
      // An array child: its index and an empty status summary.
      job(2, 'arrayProperties', { statusSummary: {}, index: 0 }),
      // An ECS task that ran: no container member, each task container with its exit and (empty) lists.
      ...ecsRows(3),
      // An EKS pod that ran: its containers' exits in eksProperties and eksAttempts, no attempts.
      ...eksRows(4),
      def(0, 'parameters', {}),
      def(0, 'tags', {}),
      def(0, 'platformCapabilities', ABSENT),
      def(0, 'retryStrategy.evaluateOnExit', []),
      def(0, 'containerProperties.command', []),
      def(0, 'containerProperties.environment', []),
      def(0, 'containerProperties.volumes', []),
      def(0, 'containerProperties.mountPoints', []),
      def(0, 'containerProperties.ulimits', []),
      def(0, 'containerProperties.secrets', []),
      def(0, 'containerProperties.resourceRequirements', []),
      def(0, 'containerProperties.linuxParameters', ABSENT),
      def(0, 'containerOrchestrationType', 'ECS'),
      // evaluateOnExit actions are taken in any case and answered in lowercase.
      def(1, 'retryStrategy.evaluateOnExit[0].action', 'exit'),
      def(1, 'retryStrategy.evaluateOnExit[1].action', 'retry'),
      def(2, 'containerProperties.command', ['true']),
      { call: 2, member: 'jobQueues[0].tags', want: {} },
      { call: 2, member: 'jobQueues[0].jobStateTimeLimitActions', want: [], newerThanDebianBotocore: true },
      { call: 2, member: 'jobQueues[0].schedulingPolicyArn', want: ABSENT },
      { call: 3, member: 'computeEnvironments[0].tags', want: {} },
      { call: 3, member: 'computeEnvironments[0].containerOrchestrationType', want: 'ECS' },
      { call: 4, member: 'schedulingPolicies[0].tags', want: {} },
      { call: 4, member: 'schedulingPolicies[0].fairsharePolicy.shareDistribution', want: [] },
      { call: 5, member: 'tags', want: {} },
      { call: 6, member: 'tags', want: {} },
    );
  });
  after(async () => {
    rmSync(home, { recursive: true, force: true });
    await t.close();
  });

  test('@aws-sdk/client-batch', async () => {
    check('@aws-sdk/client-batch', await viaSdk(t.client, calls), rows, () => true, calls);
  });

  test('boto3', { skip: boto3Missing }, async () => {
    const r = await run(PYTHON, [BOTO3_CALLS, t.url], home, {}, { stdin: JSON.stringify(calls) });
    assert.equal(r.code, 0, show(r));
    const answers = JSON.parse(r.stdout) as Record<string, unknown>[];
    // An operation newer than this boto3 (consumable resources, 2025) is skipped, not failed.
    const unknown = new Set(answers.filter((a) => 'unknownOperation' in a).map((a) => a.unknownOperation));
    check('boto3', answers, rows, (op) => !unknown.has(op), calls, true);
  });

  test('the aws CLI', { skip: awsMissing }, async () => {
    const answers: unknown[] = [];
    const unknown = new Set<string>();
    for (const c of calls) {
      const r = await run(AWS, ['batch', cliCommand(c.operation), '--endpoint-url', t.url, '--cli-input-json', JSON.stringify(c.input), '--output', 'json'], home, TEST_CREDENTIALS_ENV);
      if (r.code !== 0 && /Invalid choice/.test(r.stderr)) {
        // An operation newer than this CLI.
        unknown.add(c.operation);
        answers.push(undefined);
        continue;
      }
      assert.equal(r.code, 0, show(r));
      answers.push(JSON.parse(r.stdout));
    }
    check('the aws CLI', answers, rows, (op) => !unknown.has(op), calls, true);
  });
});
