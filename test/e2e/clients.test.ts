/**
 * The clients users actually have: Debian's `aws` CLI (v2) and Debian's boto3, against a
 * server run as its own process (`openbatch server`).
 *
 * The README's "Quick start with the `aws` CLI" block is read from README.md and run as it
 * stands (only the endpoint's port is changed), so the README cannot drift from what works.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { spawnServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { AWS, PYTHON, awsMissing, boto3Missing, run, show } from '../helpers/awsClients.js';

// Compiled to dist/test/e2e/: the README and the Python script stay in the source tree.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const README = join(ROOT, 'README.md');
const BOTO3_SCRIPT = join(ROOT, 'test/e2e/boto3_smoke.py');

/** The ```sh block that follows the heading "## Quick start with the `aws` CLI". */
function quickStartBlock(markdown: string): string {
  const section = markdown.split(/^## /m).find((s) => s.startsWith('Quick start with the `aws` CLI'));
  assert.ok(section, 'README.md has no "## Quick start with the `aws` CLI" section');
  const m = /^```sh\n([\s\S]*?)^```$/m.exec(section);
  assert.ok(m, 'the quick start section has no ```sh block');
  return m[1];
}

/** A server process with its own data directory, kept (and its path printed) when a test failed. */
function serverFixture(): { url(): string; home(): string; failed(): void } {
  let dataDir = '';
  let home = '';
  let server: ServerProcess | undefined;
  let failed = false;
  before(async () => {
    dataDir = tempDir();
    home = tempDir('openbatch-clients-home-');
    server = await spawnServer(dataDir, 0);
  });
  after(async () => {
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
    if (failed) console.error(`kept the server's data directory: ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  });
  return { url: () => server!.url, home: () => home, failed: () => void (failed = true) };
}

// Each client gets its own server: on a small host the first compute environment's idle
// instance holds the cores until it scales down, and a second one would wait for that.
describe('the aws CLI (Debian awscli) against `openbatch server`', { skip: awsMissing }, () => {
  const s = serverFixture();

  test('the README quick start runs verbatim: SUCCEEDED, exit 0, a log stream, and the log line "hi"', async () => {
    const block = quickStartBlock(readFileSync(README, 'utf8'));
    const endpointLine = /^E=http:\/\/127\.0\.0\.1:8770$/m;
    assert.match(block, endpointLine, 'the quick start should set E=http://127.0.0.1:8770');
    const script = block.replace(endpointLine, `E=${s.url()}`);
    const r = await run('bash', ['-e', '-c', script], s.home());
    if (r.code !== 0) s.failed();
    assert.equal(r.code, 0, show(r));
    // describe-jobs --query 'jobs[0].[status,container.exitCode,container.logStreamName]'
    assert.match(r.stdout, /\[\s*"SUCCEEDED",\s*0,\s*"hello\/default\/[0-9a-f]+"\s*\]/, `no [SUCCEEDED, 0, <log stream>]\n${show(r)}`);
    // get-log-events --query 'events[].message'
    assert.match(r.stdout, /\[\s*"hi"\s*\]\s*$/, show(r));
  });

  test('submit-job to an unknown queue exits non-zero with ClientException and the message', async () => {
    const r = await run(
      AWS,
      ['batch', 'submit-job', '--endpoint-url', s.url(), '--job-name', 'x', '--job-queue', 'nope', '--job-definition', 'hello'],
      s.home(),
      { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_DEFAULT_REGION: 'us-east-1' },
    );
    assert.notEqual(r.code, 0, show(r));
    assert.match(r.stderr, /ClientException/, show(r));
    assert.match(r.stderr, /jobQueue 'nope' does not exist/, show(r));
  });
});

describe('boto3 (Debian python3-boto3) against `openbatch server`', { skip: boto3Missing }, () => {
  const s = serverFixture();

  test('creates, submits, polls to SUCCEEDED, reads the log, lists, and gets ClientException', async () => {
    const r = await run(PYTHON, [BOTO3_SCRIPT, s.url()], s.home());
    if (r.code !== 0) s.failed();
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^boto3 smoke: ok$/m, show(r));
  });
});
