/**
 * The semantic validators, table by table: for each operation, inputs AWS accepts pass, and
 * each class of bad input throws a ClientException whose message names the member.
 *
 * Inputs here have already passed the structural check in the server, so they have the
 * SDK's JS types; bad cases are built by patching a valid input (`patch`), which is also how
 * the values the SDK types forbid ('SPOTTY' for an enum) get in.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type {
  CreateComputeEnvironmentCommandInput,
  CreateJobQueueCommandInput,
  RegisterJobDefinitionCommandInput,
  SubmitJobCommandInput,
} from '@aws-sdk/client-batch';
import { BatchError } from '../../src/model/errors.js';
import * as validate from '../../src/api/validate/index.js';

/** A bad input, the member path its message must name, and optionally more of the message. */
interface Bad {
  name: string;
  input: unknown;
  path: string;
  says?: string;
}

interface Table<I> {
  valid: Record<string, I>;
  invalid: Bad[];
}

/** A copy of `base` with members replaced (or removed, with `undefined`). */
function patch<T extends object>(base: T, changes: Record<string, unknown>): unknown {
  return { ...base, ...changes };
}

function suite<I>(operation: string, check: (input: I) => void, table: Table<I>): void {
  describe(operation, () => {
    for (const [name, input] of Object.entries(table.valid))
      test(`accepts ${name}`, () => {
        check(input);
      });
    for (const bad of table.invalid)
      test(`rejects ${bad.name}, naming ${bad.path}`, () => {
        assert.throws(
          () => check(bad.input as I),
          (e: unknown) => {
            assert.ok(e instanceof BatchError, `expected a BatchError, got ${String(e)}`);
            assert.equal(e.code, 'ClientException');
            assert.ok(e.message.includes(bad.path), `message ${JSON.stringify(e.message)} does not name ${bad.path}`);
            if (bad.says) assert.ok(e.message.includes(bad.says), `message ${JSON.stringify(e.message)} does not say ${JSON.stringify(bad.says)}`);
            return true;
          },
        );
      });
  });
}

const CE_ARN = 'arn:aws:batch:us-east-1:000000000000:compute-environment/ce-1';
const JQ_ARN = 'arn:aws:batch:us-east-1:000000000000:job-queue/q';
const JD_ARN = 'arn:aws:batch:us-east-1:000000000000:job-definition/jd:3';
const SP_ARN = 'arn:aws:batch:us-east-1:000000000000:scheduling-policy/fs';
const CR_ARN = 'arn:aws:batch:us-east-1:000000000000:consumable-resource/licenses';
const x = (n: number, c = 'a') => c.repeat(n);
const tags = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, 'v']));
const ids = (n: number) => Array.from({ length: n }, (_, i) => `id-${i}`);

// ---------------------------------------------------------------------------------------
// compute environments

const ec2: CreateComputeEnvironmentCommandInput = {
  computeEnvironmentName: 'ce-1',
  type: 'MANAGED',
  state: 'ENABLED',
  computeResources: {
    type: 'EC2',
    minvCpus: 0,
    maxvCpus: 16,
    desiredvCpus: 0,
    instanceTypes: ['optimal', 'm5', 'm5.large', 'c6g.medium', 'default_arm64'],
    subnets: ['subnet-1'],
    securityGroupIds: ['sg-1'],
    instanceRole: 'ecsInstanceRole',
    allocationStrategy: 'BEST_FIT_PROGRESSIVE',
  },
  tags: { team: 'render' },
};
const cr = ec2.computeResources!;
const withCr = (changes: Record<string, unknown>) => patch(ec2, { computeResources: { ...cr, ...changes } });
const fargateCr = { type: 'FARGATE', maxvCpus: 64, subnets: ['subnet-1'], securityGroupIds: ['sg-1'] } as const;
const withFargate = (changes: Record<string, unknown>) => patch(ec2, { computeResources: { ...fargateCr, ...changes } });

