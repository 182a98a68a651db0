/**
 * A full disk under the data directory (a small tmpfs the test mounts): SubmitJob answers a
 * ServerException that says "no space left on device", nothing wedges, a job running meanwhile
 * runs on, and everything carries on by itself once space is freed. Needs root (mount); runs
 * in the SQLite pass, where the database is on that disk.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { onPostgres } from '../helpers/postgres.js';
import { agentsUnder, batchClient, hostVolume, spawnServer, tempDir, writableDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

function mountable(): string | undefined {
  if (onPostgres()) return 'a full data directory is SQLite\'s case: runs in the SQLite pass';
  if (process.getuid?.() !== 0) return 'mounting a small tmpfs needs root';
  return undefined;
}

const skip = mountable();
const mnt = tempDir('openbatch-full-');
const files = writableDir('openbatch-full-files-');
let mounted = false;
let server: ServerProcess | undefined;

after(async () => {
  await server?.stop();
  if (mounted) execFileSync('umount', [mnt]);
  rmSync(mnt, { recursive: true, force: true });
  rmSync(files, { recursive: true, force: true });
});

/** Writes zeros into `file` until the disk has no space left. */
function fill(file: string): void {
  const fd = openSync(file, 'w');
  const chunk = Buffer.alloc(1 << 20);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
    // The last bytes the file system had left, in smaller pieces.
    for (const size of [65536, 4096, 512]) {
      try {
        for (;;) writeSync(fd, chunk.subarray(0, size));
      } catch {
        // that size no longer fits
      }
    }
  } finally {
    closeSync(fd);
  }
}

test('a full disk: SubmitJob says so, running jobs run on, and everything carries on once space returns', { skip }, async () => {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64m', 'tmpfs', mnt]);
  } catch (e) {
    return void assert.ok(true, `tmpfs cannot be mounted here: ${(e as Error).message}`);
  }
  mounted = true;
  const dataDir = join(mnt, 'data');
  server = await spawnServer(dataDir, 0, { OPENBATCH_HOST_VOLUME_ROOTS: files });
  const client = batchClient(server.url);
  try {
    await createCe(client, 'local', { maxvCpus: 2 });
    await createQueue(client, 'q', ['local']);
    // A queue whose jobs never run: what the test submits while the disk fills.
    await createCe(client, 'off', { maxvCpus: 1, state: 'DISABLED' });
    await createQueue(client, 'parked', ['off']);
    await registerDefinition(client, 'gated', { command: ['sh', '-c', `echo "$AWS_BATCH_JOB_ID" >> ${join(files, 'ledger')}; while [ ! -e ${join(files, 'gate')} ]; do sleep 0.05; done`], ...hostVolume(files) });
    await registerDefinition(client, 'noop', { command: ['true'] });
    const running = await submit(client, { jobQueue: 'q', jobDefinition: 'gated' });
    await waitForStatus(client, running, ['RUNNING']);
    const agents = agentsUnder(dataDir);

    fill(join(mnt, 'filler'));
    // The database may still have room in pages it holds: submit until a write needs more.
    let refused: Error | undefined;
    for (let i = 0; i < 2000 && !refused; i++) {
      try {
        await submit(client, { jobQueue: 'parked', jobDefinition: 'noop' });
      } catch (e) {
        refused = e as Error;
      }
    }
    assert.ok(refused, 'no SubmitJob was refused on a full disk');
    assert.equal(refused.name, 'ServerException');
    assert.match(refused.message, /no space left on device/);
    assert.doesNotMatch(refused.message, /cannot rollback|internal error/);
    assert.equal((await fetch(server.url + '/healthz')).status, 200);

    rmSync(join(mnt, 'filler'));
    // Space is back: the same calls work again, without a restart.
    const after = await submit(client, { jobQueue: 'q', jobDefinition: 'gated' });
    writeFileSync(join(files, 'gate'), '');
    for (const id of [running, after]) {
      const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(j.status, 'SUCCEEDED', j.statusReason);
      assert.equal(j.attempts?.length, 1);
    }
    for (const pid of agents) assert.ok(agentsUnder(dataDir).includes(pid), 'the agent of the running job lived through it');
  } finally {
    client.destroy();
  }
});
