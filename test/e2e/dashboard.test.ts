/**
 * The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core):
 * a person watches an array job finish live, finds a failed job and reads the log line that
 * explains it, filters the jobs table, sees why a job waits and what jobs and queues cost
 * (and a cost report by queue or tag, downloaded as CSV),
 * reruns an array's failed children, and must sign in when the server has credentials (and
 * give the secret again before the dashboard may write). No page may log a console error.
 *
 * Screenshots go to OPENBATCH_SCREENSHOTS when set (docs/screenshots/ is refreshed that way:
 * `OPENBATCH_SCREENSHOTS=docs/screenshots node scripts/run-tests.mjs e2e/dashboard`), else
 * into the test's data directory.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { ListJobsCommand, TerminateJobCommand } from '@aws-sdk/client-batch';
import { basicFarm, describeJob, submit, waitForStatus } from '../helpers/fixtures.js';
import { batchClient, sharedDir, startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT = 60_000;
/** Prices that make a second of one vCPU cost 0.001 (USD): costs of short test jobs stay readable. */
const PRICES = { currency: 'USD', default: { vcpuHour: 3.6, gibHour: 0.36 } };

/** An openbatch operation, unsigned (the suite's server has no credentials configured). */
async function openbatchOp<T>(url: string, name: string, input: object, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(`${url}/openbatch/v1/${name}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(input) });
  return { status: res.status, body: (await res.json()) as T };
}

interface CostAnswer {
  rows: { key: string; cost: number }[];
  total: { cost: number; attempts: number };
}

/** The amount in a cost the page shows ("0.00123 USD"): three significant digits of the report's. */
function assertShownCost(shown: string, cost: number, what: string) {
  const m = /^([\d.]+) USD$/.exec(shown.trim());
  assert.ok(m, `${what}: '${shown}' is an amount in USD`);
  assert.ok(cost > 0, `${what} cost something`);
  assert.ok(Math.abs(Number(m[1]) - cost) <= cost * 0.006, `${what}: shown ${m[1]}, the report says ${cost}`);
}

/** A command for array children: odd indices fail, unless they run as a rerun of their array. */
const FLAKY =
  'i=${OPENBATCH_ORIGINAL_ARRAY_INDEX:-$AWS_BATCH_JOB_ARRAY_INDEX}; ' +
  'if [ -z "$OPENBATCH_ORIGINAL_ARRAY_INDEX" ] && [ $((i % 2)) = 1 ]; then echo "frame $i: scene missing" >&2; exit 2; fi; echo "rendered frame $i"';

interface Browser {
  context: BrowserContext;
  page: Page;
  /** console errors and uncaught exceptions of every page */
  errors: string[];
  close(): Promise<void>;
}

async function openBrowser(extraArgs: string[] = []): Promise<Browser> {
  const profile = tempDir('openbatch-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', ...extraArgs],
  });
  const errors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
    page.on('pageerror', (e) => errors.push(e.message));
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  page.setDefaultTimeout(WAIT);
  return {
    context,
    page,
    errors,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

function screenshotDir(t: TestServer): string {
  const dir = process.env.OPENBATCH_SCREENSHOTS ? resolve(process.env.OPENBATCH_SCREENSHOTS) : join(t.dataDir, 'screenshots');
  mkdirSync(dir, { recursive: true });
  return dir;
}

describe('dashboard', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed (scripts/ci/chromium.sh installs it)` }, () => {
  let t: TestServer;
  let b: Browser;
  let shots: string;
  let farm: Awaited<ReturnType<typeof basicFarm>>;
  let ok = false;

  before(async () => {
    // Agents sample running jobs twice a second: a job's memory chart fills in a moment.
    t = await startTestServer({ hostVcpus: 2, scaleDownDelaySeconds: 3600, prices: PRICES, usageSampleSeconds: 0.5 });
    farm = await basicFarm(t.client, 'render', { maxvCpus: 2 });
    shots = screenshotDir(t);
    b = await openBrowser();
  });

  after(async () => {
    await b?.close();
    await t?.close({ keepData: !ok });
  });

  test('shows an array job progress live to completion, then the pipeline it feeds', async () => {
    const { page } = b;
    await page.goto(t.url);
    await page.getByTestId('queues').getByRole('link', { name: 'render-q' }).waitFor();
    await page.getByTestId('live').getByText('live').waitFor();

    // The children wait for a gate file, so the page surely sees the array unfinished first.
    const gate = join(sharedDir('openbatch-gate-'), 'gate');
    const frames = await submit(t.client, {
      jobName: 'frames',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      arrayProperties: { size: 8 },
      containerOverrides: { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done; echo rendered frame $AWS_BATCH_JOB_ARRAY_INDEX`] },
    });
    const stitch = await submit(t.client, {
      jobName: 'stitch',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      dependsOn: [{ jobId: frames }],
      containerOverrides: { command: ['sh', '-c', 'echo stitched 8 frames'] },
    });

    await page.goto(`${t.url}/#/jobs/${frames}`);
    const progress = page.getByTestId('array-progress');
    await progress.getByText('0 of 8 finished').waitFor();
    // Children are created by a scheduler pass after the SubmitJob: the grid fills as they
    // appear (seen in CI: the progress line before any cell).
    await page.getByTestId('array-grid').locator('.cell').nth(7).waitFor();
    assert.equal(await page.getByTestId('array-grid').locator('.cell').count(), 8, 'one cell per index');
    await page.getByRole('link', { name: 'stitch' }).first().waitFor(); // needed by: the pipeline's next step
    writeFileSync(gate, '');

    // No reload from here on: the event stream brings every change.
    await progress.getByText('8 of 8 finished').waitFor();
    await page.locator('.head .badge', { hasText: 'SUCCEEDED' }).waitFor();
    await page.locator('[data-testid="array-grid"] .cell[data-state="SUCCEEDED"]').nth(7).waitFor();
    assert.equal(await page.locator('[data-testid="array-grid"] .cell[data-state="SUCCEEDED"]').count(), 8);
    await waitForStatus(t.client, stitch, ['SUCCEEDED'], WAIT);
    await page.locator('.graphbox text.nodestate', { hasText: 'SUCCEEDED' }).nth(1).waitFor();
    await page.screenshot({ path: join(shots, 'array-job.png'), fullPage: true });

    // A cell opens its child.
    await page.getByTestId('array-grid').locator('.cell').nth(3).click();
    await page.getByTestId('job-name').getByText('frames').waitFor();
    await page.getByTestId('log').getByText('rendered frame 3').waitFor();
  });

  test('opens a failed job and shows the log line that explains the failure', async () => {
    const { page } = b;
    const failed = await submit(t.client, {
      jobName: 'render-frame-7',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      containerOverrides: { command: ['sh', '-c', 'echo loading scene; echo "povray: cannot open scene7.pov: No such file or directory" >&2; exit 3'] },
    });
    await waitForStatus(t.client, failed, ['FAILED'], WAIT);

    await page.goto(`${t.url}/#/`);
    await page.getByTestId('failures').getByText('exit code 3').waitFor();

    await page.getByRole('link', { name: 'Jobs', exact: true }).click();
    const table = page.getByTestId('jobs');
    await table.getByRole('link', { name: 'render-frame-7' }).click();
    await page.getByTestId('job-name').getByText('render-frame-7').waitFor();
    await page.getByTestId('attempts').locator('td.warn', { hasText: '3' }).waitFor();
    await page.getByTestId('log').getByText('povray: cannot open scene7.pov: No such file or directory').waitFor();
    await page.screenshot({ path: join(shots, 'failed-job.png'), fullPage: true });
  });

  test('filters the jobs table by state, name and queue', async () => {
    const { page } = b;
    await page.goto(`${t.url}/#/jobs`);
    const table = page.getByTestId('jobs');
    await table.getByRole('link', { name: 'stitch' }).waitFor();

    await page.getByLabel('FAILED').check();
    await table.getByRole('link', { name: 'render-frame-7' }).waitFor();
    await table.getByRole('link', { name: 'stitch' }).waitFor({ state: 'detached' });
    assert.equal(await table.locator('tbody tr[data-job-id]').count(), 1, 'only the failed job');

    await page.getByLabel('FAILED').uncheck();
    await page.getByLabel('SUCCEEDED').check();
    await page.getByLabel('name').fill('fra');
    await page.getByLabel('name').press('Enter');
    await table.getByRole('link', { name: 'frames' }).waitFor();
    await table.getByRole('link', { name: 'stitch' }).waitFor({ state: 'detached' });
    assert.equal(await table.locator('tbody tr[data-job-id]').count(), 1, 'only the array job');
    await page.screenshot({ path: join(shots, 'jobs.png'), fullPage: true });

    await page.getByRole('button', { name: 'Clear' }).click();
    await table.getByRole('link', { name: 'stitch' }).waitFor();
    // Two clicks before the page has caught up with the first (a person's quick clicks, or a
    // loaded machine): both take, whatever live updates re-render meanwhile.
    await page.evaluate(() => {
      for (const s of ['FAILED', 'SUCCEEDED']) (document.querySelector(`input[aria-label="${s}"]`) as HTMLInputElement).click();
    });
    await page.waitForFunction(() => /status=FAILED%2CSUCCEEDED|status=FAILED,SUCCEEDED/.test(location.hash));
    assert.equal(await page.getByLabel('FAILED').isChecked(), true);
    assert.equal(await page.getByLabel('SUCCEEDED').isChecked(), true);
    await table.getByRole('link', { name: 'render-frame-7' }).waitFor();
    await table.getByRole('link', { name: 'stitch' }).waitFor();
    await page.getByRole('button', { name: 'Clear' }).click();
    await page.getByLabel('queue').selectOption('render-q');
    await table.getByRole('link', { name: 'stitch' }).waitFor();
    await page.getByLabel('created').selectOption({ label: 'last hour' });
    await table.getByRole('link', { name: 'render-frame-7' }).waitFor();
    assert.equal(await table.locator('tbody tr[data-job-id]').count(), 3);
  });

  test('shows the instances of each compute environment with their use', async () => {
    const { page } = b;
    await page.goto(`${t.url}/#/compute`);
    const instances = page.getByTestId('instances-render-ce');
    await instances.locator('tbody tr').first().waitFor();
    // launches and terminations of the last hour, per compute environment: thrash shows at a glance
    await page.getByTestId('ce-rates-render-ce').getByText(/^last hour: [1-9]\d* launched, \d+ terminated/).waitFor();
    await page.screenshot({ path: join(shots, 'compute.png'), fullPage: true });
  });

  test('shows what a running job uses, its memory over time, and the advice for its definition', async () => {
    const { page } = b;
    // Holds 150 MiB (every page written) until it is terminated.
    const id = await submit(t.client, {
      jobName: 'simulate',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      containerOverrides: {
        command: ['/usr/bin/python3', '-c', `import time\nheld = b'x' * (150 << 20)\ntime.sleep(3600)`],
        resourceRequirements: [{ type: 'MEMORY', value: '512' }],
      },
    });
    try {
      await page.goto(`${t.url}/#/jobs/${id}`);
      await page.getByTestId('usage').getByText(/attempt 1/).waitFor();
      await page.getByTestId('usage').getByText(/memory 1[5-9]\d MiB now · peak 1[5-9]\d MiB of 512 MiB/).waitFor();
      const chart = page.getByTestId('memory-chart');
      await chart.waitFor();
      assert.match((await chart.locator('svg').getAttribute('aria-label'))!, /^memory over [\d.]+ ?\w+: 1[5-9]\d MiB at the latest sample, peak 1[5-9]\d MiB of 512 MiB reserved$/);
      await page.getByTestId('advice').getByText(/^(too few runs|oversized|right sized|near limit|out of memory) render-def: asks 1 vCPU \/ 256 MiB; /).waitFor();
      await page.screenshot({ path: join(shots, 'job-usage.png'), fullPage: true });
    } finally {
      // The job holds a vCPU until it is stopped: it ends whatever happened above.
      await t.client.send(new TerminateJobCommand({ jobId: id, reason: 'seen enough' }));
    }
    assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'], WAIT)).status, 'FAILED');
    // Its figures at its end: CPU time and the peak stay, the memory now goes.
    await page.getByTestId('usage').getByText(/^CPU [\d.]+ s \([\d.]+ of 1 vCPU on average\) · peak 1[5-9]\d MiB of 512 MiB · read/).waitFor();
  });

  test('shows why a job waits: its reason, its place in the queue, when it should start', async () => {
    const { page } = b;
    // Two jobs hold both vCPUs until the gate opens; two more wait behind them.
    const gate = join(sharedDir('openbatch-gate-'), 'gate-why');
    const hold = { containerOverrides: { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done`] } };
    const blockers = [];
    for (const n of [1, 2]) blockers.push(await submit(t.client, { jobName: `blocker-${n}`, jobQueue: farm.queueName, jobDefinition: farm.definitionName, ...hold }));
    for (const id of blockers) await waitForStatus(t.client, id, ['RUNNING'], WAIT);
    const first = await submit(t.client, { jobName: 'waiting-1', jobQueue: farm.queueName, jobDefinition: farm.definitionName });
    const second = await submit(t.client, { jobName: 'waiting-2', jobQueue: farm.queueName, jobDefinition: farm.definitionName });
    const huge = await submit(t.client, {
      jobName: 'fluid-sim',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      containerOverrides: { resourceRequirements: [{ type: 'MEMORY', value: String(64 * 1024 * 1024) }] },
    });

    await page.goto(`${t.url}/#/jobs/${second}`);
    const why = page.getByTestId('why');
    await why.getByTestId('why-code').getByText('NO_CAPACITY').waitFor();
    await why.getByTestId('why-position').getByText(/^2 in queue render-q/).waitFor();
    await why.getByTestId('why-position').getByText('(1 job ahead)').waitFor();
    // jobs of its definition ran in the tests before: the estimate comes from when the two running ones should end
    await why.getByTestId('why-eta').getByText(/running jobs? on 1 instance should end/).waitFor();
    await page.screenshot({ path: join(shots, 'why-pending.png'), fullPage: true });

    await page.goto(`${t.url}/#/jobs/${huge}`);
    await page.getByTestId('why-code').getByText('NEVER_FITS').waitFor();
    await page.getByTestId('why-summary').getByText(/never fits: asks 1 vCPU, 67108864 MiB/).waitFor();
    await page.getByTestId('status-reason').getByText(/^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/).waitFor();
    // the jobs table says why each RUNNABLE job waits, at a glance
    await page.goto(`${t.url}/#/jobs?status=RUNNABLE`);
    await page.locator(`tr[data-job-id="${huge}"]`).getByTestId('wait-code').getByText('NEVER_FITS').waitFor();
    await page.locator(`tr[data-job-id="${second}"]`).getByTestId('wait-code').getByText('NO_CAPACITY').waitFor();
    await t.client.send(new TerminateJobCommand({ jobId: huge, reason: 'test over' }));

    // Live: when the gate opens the waiting job runs, and the page stops explaining a wait.
    await page.goto(`${t.url}/#/jobs/${first}`);
    await page.getByTestId('why-position').getByText(/^1 in queue/).waitFor();
    writeFileSync(gate, '');
    await page.locator('.head .badge', { hasText: 'SUCCEEDED' }).waitFor();
    await page.getByTestId('why').waitFor({ state: 'detached' });
    await waitForStatus(t.client, second, ['SUCCEEDED'], WAIT);
  });

  test('reruns the failed children of an array from its page', async () => {
    const { page } = b;
    const flaky = await submit(t.client, {
      jobName: 'flaky-frames',
      jobQueue: farm.queueName,
      jobDefinition: farm.definitionName,
      arrayProperties: { size: 4 },
      containerOverrides: { command: ['sh', '-c', FLAKY] },
    });
    await waitForStatus(t.client, flaky, ['FAILED'], WAIT);

    await page.goto(`${t.url}/#/jobs/${flaky}`);
    await page.getByTestId('array-progress').getByText('2 failed').waitFor();
    await page.getByRole('button', { name: 'Rerun failed children' }).click();
    await page.getByTestId('rerun').getByText('over the 2 failed indices').waitFor();
    await page.getByRole('button', { name: 'Rerun 2 children' }).click();

    // The page moves to the new array: two children, mapped to indices 1 and 3, that now succeed.
    await page.getByTestId('rerun').getByRole('link', { name: flaky }).waitFor();
    await page.getByTestId('array-progress').getByText('2 of 2 finished · 2 succeeded').waitFor();
    const rerunId = page.url().split('#/jobs/')[1];
    assert.notEqual(rerunId, flaky);
    const rerun = await describeJob(t.client, rerunId);
    assert.equal(rerun.arrayProperties?.size, 2);
    assert.equal(rerun.tags?.['openbatch:rerun-of'], flaky);
    await page.getByTestId('array-grid').locator('.cell').nth(1).click();
    await page.getByTestId('log').getByText('rendered frame 3').waitFor();

    // and the original links to its rerun, with no button left to press twice by mistake
    await page.goto(`${t.url}/#/jobs/${flaky}`);
    await page.getByTestId('rerun').getByText('Failed children rerun by').getByRole('link', { name: rerunId }).waitFor();
    // A second rerun is offered as such, and says so before it runs the children once more.
    await page.getByRole('button', { name: 'Rerun failed children again' }).click();
    await page.getByTestId('rerun').getByRole('note').getByText('rerun already').waitFor();
    await page.getByRole('button', { name: 'Cancel' }).click();
  });

  test('shows what a job, an array and a queue cost', async () => {
    const { page } = b;
    const jobs = await fetch(`${t.url}/openbatch/v1/dashboard/jobs?name=render-frame-7`).then((r) => r.json() as Promise<{ jobs: { jobId: string }[] }>);
    const failedId = jobs.jobs[0].jobId;
    const arrays = await fetch(`${t.url}/openbatch/v1/dashboard/jobs?name=frames&status=SUCCEEDED`).then((r) => r.json() as Promise<{ jobs: { jobId: string; jobName: string }[] }>);
    const framesId = arrays.jobs.find((j) => j.jobName === 'frames')!.jobId;

    await page.goto(`${t.url}/#/jobs/${failedId}`);
    const job = (await openbatchOp<CostAnswer>(t.url, 'cost', { jobId: failedId })).body;
    assertShownCost(await page.getByTestId('cost-total').innerText(), job.total.cost, 'a failed job');

    await page.goto(`${t.url}/#/jobs/${framesId}`);
    await page.getByTestId('cost').getByText('Cost of its children').waitFor();
    const array = (await openbatchOp<CostAnswer>(t.url, 'cost', { jobId: framesId })).body;
    assert.equal(array.total.attempts, 8, 'the array costs its 8 children');
    assertShownCost(await page.getByTestId('cost-total').innerText(), array.total.cost, 'an array');

    // Nothing runs any more, so the queue's cost stands still while the page and the test read it.
    await page.goto(`${t.url}/#/`);
    const shown = await page.locator(`tr[data-queue="${farm.queueName}"]`).getByTestId('queue-cost').innerText();
    const byQueue = (await openbatchOp<CostAnswer>(t.url, 'cost', { groupBy: 'queue', from: Date.now() - 24 * 3600_000 })).body;
    assertShownCost(shown, byQueue.rows.find((r) => r.key === farm.queueName)!.cost, 'the queue');
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });
  });

  test('reports cost per queue and per tag over a time range, and downloads the report as CSV', async () => {
    const { page } = b;
    await page.goto(`${t.url}/#/cost?by=queue&since=24h`);
    const row = page.locator(`[data-testid="cost-report"] tr[data-key="${farm.queueName}"]`);
    const byQueue = (await openbatchOp<CostAnswer>(t.url, 'cost', { groupBy: 'queue', from: Date.now() - 24 * 3600_000 })).body;
    assertShownCost(await row.getByTestId('cost-amount').innerText(), byQueue.rows.find((r) => r.key === farm.queueName)!.cost, 'the queue over 24 h');

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('cost-csv').click()]);
    const csv = readFileSync((await download.path())!, 'utf8').trim().split('\n');
    assert.equal(
      csv[0],
      'group,key,name,attempts,vcpu_seconds,gib_seconds,gpu_seconds,cost,lost_cost,lost_attempts,unpriced_attempts,currency,' +
        'measured_attempts,cpu_seconds_used,vcpu_seconds_while_running,peak_gib_seconds,gib_seconds_while_running',
    );
    const line = csv.find((l) => l.startsWith(`queue,${farm.queueName},`));
    assert.ok(line, csv.join('\n'));
    assert.ok(Math.abs(Number(line.split(',')[7]) - byQueue.rows.find((r) => r.key === farm.queueName)!.cost) < 1e-6, line);
    assert.match(download.suggestedFilename(), /^openbatch-cost-queue-24h\.csv$/);

    // By a tag: the reruns carry openbatch:rerun-of, the array they rerun.
    await page.getByTestId('cost-by').selectOption('tag');
    await page.getByTestId('cost-tag').fill('openbatch:rerun-of');
    await page.getByRole('button', { name: 'Show' }).click();
    const byTag = (await openbatchOp<CostAnswer>(t.url, 'cost', { groupBy: 'tag:openbatch:rerun-of', from: Date.now() - 24 * 3600_000 })).body;
    assert.ok(byTag.rows.length >= 1);
    for (const r of byTag.rows) assertShownCost(await page.locator(`[data-testid="cost-report"] tr[data-key="${r.key}"]`).getByTestId('cost-amount').innerText(), r.cost, `tag value ${r.key}`);
    await page.screenshot({ path: join(shots, 'cost.png'), fullPage: true });
  });

  test('cancels and terminates a job from its page, each confirmed, and clones one with edits', async () => {
    const { page } = b;
    const gate = join(t.dataDir, 'actions-gate');
    const running = await submit(t.client, { jobName: 'long-render', jobQueue: farm.queueName, jobDefinition: farm.definitionName, containerOverrides: { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.1; done`] } });
    const waiting = await submit(t.client, { jobName: 'after-render', jobQueue: farm.queueName, jobDefinition: farm.definitionName, dependsOn: [{ jobId: running }] });
    await waitForStatus(t.client, running, ['RUNNING'], WAIT);

    await page.goto(`${t.url}/#/jobs/${waiting}`);
    await page.getByTestId('cancel').click();
    const cancel = page.getByTestId('cancel-confirm');
    await cancel.getByText('It has not started').waitFor();
    await cancel.getByLabel('Reason').fill('wrong scene');
    await cancel.getByRole('button', { name: 'Cancel job' }).click();
    await page.getByTestId('status-reason').getByText('wrong scene').waitFor();
    assert.equal((await describeJob(t.client, waiting)).status, 'FAILED');

    await page.goto(`${t.url}/#/jobs/${running}`);
    assert.equal(await page.getByTestId('cancel').count(), 0, 'a started job is not cancelled, but terminated');
    await page.getByTestId('terminate').click();
    await page.getByTestId('terminate-confirm').getByRole('button', { name: 'Cancel' }).click();
    assert.equal((await describeJob(t.client, running)).status, 'RUNNING', 'cancelling the confirmation does nothing');
    await page.getByTestId('terminate').click();
    await page.getByTestId('terminate-confirm').getByRole('button', { name: 'Terminate job' }).click();
    await page.locator('.head .badge', { hasText: 'FAILED' }).waitFor();
    assert.equal((await waitForStatus(t.client, running, ['FAILED'], WAIT)).statusReason, 'Terminated from the dashboard');

    // Clone it, with another command and a variable: the page moves to the new job.
    await page.getByTestId('clone').click();
    const form = page.getByTestId('clone-confirm');
    assert.equal(await form.getByLabel('Job name').inputValue(), 'long-render');
    await form.getByLabel('Command').fill(`sh -c 'echo "cloned with $SCENE"'`);
    await form.getByLabel('Environment').fill('SCENE=7');
    await page.screenshot({ path: join(shots, 'clone-job.png'), fullPage: true });
    await form.getByRole('button', { name: 'Submit' }).click();
    await page.waitForFunction((old) => location.hash.startsWith('#/jobs/') && !location.hash.endsWith(old), running);
    const cloneId = page.url().split('#/jobs/')[1];
    const clone = await waitForStatus(t.client, cloneId, ['SUCCEEDED'], WAIT);
    assert.equal(clone.jobName, 'long-render');
    assert.deepEqual(clone.container?.command, ['sh', '-c', 'echo "cloned with $SCENE"']);
    await page.getByTestId('log').getByText('cloned with 7').waitFor();
    writeFileSync(gate, '');
  });

  test('submits a job from a job definition', async () => {
    const { page } = b;
    await page.goto(`${t.url}/#/submit?definition=${farm.definitionName}`);
    const form = page.getByTestId('submit-confirm');
    assert.equal(await form.getByLabel('Job definition').inputValue(), `${farm.definitionName}:1`);
    await form.getByLabel('Job name').fill('from-definition');
    await form.getByLabel('Array size').fill('2');
    await page.screenshot({ path: join(shots, 'submit.png'), fullPage: true });
    await form.getByRole('button', { name: 'Submit' }).click();
    await page.getByTestId('job-name').getByText('from-definition').waitFor();
    const id = page.url().split('#/jobs/')[1];
    const job = await waitForStatus(t.client, id, ['SUCCEEDED'], WAIT);
    assert.equal(job.arrayProperties?.size, 2);
  });

  test('disables and enables a job queue and a compute environment, each confirmed', async () => {
    const { page } = b;
    const farmCe = 'render-ce';
    const { DescribeComputeEnvironmentsCommand, DescribeJobQueuesCommand } = await import('@aws-sdk/client-batch');
    const queueState = async () => (await t.client.send(new DescribeJobQueuesCommand({ jobQueues: [farm.queueName] }))).jobQueues![0].state;
    const ceState = async () => (await t.client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: [farmCe] }))).computeEnvironments![0].state;
    await page.goto(`${t.url}/#/compute`);
    await page.getByTestId(`disable-queue-${farm.queueName}`).click();
    await page.getByTestId(`disable-queue-${farm.queueName}-confirm`).getByText('SubmitJob to it is refused').waitFor();
    await page.getByTestId(`disable-queue-${farm.queueName}-confirm`).getByRole('button', { name: 'Disable' }).click();
    await page.getByTestId(`enable-queue-${farm.queueName}`).waitFor();
    assert.equal(await queueState(), 'DISABLED');
    await page.getByTestId(`disable-ce-${farmCe}`).click();
    await page.getByTestId(`disable-ce-${farmCe}-confirm`).getByRole('button', { name: 'Disable' }).click();
    await page.getByTestId(`enable-ce-${farmCe}`).waitFor();
    assert.equal(await ceState(), 'DISABLED');
    await page.screenshot({ path: join(shots, 'compute-actions.png'), fullPage: true });

    for (const [kind, name] of [['queue', farm.queueName], ['ce', farmCe]]) {
      await page.getByTestId(`enable-${kind}-${name}`).click();
      await page.getByTestId(`enable-${kind}-${name}-confirm`).getByRole('button', { name: 'Enable' }).click();
      await page.getByTestId(`disable-${kind}-${name}`).waitFor();
    }
    assert.equal(await queueState(), 'ENABLED');
    assert.equal(await ceState(), 'ENABLED');
  });

  test('logged no console errors', () => {
    assert.deepEqual(b.errors, []);
    ok = true;
  });
});

describe('dashboard with credentials configured', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
  let t: TestServer;
  let b: Browser;
  let ok = false;

  before(async () => {
    t = await startTestServer({ credentials: 'AKIDDASHBOARD:dashboard-secret' });
    b = await openBrowser();
  });

  after(async () => {
    await b?.close();
    await t?.close({ keepData: !ok });
  });

  test('shows nothing until the person signs in with an access key, then a session reads but cannot write', async () => {
    const { page, context } = b;
    // without a session the dashboard's data is refused like any unsigned API call
    assert.equal((await fetch(`${t.url}/openbatch/v1/dashboard/overview`)).status, 403);

    await page.goto(t.url);
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    assert.equal(await page.getByRole('heading', { name: 'Job queues' }).count(), 0);

    await page.getByLabel('Access key ID').fill('AKIDDASHBOARD');
    await page.getByLabel('Secret access key').fill('wrong-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('not accepted').waitFor();
    await page.screenshot({ path: join(screenshotDir(t), 'login.png') });

    await page.getByLabel('Secret access key').fill('dashboard-secret');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Job queues' }).waitFor();
    await page.getByTestId('live').getByText('live').waitFor();

    const [cookie] = (await context.cookies()).filter((c) => c.name === 'openbatch_session');
    assert.ok(cookie, 'a session cookie');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
    const headers = { cookie: `${cookie.name}=${cookie.value}`, 'content-type': 'application/json' };
    assert.equal((await fetch(`${t.url}/openbatch/v1/dashboard/overview`, { headers })).status, 200);
    assert.equal((await fetch(`${t.url}/v1/describejobqueues`, { method: 'POST', headers, body: '{}' })).status, 200);
    const write = await fetch(`${t.url}/v1/createjobqueue`, { method: 'POST', headers, body: JSON.stringify({ jobQueueName: 'q', priority: 1, computeEnvironmentOrder: [] }) });
    assert.equal(write.status, 403, 'a session does not stand in for a signature on writes');

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();

    // the one expected error: the browser reports the refused sign-in with the wrong secret
    assert.deepEqual(
      b.errors.filter((e) => !/status of 403/.test(e)),
      [],
    );
    assert.equal(b.errors.length, 1);
    b.errors.length = 0;
  });

  test('a session that only reads asks for the secret again before it reruns failed children', async () => {
    const { page, context } = b;
    const client = batchClient(t.url, { accessKeyId: 'AKIDDASHBOARD', secretAccessKey: 'dashboard-secret' });
    try {
      const farm = await basicFarm(client, 'auth', { maxvCpus: 2 });
      const flaky = await submit(client, { jobName: 'flaky', jobQueue: farm.queueName, jobDefinition: farm.definitionName, arrayProperties: { size: 2 }, containerOverrides: { command: ['sh', '-c', FLAKY] } });
      await waitForStatus(client, flaky, ['FAILED'], WAIT);

      await page.goto(t.url);
      await page.getByLabel('Access key ID').fill('AKIDDASHBOARD');
      await page.getByLabel('Secret access key').fill('dashboard-secret');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByText('AKIDDASHBOARD · reads', { exact: true }).waitFor();

      // The read-only session cannot make the write, whatever it sends.
      const readCookie = (await context.cookies()).find((c) => c.name === 'openbatch_session')!;
      const asSession = (cookie: string, extra: Record<string, string> = {}) => ({ cookie: `openbatch_session=${cookie}`, ...extra });
      const refused = await openbatchOp<{ __type: string; message: string }>(t.url, 'rerunFailed', { arrayJobId: flaky }, asSession(readCookie.value, { 'x-openbatch-dashboard': '1' }));
      assert.equal(refused.status, 403);
      assert.match(refused.body.message, /only reads/);

      await page.goto(`${t.url}/#/jobs/${flaky}`);
      await page.getByRole('button', { name: 'Rerun failed children' }).click();
      await page.getByTestId('rerun').getByText('This session only reads').waitFor();
      await page.getByTestId('rerun').getByLabel('Secret access key').fill('wrong-secret');
      await page.getByRole('button', { name: 'Allow writes and rerun' }).click();
      await page.getByTestId('rerun').getByRole('alert').getByText('not accepted').waitFor();
      assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 1, 'a wrong secret does not end the session');

      await page.getByTestId('rerun').getByLabel('Secret access key').fill('dashboard-secret');
      await page.getByRole('button', { name: 'Allow writes and rerun' }).click();
      await page.getByTestId('rerun').getByRole('link', { name: flaky }).waitFor();
      await page.getByText('AKIDDASHBOARD · reads and acts', { exact: true }).waitFor();
      const rerunId = page.url().split('#/jobs/')[1];
      assert.equal((await describeJob(client, rerunId)).tags?.['openbatch:rerun-of'], flaky);

      // The session granted writes makes only the dashboard's writes, and only with its header.
      const writeCookie = (await context.cookies()).find((c) => c.name === 'openbatch_session')!;
      assert.notEqual(writeCookie.value, readCookie.value);
      const noHeader = await openbatchOp<{ message: string }>(t.url, 'rerunFailed', { arrayJobId: flaky }, asSession(writeCookie.value));
      assert.equal(noHeader.status, 403);
      assert.match(noHeader.body.message, /x-openbatch-dashboard/);
      const write = (operation: string, body: object) =>
        fetch(`${t.url}/v1/${operation}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-openbatch-dashboard': '1', ...asSession(writeCookie.value) }, body: JSON.stringify(body) });
      // The dashboard's actions (submit, cancel, terminate, enable/disable) and nothing else.
      assert.equal((await write('submitjob', { jobName: 'x', jobQueue: farm.queueName, jobDefinition: farm.definitionName })).status, 200, 'SubmitJob is a dashboard action');
      assert.equal((await write('createjobqueue', { jobQueueName: 'nope', priority: 1, computeEnvironmentOrder: [] })).status, 403, 'no other AWS write through a session');
      const readOnlySubmit = await fetch(`${t.url}/v1/submitjob`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-openbatch-dashboard': '1', ...asSession(readCookie.value) },
        body: JSON.stringify({ jobName: 'x', jobQueue: farm.queueName, jobDefinition: farm.definitionName }),
      });
      assert.equal(readOnlySubmit.status, 403, 'a session that only reads does not submit');

      // the browser reports the refused sign-in with the wrong secret; nothing else
      assert.deepEqual(
        b.errors.filter((e) => !/status of 403/.test(e)),
        [],
      );
      assert.equal(b.errors.length, 1);
      ok = true;
    } finally {
      client.destroy();
    }
  });
});

describe('pages of other sites', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
  // With no credentials configured the server takes any request from loopback: a page the user
  // opens must not be able to use the browser to reach it.
  let t: TestServer;
  let b: Browser;
  let attacker: Server;
  let attackerUrl: string;
  let ok = false;

  before(async () => {
    t = await startTestServer({ hostVcpus: 1 });
    await basicFarm(t.client, 'x', { maxvCpus: 1 });
    const port = new URL(t.url).port;
    const submit = JSON.stringify({ jobName: 'from-another-site', jobQueue: 'x-q', jobDefinition: 'x-def' });
    // A page of another site (localhost is another site than 127.0.0.1) that posts a job the
    // two ways a page can without a CORS preflight: fetch in no-cors mode and a plain form.
    const page = `<!doctype html><title>cat pictures</title>
      <iframe name="sink"></iframe>
      <form id="f" method="POST" action="http://127.0.0.1:${port}/v1/submitjob" enctype="text/plain" target="sink">
        <input name='${submit.slice(0, -1)}, "x": "' value='"}'>
      </form>
      <script>
        fetch('http://127.0.0.1:${port}/v1/submitjob', { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: ${JSON.stringify(submit)} })
          .catch(() => {})
          .then(() => { document.getElementById('f').submit(); setTimeout(() => { document.title = 'done'; }, 1500); });
      </script>`;
    attacker = createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page));
    await new Promise<void>((r) => attacker.listen(0, '127.0.0.1', r));
    attackerUrl = `http://localhost:${(attacker.address() as AddressInfo).port}/`;
    // "rebound.example" resolves to this machine, as a DNS-rebinding site's name would
    b = await openBrowser(['--host-resolver-rules=MAP rebound.example 127.0.0.1']);
  });

  after(async () => {
    await b?.close();
    attacker?.close();
    await t?.close({ keepData: !ok });
  });

  test('a page of another site cannot submit a job through the browser', async () => {
    const { page } = b;
    await page.goto(attackerUrl);
    await page.waitForFunction(() => document.title === 'done');
    const jobs = await t.client.send(new ListJobsCommand({ jobQueue: 'x-q', filters: [{ name: 'JOB_NAME', values: ['from-another-site'] }] }));
    assert.deepEqual(jobs.jobSummaryList, [], 'no job was submitted');
  });

  test('a name rebound to this machine gets nothing from a server without credentials', async () => {
    const port = new URL(t.url).port;
    const res = await b.page.goto(`http://rebound.example:${port}/openbatch/v1/dashboard/overview`);
    assert.equal(res?.status(), 403);
    assert.match(await res!.text(), /not a loopback name/);
    // while the server's own names still work, from the browser and from any client
    assert.equal((await b.page.goto(`http://localhost:${port}/openbatch/v1/dashboard/overview`))?.status(), 200);
    const status = await new Promise<number>((resolve, reject) =>
      request({ host: '127.0.0.1', port, path: '/openbatch/v1/dashboard/overview', headers: { host: `[::1]:${port}` } }, (r) => {
        r.resume();
        resolve(r.statusCode ?? 0);
      })
        .on('error', reject)
        .end(),
    );
    assert.equal(status, 200);
    ok = true;
  });
});

describe('dashboard under chaos', { skip: !existsSync(CHROMIUM) && `${CHROMIUM} is not installed` }, () => {
  let t: TestServer;
  let b: Browser;
  before(async () => {
    // Every instance boots 10 dilated minutes (10 s) late.
    t = await startTestServer({ timeDilation: 60, slowStartProbability: 1, slowStartSeconds: 600 });
    b = await openBrowser();
  });
  after(async () => {
    await b?.close();
    await t?.close();
  });

  test('shows an instance that slow-start chaos delays as pending, with the delay', async () => {
    const farm = await basicFarm(t.client, 'late', { maxvCpus: 1 });
    await submit(t.client, { jobQueue: farm.queueName, jobDefinition: farm.definitionName });
    await b.page.goto(`${t.url}/#/compute`);
    const row = b.page.getByTestId('instances-late-ce').locator('tbody tr').first();
    await row.getByText('slow start (10 s)').waitFor();
    assert.equal(await row.locator('.pill').textContent(), 'pending');
    assert.deepEqual(b.errors, []);
  });
});
