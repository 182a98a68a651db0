/**
 * Watching the farm: job state changes as an EventBridge-shaped event stream, and
 * Prometheus metrics.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

let t: TestServer;
before(async () => {
  t = await startTestServer();
  await createCe(t.client, 'ce');
  await createQueue(t.client, 'q', ['ce']);
  await registerDefinition(t.client, 'ok', { command: ['true'] });
});
after(async () => t.close());

interface Event {
  'detail-type': string;
  source: string;
  resources: string[];
  detail: { jobId: string; status: string; jobQueue: string };
}

/** Reads SSE events from the stream until `until` says stop. */
async function collect(url: string, until: (events: Event[]) => boolean, started: () => Promise<void>): Promise<Event[]> {
  const controller = new AbortController();
  const res = await fetch(url, { signal: controller.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body!.getReader();
  const events: Event[] = [];
  let buf = '';
  await started();
  while (!until(events)) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += Buffer.from(value).toString('utf8');
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data) events.push(JSON.parse(data.slice(6)) as Event);
    }
  }
  controller.abort();
  return events;
}

test('the event stream shows every state of a job, in order, as Batch Job State Change events', async () => {
  let id = '';
  const events = await collect(
    `${t.url}/openbatch/v1/events?jobQueue=q`,
    (ev) => ev.some((e) => e.detail.jobId === id && e.detail.status === 'SUCCEEDED'),
    async () => {
      id = await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok' });
    },
  );
  const mine = events.filter((e) => e.detail.jobId === id);
  assert.deepEqual(mine.map((e) => e.detail.status), ['SUBMITTED', 'RUNNABLE', 'STARTING', 'RUNNING', 'SUCCEEDED']);
  for (const e of mine) {
    assert.equal(e['detail-type'], 'Batch Job State Change');
    assert.equal(e.source, 'aws.batch');
    assert.match(e.resources[0], /^arn:aws:batch:us-east-1:000000000000:job\//);
  }
});

test('/metrics reports jobs by queue and status, API latency by operation, scheduler passes and submit-to-running latency', async () => {
  await waitForStatus(t.client, await submit(t.client, { jobQueue: 'q', jobDefinition: 'ok' }), ['SUCCEEDED']);
  const text = await (await fetch(`${t.url}/metrics`)).text();
  const value = (re: RegExp) => Number(re.exec(text)?.[1] ?? NaN);
  assert.ok(value(/^openbatch_jobs\{queue="q",status="SUCCEEDED"\} (\d+)/m) >= 1, 'jobs gauge');
  assert.ok(value(/^openbatch_api_request_duration_seconds_count\{operation="SubmitJob",status="200"\} (\d+)/m) >= 1, 'API latency');
  assert.ok(value(/^openbatch_scheduler_pass_duration_seconds_count (\d+)/m) >= 1, 'pass duration');
  assert.ok(value(/^openbatch_job_submit_to_running_seconds_count (\d+)/m) >= 1, 'submit to running');
  assert.ok(value(/^openbatch_instances\{compute_environment="ce"\} (\d+)/m) >= 1, 'instances');
  assert.ok(value(/^openbatch_job_transitions_total\{status="SUCCEEDED"\} (\d+)/m) >= 1, 'transitions');
  // Node's own metrics under the names stock Node.js dashboards look for.
  assert.ok(value(/^process_cpu_seconds_total (\S+)/m) > 0, 'process CPU');
  assert.ok(value(/^nodejs_eventloop_lag_seconds (\S+)/m) >= 0, 'event loop lag');
  assert.doesNotMatch(text, /^openbatch_process_/m);
});
