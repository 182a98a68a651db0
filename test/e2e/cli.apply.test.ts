/**
 * `openbatch apply -f`: a YAML file of compute environments, scheduling policies, queues,
 * definitions and a pipeline of jobs, run as a real subprocess against a real server.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DescribeJobDefinitionsCommand, DescribeJobQueuesCommand, DescribeComputeEnvironmentsCommand } from '@aws-sdk/client-batch';
import { startTestServer, tempDir, writableDir, type TestServer } from '../helpers/server.js';
import { describeJob, waitForStatus } from '../helpers/fixtures.js';
import { runCli, showRun } from '../helpers/cli.js';

const EXAMPLE = new URL('../../../docs/examples/pipeline.yaml', import.meta.url);
let t: TestServer;
const dir = tempDir('openbatch-apply-');
/** where the example's jobs write their frames: a host directory granted to jobs, as its header says */
const out = writableDir('openbatch-frames-');
const cli = (...args: string[]) => runCli(t.url, args);

before(async () => {
  t = await startTestServer({ hostVolumeRoots: [out] });
});
after(async () => {
  await t.close();
  rmSync(dir, { recursive: true, force: true });
  rmSync(out, { recursive: true, force: true });
});

function writeFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

/** The example pipeline, writing its frames under this test's directory. */
function example(edit: (s: string) => string = (s) => s): string {
  return writeFile('pipeline.yaml', edit(readFileSync(EXAMPLE, 'utf8').replaceAll('/var/tmp/openbatch-render', out)));
}

test('the example pipeline: --dry-run changes nothing; apply creates everything and runs render (array) then stitch; again: nothing to change', async () => {
  const file = example();
  const dry = await cli('apply', '-f', file, '--dry-run');
  assert.equal(dry.code, 0, showRun(dry));
  assert.equal(
    dry.stdout,
    [
      'compute environment render-ce: would be created',
      'job queue render: would be created',
      'job definition render-frame: would be registered (revision 1)',
      'job definition stitch-frames: would be registered (revision 1)',
      'job render: would be submitted (array of 8)',
      'job stitch: would be submitted (after render)',
      'dry run: 6 changes would be made; nothing was changed',
      '',
    ].join('\n'),
  );
  assert.deepEqual((await t.client.send(new DescribeJobQueuesCommand({}))).jobQueues, []);

  const r = await cli('apply', '-f', file);
  assert.equal(r.code, 0, showRun(r));
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.slice(0, 4), [
    'compute environment render-ce: created',
    'job queue render: created',
    'job definition render-frame: registered (revision 1)',
    'job definition stitch-frames: registered (revision 1)',
  ]);
  const render = /^job render: submitted \(([0-9a-f-]{36}), array of 8\)$/.exec(lines[4])?.[1];
  const stitch = /^job stitch: submitted \(([0-9a-f-]{36}), after render\)$/.exec(lines[5])?.[1];
  assert.ok(render && stitch, r.stdout);
  const s = await waitForStatus(t.client, stitch, ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(s.status, 'SUCCEEDED', s.statusReason);
  assert.deepEqual(s.dependsOn, [{ jobId: render }]);
  assert.equal((await describeJob(t.client, render)).status, 'SUCCEEDED');
  const movie = readFileSync(join(out, 'movie.txt'), 'utf8').trim().split('\n');
  assert.deepEqual(movie, [0, 1, 2, 3, 4, 5, 6, 7].map((i) => `frame ${i} rendered`));

  const again = await cli('apply', '-f', file, '--resources-only');
  assert.equal(again.code, 0, showRun(again));
  assert.equal(
    again.stdout,
    [
      'compute environment render-ce: unchanged',
      'job queue render: unchanged',
      'job definition render-frame: unchanged (revision 1)',
      'job definition stitch-frames: unchanged (revision 1)',
      'nothing to change',
      '',
    ].join('\n'),
  );
});

test('an edited file updates what changed: queue priority, CE maxvCpus, a new revision of the edited definition', async () => {
  const file = example((s) => s.replace('priority: 10', 'priority: 20').replace('maxvCpus: 4', 'maxvCpus: 2').replace('attempts: 2', 'attempts: 3'));
  const r = await cli('apply', '-f', file, '--resources-only');
  assert.equal(r.code, 0, showRun(r));
  assert.equal(
    r.stdout,
    [
      'compute environment render-ce: updated (computeResources.maxvCpus)',
      'job queue render: updated (priority)',
      'job definition render-frame: registered (revision 2; changed: retryStrategy.attempts)',
      'job definition stitch-frames: unchanged (revision 1)',
      '',
    ].join('\n'),
  );
  const q = (await t.client.send(new DescribeJobQueuesCommand({ jobQueues: ['render'] }))).jobQueues![0];
  assert.equal(q.priority, 20);
  const ce = (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['render-ce'] }))).computeEnvironments![0];
  assert.equal(ce.computeResources?.maxvCpus, 2);
  const defs = (await t.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: 'render-frame', status: 'ACTIVE' }))).jobDefinitions!;
  assert.equal(Math.max(...defs.map((d) => d.revision!)), 2);
});