suite('CreateComputeEnvironment', validate.validateCreateComputeEnvironment, {
  valid: {
    'a managed EC2 environment': ec2,
    'a SPOT environment with a spot-only strategy and a bid': withCr({
      type: 'SPOT',
      allocationStrategy: 'SPOT_PRICE_CAPACITY_OPTIMIZED',
      bidPercentage: 60,
    }) as CreateComputeEnvironmentCommandInput,
    'a Fargate environment': withFargate({}) as CreateComputeEnvironmentCommandInput,
    'a FARGATE_SPOT environment': withFargate({ type: 'FARGATE_SPOT' }) as CreateComputeEnvironmentCommandInput,
    'an unmanaged environment with unmanagedvCpus': { computeEnvironmentName: 'u', type: 'UNMANAGED', unmanagedvCpus: 16 },
    'JSON nulls for optional members': withCr({ desiredvCpus: null, ec2KeyPair: null }) as CreateComputeEnvironmentCommandInput,
    'a SPOT environment under BEST_FIT with its Spot Fleet role': withCr({
      type: 'SPOT',
      allocationStrategy: undefined,
      spotIamFleetRole: 'arn:aws:iam::123456789012:role/AmazonEC2SpotFleetRole',
    }) as CreateComputeEnvironmentCommandInput,
    'an empty subnet list': withCr({ subnets: [] }) as CreateComputeEnvironmentCommandInput,
  },
  invalid: [
    { name: 'a name with a space', input: patch(ec2, { computeEnvironmentName: 'my ce' }), path: 'computeEnvironmentName', says: "'my ce' is invalid: use 1-128 letters" },
    { name: 'a name of 129 characters', input: patch(ec2, { computeEnvironmentName: x(129) }), path: 'computeEnvironmentName' },
    { name: 'an unknown type', input: patch(ec2, { type: 'SPOTTY' }), path: 'type', says: "type must be one of MANAGED, UNMANAGED (got 'SPOTTY')" },
    { name: 'an unknown state', input: patch(ec2, { state: 'ON' }), path: 'state' },
    { name: 'MANAGED without computeResources', input: patch(ec2, { computeResources: undefined }), path: 'computeResources', says: 'MANAGED' },
    { name: 'UNMANAGED with computeResources', input: patch(ec2, { type: 'UNMANAGED' }), path: 'computeResources' },
    { name: 'unmanagedvCpus on a MANAGED environment', input: patch(ec2, { unmanagedvCpus: 4 }), path: 'unmanagedvCpus' },
    { name: 'negative unmanagedvCpus', input: { computeEnvironmentName: 'u', type: 'UNMANAGED', unmanagedvCpus: -1 }, path: 'unmanagedvCpus' },
    { name: 'an unknown resource type', input: withCr({ type: 'GPU' }), path: 'computeResources.type', says: 'EC2, FARGATE, FARGATE_SPOT, SPOT' },
    { name: 'a resource type openbatch does not implement', input: withCr({ type: 'ECS_MANAGED_INSTANCES' }), path: 'computeResources.type', says: 'not supported by openbatch' },
    { name: 'maxvCpus below minvCpus', input: withCr({ minvCpus: 4, maxvCpus: 1 }), path: 'computeResources.maxvCpus', says: 'computeResources.maxvCpus must be >= minvCpus (got maxvCpus=1, minvCpus=4)' },
    { name: 'desiredvCpus above maxvCpus', input: withCr({ desiredvCpus: 32 }), path: 'computeResources.desiredvCpus', says: 'between minvCpus and maxvCpus' },
    { name: 'desiredvCpus below minvCpus', input: withCr({ minvCpus: 4, desiredvCpus: 2 }), path: 'computeResources.desiredvCpus' },
    { name: 'negative minvCpus', input: withCr({ minvCpus: -1 }), path: 'computeResources.minvCpus', says: 'at least 0' },
    { name: 'fractional maxvCpus', input: withCr({ maxvCpus: 1.5 }), path: 'computeResources.maxvCpus', says: 'whole number' },
    { name: 'missing maxvCpus', input: withCr({ maxvCpus: undefined }), path: 'computeResources.maxvCpus' },
    { name: 'missing instanceTypes on EC2', input: withCr({ instanceTypes: undefined }), path: 'computeResources.instanceTypes' },
    { name: 'empty instanceTypes on EC2', input: withCr({ instanceTypes: [] }), path: 'computeResources.instanceTypes' },
    { name: 'a malformed instance type', input: withCr({ instanceTypes: ['m5', 'M5 Large'] }), path: 'computeResources.instanceTypes[1]' },
    { name: 'an instance family openbatch does not know', input: withCr({ instanceTypes: ['x9z'] }), path: 'computeResources.instanceTypes[0]', says: "'x9z' is not an instance type openbatch knows" },
    { name: 'a size its family does not have', input: withCr({ instanceTypes: ['c5.medium'] }), path: 'computeResources.instanceTypes[0]', says: 'not a size of the c5 family' },
    { name: 'optimal mixed with types', input: withCr({ instanceTypes: ['optimal', 'optimal'] }), path: 'computeResources.instanceTypes', says: 'twice' },
    { name: 'missing subnets', input: withCr({ subnets: undefined }), path: 'computeResources.subnets' },
    { name: 'an empty subnet id', input: withCr({ subnets: [''] }), path: 'computeResources.subnets[0]' },
    { name: 'an unknown allocation strategy', input: withCr({ allocationStrategy: 'CHEAPEST' }), path: 'computeResources.allocationStrategy' },
    { name: 'a spot-only strategy on EC2', input: withCr({ allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' }), path: 'computeResources.allocationStrategy', says: 'only available for SPOT' },
    { name: 'bidPercentage on EC2', input: withCr({ bidPercentage: 50 }), path: 'computeResources.bidPercentage', says: 'SPOT' },
    { name: 'bidPercentage above 100', input: withCr({ type: 'SPOT', bidPercentage: 150 }), path: 'computeResources.bidPercentage', says: 'between 0 and 100' },
    { name: 'a launch template given by id and name', input: withCr({ launchTemplate: { launchTemplateId: 'lt-1', launchTemplateName: 'lt' } }), path: 'computeResources.launchTemplate' },
    { name: 'three ec2Configuration entries', input: withCr({ ec2Configuration: [{ imageType: 'a' }, { imageType: 'b' }, { imageType: 'c' }] }), path: 'computeResources.ec2Configuration' },
    { name: 'a scale-down delay below 20 minutes', input: withCr({ scalingPolicy: { minScaleDownDelayMinutes: 5 } }), path: 'computeResources.scalingPolicy.minScaleDownDelayMinutes' },
    ...(['minvCpus', 'desiredvCpus', 'instanceTypes', 'allocationStrategy', 'imageId', 'ec2KeyPair', 'instanceRole', 'launchTemplate', 'placementGroup', 'bidPercentage', 'spotIamFleetRole', 'ec2Configuration', 'tags'] as const).map(
      (member): Bad => ({
        name: `${member} on Fargate`,
        input: withFargate({ [member]: member === 'instanceTypes' ? ['optimal'] : member === 'tags' ? { a: 'b' } : member.endsWith('Cpus') || member === 'bidPercentage' ? 0 : member === 'launchTemplate' ? { launchTemplateName: 'lt' } : member === 'ec2Configuration' ? [] : 'x' }),
        path: `computeResources.${member}`,
        says: 'is not supported by FARGATE compute resources',
      }),
    ),
    { name: 'more than 16 subnets on Fargate', input: withFargate({ subnets: ids(17) }), path: 'computeResources.subnets' },
    // Required by AWS per type beyond the model's required members.
    { name: 'EC2 without instanceRole', input: withCr({ instanceRole: undefined }), path: 'computeResources.instanceRole', says: 'is required for EC2 compute resources' },
    { name: 'SPOT without instanceRole', input: withCr({ type: 'SPOT', allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED', instanceRole: undefined }), path: 'computeResources.instanceRole', says: 'SPOT' },
    { name: 'an empty instanceRole', input: withCr({ instanceRole: '' }), path: 'computeResources.instanceRole' },
    { name: 'EC2 without minvCpus', input: withCr({ minvCpus: undefined }), path: 'computeResources.minvCpus', says: 'is required' },
    { name: 'SPOT under BEST_FIT (the default) without spotIamFleetRole', input: withCr({ type: 'SPOT', allocationStrategy: undefined }), path: 'computeResources.spotIamFleetRole', says: 'BEST_FIT' },
    { name: 'Fargate without securityGroupIds', input: withFargate({ securityGroupIds: undefined }), path: 'computeResources.securityGroupIds', says: 'is required for FARGATE' },
    { name: 'Fargate with no security group', input: withFargate({ securityGroupIds: [] }), path: 'computeResources.securityGroupIds' },
    { name: 'a reserved tag key', input: patch(ec2, { tags: { 'aws:owner': 'me' } }), path: 'tags', says: 'reserved' },
    { name: '51 tags', input: patch(ec2, { tags: tags(51) }), path: 'tags', says: 'at most 50' },
    { name: 'a tag value of 257 characters', input: patch(ec2, { tags: { k: x(257) } }), path: 'tags' },
    { name: 'a reserved key in the instance tags', input: withCr({ tags: { 'AWS:x': 'y' } }), path: 'computeResources.tags' },
  ],
});

suite('UpdateComputeEnvironment', validate.validateUpdateComputeEnvironment, {
  valid: {
    'a state change': { computeEnvironment: 'ce-1', state: 'DISABLED' },
    'new bounds by ARN': { computeEnvironment: CE_ARN, computeResources: { minvCpus: 0, maxvCpus: 32, desiredvCpus: 4 } },
    'maxvCpus alone': { computeEnvironment: 'ce-1', computeResources: { maxvCpus: 8 } },
    'unmanagedvCpus': { computeEnvironment: 'ce-1', unmanagedvCpus: 8 },
    'an update policy': { computeEnvironment: 'ce-1', updatePolicy: { terminateJobsOnUpdate: true, jobExecutionTimeoutMinutes: 360 } },
    'a SPOT strategy with the SPOT type': { computeEnvironment: 'ce-1', computeResources: { type: 'SPOT', allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' } },
  },
  invalid: [
    { name: 'a malformed name', input: { computeEnvironment: 'ce 1' }, path: 'computeEnvironment' },
    { name: 'a malformed ARN', input: { computeEnvironment: 'arn:nope' }, path: 'computeEnvironment', says: 'ARN' },
    { name: 'an unknown state', input: { computeEnvironment: 'ce-1', state: 'PAUSED' }, path: 'state', says: 'ENABLED' },
    { name: 'minvCpus above maxvCpus', input: { computeEnvironment: 'ce-1', computeResources: { minvCpus: 8, maxvCpus: 4 } }, path: 'computeResources.maxvCpus' },
    { name: 'desiredvCpus outside the given bounds', input: { computeEnvironment: 'ce-1', computeResources: { maxvCpus: 4, desiredvCpus: 8 } }, path: 'computeResources.desiredvCpus' },
    { name: 'BEST_FIT, which updates cannot set', input: { computeEnvironment: 'ce-1', computeResources: { allocationStrategy: 'BEST_FIT' } }, path: 'computeResources.allocationStrategy', says: 'cannot be set by an update' },
    { name: 'an unknown allocation strategy', input: { computeEnvironment: 'ce-1', computeResources: { allocationStrategy: 'CHEAP' } }, path: 'computeResources.allocationStrategy' },
    { name: 'a spot strategy with the EC2 type', input: { computeEnvironment: 'ce-1', computeResources: { type: 'EC2', allocationStrategy: 'SPOT_CAPACITY_OPTIMIZED' } }, path: 'computeResources.allocationStrategy' },
    { name: 'instance types with the FARGATE type', input: { computeEnvironment: 'ce-1', computeResources: { type: 'FARGATE', instanceTypes: ['m5'] } }, path: 'computeResources.instanceTypes', says: 'FARGATE' },
    { name: 'unmanagedvCpus with computeResources', input: { computeEnvironment: 'ce-1', unmanagedvCpus: 4, computeResources: { maxvCpus: 4 } }, path: 'unmanagedvCpus' },
    { name: 'a job execution timeout of 0 minutes', input: { computeEnvironment: 'ce-1', updatePolicy: { jobExecutionTimeoutMinutes: 0 } }, path: 'updatePolicy.jobExecutionTimeoutMinutes', says: 'between 1 and 360' },
  ],
});

suite('DeleteComputeEnvironment', validate.validateDeleteComputeEnvironment, {
  valid: { 'a name': { computeEnvironment: 'ce-1' }, 'an ARN': { computeEnvironment: CE_ARN } },
  invalid: [{ name: 'an empty name', input: { computeEnvironment: '' }, path: 'computeEnvironment' }],
});

suite('DescribeComputeEnvironments', validate.validateDescribeComputeEnvironments, {
  valid: {
    'no arguments': {},
    'names, ARNs and a page': { computeEnvironments: ['ce-1', CE_ARN], maxResults: 100, nextToken: 't' },
  },
  invalid: [
    { name: '101 environments', input: { computeEnvironments: ids(101) }, path: 'computeEnvironments', says: 'at most 100' },
    { name: 'a malformed name', input: { computeEnvironments: ['ok', 'no way'] }, path: 'computeEnvironments[1]' },
    { name: 'maxResults 0', input: { maxResults: 0 }, path: 'maxResults', says: 'between 1 and 100' },
    { name: 'maxResults 101', input: { maxResults: 101 }, path: 'maxResults' },
    { name: 'an empty nextToken', input: { nextToken: '' }, path: 'nextToken' },
  ],
});

// ---------------------------------------------------------------------------------------
// job queues

const queue: CreateJobQueueCommandInput = {
  jobQueueName: 'q',
  priority: 1,
  state: 'ENABLED',
  computeEnvironmentOrder: [
    { order: 1, computeEnvironment: 'ce-1' },
    { order: 2, computeEnvironment: CE_ARN.replace('ce-1', 'ce-2') },
  ],
  schedulingPolicyArn: SP_ARN,
  jobStateTimeLimitActions: [{ reason: 'CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY', state: 'RUNNABLE', maxTimeSeconds: 600, action: 'CANCEL' }],
};
const limit = queue.jobStateTimeLimitActions![0];
const withLimit = (changes: Record<string, unknown>) => patch(queue, { jobStateTimeLimitActions: [{ ...limit, ...changes }] });
const order = (n: number) => Array.from({ length: n }, (_, i) => ({ order: i, computeEnvironment: `ce-${i}` }));

suite('CreateJobQueue', validate.validateCreateJobQueue, {
  valid: {
    'a queue over two environments': queue,
    'priority 0 and 1000 bounds': patch(queue, { priority: 1000, computeEnvironmentOrder: order(3) }) as CreateJobQueueCommandInput,
    'an ECS queue type': patch(queue, { jobQueueType: 'ECS' }) as CreateJobQueueCommandInput,
    'a time limit of 24 hours': withLimit({ maxTimeSeconds: 86400 }) as CreateJobQueueCommandInput,
  },
  invalid: [
    { name: 'a malformed name', input: patch(queue, { jobQueueName: 'my queue' }), path: 'jobQueueName' },
    { name: 'a negative priority', input: patch(queue, { priority: -1 }), path: 'priority', says: 'between 0 and 1000' },
    { name: 'priority 1001', input: patch(queue, { priority: 1001 }), path: 'priority' },
    { name: 'a fractional priority', input: patch(queue, { priority: 1.5 }), path: 'priority', says: 'whole number' },
    { name: 'an unknown state', input: patch(queue, { state: 'OPEN' }), path: 'state' },
    { name: 'no compute environments', input: patch(queue, { computeEnvironmentOrder: undefined }), path: 'computeEnvironmentOrder' },
    { name: 'an empty compute environment list', input: patch(queue, { computeEnvironmentOrder: [] }), path: 'computeEnvironmentOrder', says: '1-3' },
    { name: 'four compute environments', input: patch(queue, { computeEnvironmentOrder: order(4) }), path: 'computeEnvironmentOrder' },
    { name: 'a negative order', input: patch(queue, { computeEnvironmentOrder: [{ order: -1, computeEnvironment: 'ce-1' }] }), path: 'computeEnvironmentOrder[0].order' },
    { name: 'a repeated order', input: patch(queue, { computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'a' }, { order: 1, computeEnvironment: 'b' }] }), path: 'computeEnvironmentOrder[1].order', says: 'used twice' },
    { name: 'a repeated environment', input: patch(queue, { computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'a' }, { order: 2, computeEnvironment: 'a' }] }), path: 'computeEnvironmentOrder[1].computeEnvironment' },
    { name: 'a malformed environment name', input: patch(queue, { computeEnvironmentOrder: [{ order: 1, computeEnvironment: 'c e' }] }), path: 'computeEnvironmentOrder[0].computeEnvironment' },
    { name: 'service environments', input: patch(queue, { serviceEnvironmentOrder: [{ order: 1, serviceEnvironment: 'se' }] }), path: 'serviceEnvironmentOrder', says: 'not supported by openbatch' },
    { name: 'the SageMaker queue type', input: patch(queue, { jobQueueType: 'SAGEMAKER_TRAINING' }), path: 'jobQueueType', says: 'not supported by openbatch' },
    { name: 'a scheduling policy that is not an ARN', input: patch(queue, { schedulingPolicyArn: 'fs' }), path: 'schedulingPolicyArn', says: 'ARN' },
    { name: 'a time limit under 600 seconds', input: withLimit({ maxTimeSeconds: 599 }), path: 'jobStateTimeLimitActions[0].maxTimeSeconds', says: 'between 600 and 86400' },
    { name: 'a time limit over 86400 seconds', input: withLimit({ maxTimeSeconds: 86401 }), path: 'jobStateTimeLimitActions[0].maxTimeSeconds' },
    { name: 'a time limit on RUNNING', input: withLimit({ state: 'RUNNING' }), path: 'jobStateTimeLimitActions[0].state', says: "must be RUNNABLE (got 'RUNNING')" },
    { name: 'the TERMINATE action', input: withLimit({ action: 'TERMINATE' }), path: 'jobStateTimeLimitActions[0].action', says: 'use CANCEL' },
    { name: 'an empty reason', input: withLimit({ reason: '' }), path: 'jobStateTimeLimitActions[0].reason' },
    { name: 'six time limit actions', input: patch(queue, { jobStateTimeLimitActions: Array(6).fill(limit) }), path: 'jobStateTimeLimitActions', says: 'at most 5' },
    { name: 'a reserved tag', input: patch(queue, { tags: { 'aws:x': 'y' } }), path: 'tags' },
  ],
});

suite('UpdateJobQueue', validate.validateUpdateJobQueue, {
  valid: {
    'detaching every environment': { jobQueue: 'q', computeEnvironmentOrder: [] },
    'priority and state by ARN': { jobQueue: JQ_ARN, priority: 1000, state: 'DISABLED' },
    'a new scheduling policy': { jobQueue: 'q', schedulingPolicyArn: SP_ARN },
  },
  invalid: [
    { name: 'a malformed queue', input: { jobQueue: 'q!' }, path: 'jobQueue' },
    { name: 'priority 2000', input: { jobQueue: 'q', priority: 2000 }, path: 'priority' },
    { name: 'an empty scheduling policy', input: { jobQueue: 'q', schedulingPolicyArn: '' }, path: 'schedulingPolicyArn' },
    { name: 'four environments', input: { jobQueue: 'q', computeEnvironmentOrder: order(4) }, path: 'computeEnvironmentOrder' },
    { name: 'service environments', input: { jobQueue: 'q', serviceEnvironmentOrder: [] }, path: 'serviceEnvironmentOrder' },
    { name: 'a bad time limit', input: { jobQueue: 'q', jobStateTimeLimitActions: [{ ...limit, maxTimeSeconds: 10 }] }, path: 'jobStateTimeLimitActions[0].maxTimeSeconds' },
  ],
});

suite('DeleteJobQueue', validate.validateDeleteJobQueue, {
  valid: { 'a name': { jobQueue: 'q' }, 'an ARN': { jobQueue: JQ_ARN } },
  invalid: [{ name: 'a malformed name', input: { jobQueue: 'q/1' }, path: 'jobQueue' }],
});

suite('DescribeJobQueues', validate.validateDescribeJobQueues, {
  valid: { 'no arguments': {}, 'names and a page': { jobQueues: ['q', JQ_ARN], maxResults: 1 } },
  invalid: [
    { name: '101 queues', input: { jobQueues: ids(101) }, path: 'jobQueues' },
    { name: 'a malformed name', input: { jobQueues: [''] }, path: 'jobQueues[0]' },
    { name: 'maxResults 500', input: { maxResults: 500 }, path: 'maxResults' },
  ],
});

suite('GetJobQueueSnapshot', validate.validateGetJobQueueSnapshot, {
  valid: { 'a name': { jobQueue: 'q' }, 'an ARN': { jobQueue: JQ_ARN } },
  invalid: [{ name: 'a malformed ARN', input: { jobQueue: 'arn:' }, path: 'jobQueue' }],
});

// ---------------------------------------------------------------------------------------
// job definitions

const jd: RegisterJobDefinitionCommandInput = {
  jobDefinitionName: 'jd',
  type: 'container',
  platformCapabilities: ['EC2'],
  parameters: { msg: 'hello' },
  containerProperties: {
    image: 'public.ecr.aws/docker/library/busybox:latest',
    command: ['echo', 'Ref::msg'],
    resourceRequirements: [
      { type: 'VCPU', value: '2' },
      { type: 'MEMORY', value: '2048' },
      { type: 'GPU', value: '1' },
    ],
    environment: [{ name: 'FOO', value: 'bar' }],
    volumes: [{ name: 'data', host: { sourcePath: '/tmp' } }],
    mountPoints: [{ sourceVolume: 'data', containerPath: '/data' }],
    ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 4096 }],
  },
  retryStrategy: {
    attempts: 3,
    evaluateOnExit: [
      { onExitCode: '137', action: 'retry' as 'RETRY' },
      { onStatusReason: 'Host EC2*', action: 'RETRY' },
      { onReason: 'CannotPullContainerError:*', action: 'EXIT' },
      { onExitCode: '*', action: 'EXIT' },
    ],
  },
  timeout: { attemptDurationSeconds: 60 },
  schedulingPriority: 9999,
  propagateTags: true,
  tags: { team: 'render' },
};
const container = jd.containerProperties!;
const withContainer = (changes: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  patch(jd, { containerProperties: { ...container, ...changes }, ...top });
const ROLE = 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole';
const fargate = (requirements: { type: string; value: string }[], changes: Record<string, unknown> = {}) =>
  withContainer({ resourceRequirements: requirements, executionRoleArn: ROLE, ulimits: undefined, ...changes }, { platformCapabilities: ['FARGATE'] });
const fargateOk = [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '2048' }];
const withRetry = (changes: Record<string, unknown>) => patch(jd, { retryStrategy: { ...jd.retryStrategy, ...changes } });
const exitRule = (rule: Record<string, unknown>) => withRetry({ evaluateOnExit: [{ action: 'EXIT', ...rule }] });
const node = { image: 'mpi:latest', vcpus: 1, memory: 128 };
const multinode = (nodeProperties: Record<string, unknown>, top: Record<string, unknown> = {}) =>
  ({ jobDefinitionName: 'mnp', type: 'multinode', nodeProperties, ...top }) as unknown;
const ecsTask = (task: Record<string, unknown>) =>
  ({ jobDefinitionName: 'ecs', type: 'container', ecsProperties: { taskProperties: [task] } }) as unknown;

suite('RegisterJobDefinition', validate.validateRegisterJobDefinition, {
  valid: {
    'an EC2 container definition': jd,
    'legacy vcpus and memory': withContainer({ resourceRequirements: undefined, vcpus: 1, memory: 4 }) as RegisterJobDefinitionCommandInput,
    'Fargate 0.25 vCPU with 512 MiB': fargate([{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '512' }]) as RegisterJobDefinitionCommandInput,
    'Fargate 4 vCPU with 30720 MiB': fargate([{ type: 'VCPU', value: '4' }, { type: 'MEMORY', value: '30720' }]) as RegisterJobDefinitionCommandInput,
    'Fargate 16 vCPU with 122880 MiB': fargate([{ type: 'MEMORY', value: '122880' }, { type: 'VCPU', value: '16' }]) as RegisterJobDefinitionCommandInput,
    'Fargate with its platform and network settings': fargate(fargateOk, { fargatePlatformConfiguration: { platformVersion: '1.4.0' }, networkConfiguration: { assignPublicIp: 'ENABLED' } }) as RegisterJobDefinitionCommandInput,
    'a multinode definition with nested ranges': multinode({
      numNodes: 4,
      mainNode: 0,
      nodeRangeProperties: [
        { targetNodes: '0:', container: node },
        { targetNodes: '1:2', container: node },
      ],
    }) as RegisterJobDefinitionCommandInput,
    'a multinode definition with open ranges': multinode({
      numNodes: 4,
      mainNode: 3,
      nodeRangeProperties: [
        { targetNodes: ':1', container: node },
        { targetNodes: '2:3', container: node },
      ],
    }) as RegisterJobDefinitionCommandInput,
    'an ECS task definition': ecsTask({ containers: [{ image: 'x', essential: true }, { image: 'y', name: 'sidecar', essential: false }] }) as RegisterJobDefinitionCommandInput,
    'an EKS definition': { jobDefinitionName: 'eks', type: 'container', eksProperties: { podProperties: { containers: [{ image: 'x', env: [{ name: 'A' }] }] } } },
    'consumable resources': patch(jd, { consumableResourceProperties: { consumableResourceList: [{ consumableResource: 'licenses', quantity: 1 }] } }) as RegisterJobDefinitionCommandInput,
  },
  invalid: [
    { name: 'a malformed name', input: patch(jd, { jobDefinitionName: 'my job' }), path: 'jobDefinitionName', says: "jobDefinitionName 'my job' is invalid: use 1-128 letters, digits, hyphens (-) and underscores (_)" },
    { name: 'an unknown type', input: patch(jd, { type: 'docker' }), path: 'type', says: 'container, multinode' },
    { name: 'type container without properties', input: patch(jd, { containerProperties: undefined }), path: 'containerProperties' },
    { name: 'two kinds of properties', input: patch(jd, { ecsProperties: { taskProperties: [{ containers: [{ image: 'x' }] }] } }), path: 'containerProperties and ecsProperties' },
    { name: 'nodeProperties with type container', input: patch(jd, { nodeProperties: { numNodes: 1, mainNode: 0, nodeRangeProperties: [] } }), path: 'nodeProperties', says: 'multinode' },
    { name: 'type multinode without nodeProperties', input: patch(jd, { type: 'multinode' }), path: 'nodeProperties' },
    { name: 'type multinode on Fargate', input: multinode({ numNodes: 1, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: node }] }, { platformCapabilities: ['FARGATE'] }), path: 'platformCapabilities', says: 'Fargate' },
    { name: 'containerProperties with type multinode', input: multinode({ numNodes: 1, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: node }] }, { containerProperties: node }), path: 'containerProperties' },
    { name: 'a missing image', input: withContainer({ image: undefined }), path: 'containerProperties.image' },
    { name: 'a malformed image', input: withContainer({ image: 'my image' }), path: 'containerProperties.image' },
    { name: 'a vCPU value that is not a number', input: withContainer({ resourceRequirements: [{ type: 'VCPU', value: 'two' }] }), path: 'containerProperties.resourceRequirements[0].value' },
    { name: 'a fractional vCPU on EC2', input: withContainer({ resourceRequirements: [{ type: 'VCPU', value: '0.5' }] }), path: 'containerProperties.resourceRequirements[0].value', says: 'Fargate' },
    { name: 'memory under 4 MiB', input: withContainer({ resourceRequirements: [{ type: 'MEMORY', value: '2' }] }), path: 'containerProperties.resourceRequirements[0].value', says: 'at least 4' },
    { name: 'fractional memory', input: withContainer({ resourceRequirements: [{ type: 'MEMORY', value: '1.5' }] }), path: 'containerProperties.resourceRequirements[0].value' },
    { name: 'zero GPUs', input: withContainer({ resourceRequirements: [{ type: 'GPU', value: '0' }] }), path: 'containerProperties.resourceRequirements[0].value' },
    { name: 'an unknown resource type', input: withContainer({ resourceRequirements: [{ type: 'CPU', value: '1' }] }), path: 'containerProperties.resourceRequirements[0].type' },
    { name: 'a resource type given twice', input: withContainer({ resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'VCPU', value: '2' }] }), path: 'containerProperties.resourceRequirements[1].type', says: 'used twice' },
    { name: 'a vCPU size Fargate lacks', input: fargate([{ type: 'VCPU', value: '3' }]), path: 'containerProperties.resourceRequirements[0].value', says: '0.25, 0.5, 1, 2, 4, 8, 16' },
    { name: 'memory that does not fit the Fargate vCPU', input: fargate([{ type: 'VCPU', value: '0.25' }, { type: 'MEMORY', value: '4096' }]), path: 'containerProperties.resourceRequirements[1].value', says: '512, 1024, 2048' },
    { name: 'memory that does not fit 8 Fargate vCPU', input: fargate([{ type: 'VCPU', value: '8' }, { type: 'MEMORY', value: '17408' }]), path: 'containerProperties.resourceRequirements[1].value', says: 'steps of 4096' },
    { name: 'a memory size Fargate lacks', input: fargate([{ type: 'MEMORY', value: '3000' }]), path: 'containerProperties.resourceRequirements[0].value' },
    { name: 'a GPU on Fargate', input: fargate([{ type: 'GPU', value: '1' }]), path: 'containerProperties.resourceRequirements[0].type', says: 'Fargate' },
    { name: 'legacy vcpus on Fargate', input: fargate([], { vcpus: 1 }), path: 'containerProperties.vcpus', says: 'Fargate' },
    { name: 'Fargate without an execution role', input: fargate(fargateOk, { executionRoleArn: undefined }), path: 'containerProperties.executionRoleArn', says: 'is required on Fargate' },
    { name: 'Fargate with a malformed execution role', input: fargate(fargateOk, { executionRoleArn: 'ecsTaskExecutionRole' }), path: 'containerProperties.executionRoleArn', says: 'IAM role ARN' },
    { name: 'Fargate without a MEMORY requirement', input: fargate([{ type: 'VCPU', value: '1' }]), path: 'containerProperties.resourceRequirements', says: 'MEMORY' },
    { name: 'an unknown Fargate platform version', input: fargate(fargateOk, { fargatePlatformConfiguration: { platformVersion: '2.0' } }), path: 'containerProperties.fargatePlatformConfiguration.platformVersion', says: 'LATEST, 1.4.0, 1.3.0' },
    { name: 'an unknown assignPublicIp', input: fargate(fargateOk, { networkConfiguration: { assignPublicIp: 'YES' } }), path: 'containerProperties.networkConfiguration.assignPublicIp', says: 'ENABLED, DISABLED' },
    { name: 'privileged on Fargate', input: fargate(fargateOk, { privileged: true }), path: 'containerProperties.privileged', says: 'Fargate' },
    { name: 'ulimits on Fargate', input: fargate(fargateOk, { ulimits: [{ name: 'nofile', softLimit: 1, hardLimit: 2 }] }), path: 'containerProperties.ulimits', says: 'Fargate' },
    { name: 'networkConfiguration on EC2', input: withContainer({ networkConfiguration: { assignPublicIp: 'ENABLED' } }), path: 'containerProperties.networkConfiguration', says: 'only for Fargate' },
    { name: 'fargatePlatformConfiguration on EC2', input: withContainer({ fargatePlatformConfiguration: { platformVersion: 'LATEST' } }), path: 'containerProperties.fargatePlatformConfiguration', says: 'only for Fargate' },
    { name: 'legacy memory under 4', input: withContainer({ memory: 3 }), path: 'containerProperties.memory' },
    { name: 'a reserved environment variable', input: withContainer({ environment: [{ name: 'AWS_BATCH_JOB_ID', value: 'x' }] }), path: 'containerProperties.environment[0].name', says: 'reserved' },
    { name: 'an unnamed environment variable', input: withContainer({ environment: [{ value: 'x' }] }), path: 'containerProperties.environment[0].name' },
    { name: 'a mount of an unknown volume', input: withContainer({ mountPoints: [{ sourceVolume: 'nope', containerPath: '/x' }] }), path: 'containerProperties.mountPoints[0].sourceVolume' },
    { name: 'a mount without a path', input: withContainer({ mountPoints: [{ sourceVolume: 'data' }] }), path: 'containerProperties.mountPoints[0].containerPath' },
    { name: 'a malformed volume name', input: withContainer({ volumes: [{ name: 'my data' }], mountPoints: [] }), path: 'containerProperties.volumes[0].name' },
    { name: 'an unknown ulimit', input: withContainer({ ulimits: [{ name: 'files', softLimit: 1, hardLimit: 1 }] }), path: 'containerProperties.ulimits[0].name' },
    { name: 'a soft limit above the hard limit', input: withContainer({ ulimits: [{ name: 'nofile', softLimit: 10, hardLimit: 5 }] }), path: 'containerProperties.ulimits[0].softLimit' },
    { name: 'zero attempts', input: withRetry({ attempts: 0 }), path: 'retryStrategy.attempts', says: 'between 1 and 10' },
    { name: 'eleven attempts', input: withRetry({ attempts: 11 }), path: 'retryStrategy.attempts' },
    { name: 'six evaluateOnExit rules', input: withRetry({ evaluateOnExit: Array(6).fill({ action: 'EXIT' }) }), path: 'retryStrategy.evaluateOnExit', says: 'at most 5' },
    { name: 'evaluateOnExit without attempts', input: withRetry({ attempts: undefined }), path: 'retryStrategy.attempts', says: 'evaluateOnExit' },
    { name: 'an unknown retry action', input: exitRule({ action: 'RESTART' }), path: 'retryStrategy.evaluateOnExit[0].action' },
    { name: 'an exit code range', input: exitRule({ onExitCode: '1-2' }), path: 'retryStrategy.evaluateOnExit[0].onExitCode' },
    { name: 'an exit code pattern of 513 characters', input: exitRule({ onExitCode: x(513, '1') }), path: 'retryStrategy.evaluateOnExit[0].onExitCode', says: '512' },
    { name: 'a reason with parentheses', input: exitRule({ onReason: 'Host EC2 (i-1)*' }), path: 'retryStrategy.evaluateOnExit[0].onReason' },
    { name: 'a status reason with a leading star', input: exitRule({ onStatusReason: '*abc' }), path: 'retryStrategy.evaluateOnExit[0].onStatusReason' },
    { name: 'a timeout under 60 seconds', input: patch(jd, { timeout: { attemptDurationSeconds: 5 } }), path: 'timeout.attemptDurationSeconds', says: 'timeout.attemptDurationSeconds must be at least 60 (got 5)' },
    { name: 'scheduling priority 10000', input: patch(jd, { schedulingPriority: 10000 }), path: 'schedulingPriority', says: 'between 0 and 9999' },
    { name: 'an unknown platform', input: patch(jd, { platformCapabilities: ['GPU'] }), path: 'platformCapabilities[0]' },
    { name: 'a platform openbatch does not implement', input: patch(jd, { platformCapabilities: ['MANAGED_INSTANCES'] }), path: 'platformCapabilities[0]', says: 'not supported by openbatch' },
    { name: 'a platform given twice', input: patch(jd, { platformCapabilities: ['EC2', 'EC2'] }), path: 'platformCapabilities[1]' },
    { name: 'platformCapabilities on EKS', input: { jobDefinitionName: 'eks', type: 'container', platformCapabilities: ['EC2'], eksProperties: { podProperties: {} } }, path: 'platformCapabilities', says: 'eksProperties' },
    { name: 'a reserved EKS variable', input: { jobDefinitionName: 'eks', type: 'container', eksProperties: { podProperties: { containers: [{ image: 'x', env: [{ name: 'AWS_BATCH_X' }] }] } } }, path: 'eksProperties.podProperties.containers[0].env[0].name' },
    { name: 'zero nodes', input: multinode({ numNodes: 0, mainNode: 0, nodeRangeProperties: [] }), path: 'nodeProperties.numNodes' },
    { name: 'a main node past the last node', input: multinode({ numNodes: 4, mainNode: 4, nodeRangeProperties: [{ targetNodes: ':', container: node }] }), path: 'nodeProperties.mainNode', says: 'between 0 and 3' },
    { name: 'no node ranges', input: multinode({ numNodes: 2, mainNode: 0, nodeRangeProperties: [] }), path: 'nodeProperties.nodeRangeProperties' },
    { name: 'a malformed node range', input: multinode({ numNodes: 4, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0-3', container: node }] }), path: 'nodeProperties.nodeRangeProperties[0].targetNodes' },
    { name: 'a reversed node range', input: multinode({ numNodes: 4, mainNode: 0, nodeRangeProperties: [{ targetNodes: '3:1', container: node }] }), path: 'nodeProperties.nodeRangeProperties[0].targetNodes' },
    { name: 'a node range past the last node', input: multinode({ numNodes: 4, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:9', container: node }] }), path: 'nodeProperties.nodeRangeProperties[0].targetNodes', says: 'numNodes is 4' },
    { name: 'node ranges that leave a node out', input: multinode({ numNodes: 4, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0:1', container: node }, { targetNodes: '3:', container: node }] }), path: 'nodeProperties.nodeRangeProperties', says: 'node 2' },
    { name: 'two instance types in a node range', input: multinode({ numNodes: 1, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: node, instanceTypes: ['m5', 'c5'] }] }), path: 'nodeProperties.nodeRangeProperties[0].instanceTypes' },
    { name: 'a bad container in a node range', input: multinode({ numNodes: 1, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: { ...node, memory: 1 } }] }), path: 'nodeProperties.nodeRangeProperties[0].container.memory' },
    { name: 'two ECS tasks', input: { jobDefinitionName: 'ecs', type: 'container', ecsProperties: { taskProperties: [{ containers: [{ image: 'x' }] }, { containers: [{ image: 'x' }] }] } }, path: 'ecsProperties.taskProperties' },
    { name: 'eleven ECS containers', input: ecsTask({ containers: Array(11).fill({ image: 'x' }) }), path: 'ecsProperties.taskProperties[0].containers', says: '1-10' },
    { name: 'no essential ECS container', input: ecsTask({ containers: [{ image: 'x', essential: false }] }), path: 'ecsProperties.taskProperties[0].containers', says: 'essential' },
    { name: 'an ECS container named with a space', input: ecsTask({ containers: [{ image: 'x', name: 'a b' }] }), path: 'ecsProperties.taskProperties[0].containers[0].name' },
    {
      name: 'a dependsOn on no container of the task',
      input: ecsTask({ containers: [{ image: 'x', name: 'a', dependsOn: [{ containerName: 'b', condition: 'START' }] }] }),
      path: 'ecsProperties.taskProperties[0].containers[0].dependsOn[0].containerName',
    },
    {
      name: 'COMPLETE on an essential container',
      input: ecsTask({ containers: [{ image: 'x', name: 'a' }, { image: 'x', name: 'b', dependsOn: [{ containerName: 'a', condition: 'COMPLETE' }] }] }),
      path: 'ecsProperties.taskProperties[0].containers[1].dependsOn[0]',
      says: 'cannot be set on an essential container',
    },
    {
      name: "containers that wait on each other",
      input: ecsTask({
        containers: [
          { image: 'x', name: 'a', dependsOn: [{ containerName: 'b', condition: 'START' }] },
          { image: 'x', name: 'b', dependsOn: [{ containerName: 'a', condition: 'START' }] },
        ],
      }),
      path: 'ecsProperties.taskProperties[0].containers',
      says: 'cycle (a → b → a)',
    },
    { name: 'an EKS pod without containers', input: { jobDefinitionName: 'eks', type: 'container', eksProperties: { podProperties: { containers: [] } } }, path: 'eksProperties.podProperties.containers' },
    { name: 'a parameter without a name', input: patch(jd, { parameters: { '': 'x' } }), path: 'parameters' },
    { name: 'a consumable resource quantity of 0', input: patch(jd, { consumableResourceProperties: { consumableResourceList: [{ consumableResource: 'licenses', quantity: 0 }] } }), path: 'consumableResourceProperties.consumableResourceList[0].quantity' },
    { name: 'a reserved tag', input: patch(jd, { tags: { 'aws:x': 'y' } }), path: 'tags' },
  ],
});

suite('DeregisterJobDefinition', validate.validateDeregisterJobDefinition, {
  valid: { 'name:revision': { jobDefinition: 'jd:1' }, 'an ARN with revision': { jobDefinition: JD_ARN } },
  invalid: [
    { name: 'a name without revision', input: { jobDefinition: 'jd' }, path: 'jobDefinition', says: '<name>:<revision>' },
    { name: 'revision 0', input: { jobDefinition: 'jd:0' }, path: 'jobDefinition' },
    { name: 'an ARN without revision', input: { jobDefinition: JD_ARN.replace(':3', '') }, path: 'jobDefinition' },
  ],
});

suite('DescribeJobDefinitions', validate.validateDescribeJobDefinitions, {
  valid: {
    'no arguments': {},
    'a list of definitions': { jobDefinitions: ['jd:1', 'jd', JD_ARN] },
    'a name and status filter with a page': { jobDefinitionName: 'jd', status: 'ACTIVE', maxResults: 100, nextToken: 'x' },
  },
  invalid: [
    { name: 'a list with a name filter', input: { jobDefinitions: ['jd:1'], jobDefinitionName: 'jd' }, path: 'jobDefinitionName', says: 'jobDefinitions' },
    { name: 'a list with a status filter', input: { jobDefinitions: ['jd:1'], status: 'ACTIVE' }, path: 'status' },
    { name: '101 definitions', input: { jobDefinitions: ids(101) }, path: 'jobDefinitions' },
    { name: 'a malformed definition', input: { jobDefinitions: ['jd:latest'] }, path: 'jobDefinitions[0]' },
    { name: 'a malformed name', input: { jobDefinitionName: 'j d' }, path: 'jobDefinitionName' },
    { name: 'maxResults 0', input: { maxResults: 0 }, path: 'maxResults' },
  ],
});

// ---------------------------------------------------------------------------------------
// jobs

const job: SubmitJobCommandInput = { jobName: 'job-1', jobQueue: 'q', jobDefinition: 'jd' };
const arrayJob = (changes: Record<string, unknown>) => patch(job, { arrayProperties: { size: 10 }, ...changes });

suite('SubmitJob', validate.validateSubmitJob, {
  valid: {
    'the minimal job': job,
    'references by revision and ARN': { jobName: '1st_job', jobQueue: JQ_ARN, jobDefinition: 'jd:2' },
    'a definition ARN': patch(job, { jobDefinition: JD_ARN }) as SubmitJobCommandInput,
    'a name of 128 characters': patch(job, { jobName: x(128) }) as SubmitJobCommandInput,
    'an array of 2': patch(job, { arrayProperties: { size: 2 } }) as SubmitJobCommandInput,
    'arrayProperties without a size (a single job; Airflow sends it for every job)': patch(job, { arrayProperties: {} }) as SubmitJobCommandInput,
    'an array of 10000 running in sequence': arrayJob({ arrayProperties: { size: 10000 }, dependsOn: [{ type: 'SEQUENTIAL' }] }) as SubmitJobCommandInput,
    'an N_TO_N dependency': arrayJob({ dependsOn: [{ jobId: 'abc', type: 'N_TO_N' }] }) as SubmitJobCommandInput,
    '20 dependencies': patch(job, { dependsOn: ids(20).map((jobId) => ({ jobId })) }) as SubmitJobCommandInput,
    'a single job with a SEQUENTIAL dependency on another job (a plain dependency, as AWS takes it)': patch(job, { dependsOn: [{ jobId: 'abc', type: 'SEQUENTIAL' }] }) as SubmitJobCommandInput,
    'container overrides': patch(job, {
      containerOverrides: {
        command: ['echo', 'hi'],
        environment: [{ name: 'A', value: '1' }],
        resourceRequirements: [{ type: 'VCPU', value: '0.5' }, { type: 'MEMORY', value: '1024' }],
      },
    }) as SubmitJobCommandInput,
    'retry, timeout, share and priority': patch(job, {
      retryStrategy: { attempts: 10, evaluateOnExit: [{ onExitCode: '1*', action: 'EXIT' }] },
      timeout: { attemptDurationSeconds: 3600 },
      shareIdentifier: 'teamA',
      schedulingPriorityOverride: 0,
    }) as SubmitJobCommandInput,
    'node overrides': patch(job, { nodeOverrides: { numNodes: 2, nodePropertyOverrides: [{ targetNodes: '0:1', containerOverrides: { command: ['x'] } }] } }) as SubmitJobCommandInput,
    'parameters, tags and consumable resources': patch(job, {
      parameters: { msg: 'hi' },
      tags: { team: 'render' },
      consumableResourcePropertiesOverride: { consumableResourceList: [{ consumableResource: CR_ARN, quantity: 2 }] },
    }) as SubmitJobCommandInput,
  },
  invalid: [
    { name: 'a name starting with a hyphen', input: patch(job, { jobName: '-job' }), path: 'jobName', says: 'starting with a letter or digit' },
    { name: 'a name with a period', input: patch(job, { jobName: 'job.1' }), path: 'jobName' },
    { name: 'a name of 129 characters', input: patch(job, { jobName: x(129) }), path: 'jobName' },
    { name: 'a malformed queue', input: patch(job, { jobQueue: 'my queue' }), path: 'jobQueue' },
    { name: 'a malformed definition', input: patch(job, { jobDefinition: 'jd:latest' }), path: 'jobDefinition' },
    { name: 'an array of 1', input: patch(job, { arrayProperties: { size: 1 } }), path: 'arrayProperties.size', says: 'between 2 and 10000' },
    { name: 'an array of 10001', input: patch(job, { arrayProperties: { size: 10001 } }), path: 'arrayProperties.size' },
    { name: '21 dependencies', input: patch(job, { dependsOn: ids(21).map((jobId) => ({ jobId })) }), path: 'dependsOn', says: 'at most 20' },
    { name: 'an unknown dependency type', input: arrayJob({ dependsOn: [{ jobId: 'a', type: 'ALL' }] }), path: 'dependsOn[0].type' },
    { name: 'N_TO_N on a single job', input: patch(job, { dependsOn: [{ jobId: 'a', type: 'N_TO_N' }] }), path: 'dependsOn[0].type', says: 'arrayProperties' },
    { name: 'SEQUENTIAL without a job id on a single job', input: patch(job, { dependsOn: [{ type: 'SEQUENTIAL' }] }), path: 'dependsOn[0]', says: 'arrayProperties.size' },
    { name: 'a dependency without a job id', input: patch(job, { dependsOn: [{}] }), path: 'dependsOn[0].jobId' },
    { name: 'an empty job id', input: patch(job, { dependsOn: [{ jobId: '' }] }), path: 'dependsOn[0].jobId' },
    { name: 'a reserved environment override', input: patch(job, { containerOverrides: { environment: [{ name: 'AWS_BATCH_JOB_ATTEMPT', value: '1' }] } }), path: 'containerOverrides.environment[0].name', says: 'reserved' },
    { name: 'an empty command argument', input: patch(job, { containerOverrides: { command: ['echo', ''] } }), path: 'containerOverrides.command[1]' },
    { name: 'a negative vCPU override', input: patch(job, { containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '-1' }] } }), path: 'containerOverrides.resourceRequirements[0].value' },
    { name: 'a zero vCPU override', input: patch(job, { containerOverrides: { resourceRequirements: [{ type: 'VCPU', value: '0' }] } }), path: 'containerOverrides.resourceRequirements[0].value' },
    { name: 'a 3 MiB memory override', input: patch(job, { containerOverrides: { resourceRequirements: [{ type: 'MEMORY', value: '3' }] } }), path: 'containerOverrides.resourceRequirements[0].value' },
    { name: 'a legacy vcpus override of 0', input: patch(job, { containerOverrides: { vcpus: 0 } }), path: 'containerOverrides.vcpus' },
    { name: 'a share identifier with an underscore', input: patch(job, { shareIdentifier: 'team_a' }), path: 'shareIdentifier' },
    { name: 'a share identifier of 256 characters', input: patch(job, { shareIdentifier: x(256) }), path: 'shareIdentifier' },
    { name: 'scheduling priority 10000', input: patch(job, { schedulingPriorityOverride: 10000 }), path: 'schedulingPriorityOverride' },
    { name: 'a 30 second timeout', input: patch(job, { timeout: { attemptDurationSeconds: 30 } }), path: 'timeout.attemptDurationSeconds' },
    { name: 'eleven attempts', input: patch(job, { retryStrategy: { attempts: 11 } }), path: 'retryStrategy.attempts' },
    { name: '51 tags', input: patch(job, { tags: tags(51) }), path: 'tags' },
    { name: 'a node override past the override node count', input: patch(job, { nodeOverrides: { numNodes: 2, nodePropertyOverrides: [{ targetNodes: '0:5' }] } }), path: 'nodeOverrides.nodePropertyOverrides[0].targetNodes' },
    { name: 'zero nodes', input: patch(job, { nodeOverrides: { numNodes: 0 } }), path: 'nodeOverrides.numNodes' },
    { name: 'a reserved ECS environment override', input: patch(job, { ecsPropertiesOverride: { taskProperties: [{ containers: [{ environment: [{ name: 'AWS_BATCH_X' }] }] }] } }), path: 'ecsPropertiesOverride.taskProperties[0].containers[0].environment[0].name' },
    { name: 'a reserved EKS environment override', input: patch(job, { eksPropertiesOverride: { podProperties: { containers: [{ env: [{ name: 'AWS_BATCH_X' }] }] } } }), path: 'eksPropertiesOverride.podProperties.containers[0].env[0].name' },
    { name: 'a consumable resource quantity of 0', input: patch(job, { consumableResourcePropertiesOverride: { consumableResourceList: [{ consumableResource: 'licenses', quantity: 0 }] } }), path: 'consumableResourcePropertiesOverride.consumableResourceList[0].quantity' },
    { name: 'a consumable resource listed twice', input: patch(job, { consumableResourcePropertiesOverride: { consumableResourceList: [{ consumableResource: 'l', quantity: 1 }, { consumableResource: 'l', quantity: 1 }] } }), path: 'consumableResourcePropertiesOverride.consumableResourceList[1].consumableResource' },
  ],
});

