/**
 * The `openbatch` CLI run as a real subprocess (`node dist/src/cli/main.js …`) against a
 * real server: init, submit (with --wait, arrays), jobs, describe, logs (-f), cancel,
 * terminate, queues, ces, errors and help.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { describeJob, waitForStatus } from '../helpers/fixtures.js';
import { NOTICE_PREFIX } from '../../src/executor/types.js';
import { CLI, sharedDir, startTestServer, type TestServer } from '../helpers/server.js';

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The environment without the caller's AWS_* and OPENBATCH_* settings; OPENBATCH_ENDPOINT=url unless url is undefined. */
function cliEnv(url: string | undefined, extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('AWS_') && !k.startsWith('OPENBATCH_')) env[k] = v;
  if (url !== undefined) env.OPENBATCH_ENDPOINT = url;
  return { ...env, ...extra };
}

/** Starts `openbatch <args>`; `output()` has what it printed so far, `done` its end. */
function start(url: string | undefined, args: string[], extraEnv: Record<string, string> = {}) {
  const child = spawn(process.execPath, [CLI, ...args], { env: cliEnv(url, extraEnv), stdio: ['ignore', 'pipe', 'pipe'] });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (c: Buffer) => (out.stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out.stderr += c.toString()));
  const done = new Promise<Run>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, ...out }));
  });
  return { child, output: () => out, done };
}