test('arrays with N_TO_N and SEQUENTIAL dependencies by name; a fair-share queue naming its scheduling policy', async () => {
  const file = writeFile(
    'arrays.yaml',
    `
schedulingPolicies:
  - name: fair
    fairsharePolicy: {shareDecaySeconds: 60, shareDistribution: [{shareIdentifier: a, weightFactor: 1}]}
---
jobQueues:
  - jobQueueName: fairq
    priority: 5
    schedulingPolicyArn: fair
    computeEnvironmentOrder: [{order: 1, computeEnvironment: render-ce}]
jobDefinitions:
  - jobDefinitionName: step
    type: container
    containerProperties:
      image: busybox
      command: [sh, -c, 'echo step $AWS_BATCH_JOB_ARRAY_INDEX']
      resourceRequirements: [{type: VCPU, value: 1}, {type: MEMORY, value: 128}]
jobs:
  - name: second
    jobQueue: render
    jobDefinition: step
    arrayProperties: {size: 3}
    dependsOn: [{job: first, type: N_TO_N}]
  - name: first
    jobQueue: render
    jobDefinition: step
    arrayProperties: {size: 3}
    dependsOn: [{type: SEQUENTIAL}]
  - name: fair-one
    jobQueue: fairq
    jobDefinition: step
    shareIdentifier: a
`,
  );
  const r = await cli('apply', '-f', file);
  assert.equal(r.code, 0, showRun(r));
  assert.match(r.stdout, /^scheduling policy fair: created$/m);
  assert.match(r.stdout, /^job queue fairq: created$/m);
  const ids = Object.fromEntries([...r.stdout.matchAll(/^job ([\w-]+): submitted \(([0-9a-f-]{36})/gm)].map((m) => [m[1], m[2]]));
  // first is submitted before second, which depends on it, although the file lists it later.
  assert.ok(r.stdout.indexOf('job first:') < r.stdout.indexOf('job second:'), r.stdout);
  assert.match(r.stdout, /^job second: submitted \([0-9a-f-]{36}, array of 3, after first N_TO_N\)$/m);
  const second = await waitForStatus(t.client, ids.second, ['SUCCEEDED', 'FAILED'], 60_000);
  assert.equal(second.status, 'SUCCEEDED');
  assert.deepEqual(second.dependsOn, [{ jobId: ids.first, type: 'N_TO_N' }]);
  assert.deepEqual((await describeJob(t.client, ids.first)).dependsOn, [{ type: 'SEQUENTIAL' }]);
  assert.equal((await waitForStatus(t.client, ids['fair-one'], ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
  const q = (await t.client.send(new DescribeJobQueuesCommand({ jobQueues: ['fairq'] }))).jobQueues![0];
  assert.match(q.schedulingPolicyArn!, /:scheduling-policy\/fair$/);

  const again = await cli('apply', '-f', file, '--resources-only');
  assert.match(again.stdout, /^scheduling policy fair: unchanged$/m);
  assert.match(again.stdout, /^job queue fairq: unchanged$/m);
  assert.match(again.stdout, /nothing to change\n$/);
});

test('mistakes are one line naming the file, line, document path and field, with a non-zero exit', async () => {
  const cases: [string, string, RegExp][] = [
    ['unknown-dep.yaml', 'jobs:\n  - name: a\n    jobQueue: render\n    jobDefinition: step\n    dependsOn: [b]\n', /unknown-dep\.yaml:5: jobs\[0\]\.dependsOn\[0\]: no job named 'b'/],
    ['cycle.yaml', 'jobs:\n  - {name: a, jobQueue: render, jobDefinition: step, dependsOn: [b]}\n  - {name: b, jobQueue: render, jobDefinition: step, dependsOn: [a]}\n', /cycle\.yaml:2: jobs\[0\]: dependsOn makes a cycle: a → b → a/],
    ['section.yaml', 'jobQueue:\n  - {jobQueueName: x}\n', /section\.yaml:1: unknown section 'jobQueue' \(known: computeEnvironments/],
    ['syntax.yaml', 'jobs:\n  - name: a\n   bad: [\n', /syntax\.yaml:\d+: YAML: /],
    ['noname.yaml', 'jobQueues:\n  - priority: 1\n', /noname\.yaml:2: jobQueues\[0\]\.jobQueueName is required/],
    ['server.yaml', '---\n---\njobQueues:\n  - jobQueueName: bad\n    computeEnvironmentOrder: [{order: 1, computeEnvironment: render-ce}]\n    priority: 5000\n', /server\.yaml:6: document 2: jobQueues\[0\] \(bad\): priority must be between 0 and 1000/],
  ];
  for (const [name, text, want] of cases) {
    const r = await cli('apply', '-f', writeFile(name, text));
    assert.equal(r.code, 1, showRun(r));
    assert.equal(r.stdout, '', showRun(r));
    assert.match(r.stderr, /^openbatch: .*\n$/, showRun(r));
    assert.match(r.stderr, want, showRun(r));
  }
  const missing = await cli('apply', '-f', join(dir, 'nope.yaml'));
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /^openbatch: cannot read .*nope\.yaml: no such file\n$/);
  const help = await cli('apply', '--help');
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Example/);
});