suite('DescribeJobs', validate.validateDescribeJobs, {
  // An empty id names no job: AWS leaves it out of the answer, as an unknown one.
  valid: { 'one job': { jobs: ['a'] }, '100 jobs': { jobs: ids(100) }, 'an empty job id': { jobs: ['', 'a'] } },
  invalid: [
    { name: 'no jobs', input: { jobs: [] }, path: 'jobs', says: '1-100' },
    { name: '101 jobs', input: { jobs: ids(101) }, path: 'jobs' },
  ],
});

suite('ListJobs', validate.validateListJobs, {
  valid: {
    'a queue': { jobQueue: 'q' },
    'a queue by ARN with a status and the largest page': { jobQueue: JQ_ARN, jobStatus: 'RUNNABLE', maxResults: 1000, nextToken: 't' },
    'an array job': { arrayJobId: 'abc' },
    'a multi-node job': { multiNodeJobId: 'abc' },
    'a job name filter with a status': { jobQueue: 'q', jobStatus: 'SUCCEEDED', filters: [{ name: 'JOB_NAME', values: ['test*'] }] },
    'a creation time filter': { jobQueue: 'q', filters: [{ name: 'BEFORE_CREATED_AT', values: ['1700000000000'] }] },
    'a job definition prefix filter': { jobQueue: 'q', filters: [{ name: 'JOB_DEFINITION', values: ['jd*'] }] },
  },
  invalid: [
    { name: 'no source', input: {}, path: 'jobQueue', says: 'got none' },
    { name: 'a queue and an array job', input: { jobQueue: 'q', arrayJobId: 'a' }, path: 'arrayJobId', says: 'only one of' },
    { name: 'an unknown status', input: { jobQueue: 'q', jobStatus: 'DONE' }, path: 'jobStatus', says: 'SUCCEEDED' },
    { name: 'maxResults 1001', input: { jobQueue: 'q', maxResults: 1001 }, path: 'maxResults', says: 'between 1 and 1000' },
    { name: 'maxResults 0', input: { jobQueue: 'q', maxResults: 0 }, path: 'maxResults' },
    { name: 'an empty nextToken', input: { jobQueue: 'q', nextToken: '' }, path: 'nextToken' },
    { name: 'two filters', input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: ['a'] }, { name: 'JOB_NAME', values: ['b'] }] }, path: 'filters', says: 'at most 1 entry' },
    { name: 'an unknown filter', input: { jobQueue: 'q', filters: [{ name: 'STATUS', values: ['a'] }] }, path: 'filters[0].name' },
    { name: 'a filter without values', input: { jobQueue: 'q', filters: [{ name: 'JOB_NAME', values: [] }] }, path: 'filters[0].values' },
    { name: 'a creation time that is not a number', input: { jobQueue: 'q', filters: [{ name: 'AFTER_CREATED_AT', values: ['yesterday'] }] }, path: 'filters[0].values[0]' },
    { name: 'a wildcard on a definition ARN', input: { jobQueue: 'q', filters: [{ name: 'JOB_DEFINITION', values: [`${JD_ARN}*`] }] }, path: 'filters[0].values[0]' },
  ],
});