function show(r: Run): string {
  return `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('the openbatch CLI against a real server', () => {
  let t: TestServer;
  let gates: string;
  const cli = (...args: string[]) => start(t.url, args).done;
  /** Runs the CLI and insists on exit 0. */
  const ok = async (...args: string[]) => {
    const r = await cli(...args);
    assert.equal(r.code, 0, `openbatch ${args.join(' ')}\n${show(r)}`);
    return r;
  };
  const ids: { ok?: string; failed?: string; array?: string } = {};

  before(async () => {
    t = await startTestServer();
    gates = sharedDir('openbatch-cli-gates-');
  });
  after(async () => {
    rmSync(gates, { recursive: true, force: true });
    await t.close();
  });

  test('init creates the defaults once; the second run changes nothing and says so', async () => {
    const first = await ok('init');
    assert.match(first.stdout, /^created compute environment default \(MANAGED EC2, maxvCpus \d+\)$/m);
    assert.match(first.stdout, /^created job queue default/m);
    assert.match(first.stdout, /^registered job definition default:1 \(echo hello from openbatch\)$/m);
    const second = await ok('init');
    assert.doesNotMatch(second.stdout, /created|registered/);
    assert.match(second.stdout, /^compute environment default exists/m);
    assert.match(second.stdout, /^job definition default:1 exists$/m);
    assert.match(second.stdout, /nothing to change/);
  });

  test('queues and ces print aligned tables', async () => {
    const q = await ok('queues');
    const qLines = q.stdout.trimEnd().split('\n');
    assert.match(qLines[0], /^NAME\s+STATE\s+STATUS\s+PRIORITY\s+COMPUTE ENVIRONMENTS$/);
    assert.match(qLines[1], /^default\s+ENABLED\s+VALID\s+1\s+default$/);
    assert.equal(qLines[0].indexOf('STATE'), qLines[1].indexOf('ENABLED'), 'columns line up');
    const c = await ok('ces');
    const cLines = c.stdout.trimEnd().split('\n');
    assert.match(cLines[0], /^NAME\s+TYPE\s+STATE\s+STATUS\s+MIN\s+DESIRED\s+MAX\s+STATUS REASON$/);
    assert.match(cLines[1], new RegExp(`^default\\s+MANAGED EC2\\s+ENABLED\\s+VALID\\s+0\\s+\\d+\\s+${availableParallelism()}\\s+-$`));
    assert.doesNotMatch(c.stdout, /\x1b\[/, 'no colour when stdout is not a terminal');
    const json = JSON.parse((await ok('ces', '--json')).stdout) as { computeEnvironments: { computeEnvironmentName: string }[] };
    assert.deepEqual(json.computeEnvironments.map((x) => x.computeEnvironmentName), ['default']);
  });

  test('submit --wait prints the job id and exits 0 when the job SUCCEEDED', async () => {
    const r = await ok('submit', '--wait', '--name', 'hello');
    ids.ok = r.stdout.trim();
    assert.match(ids.ok, UUID);
    assert.match(r.stderr, /SUCCEEDED \(exit 0\)/);
    assert.equal((await describeJob(t.client, ids.ok)).status, 'SUCCEEDED');
  });

  test('submit --wait exits 1 when the job FAILED, and says why', async () => {
    const r = await cli('submit', '--wait', '-n', 'broken', '--command', `sh -c 'echo going wrong; exit 3'`);
    assert.equal(r.code, 1, show(r));
    ids.failed = r.stdout.trim();
    assert.match(ids.failed, UUID);
    assert.match(r.stderr, /FAILED: Essential container in task exited \(exit 3\)/);
  });

  test('submit --array-size --wait shows the children’s progress and exits 0 when all succeeded', async () => {
    const r = await ok('submit', '-n', 'frames', '--array-size', '3', '--wait', '--', 'sh', '-c', 'echo frame $AWS_BATCH_JOB_ARRAY_INDEX');
    ids.array = r.stdout.trim();
    assert.match(r.stderr, /\[#+\] 3\/3 done \(3 succeeded\); 0 running, 0 waiting/);
    assert.match(r.stderr, /array job frames .* SUCCEEDED/);
    const logs = await ok('logs', `${ids.array}:2`);
    assert.equal(logs.stdout, 'frame 2\n');
  });

  test('submit passes parameters, environment, resources, retries and timeout through', async () => {
    const r = await ok(
      'submit', '-n', 'options', '--env', 'GREETING=hi there', '--param', 'p=v', '--vcpus', '1', '--memory', '256', '--retries', '2', '--timeout', '600',
      '--wait', '--', 'sh', '-c', 'echo "$GREETING"',
    );
    const job = await describeJob(t.client, r.stdout.trim());
    assert.equal(job.retryStrategy?.attempts, 3);
    assert.equal(job.timeout?.attemptDurationSeconds, 600);
    assert.deepEqual(job.parameters, { p: 'v' });
    assert.ok(job.container?.environment?.some((e) => e.name === 'GREETING' && e.value === 'hi there'));
    assert.deepEqual((await ok('logs', job.jobId!)).stdout, 'hi there\n');
  });

  test('jobs lists every status newest first as a table, and as JSON', async () => {
    const r = await ok('jobs');
    const lines = r.stdout.trimEnd().split('\n');
    assert.match(lines[0], /^JOB ID\s+NAME\s+STATUS\s+CREATED \([+-]\d\d:\d\d\)\s+STARTED\s+STOPPED\s+EXIT$/);
    const order = [ids.array!, ids.failed!, ids.ok!].map((id) => lines.findIndex((l) => l.startsWith(id)));
    assert.ok(order.every((i) => i > 0), r.stdout);
    assert.deepEqual([...order].sort((a, b) => a - b), order, 'newest first');
    assert.match(lines.find((l) => l.startsWith(ids.failed!))!, /broken\s+FAILED\s+.*\s3$/);
    assert.match(lines.find((l) => l.startsWith(ids.array!))!, /frames \[3\]\s+SUCCEEDED/);
    const json = JSON.parse((await ok('jobs', '--json')).stdout) as { jobSummaryList: { jobId: string; status: string }[] };
    assert.ok(json.jobSummaryList.some((j) => j.jobId === ids.failed && j.status === 'FAILED'));
  });

  test('jobs filters by status, name and queue, and pages with --limit and --next-token', async () => {
    const failed = JSON.parse((await ok('jobs', '--status', 'failed', '--json')).stdout) as { jobSummaryList: { jobId: string; status: string }[] };
    assert.deepEqual(failed.jobSummaryList.map((j) => j.jobId), [ids.failed]);
    const named = JSON.parse((await ok('jobs', '--name', 'hello', '--queue', 'default', '--json')).stdout) as { jobSummaryList: { jobId: string }[] };
    assert.deepEqual(named.jobSummaryList.map((j) => j.jobId), [ids.ok]);
    const all = JSON.parse((await ok('jobs', '--json')).stdout) as { jobSummaryList: { jobId: string }[] };
    for (const status of [undefined, 'SUCCEEDED,FAILED']) {
      const seen: string[] = [];
      let token: string | undefined;
      for (let i = 0; i < 20; i++) {
        const args = ['jobs', '--limit', '2', '--json', ...(status ? ['--status', status] : []), ...(token ? ['--next-token', token] : [])];
        const page = JSON.parse((await ok(...args)).stdout) as { jobSummaryList: { jobId: string }[]; nextToken?: string };
        assert.ok(page.jobSummaryList.length <= 2);
        seen.push(...page.jobSummaryList.map((j) => j.jobId));
        token = page.nextToken;
        if (!token) break;
      }
      assert.deepEqual(seen, all.jobSummaryList.map((j) => j.jobId), `paging ${status ?? 'all statuses'}`);
    }
    const table = await ok('jobs', '--limit', '1');
    assert.match(table.stderr, /--next-token \S+/);
    const bad = await cli('jobs', '--status', 'DONE');
    assert.notEqual(bad.code, 0);
    assert.equal(bad.stderr, `openbatch: --status 'DONE' is not a job status: SUBMITTED, PENDING, RUNNABLE, STARTING, RUNNING, SUCCEEDED, FAILED\n`);
  });

  test('describe shows status, reason, queue, definition, command, attempts and log stream; --json the raw JobDetail', async () => {
    const r = await ok('describe', ids.failed!);
    assert.match(r.stdout, /^status\s+FAILED\s+Essential container in task exited$/m);
    assert.match(r.stdout, /^queue\s+default$/m);
    assert.match(r.stdout, /^definition\s+default:1$/m);
    assert.match(r.stdout, /^command\s+sh -c 'echo going wrong; exit 3'$/m);
    assert.match(r.stdout, /^attempts\s+#1\s+exit 3 after \S+\s+Essential container in task exited$/m);
    assert.match(r.stdout, /^log stream\s+default\/default\/[0-9a-f]+/m);
    const json = JSON.parse((await ok('describe', ids.failed!, '--json')).stdout) as { jobId: string; container: { exitCode: number } };
    assert.equal(json.jobId, ids.failed);
    assert.equal(json.container.exitCode, 3);
    const missing = await cli('describe', 'no-such-job');
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, "openbatch: job 'no-such-job' does not exist\n");
  });

  test('logs prints the output of a finished job', async () => {
    assert.equal((await ok('logs', ids.ok!)).stdout, 'hello from openbatch\n');
    assert.equal((await ok('logs', ids.failed!)).stdout, 'going wrong\n');
    const stamped = await ok('logs', '--timestamps', ids.ok!);
    assert.match(stamped.stdout, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d  hello from openbatch\n$/);
  });

  test('logs prints an attempt’s notice of what its host did not enforce on stderr, the job’s output alone on stdout', async () => {
    // The notice is the first line of the attempt's stream (docs/executors.md); a job writes one here as its agent would.
    const r = await ok('submit', '--wait', '--', 'sh', '-c', `echo '${NOTICE_PREFIX}memory limit of 512 MiB (no cgroups)'; echo result`);
    const logs = await ok('logs', r.stdout.trim());
    assert.equal(logs.stdout, 'result\n');
    assert.equal(logs.stderr, `${NOTICE_PREFIX}memory limit of 512 MiB (no cgroups)\n`);
  });

  test('logs -f prints lines as a running job writes them and exits when it ends', async () => {
    const gate = join(gates, 'follow');
    const id = (await ok('submit', '-n', 'slow', '--', 'sh', '-c', `echo first; while [ ! -e ${gate} ]; do sleep 0.05; done; for i in 1 2 3 4 5; do echo line $i; sleep 0.2; done`)).stdout.trim();
    const follow = start(t.url, ['logs', '-f', id]);
    // "first" arrives while the job still waits for the gate: the lines are followed live.
    await until('the first line', () => follow.output().stdout.includes('first\n'));
    assert.equal((await describeJob(t.client, id)).status, 'RUNNING');
    writeFileSync(gate, '');
    const r = await follow.done;
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'first\nline 1\nline 2\nline 3\nline 4\nline 5\n');
    assert.equal((await describeJob(t.client, id)).status, 'SUCCEEDED');
  });

  test('logs -f follows a retried job across its attempts and exits with the job’s result', async () => {
    const retried = (await ok('submit', '-n', 'flaky', '--retries', '1', '--', 'sh', '-c', 'echo attempt $AWS_BATCH_JOB_ATTEMPT; [ $AWS_BATCH_JOB_ATTEMPT = 2 ]')).stdout.trim();
    const r = await cli('logs', '-f', retried);
    assert.equal(r.code, 0, show(r));
    assert.equal(r.stdout, 'attempt 1\nattempt 2\n');
    assert.match(r.stderr, /^--- attempt 2 \(log stream \S+\) ---$/m);
    assert.equal((await ok('logs', '--attempt', '1', retried)).stdout, 'attempt 1\n');
    const failing = (await ok('submit', '-n', 'doomed', '--', 'sh', '-c', 'echo doomed; exit 2')).stdout.trim();
    const f = await cli('logs', '-f', failing);
    assert.equal(f.code, 1, show(f));
    assert.equal(f.stdout, 'doomed\n');
  });

  test('cancel fails a job that has not started; terminate stops a running one', async () => {
    const gate = join(gates, 'cancel');
    const blocker = (await ok('submit', '-n', 'blocker', '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`)).stdout.trim();
    const dependent = (await ok('submit', '-n', 'dependent', '--depends-on', blocker)).stdout.trim();
    const c = await ok('cancel', dependent, '--reason', 'not needed');
    assert.match(c.stdout, new RegExp(`^cancelled ${dependent}: FAILED \\(not needed\\)\\n$`));
    assert.equal((await describeJob(t.client, dependent)).statusReason, 'not needed');
    await waitForStatus(t.client, blocker, ['RUNNING']);
    const notStopped = await ok('cancel', blocker);
    assert.match(notStopped.stdout, /cancel does not stop a started job \(openbatch terminate .* does\)/);
    const term = await ok('terminate', blocker, '--reason', 'enough');
    assert.match(term.stdout, new RegExp(`^(terminating|terminated) ${blocker}`));
    const job = await waitForStatus(t.client, blocker, ['FAILED']);
    assert.equal(job.statusReason, 'enough');
    writeFileSync(gate, '');
  });

  test('submit --wait says each state as it changes and why the job waits', async () => {
    const gate = join(gates, 'states');
    const blocker = (await ok('submit', '-n', 'hog', '--vcpus', String(availableParallelism()), '--', 'sh', '-c', `while [ ! -e ${gate} ]; do sleep 0.05; done`)).stdout.trim();
    await waitForStatus(t.client, blocker, ['RUNNING']);
    const waiting = start(t.url, ['submit', '-n', 'patient', '--wait']);
    // Into a pipe, the reason is a line of its own, written when its code changes.
    await until('the reason it waits', () => /^ {2}waiting: .*\[NO_CAPACITY\]$/m.test(waiting.output().stderr));
    writeFileSync(gate, '');
    const r = await waiting.done;
    assert.equal(r.code, 0, show(r));
    const states = [...r.stderr.matchAll(/^\S+ {2}([A-Z]+)/gm)].map((m) => m[1]);
    assert.ok(states.indexOf('RUNNABLE') >= 0 && states.indexOf('RUNNABLE') < states.indexOf('SUCCEEDED'), r.stderr);
    assert.match(r.stderr, /^job patient \(\S+\) SUCCEEDED \(exit 0\)$/m);
  });

  test('submit --wait on a job that can never run ends at once, exit 1, with the reason and the numbers', async () => {
    const r = await cli('submit', '-n', 'huge', '--vcpus', '64', '--wait', '--', 'true');
    assert.equal(r.code, 1, show(r));
    const id = r.stdout.trim();
    assert.match(id, UUID);
    assert.match(r.stderr, /^job huge \(\S+\) cannot run: never fits: asks 64 vCPU/m);
    assert.match(r.stderr, /^MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/m);
    assert.match(r.stderr, new RegExp(`it stays RUNNABLE until it is cancelled \\(openbatch cancel ${id}\\)`));
    // logs -f has nothing to follow and says the same, rather than a blank screen.
    const f = await cli('logs', '-f', id);
    assert.equal(f.code, 1, show(f));
    assert.equal(f.stdout, '');
    assert.match(f.stderr, /cannot run: never fits/);
    await ok('cancel', id);
    const array = await cli('submit', '-n', 'huge-array', '--array-size', '3', '--vcpus', '64', '--wait', '--', 'true');
    assert.equal(array.code, 1, show(array));
    assert.match(array.stderr, /^array job huge-array \(\S+\) cannot run: MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT/m);
    await ok('cancel', array.stdout.trim());
  });

  test('jobs --array-job-id lists the children by index; describe names the failed ones', async () => {
    const r = await cli('submit', '-n', 'odd', '--array-size', '5', '--wait', '--', 'sh', '-c', '[ $((AWS_BATCH_JOB_ARRAY_INDEX % 2)) = 0 ]');
    assert.equal(r.code, 1, show(r));
    const id = r.stdout.trim();
    const children = await ok('jobs', '--array-job-id', id, '--output', 'text');
    assert.deepEqual(children.stdout.trimEnd().split('\n').map((l) => l.split('\t').slice(0, 3)), [0, 1, 2, 3, 4].map((i) => [`${id}:${i}`, 'odd', i % 2 ? 'FAILED' : 'SUCCEEDED']));
    const failed = JSON.parse((await ok('jobs', '-a', id, '--status', 'FAILED', '--json')).stdout) as { jobSummaryList: { jobId: string }[] };
    assert.deepEqual(failed.jobSummaryList.map((j) => j.jobId), [`${id}:1`, `${id}:3`]);
    const d = await ok('describe', id);
    assert.match(d.stdout, new RegExp(`^failed children\\s+1,3 {2}\\(openbatch jobs --array-job-id ${id} --status FAILED; openbatch rerun-failed ${id}\\)$`, 'm'));
  });

  test('the endpoint comes from AWS_ENDPOINT_URL_BATCH or AWS_ENDPOINT_URL as for the aws CLI; --endpoint-url and --region go anywhere', async () => {
    const viaBatch = await start(undefined, ['queues', '--json'], { AWS_ENDPOINT_URL_BATCH: t.url, AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }).done;
    assert.equal(viaBatch.code, 0, show(viaBatch));
    const viaGlobal = await start(undefined, ['queues', '--json'], { AWS_ENDPOINT_URL: t.url }).done;
    assert.equal(viaGlobal.code, 0, show(viaGlobal));
    const wrong = await start(undefined, ['queues'], { AWS_ENDPOINT_URL: 'http://127.0.0.1:9' }).done;
    assert.match(wrong.stderr, /cannot reach openbatch at http:\/\/127\.0\.0\.1:9: .*from AWS_ENDPOINT_URL\)/);
    for (const args of [['--endpoint-url', t.url, '--region', 'eu-west-1', 'submit', '--output', 'json'], ['submit', '--output', 'json', '--region', 'eu-west-1', '--endpoint-url', t.url]]) {
      const r = await start('http://127.0.0.1:9', args).done;
      assert.equal(r.code, 0, show(r));
      assert.match((JSON.parse(r.stdout) as { jobArn: string }).jobArn, /^arn:aws:batch:eu-west-1:/);
    }
  });

  test('--version, and --output json|text|table on any command', async () => {
    assert.match((await ok('--version')).stdout, /^openbatch \d+\.\d+\.\d+ \(Node\.js \d+\.\d+\.\d+\)\n$/);
    const text = await ok('queues', '--output', 'text');
    assert.match(text.stdout, /^default\tENABLED\t/m);
    assert.doesNotMatch(text.stdout, /NAME/);
    const json = JSON.parse((await ok('--output', 'json', 'describe', ids.ok!)).stdout) as { jobId: string };
    assert.equal(json.jobId, ids.ok);
    const submitted = JSON.parse((await ok('submit', '--output', 'json')).stdout) as { jobId: string; jobArn: string };
    assert.match(submitted.jobArn, /:job\//);
    const bad = await cli('jobs', '--output', 'yaml');
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /^openbatch: option '--output <format>' argument 'yaml' is invalid/);
  });

  test('errors are one line on stderr and a non-zero exit', async () => {
    const r = await cli('submit', '--queue', 'nope');
    assert.notEqual(r.code, 0);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, "openbatch: jobQueue 'nope' does not exist\n");
    const flag = await cli('submit', '--array-size', 'many');
    assert.notEqual(flag.code, 0);
    assert.equal(flag.stderr, "openbatch: --array-size must be a whole number from 2 to 10000 (got 'many')\n");
    const unknown = await cli('jobs', '--bogus');
    assert.notEqual(unknown.code, 0);
    assert.equal(unknown.stderr.trimEnd().split('\n').length, 1, unknown.stderr);
    assert.match(unknown.stderr, /^openbatch: unknown option '--bogus'/);
    const down = await start('http://127.0.0.1:9', ['jobs']).done;
    assert.notEqual(down.code, 0);
    assert.match(down.stderr, /^openbatch: cannot reach openbatch at http:\/\/127\.0\.0\.1:9: connection refused .*; from OPENBATCH_ENDPOINT\)\n$/);
  });

  test('every command’s --help has an example', async () => {
    const commands = ['server', 'agent', 'init', 'submit', 'jobs', 'describe', 'logs', 'cancel', 'terminate', 'queues', 'ces', 'why', 'cost', 'rerun-failed', 'apply', 'top', 'instances', 'drain', 'join-token', 'completion', 'usage'];
    const section = /\nCommands:\n([\s\S]*?)\n\n/.exec((await ok('--help')).stdout)![1];
    const listed = [...section.matchAll(/^ {2}([a-z-]+)\b/gm)].map((m) => m[1]).filter((c) => c !== 'help');
    assert.deepEqual([...listed].sort(), [...commands].sort(), 'every command the program lists is checked here');
    for (const command of commands) {
      const r = await ok(command, '--help');
      assert.match(r.stdout, /\nExamples?\b[^\n]*:\n {2}\S/, `openbatch ${command} --help\n${r.stdout}`);
      assert.match(r.stdout, new RegExp(`openbatch ${command === 'server' || command === 'agent' ? '' : command}`));
    }
    assert.match((await ok('--help')).stdout, /Example:/);
  });
});
