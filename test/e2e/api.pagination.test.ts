/**
 * Pagination through the real SDK over HTTP: seven of each kind listed three at a time come
 * back in three pages, every item exactly once, with no nextToken on the last page; the
 * SDK's paginators walk them; a token only works for the operation that issued it.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateSchedulingPolicyCommand,
  DescribeComputeEnvironmentsCommand,
  DescribeJobDefinitionsCommand,
  DescribeJobQueuesCommand,
  ListJobsCommand,
  ListSchedulingPoliciesCommand,
  paginateDescribeComputeEnvironments,
  paginateDescribeJobDefinitions,
  paginateListJobs,
  type BatchClient,
} from '@aws-sdk/client-batch';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { rejectsClient } from '../helpers/apiErrors.js';

const SEVEN = Array.from({ length: 7 }, (_, i) => `p${i}`);

interface Page {
  items: string[];
  nextToken?: string;
}

/** Calls `fetchPage` from the first page until there is no nextToken; returns every page. */
async function allPages(fetchPage: (nextToken: string | undefined) => Promise<Page>): Promise<Page[]> {
  const pages: Page[] = [];
  let token: string | undefined;
  do {
    const page = await fetchPage(token);
    pages.push(page);
    token = page.nextToken;
    assert.ok(pages.length <= 10, 'pagination does not end');
  } while (token);
  return pages;
}

/** Three pages of 3, 3 and 1, the last without nextToken, holding each of `expected` exactly once. */
function assertThreePages(pages: Page[], expected: string[]): void {
  assert.deepEqual(
    pages.map((p) => p.items.length),
    [3, 3, 1],
  );
  assert.ok(pages[0].nextToken && pages[1].nextToken, 'the first two pages carry a nextToken');
  assert.equal(pages[2].nextToken, undefined, 'the last page carries no nextToken');
  const all = pages.flatMap((p) => p.items);
  assert.deepEqual([...all].sort(), [...expected].sort(), 'every item exactly once');
}