for (const [operation, check] of [
  ['CancelJob', validate.validateCancelJob],
  ['TerminateJob', validate.validateTerminateJob],
] as const)
  suite(operation, check, {
    valid: { 'a job and a reason': { jobId: 'abc', reason: 'no longer needed' }, 'a 1024-character reason': { jobId: 'abc', reason: x(1024) } },
    invalid: [
      { name: 'an empty job id', input: { jobId: '', reason: 'r' }, path: 'jobId' },
      { name: 'an empty reason', input: { jobId: 'abc', reason: '' }, path: 'reason' },
      { name: 'a 1025-character reason', input: { jobId: 'abc', reason: x(1025) }, path: 'reason', says: '1-1024' },
    ],
  });

for (const [operation, check] of [
  ['CancelJobs', validate.validateCancelJobs],
  ['TerminateJobs', validate.validateTerminateJobs],
] as const)
  suite(operation, check, {
    valid: {
      'one job and a reason': { jobs: ['abc'], reason: 'no longer needed' },
      '50 jobs': { jobs: Array.from({ length: 50 }, (_, i) => `j${i}`), reason: 'r' },
    },
    invalid: [
      { name: 'no jobs', input: { jobs: [], reason: 'r' }, path: 'jobs', says: '1-50' },
      { name: '51 jobs', input: { jobs: Array.from({ length: 51 }, (_, i) => `j${i}`), reason: 'r' }, path: 'jobs', says: '1-50' },
      { name: 'an empty job id', input: { jobs: ['a', ''], reason: 'r' }, path: 'jobs[1]' },
      { name: 'an empty reason', input: { jobs: ['a'], reason: '' }, path: 'reason' },
      { name: 'a 1025-character reason', input: { jobs: ['a'], reason: x(1025) }, path: 'reason', says: '1-1024' },
    ],
  });

