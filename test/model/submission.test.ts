/**
 * planSubmission (model/submission.ts), SubmitJob's pure decision: the job a request makes
 * from what it names, or the rule it breaks — a table of cases on plain facts.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { SubmitJobRequest } from '@aws-sdk/client-batch';
import { Conflict, Invalid, NotFound } from '../../src/model/errors.js';
import { planSubmission, type SubmissionFacts } from '../../src/model/submission.js';

const container = { image: 'busybox', command: ['echo', 'Ref::word'], resourceRequirements: [{ type: 'VCPU' as const, value: '2' }, { type: 'MEMORY' as const, value: '512' }] };

/** Facts of a submission, fluently: facts().fairShare().dependency('a', 'arrayParent', 4).submit({...}).build() */
function facts() {
  const f: SubmissionFacts = {
    request: { jobName: 'j', jobQueue: 'q', jobDefinition: 'd' },
    id: 'job-1',
    arn: 'arn:aws:batch:us-east-1:000000000000:job/job-1',
    now: 1_000,
    queue: { name: 'q', arn: 'arn:aws:batch:us-east-1:000000000000:job-queue/q', enabled: true, fairShare: false },
    definition: { name: 'd', revision: 3, arn: 'arn:aws:batch:us-east-1:000000000000:job-definition/d:3', type: 'container', spec: { containerProperties: container, parameters: { word: 'hi' } }, tags: { team: 'render' } },
    dependencies: new Map(),
    consumables: [],
  };
  const b = {
    submit(r: Partial<SubmitJobRequest>) {
      f.request = { ...f.request, ...r };
      return b;
    },
    disabledQueue() {
      f.queue.enabled = false;
      return b;
    },
    fairShare() {
      f.queue.fairShare = true;
      return b;
    },
    definition(d: Partial<SubmissionFacts['definition']>) {
      f.definition = { ...f.definition, ...d };
      return b;
    },
    dependency(id: string, kind: 'job' | 'arrayParent' = 'job', arraySize: number | null = null) {
      (f.dependencies as Map<string, { kind: 'job' | 'arrayParent'; arraySize: number | null }>).set(id, { kind, arraySize });
      return b;
    },
    build: () => f,
  };
  return b;
}

const gang = {
  numNodes: 3,
  mainNode: 0,
  nodeRangeProperties: [{ targetNodes: '0:', container: { image: 'busybox', command: ['mpirun'], resourceRequirements: [{ type: 'VCPU' as const, value: '2' }, { type: 'MEMORY' as const, value: '256' }] } }],
};

describe('planSubmission: refused', () => {
  const cases: { name: string; f: SubmissionFacts; error: typeof Invalid | typeof Conflict | typeof NotFound; message: RegExp }[] = [
    { name: 'a queue that is DISABLED takes no job', f: facts().disabledQueue().build(), error: Conflict, message: /jobQueue 'q' is DISABLED/ },
    { name: 'nodeOverrides only for multi-node definitions', f: facts().submit({ nodeOverrides: { numNodes: 2 } }).build(), error: Invalid, message: /nodeOverrides applies only to multi-node parallel jobs: jobDefinition 'd:3' is of type container/ },
    {
      name: 'a multi-node job cannot be an array',
      f: facts().definition({ type: 'multinode', spec: { nodeProperties: gang } }).submit({ arrayProperties: { size: 4 } }).build(),
      error: Invalid,
      message: /arrayProperties is not allowed with a multinode job definition/,
    },
    {
      name: 'a multi-node job takes no containerOverrides',
      f: facts().definition({ type: 'multinode', spec: { nodeProperties: gang } }).submit({ containerOverrides: { command: ['x'] } }).build(),
      error: Invalid,
      message: /containerOverrides is not allowed with a multinode job definition/,
    },
    { name: 'a fair-share queue needs a shareIdentifier', f: facts().fairShare().build(), error: Invalid, message: /shareIdentifier is required/ },
    { name: 'a FIFO queue takes no shareIdentifier', f: facts().submit({ shareIdentifier: 's' }).build(), error: Invalid, message: /shareIdentifier is not allowed: jobQueue 'q' has no scheduling policy/ },
    { name: 'a definition without containerProperties is not run', f: facts().definition({ spec: {} }).build(), error: Invalid, message: /has no containerProperties/ },
    { name: 'a dependency must exist', f: facts().submit({ dependsOn: [{ jobId: 'nope' }] }).build(), error: NotFound, message: /^dependsOn\[0\]\.jobId 'nope' does not exist$/ },
    {
      name: 'N_TO_N needs an array of the same size',
      f: facts().dependency('a', 'arrayParent', 5).submit({ arrayProperties: { size: 4 }, dependsOn: [{ jobId: 'a', type: 'N_TO_N' }] }).build(),
      error: Invalid,
      message: /an N_TO_N dependency needs an array job of the same size \(4\); 'a' is an array of 5/,
    },
    {
      name: 'N_TO_N on a plain job',
      f: facts().dependency('a').submit({ arrayProperties: { size: 4 }, dependsOn: [{ jobId: 'a', type: 'N_TO_N' }] }).build(),
      error: Invalid,
      message: /'a' is not an array job/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.throws(() => planSubmission(c.f), (e: unknown) => e instanceof c.error && c.message.test((e as Error).message));
    });
  }
});

