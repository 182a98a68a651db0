/**
 * Bad requests, class by class: each answers HTTP 400 ClientException (or another 4xx where
 * HTTP itself is at fault) with a message naming the member and what to do, and the server
 * keeps serving afterwards. Requests the SDK can send go through the SDK; bodies it would
 * never produce go through fetch, unsigned (the test server has no credentials).
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateComputeEnvironmentCommand,
  CreateJobQueueCommand,
  CreateServiceEnvironmentCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobQueuesCommand,
  DescribeJobsCommand,
  ListJobsCommand,
  ListQuotaSharesCommand,
  RegisterJobDefinitionCommand,
  SubmitServiceJobCommand,
  type CreateJobQueueCommandInput,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue } from '../helpers/fixtures.js';
import { assertRawClientException, raw, rejectsClient, sdkError } from '../helpers/apiErrors.js';

const queueInput = (changes: Record<string, unknown> = {}): CreateJobQueueCommandInput =>
  ({ jobQueueName: 'q-new', priority: 1, computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'ce' }], ...changes }) as CreateJobQueueCommandInput;

describe('bad requests', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
    await createCe(t.client, 'ce');
    await createQueue(t.client, 'q', ['ce']);
  });
  after(async () => {
    // Whatever came before, the server still answers.
    const res = await t.client.send(new DescribeJobQueuesCommand({ jobQueues: ['q'] }));
    assert.equal(res.jobQueues?.[0]?.jobQueueName, 'q');
    await t.close();
  });

  test('a body that is not valid JSON is a ClientException saying so', async () => {
    const answer = await raw(t.url, '/v1/createjobqueue', '{"jobQueueName": "x",');
    assertRawClientException(answer, /request body is not valid JSON/);
    assert.equal(answer.body?.__type, 'ClientException');
  });

  test('a JSON body that is not an object is a ClientException saying it must be one', async () => {
    assertRawClientException(await raw(t.url, '/v1/describejobqueues', '[1, 2]'), /request body must be a JSON object/);
    assertRawClientException(await raw(t.url, '/v1/describejobqueues', '"q"'), /request body must be a JSON object/);
  });

  test('a missing required member is named', async () => {
    await rejectsClient(t.client.send(new CreateJobQueueCommand(queueInput({ jobQueueName: undefined }))), /^jobQueueName is required$/);
    await rejectsClient(
      t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'x', type: 'MANAGED' })),
      /computeResources is required when type is MANAGED/,
    );
    assertRawClientException(await raw(t.url, '/v1/createjobqueue', '{}'), /jobQueueName is required/);
  });

  test('a member of the wrong JSON type is named with the type expected and the value received', async () => {
    await rejectsClient(t.client.send(new CreateJobQueueCommand(queueInput({ jobQueueName: 5 }))), /jobQueueName must be a string, got number 5/);
    assertRawClientException(await raw(t.url, '/v1/createjobqueue', queueInput({ priority: 'high' })), /priority must be a number, got a string/);
    assertRawClientException(
      await raw(t.url, '/v1/createcomputeenvironment', {
        computeEnvironmentName: 'x',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: '8', subnets: [], instanceTypes: ['optimal'] },
      }),
      /computeResources\.maxvCpus must be a number, got a string/,
    );
    assertRawClientException(
      await raw(t.url, '/v1/createjobqueue', queueInput({ computeEnvironmentOrder: { order: 1 } })),
      /computeEnvironmentOrder must be a list, got an object/,
    );
  });

  test('a number out of range is named with the range and the value', async () => {
    await rejectsClient(t.client.send(new CreateJobQueueCommand(queueInput({ priority: 5000 }))), /priority must be between 0 and 1000 \(got 5000\)/);
    await rejectsClient(t.client.send(new DescribeJobQueuesCommand({ maxResults: 0 })), /maxResults must be between 1 and 100 \(got 0\)/);
    await rejectsClient(
      t.client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'd',
          type: 'container',
          containerProperties: { image: 'busybox', vcpus: 1, memory: 64 },
          timeout: { attemptDurationSeconds: 5 },
        }),
      ),
      /timeout\.attemptDurationSeconds must be at least 60 \(got 5\)/,
    );
  });

  test('an unknown enum value is named with the values allowed', async () => {
    await rejectsClient(
      t.client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'x', type: 'SPOTTY' as never })),
      /type must be one of MANAGED, UNMANAGED \(got 'SPOTTY'\)/,
    );
    await rejectsClient(t.client.send(new CreateJobQueueCommand(queueInput({ state: 'HALF' }))), /state must be one of (ENABLED, DISABLED|DISABLED, ENABLED) \(got 'HALF'\)/);
    await rejectsClient(t.client.send(new ListJobsCommand({ jobQueue: 'q', jobStatus: 'DONE' as never })), /jobStatus must be one of .*SUCCEEDED.*\(got 'DONE'\)/);
  });

  test('an unknown member is named, with a "did you mean" hint when only its case is wrong', async () => {
    assertRawClientException(
      await raw(t.url, '/v1/createjobqueue', { ...queueInput(), jobQueueName: undefined, JobQueueName: 'x' }),
      /JobQueueName is not a member of CreateJobQueueRequest \(did you mean 'jobQueueName'\?\)/,
    );
    const answer = await raw(t.url, '/v1/createjobqueue', { ...queueInput(), colour: 'blue' });
    assertRawClientException(answer, /colour is not a member of CreateJobQueueRequest/);
    assert.doesNotMatch(answer.body?.message ?? '', /did you mean/);
    assertRawClientException(
      await raw(t.url, '/v1/createcomputeenvironment', {
        computeEnvironmentName: 'x',
        type: 'MANAGED',
        computeResources: { type: 'EC2', maxvCpus: 8, subnets: [], instanceTypes: ['optimal'], MinvCpus: 0 },
      }),
      /computeResources\.MinvCpus is not a member of ComputeResource \(did you mean 'minvCpus'\?\)/,
    );
  });

  test('a bad resource name is refused, saying which characters a name may have', async () => {
    await rejectsClient(
      t.client.send(new CreateJobQueueCommand(queueInput({ jobQueueName: 'my queue' }))),
      /jobQueueName 'my queue' is invalid: use 1-128 letters, digits, hyphens \(-\) and underscores \(_\)/,
    );
    await rejectsClient(t.client.send(new CreateJobQueueCommand(queueInput({ jobQueueName: 'q'.repeat(129) }))), /jobQueueName '.*' is invalid/);
  });

  test('a pagination token that was never issued is refused, naming nextToken', async () => {
    await rejectsClient(
      t.client.send(new DescribeComputeEnvironmentsCommand({ nextToken: 'not-a-token' })),
      /nextToken is invalid for DescribeComputeEnvironments: pass the nextToken value from the previous/,
    );
  });

  test('DescribeJobs with 101 job ids is refused: at most 100', async () => {
    const jobs = Array.from({ length: 101 }, (_, i) => `job-${i}`);
    await rejectsClient(t.client.send(new DescribeJobsCommand({ jobs })), /jobs must have 1-100 entries \(got 101\)/);
    const hundred = await t.client.send(new DescribeJobsCommand({ jobs: jobs.slice(0, 100) }));
    assert.deepEqual(hundred.jobs, []);
  });

  test('operations openbatch cannot have answer a ClientException saying so, never 404', async () => {
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      [
        'CreateServiceEnvironment',
        () =>
          t.client.send(
            new CreateServiceEnvironmentCommand({
              serviceEnvironmentName: 'sm',
              serviceEnvironmentType: 'SAGEMAKER_TRAINING',
              capacityLimits: [{ maxCapacity: 1, capacityUnit: 'NUM_INSTANCES' }],
            }),
          ),
        /CreateServiceEnvironment is not available in openbatch: service environments/,
      ],
      [
        'SubmitServiceJob',
        () => t.client.send(new SubmitServiceJobCommand({ jobName: 'j', jobQueue: 'q', serviceJobType: 'SAGEMAKER_TRAINING', serviceRequestPayload: '{}' })),
        /SubmitServiceJob is not available in openbatch: service jobs/,
      ],
      ['ListQuotaShares', () => t.client.send(new ListQuotaSharesCommand({ jobQueue: 'q' })), /ListQuotaShares is not available in openbatch: quota shares/],
    ];
    for (const [op, call, message] of cases) {
      const text = await sdkError(call(), 'ClientException', 400);
      assert.match(text, message, op);
    }
  });

  test('an operation openbatch cannot have says so even when its input is incomplete', async () => {
    assertRawClientException(await raw(t.url, '/v1/submitservicejob', '{}'), /SubmitServiceJob is not available in openbatch/);
    assertRawClientException(await raw(t.url, '/v1/listquotashares', '{}'), /ListQuotaShares is not available in openbatch/);
  });

  test('an unknown path or a wrong method answers a 4xx with an error type and message, not a 500', async () => {
    for (const [method, path] of [
      ['POST', '/v1/nosuchoperation'],
      ['GET', '/v1/describejobqueues'],
      ['GET', '/no/such/thing'],
    ]) {
      const answer = await raw(t.url, path, method === 'GET' ? undefined : '{}', { method });
      assert.ok(answer.status >= 400 && answer.status < 500, `${method} ${path} answered ${answer.status}`);
      assert.equal(answer.errorType, 'ClientException');
      assert.match(answer.body?.message ?? '', /no such operation/);
    }
  });

  test('a body over 1 MiB answers a 4xx saying the limit', async () => {
    const big = JSON.stringify({ jobQueueName: 'x'.repeat(1024 * 1024 + 1) });
    const answer = await raw(t.url, '/v1/createjobqueue', big);
    assert.ok(answer.status >= 400 && answer.status < 500, `answered ${answer.status}`);
    assert.equal(answer.errorType, 'ClientException');
    assert.match(answer.body?.message ?? '', /1 MiB/);
  });

  test('a member that belongs in the URL is refused when it comes in the body', async () => {
    const arn = encodeURIComponent('arn:aws:batch:us-east-1:000000000000:job-queue/q');
    assertRawClientException(
      await raw(t.url, `/v1/tags/${arn}`, { resourceArn: 'arn:aws:batch:us-east-1:000000000000:job-queue/q', tags: { a: 'b' } }),
      /resourceArn belongs in the request URL, not the body/,
    );
  });

  test('after all of these the server still serves requests', async () => {
    const res = await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['ce'] }));
    assert.equal(res.computeEnvironments?.[0]?.computeEnvironmentName, 'ce');
    assert.equal((await fetch(t.url + '/healthz')).status, 200);
  });
});