// ---------------------------------------------------------------------------------------
// scheduling policies

const shares = (shareDistribution: unknown[]) => ({ name: 'fs', fairsharePolicy: { shareDistribution } });

suite('CreateSchedulingPolicy', validate.validateCreateSchedulingPolicy, {
  valid: {
    'a name alone': { name: 'fs' },
    'a full fair-share policy': {
      name: 'fs',
      fairsharePolicy: {
        shareDecaySeconds: 604800,
        computeReservation: 99,
        shareDistribution: [
          { shareIdentifier: 'teamA', weightFactor: 0.0001 },
          { shareIdentifier: 'B*', weightFactor: 999.9999 },
          { shareIdentifier: 'C1' },
        ],
      },
      tags: { team: 'render' },
    },
  },
  invalid: [
    { name: 'a malformed name', input: { name: 'f s' }, path: 'name' },
    { name: 'a week and a second of decay', input: { name: 'fs', fairsharePolicy: { shareDecaySeconds: 604801 } }, path: 'fairsharePolicy.shareDecaySeconds' },
    { name: 'a compute reservation of 100', input: { name: 'fs', fairsharePolicy: { computeReservation: 100 } }, path: 'fairsharePolicy.computeReservation', says: 'between 0 and 99' },
    { name: 'a weight of 0', input: shares([{ shareIdentifier: 'a', weightFactor: 0 }]), path: 'fairsharePolicy.shareDistribution[0].weightFactor' },
    { name: 'a weight of 1000', input: shares([{ shareIdentifier: 'a', weightFactor: 1000 }]), path: 'fairsharePolicy.shareDistribution[0].weightFactor' },
    { name: 'a share identifier with a hyphen', input: shares([{ shareIdentifier: 'team-a' }]), path: 'fairsharePolicy.shareDistribution[0].shareIdentifier' },
    { name: 'overlapping identifiers', input: shares([{ shareIdentifier: 'UserA*' }, { shareIdentifier: 'UserA1' }]), path: 'fairsharePolicy.shareDistribution[1].shareIdentifier', says: 'overlaps' },
    { name: 'a repeated identifier', input: shares([{ shareIdentifier: 'a' }, { shareIdentifier: 'a' }]), path: 'fairsharePolicy.shareDistribution[1].shareIdentifier', says: 'used twice' },
    { name: '501 shares', input: shares(ids(501).map((_, i) => ({ shareIdentifier: `s${i}` }))), path: 'fairsharePolicy.shareDistribution', says: 'at most 500' },
    { name: 'a quota-share policy', input: { name: 'fs', quotaSharePolicy: { idleResourceAssignmentStrategy: 'FIFO' } }, path: 'quotaSharePolicy', says: 'not supported by openbatch' },
    { name: 'a reserved tag', input: { name: 'fs', tags: { 'aws:x': '1' } }, path: 'tags' },
  ],
});

