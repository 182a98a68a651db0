/**
 * Trigger chains: a rule with arrayProperties and `then` submits, per dropped file, an array
 * job and the jobs that follow it, each depending on the one before; every child and every
 * follow-up gets the file. And the rule's new fields are checked at start.
 */
import assert from 'node:assert/strict';
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { ListJobsCommand } from '@aws-sdk/client-batch';
import { parseTriggers } from '../../src/triggers/rules.js';
import { hostVolume, startTestServer, writableDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer | undefined;
after(async () => t?.close());

test('a dropped file submits an array and its follow-ups in a chain; each gets the file', async () => {
  // The jobs write their parts beside the dropped file: the inbox is theirs to write, as a volume.
  const inbox = writableDir('openbatch-chain-inbox-');
  t = await startTestServer({
    hostVolumeRoots: [inbox],
    triggers: [
      {
        name: 'parts',
        watch: join(inbox, '*.txt'),
        jobQueue: 'chain',
        jobDefinition: 'part',
        arrayProperties: { size: 3 },
        parameters: { tag: 'x' },
        then: [
          { jobDefinition: 'check', dependencyType: 'N_TO_N', arrayProperties: { size: 3 } },
          { jobDefinition: 'join', parameters: { tag: 'joined' } },
        ],
        settleSeconds: 0.2,
        pollSeconds: 0.2,
      },
    ] as unknown,
  });
  const c = t.client;
  await createCe(c, 'chain-ce', { maxvCpus: 2 });
  await createQueue(c, 'chain', ['chain-ce']);
  // child i writes <file>.<i>; check i reads it; join concatenates all, with its own parameter
  await registerDefinition(c, 'part', { command: ['sh', '-c', 'echo "$2 part $AWS_BATCH_JOB_ARRAY_INDEX of $(cat "$1")" > "$1.$AWS_BATCH_JOB_ARRAY_INDEX"', 'part', 'Ref::file', 'Ref::tag'], ...hostVolume(inbox) });
  await registerDefinition(c, 'check', { command: ['sh', '-c', 'test -s "$1.$AWS_BATCH_JOB_ARRAY_INDEX"', 'check', 'Ref::file'], ...hostVolume(inbox) });
  await registerDefinition(c, 'join', { command: ['sh', '-c', 'cat "$1".? > "$1.joined" && echo "$2" >> "$1.joined"', 'join', 'Ref::file', 'Ref::tag'], ...hostVolume(inbox) });

  writeFileSync(join(inbox, '.a.part'), 'alpha');
  renameSync(join(inbox, '.a.part'), join(inbox, 'a.txt'));

  let ids: Record<string, string> = {};
  const deadline = Date.now() + 60_000;
  while (Object.keys(ids).length < 3 && Date.now() < deadline) {
    const res = await c.send(new ListJobsCommand({ jobQueue: 'chain', filters: [{ name: 'JOB_NAME', values: ['parts-a_txt*'] }] }));
    ids = Object.fromEntries((res.jobSummaryList ?? []).map((j) => [j.jobName!, j.jobId!]));
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.deepEqual(Object.keys(ids).sort(), ['parts-a_txt', 'parts-a_txt-check', 'parts-a_txt-join']);
  const joined = await waitForStatus(c, ids['parts-a_txt-join'], ['SUCCEEDED', 'FAILED'], 120_000);
  assert.equal(joined.status, 'SUCCEEDED', joined.statusReason);

  const array = await describeJob(c, ids['parts-a_txt']);
  const check = await describeJob(c, ids['parts-a_txt-check']);
  assert.equal(array.arrayProperties?.size, 3);
  assert.deepEqual(check.dependsOn, [{ jobId: array.jobId, type: 'N_TO_N' }]);
  assert.deepEqual(joined.dependsOn, [{ jobId: check.jobId }]);
  assert.equal(check.tags?.['openbatch:trigger-step'], 'then[0]');
  assert.equal(joined.tags?.['openbatch:trigger-step'], 'then[1]');
  assert.equal(joined.tags?.['openbatch:trigger-file'], join(inbox, 'a.txt'));
  assert.equal(array.tags?.['openbatch:trigger-step'], undefined);
  assert.equal(readFileSync(join(inbox, 'a.txt.joined'), 'utf8'), 'x part 0 of alpha\nx part 1 of alpha\nx part 2 of alpha\njoined\n');
});

test('then and arrayProperties are checked at start, naming the entry and field', () => {
  const ok = { name: 'in', watch: 'in/*', jobQueue: 'q', jobDefinition: 'd' };
  const cases: [unknown, RegExp][] = [
    [[{ ...ok, then: {} }], /^triggers\[0\]\.then must be a list/],
    [[{ ...ok, then: [{}] }], /^triggers\[0\]\.then\[0\]\.jobDefinition is required/],
    [[{ ...ok, then: [{ jobDefinition: 'j', dependencyType: 'SEQUENTIAL' }] }], /^triggers\[0\]\.then\[0\]\.dependencyType must be N_TO_N/],
    [[{ ...ok, then: [{ jobDefinition: 'j', queue: 'q' }] }], /^triggers\[0\]\.then\[0\]: unknown field 'queue'/],
    [[{ ...ok, arrayProperties: 3 }], /^triggers\[0\]\.arrayProperties must be an object$/],
  ];
  for (const [value, message] of cases) assert.throws(() => parseTriggers(value), (e: Error) => message.test(e.message), String(JSON.stringify(value)));
  assert.equal(parseTriggers([{ ...ok, then: [{ jobDefinition: 'j' }] }])[0].then[0].jobDefinition, 'j');
});