describe('planSubmission: the job made', () => {
  test('a container job: its spec with parameters substituted, its resources, attempts and timeout, the definition tags when propagated', () => {
    const job = planSubmission(facts().submit({ retryStrategy: { attempts: 3 }, timeout: { attemptDurationSeconds: 60 }, propagateTags: true, tags: { run: '7' } }).build());
    assert.deepEqual(job.spec.command, ['echo', 'hi']);
    assert.deepEqual(job.resources, { vcpus: 2, memoryMiB: 512, gpus: 0 });
    assert.deepEqual([job.maxAttempts, job.timeoutSeconds, job.arraySize, job.numNodes], [3, 60, null, null]);
    assert.deepEqual(job.tags, { team: 'render', run: '7' });
    assert.deepEqual([job.id, job.createdAt, job.queue, job.definitionArn], ['job-1', 1_000, 'q', facts().build().definition.arn]);
  });

  test('tags are not propagated unless asked', () => {
    assert.deepEqual(planSubmission(facts().submit({ tags: { run: '7' } }).build()).tags, { run: '7' });
  });

  test('dependencies become edges: by id or ARN, SEQUENTIAL with a job id a plain one, SEQUENTIAL alone none; dependsOn kept as sent', () => {
    const dependsOn = [{ jobId: 'arn:aws:batch:us-east-1:000000000000:job/a' }, { jobId: 'b', type: 'SEQUENTIAL' as const }, { type: 'SEQUENTIAL' as const }, { jobId: 'c', type: 'N_TO_N' as const }];
    const job = planSubmission(facts().dependency('a').dependency('b').dependency('c', 'arrayParent', 4).submit({ arrayProperties: { size: 4 }, dependsOn }).build());
    assert.deepEqual(job.edges, [
      { jobId: 'a', type: null },
      { jobId: 'b', type: null },
      { jobId: 'c', type: 'N_TO_N' },
    ]);
    assert.deepEqual(job.dependsOn, dependsOn);
    assert.equal(job.arraySize, 4);
  });

  test('a multi-node job stands for its gang: the nodes\' totals, the gang in its spec', () => {
    const job = planSubmission(facts().definition({ type: 'multinode', spec: { nodeProperties: gang } }).build());
    assert.deepEqual(job.resources, { vcpus: 6, memoryMiB: 768, gpus: 0 });
    assert.equal(job.numNodes, 3);
    assert.equal(job.spec.gang?.numNodes, 3);
  });

  test('a fair-share job keeps its share and its priority override', () => {
    const job = planSubmission(facts().fairShare().submit({ shareIdentifier: 'blue', schedulingPriorityOverride: 7 }).build());
    assert.deepEqual([job.shareIdentifier, job.schedulingPriority], ['blue', 7]);
  });
});