suite('UpdateSchedulingPolicy', validate.validateUpdateSchedulingPolicy, {
  valid: { 'new shares': { arn: SP_ARN, fairsharePolicy: { shareDistribution: [{ shareIdentifier: 'a', weightFactor: 2 }] } } },
  invalid: [
    { name: 'a name instead of an ARN', input: { arn: 'fs' }, path: 'arn' },
    { name: 'a bad reservation', input: { arn: SP_ARN, fairsharePolicy: { computeReservation: -1 } }, path: 'fairsharePolicy.computeReservation' },
  ],
});

suite('DeleteSchedulingPolicy', validate.validateDeleteSchedulingPolicy, {
  valid: { 'an ARN': { arn: SP_ARN } },
  invalid: [{ name: 'a name instead of an ARN', input: { arn: 'fs' }, path: 'arn' }],
});

suite('DescribeSchedulingPolicies', validate.validateDescribeSchedulingPolicies, {
  valid: { 'an ARN': { arns: [SP_ARN] } },
  invalid: [
    { name: 'no ARNs', input: { arns: [] }, path: 'arns' },
    { name: '101 ARNs', input: { arns: Array(101).fill(SP_ARN) }, path: 'arns' },
    { name: 'a name instead of an ARN', input: { arns: [SP_ARN, 'fs'] }, path: 'arns[1]' },
  ],
});

