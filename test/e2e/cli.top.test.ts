/**
 * `openbatch top`: one frame when output is not a terminal (or --once, --json); a live view on
 * a terminal (a pseudo-terminal from script(1)) that quits on q and gives the screen back.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CLI, sharedDir, startTestServer, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { cliEnv, runCli, showRun } from '../helpers/cli.js';

let t: TestServer;
const gates = sharedDir('openbatch-top-');
const gate = join(gates, 'open');
let running: string;
before(async () => {
  t = await startTestServer();
  await createCe(t.client, 'ce', { maxvCpus: 1 });
  await createQueue(t.client, 'render', ['ce'], 20);
  await createQueue(t.client, 'idle', ['ce'], 5);
  await registerDefinition(t.client, 'wait', { command: ['sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`] });
  await registerDefinition(t.client, 'ok', { command: ['true'] });
  const done = await submit(t.client, { jobQueue: 'render', jobDefinition: 'ok', jobName: 'finished' });
  await waitForStatus(t.client, done, ['SUCCEEDED']);
  running = await submit(t.client, { jobQueue: 'render', jobDefinition: 'wait', jobName: 'long-one' });
  await waitForStatus(t.client, running, ['RUNNING']);
  // The CE has one vCPU: this one waits.
  await submit(t.client, { jobQueue: 'render', jobDefinition: 'wait', jobName: 'waiting' });
});
after(async () => {
  (await import('node:fs')).writeFileSync(gate, '');
  await t.close();
  rmSync(gates, { recursive: true, force: true });
});

test('into a pipe, top prints one frame: queues with counts by state, capacity, the running jobs', async () => {
  const r = await runCli(t.url, ['top']);
  assert.equal(r.code, 0, showRun(r));
  const lines = r.stdout.split('\n');
  assert.match(lines[0], /^openbatch top {2}http:\/\/127\.0\.0\.1:\d+ {2}\d\d:\d\d:\d\d$/);
  assert.match(lines[1], /^instances 1, vCPUs 1 {2}\(ce: 1 instance, 1 vCPUs\)$/);
  assert.match(r.stdout, /^QUEUE +PRI +STATE +SUBMITTED +PENDING +RUNNABLE +STARTING +RUNNING +SUCCEEDED +FAILED$/m);
  const row = (q: string) => lines.find((l) => l.startsWith(q + ' '))!.trim().split(/\s+/);
  // name, priority, state, then SUBMITTED … FAILED
  assert.deepEqual(row('render').slice(0, 3), ['render', '20', 'ENABLED']);
  const [, , , submitted, pending, runnable, starting, run, succeeded, failed] = row('render').map((x) => x);
  assert.equal(Number(submitted) + Number(runnable), 1, r.stdout);
  assert.deepEqual([pending, starting, run, succeeded, failed], ['0', '0', '1', '1', '0']);
  assert.deepEqual(row('idle').slice(3), ['0', '0', '0', '0', '0', '0', '0']);
  assert.ok(r.stdout.indexOf('render ') < r.stdout.indexOf('idle '), 'queues by priority');
  assert.match(r.stdout, /^STARTING and RUNNING: 1$/m);
  assert.match(r.stdout, new RegExp(`^${running} +long-one +render +RUNNING +\\d\\d:\\d\\d:\\d\\d +\\S+ +wait:1$`, 'm'));
  assert.doesNotMatch(r.stdout, /\x1b/, 'no colour into a pipe');

  const one = await runCli(t.url, ['top', '--once', '--queue', 'idle']);
  assert.equal(one.code, 0, showRun(one));
  assert.doesNotMatch(one.stdout, /^render /m);
  const j = await runCli(t.url, ['top', '--json']);
  const frame = JSON.parse(j.stdout) as { queues: { name: string; counts: Record<string, number> }[]; running: { jobId: string }[] };
  assert.equal(frame.queues.find((q) => q.name === 'render')?.counts.RUNNING, 1);
  assert.deepEqual(frame.running.map((x) => x.jobId), [running]);
});

test('top: errors are one line and a non-zero exit; --help has an example', async () => {
  const r = await runCli(t.url, ['top', '--queue', 'nope']);
  assert.equal(r.code, 1);
  assert.equal(r.stderr, "openbatch: job queue 'nope' does not exist (openbatch queues lists them)\n");
  const bad = await runCli(t.url, ['top', '--interval', '0']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^openbatch: .*--interval must be a positive number of seconds \(got '0'\)\n$/);
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const down = await runCli(`http://127.0.0.1:${port}`, ['top']);
  assert.equal(down.code, 1);
  assert.match(down.stderr, new RegExp(`^openbatch: cannot reach openbatch at http://127\\.0\\.0\\.1:${port}: connection refused`));
  const help = await runCli(t.url, ['top', '--help']);
  assert.match(help.stdout, /Examples:\n {2}openbatch top\n/);
});

const haveScript = spawnSync('script', ['--version']).status === 0;

test('on a terminal, top redraws on the alternate screen until q, then gives the screen back', { skip: !haveScript && 'script(1) is not installed' }, async () => {
  const cmd = `stty rows 40 cols 150; '${process.execPath}' '${CLI}' top --interval 0.2`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { env: { ...cliEnv(t.url), TERM: 'xterm', COLUMNS: '120', LINES: '40' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const deadline = Date.now() + 30_000;
  // Two frames drawn: it refreshes.
  while ((out.match(/\x1b\[H\x1b\[2J/g)?.length ?? 0) < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok((out.match(/\x1b\[H\x1b\[2J/g)?.length ?? 0) >= 2, `no frames drawn: ${JSON.stringify(out.slice(0, 500))}`);
  child.stdin.write('q');
  const code = await Promise.race([exited, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 20_000))]);
  if (code === 'timeout') child.kill('SIGKILL');
  assert.equal(code, 0, JSON.stringify(out.slice(-500)));
  assert.ok(out.includes('\x1b[?1049h'), 'took the alternate screen');
  assert.ok(out.trimEnd().endsWith('\x1b[?25h\x1b[?1049l'), 'gave the screen and cursor back');
  assert.match(out, /long-one/);
});
