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
    { name: 'a definition without containerProperties is not run', f: facts().definition({ spec: {} }).build(), error: Invalid, message: /has no containerProperties, ecsProperties or eksProperties to run/ },
    {
      name: 'an ECS task takes no containerOverrides',
      f: facts().definition({ spec: { ecsProperties: { taskProperties: [{ containers: [{ image: 'x' }] }] } } }).submit({ containerOverrides: { command: ['x'] } }).build(),
      error: Invalid,
      message: /containerOverrides does not apply to jobDefinition 'd:3', which has ecsProperties: use ecsPropertiesOverride/,
    },
    {
      name: 'ecsPropertiesOverride needs an ECS task',
      f: facts().submit({ ecsPropertiesOverride: { taskProperties: [{ containers: [{ command: ['x'] }] }] } }).build(),
      error: Invalid,
      message: /ecsPropertiesOverride applies only to a job definition with ecsProperties: jobDefinition 'd:3' has containerProperties/,
    },
    {
      name: 'an override names a container of the task',
      f: facts().definition({ spec: { ecsProperties: { taskProperties: [{ containers: [{ image: 'x', name: 'main' }] }] } } }).submit({ ecsPropertiesOverride: { taskProperties: [{ containers: [{ name: 'other', command: ['x'] }] }] } }).build(),
      error: Invalid,
      message: /ecsPropertiesOverride\.taskProperties\[0\]\.containers\[0\]\.name 'other' is not a container of the job definition \('main'\)/,
    },
    {
      name: 'an EKS pod with a persistentVolumeClaim',
      f: facts().definition({ spec: { eksProperties: { podProperties: { containers: [{ image: 'x' }], volumes: [{ name: 'data', persistentVolumeClaim: { claimName: 'c' } }] } } } }).build(),
      error: Invalid,
      message: /'data' is a persistentVolumeClaim/,
    },
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

  test("an ECS task holds its containers' sum; overrides apply by name, Ref:: in every command", () => {
    const ecsProperties = {
      taskProperties: [
        {
          containers: [
            { name: 'main', image: 'busybox', command: ['echo', 'Ref::word'], resourceRequirements: [{ type: 'VCPU' as const, value: '2' }, { type: 'MEMORY' as const, value: '512' }] },
            { name: 'side', image: 'busybox', essential: false, command: ['sleep', 'Ref::word'], resourceRequirements: [{ type: 'VCPU' as const, value: '1' }, { type: 'MEMORY' as const, value: '128' }] },
          ],
        },
      ],
    };
    const job = planSubmission(
      facts()
        .definition({ spec: { ecsProperties, parameters: { word: 'hi' } } })
        .submit({ ecsPropertiesOverride: { taskProperties: [{ containers: [{ name: 'side', resourceRequirements: [{ type: 'MEMORY', value: '256' }] }] }] } })
        .build(),
    );
    assert.deepEqual(job.resources, { vcpus: 3, memoryMiB: 768, gpus: 0 });
    const [main, side] = job.spec.task!.containers;
    assert.deepEqual([main.name, main.essential, main.command], ['main', true, ['echo', 'hi']]);
    assert.deepEqual([side.name, side.essential, side.command, side.memoryMiB], ['side', false, ['sleep', 'hi'], 256]);
    assert.deepEqual(job.spec.command, ['echo', 'hi'], "the job's command is its first essential container's");
    assert.equal(job.spec.task!.ecsProperties!.taskProperties![0].containers![1].resourceRequirements!.find((r) => r.type === 'MEMORY')!.value, '256');
  });

  test('an EKS pod: init containers one after the other, then the containers; Kubernetes quantities; a task naming no resources gets the defaults', () => {
    const eksProperties = {
      podProperties: {
        initContainers: [{ name: 'a', image: 'x' }, { name: 'b', image: 'x' }],
        containers: [{ image: 'x', command: ['run'], args: ['$(X)'], resources: { requests: { cpu: '500m', memory: '1Gi' }, limits: { cpu: '1', memory: '1Gi' } } }, { name: 'log', image: 'x' }],
      },
    };
    const job = planSubmission(facts().definition({ spec: { eksProperties } }).build());
    const names = job.spec.task!.containers.map((c) => [c.name, c.init ?? false, c.dependsOn.map((d) => `${d.containerName}:${d.condition}`)]);
    assert.deepEqual(names, [
      ['a', true, []],
      ['b', true, ['a:SUCCESS']],
      ['Default', false, ['b:SUCCESS']],
      ['log', false, ['b:SUCCESS']],
    ]);
    assert.deepEqual(job.resources, { vcpus: 0.5, memoryMiB: 1024, gpus: 0 });
    assert.deepEqual(job.spec.task!.containers[2].command, ['run', '$(X)'], 'command then args; $(X) is expanded where the environment is whole');
    const bare = planSubmission(facts().definition({ spec: { eksProperties: { podProperties: { containers: [{ image: 'x' }] } } } }).build());
    assert.deepEqual([bare.resources, bare.spec.defaultedResources], [{ vcpus: 1, memoryMiB: 2048, gpus: 0 }, ['VCPU', 'MEMORY']]);
  });

  test('a fair-share job keeps its share and its priority override', () => {
    const job = planSubmission(facts().fairShare().submit({ shareIdentifier: 'blue', schedulingPriorityOverride: 7 }).build());
    assert.deepEqual([job.shareIdentifier, job.schedulingPriority], ['blue', 7]);
  });
});