suite('ListSchedulingPolicies', validate.validateListSchedulingPolicies, {
  valid: { 'no arguments': {}, 'a page': { maxResults: 100, nextToken: 't' } },
  invalid: [{ name: 'maxResults 101', input: { maxResults: 101 }, path: 'maxResults' }],
});

// ---------------------------------------------------------------------------------------
// tags

suite('TagResource', validate.validateTagResource, {
  valid: { 'one tag': { resourceArn: JQ_ARN, tags: { team: 'render', empty: '' } }, '50 tags': { resourceArn: JQ_ARN, tags: tags(50) } },
  invalid: [
    { name: 'no tags', input: { resourceArn: JQ_ARN, tags: {} }, path: 'tags', says: 'at least 1' },
    { name: '51 tags', input: { resourceArn: JQ_ARN, tags: tags(51) }, path: 'tags' },
    { name: 'an aws: key', input: { resourceArn: JQ_ARN, tags: { 'aws:cloudformation:stack': 'x' } }, path: 'tags', says: "'aws:'" },
    { name: 'an AWS: key in capitals', input: { resourceArn: JQ_ARN, tags: { 'AWS:x': 'x' } }, path: 'tags' },
    { name: 'an empty key', input: { resourceArn: JQ_ARN, tags: { '': 'x' } }, path: 'tags' },
    { name: 'a key of 129 characters', input: { resourceArn: JQ_ARN, tags: { [x(129)]: 'x' } }, path: 'tags', says: '1-128' },
    { name: 'a value of 257 characters', input: { resourceArn: JQ_ARN, tags: { k: x(257) } }, path: 'tags', says: '256' },
    { name: 'a resource that is not an ARN', input: { resourceArn: 'q', tags: { a: 'b' } }, path: 'resourceArn' },
  ],
});