describe('pagination', () => {
  let t: TestServer;
  const jobIds: string[] = [];
  before(async () => {
    t = await startTestServer();
    for (const name of SEVEN) await createCe(t.client, `ce-${name}`, { state: 'DISABLED' });
    for (const name of SEVEN) await createQueue(t.client, `q-${name}`, ['ce-p0']);
    for (const name of SEVEN) await registerDefinition(t.client, `def-${name}`);
    for (const name of SEVEN) await t.client.send(new CreateSchedulingPolicyCommand({ name: `sp-${name}` }));
    // ce-p0 is DISABLED: the jobs stay RUNNABLE while they are listed.
    for (const name of SEVEN) jobIds.push(await submit(t.client, { jobName: `job-${name}`, jobQueue: 'q-p0', jobDefinition: 'def-p0' }));
    for (const id of jobIds) await waitForStatus(t.client, id, ['RUNNABLE']);
  });
  after(async () => t.close());

  test('DescribeComputeEnvironments: 7 environments with maxResults 3 come in pages of 3, 3 and 1', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new DescribeComputeEnvironmentsCommand({ maxResults: 3, nextToken }));
      return { items: res.computeEnvironments!.map((c) => c.computeEnvironmentName!), nextToken: res.nextToken };
    });
    assertThreePages(pages, SEVEN.map((n) => `ce-${n}`));
  });

  test('DescribeJobQueues: 7 queues with maxResults 3 come in pages of 3, 3 and 1', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new DescribeJobQueuesCommand({ maxResults: 3, nextToken }));
      return { items: res.jobQueues!.map((q) => q.jobQueueName!), nextToken: res.nextToken };
    });
    assertThreePages(pages, SEVEN.map((n) => `q-${n}`));
  });

  test('DescribeJobDefinitions: 7 definitions with maxResults 3 come in pages of 3, 3 and 1', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new DescribeJobDefinitionsCommand({ maxResults: 3, nextToken }));
      return { items: res.jobDefinitions!.map((d) => d.jobDefinitionArn!), nextToken: res.nextToken };
    });
    assertThreePages(pages, SEVEN.map((n) => `arn:aws:batch:us-east-1:000000000000:job-definition/def-${n}:1`));
  });

  test('DescribeJobDefinitions by name pages through 7 revisions of one definition', async () => {
    for (let i = 0; i < 7; i++) await registerDefinition(t.client, 'revved');
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new DescribeJobDefinitionsCommand({ jobDefinitionName: 'revved', maxResults: 3, nextToken }));
      return { items: res.jobDefinitions!.map((d) => String(d.revision)), nextToken: res.nextToken };
    });
    assertThreePages(pages, ['1', '2', '3', '4', '5', '6', '7']);
  });

  test('ListJobs: 7 RUNNABLE jobs with maxResults 3 come in pages of 3, 3 and 1', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new ListJobsCommand({ jobQueue: 'q-p0', jobStatus: 'RUNNABLE', maxResults: 3, nextToken }));
      return { items: res.jobSummaryList!.map((j) => j.jobId!), nextToken: res.nextToken };
    });
    assertThreePages(pages, jobIds);
  });

  test('ListJobs with a filter pages too, newest first', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(
        new ListJobsCommand({ jobQueue: 'q-p0', filters: [{ name: 'JOB_NAME', values: ['job-*'] }], maxResults: 3, nextToken }),
      );
      return { items: res.jobSummaryList!.map((j) => j.jobId!), nextToken: res.nextToken };
    });
    assertThreePages(pages, jobIds);
    assert.deepEqual(
      pages.flatMap((p) => p.items),
      [...jobIds].reverse(),
    );
  });

  test('ListSchedulingPolicies: 7 policies with maxResults 3 come in pages of 3, 3 and 1', async () => {
    const pages = await allPages(async (nextToken) => {
      const res = await t.client.send(new ListSchedulingPoliciesCommand({ maxResults: 3, nextToken }));
      return { items: res.schedulingPolicies!.map((p) => p.arn!), nextToken: res.nextToken };
    });
    assertThreePages(pages, SEVEN.map((n) => `arn:aws:batch:us-east-1:000000000000:scheduling-policy/sp-${n}`));
  });

  test("the SDK's paginators walk every page", async () => {
    const collect = async <T>(pages: AsyncIterable<T>, pick: (page: T) => string[]): Promise<string[]> => {
      const out: string[] = [];
      for await (const page of pages) out.push(...pick(page));
      return out;
    };
    const config = { client: t.client as BatchClient, pageSize: 2 };
    const ces = await collect(paginateDescribeComputeEnvironments(config, {}), (p) => p.computeEnvironments!.map((c) => c.computeEnvironmentName!));
    assert.deepEqual(ces.sort(), SEVEN.map((n) => `ce-${n}`));
    const defs = await collect(paginateDescribeJobDefinitions(config, { jobDefinitionName: 'def-p3' }), (p) => p.jobDefinitions!.map((d) => d.jobDefinitionName!));
    assert.deepEqual(defs, ['def-p3']);
    const jobs = await collect(paginateListJobs(config, { jobQueue: 'q-p0', jobStatus: 'RUNNABLE' }), (p) => p.jobSummaryList!.map((j) => j.jobId!));
    assert.deepEqual(jobs.sort(), [...jobIds].sort());
  });

  test('a nextToken from one operation is refused by another, naming the operation it was given to', async () => {
    const ceToken = (await t.client.send(new DescribeComputeEnvironmentsCommand({ maxResults: 3 }))).nextToken;
    assert.ok(ceToken);
    await rejectsClient(t.client.send(new DescribeJobQueuesCommand({ maxResults: 3, nextToken: ceToken })), /nextToken is invalid for DescribeJobQueues/);
    await rejectsClient(t.client.send(new ListSchedulingPoliciesCommand({ nextToken: ceToken })), /nextToken is invalid for ListSchedulingPolicies/);
    const jobToken = (await t.client.send(new ListJobsCommand({ jobQueue: 'q-p0', jobStatus: 'RUNNABLE', maxResults: 3 }))).nextToken;
    assert.ok(jobToken);
    await rejectsClient(t.client.send(new DescribeJobDefinitionsCommand({ nextToken: jobToken })), /nextToken is invalid for DescribeJobDefinitions/);
  });

  test('a made-up token naming the right operation but holding another kind of position is refused, not a server error', async () => {
    const forge = (op: string, p: unknown) => Buffer.from(JSON.stringify({ op, p })).toString('base64url');
    const calls: [string, (nextToken: string) => Promise<unknown>][] = [
      ['DescribeComputeEnvironments', (nextToken) => t.client.send(new DescribeComputeEnvironmentsCommand({ nextToken }))],
      ['DescribeJobQueues', (nextToken) => t.client.send(new DescribeJobQueuesCommand({ nextToken }))],
      ['DescribeJobDefinitions', (nextToken) => t.client.send(new DescribeJobDefinitionsCommand({ nextToken }))],
      ['ListSchedulingPolicies', (nextToken) => t.client.send(new ListSchedulingPoliciesCommand({ nextToken }))],
      ['ListJobs', (nextToken) => t.client.send(new ListJobsCommand({ jobQueue: 'q-p0', nextToken }))],
    ];
    for (const [op, call] of calls) {
      for (const position of [{ x: 1 }, true, [[1]], []]) {
        await rejectsClient(call(forge(op, position)), new RegExp(`nextToken is invalid for ${op}`)).catch((e: Error) => {
          throw new Error(`${op} with position ${JSON.stringify(position)}: ${e.message}`);
        });
      }
    }
  });
});
