/**
 * The dashboard in a real browser (Debian's chromium, headless, driven by playwright-core):
 * a person watches an array job finish live, finds a failed job and reads the log line that
 * explains it, filters the jobs table, and must sign in when the server has credentials.
 * No page may log a console error.
 *
 * Screenshots go to OPENBATCH_SCREENSHOTS when set (docs/screenshots/ is refreshed that way:
 * `OPENBATCH_SCREENSHOTS=docs/screenshots node scripts/run-tests.mjs e2e/dashboard`), else
 * into the test's data directory.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { basicFarm, submit, waitForStatus } from '../helpers/fixtures.js';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';

const CHROMIUM = '/usr/bin/chromium';
const WAIT = 60_000;

interface Browser {
  context: BrowserContext;
  page: Page;
  /** console errors and uncaught exceptions of every page */
  errors: string[];
  close(): Promise<void>;
}

async function openBrowser(): Promise<Browser> {
  const profile = tempDir('openbatch-chromium-');
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1360, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
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
    t = await startTestServer({ hostVcpus: 2, scaleDownDelaySeconds: 3600 });
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
    const gate = join(t.dataDir, 'gate');
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
    await page.screenshot({ path: join(shots, 'overview.png'), fullPage: true });

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
    await page.screenshot({ path: join(shots, 'compute.png'), fullPage: true });
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
    ok = true;
  });
});