suite('UntagResource', validate.validateUntagResource, {
  valid: { 'one key': { resourceArn: JQ_ARN, tagKeys: ['team'] } },
  invalid: [
    { name: 'no keys', input: { resourceArn: JQ_ARN, tagKeys: [] }, path: 'tagKeys' },
    { name: '51 keys', input: { resourceArn: JQ_ARN, tagKeys: ids(51) }, path: 'tagKeys' },
    { name: 'a reserved key', input: { resourceArn: JQ_ARN, tagKeys: ['a', 'aws:x'] }, path: 'tagKeys[1]' },
    { name: 'an empty key', input: { resourceArn: JQ_ARN, tagKeys: [''] }, path: 'tagKeys[0]' },
    { name: 'a resource that is not an ARN', input: { resourceArn: '', tagKeys: ['a'] }, path: 'resourceArn' },
  ],
});

suite('ListTagsForResource', validate.validateListTagsForResource, {
  valid: { 'an ARN': { resourceArn: JD_ARN } },
  invalid: [{ name: 'a name', input: { resourceArn: 'jd' }, path: 'resourceArn' }],
});

// ---------------------------------------------------------------------------------------
// consumable resources

suite('CreateConsumableResource', validate.validateCreateConsumableResource, {
  valid: {
    'a replenishable pool': { consumableResourceName: 'licenses', totalQuantity: 10, resourceType: 'REPLENISHABLE' },
    'an empty pool': { consumableResourceName: 'tokens', totalQuantity: 0, resourceType: 'NON_REPLENISHABLE' },
    'a name alone': { consumableResourceName: 'x' },
  },
  invalid: [
    { name: 'a malformed name', input: { consumableResourceName: 'my licenses' }, path: 'consumableResourceName' },
    { name: 'a negative quantity', input: { consumableResourceName: 'l', totalQuantity: -1 }, path: 'totalQuantity' },
    { name: 'a fractional quantity', input: { consumableResourceName: 'l', totalQuantity: 1.5 }, path: 'totalQuantity' },
    { name: 'an unknown resource type', input: { consumableResourceName: 'l', resourceType: 'CONSUMABLE' }, path: 'resourceType', says: 'REPLENISHABLE, NON_REPLENISHABLE' },
    { name: 'a reserved tag', input: { consumableResourceName: 'l', tags: { 'aws:x': '' } }, path: 'tags' },
  ],
});

suite('UpdateConsumableResource', validate.validateUpdateConsumableResource, {
  valid: {
    'an addition': { consumableResource: 'licenses', operation: 'ADD', quantity: 5, clientToken: 'tok' },
    'a new total by ARN': { consumableResource: CR_ARN, operation: 'SET', quantity: 0 },
    'no change': { consumableResource: 'licenses' },
  },
  invalid: [
    { name: 'an unknown operation', input: { consumableResource: 'l', operation: 'MULTIPLY', quantity: 2 }, path: 'operation', says: 'SET, ADD, REMOVE' },
    { name: 'a quantity without an operation', input: { consumableResource: 'l', quantity: 2 }, path: 'operation' },
    { name: 'an operation without a quantity', input: { consumableResource: 'l', operation: 'ADD' }, path: 'quantity' },
    { name: 'a negative quantity', input: { consumableResource: 'l', operation: 'REMOVE', quantity: -1 }, path: 'quantity' },
    { name: 'a client token of 65 characters', input: { consumableResource: 'l', clientToken: x(65) }, path: 'clientToken', says: '1-64' },
    { name: 'a malformed resource', input: { consumableResource: 'l l' }, path: 'consumableResource' },
  ],
});

suite('DeleteConsumableResource', validate.validateDeleteConsumableResource, {
  valid: { 'a name': { consumableResource: 'licenses' }, 'an ARN': { consumableResource: CR_ARN } },
  invalid: [{ name: 'a malformed name', input: { consumableResource: '' }, path: 'consumableResource' }],
});

suite('DescribeConsumableResource', validate.validateDescribeConsumableResource, {
  valid: { 'a name': { consumableResource: 'licenses' } },
  invalid: [{ name: 'a malformed name', input: { consumableResource: 'a:b' }, path: 'consumableResource' }],
});

suite('ListConsumableResources', validate.validateListConsumableResources, {
  valid: { 'no arguments': {}, 'a name filter': { filters: [{ name: 'CONSUMABLE_RESOURCE_NAME', values: ['lic*'] }], maxResults: 100 } },
  invalid: [
    { name: 'an unknown filter', input: { filters: [{ name: 'NAME', values: ['a'] }] }, path: 'filters[0].name', says: 'CONSUMABLE_RESOURCE_NAME' },
    { name: 'a filter without a name', input: { filters: [{ values: ['a'] }] }, path: 'filters[0].name' },
    { name: 'maxResults 101', input: { maxResults: 101 }, path: 'maxResults' },
  ],
});

suite('ListJobsByConsumableResource', validate.validateListJobsByConsumableResource, {
  valid: {
    'a resource': { consumableResource: 'licenses' },
    'status and name filters': { consumableResource: CR_ARN, filters: [{ name: 'JOB_STATUS', values: ['RUNNING', 'RUNNABLE'] }, { name: 'JOB_NAME', values: ['a*'] }] },
  },
  invalid: [
    { name: 'an unknown status', input: { consumableResource: 'l', filters: [{ name: 'JOB_STATUS', values: ['DONE'] }] }, path: 'filters[0].values[0]' },
    { name: 'an unknown filter', input: { consumableResource: 'l', filters: [{ name: 'STATUS', values: ['RUNNING'] }] }, path: 'filters[0].name' },
    { name: 'a malformed resource', input: { consumableResource: 'l l' }, path: 'consumableResource' },
    { name: 'an empty nextToken', input: { consumableResource: 'l', nextToken: '' }, path: 'nextToken' },
  ],
});

// ---------------------------------------------------------------------------------------

describe('validators', () => {
  test('has a validator for every operation openbatch validates', () => {
    const expected = [
      'CreateComputeEnvironment', 'UpdateComputeEnvironment', 'DeleteComputeEnvironment', 'DescribeComputeEnvironments',
      'CreateJobQueue', 'UpdateJobQueue', 'DeleteJobQueue', 'DescribeJobQueues', 'RegisterJobDefinition',
      'DeregisterJobDefinition', 'DescribeJobDefinitions', 'SubmitJob', 'DescribeJobs', 'ListJobs', 'CancelJob',
      'TerminateJob', 'CancelJobs', 'TerminateJobs', 'CreateSchedulingPolicy', 'UpdateSchedulingPolicy', 'DeleteSchedulingPolicy',
      'DescribeSchedulingPolicies', 'ListSchedulingPolicies', 'TagResource', 'UntagResource', 'ListTagsForResource',
      'CreateConsumableResource', 'UpdateConsumableResource', 'DeleteConsumableResource', 'DescribeConsumableResource',
      'ListConsumableResources', 'ListJobsByConsumableResource', 'GetJobQueueSnapshot',
    ].sort();
    assert.deepEqual(Object.keys(validate.validators).sort(), expected);
    for (const op of expected) assert.equal(typeof validate.validators[op as validate.ValidatedOperation], 'function');
  });
});
