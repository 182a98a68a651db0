/**
 * The Slurm provider across a control-plane restart: Slurm jobs keep running while the
 * server is down, and the restarted server follows them on from what it recorded — or, for a
 * job Slurm accepted just before the server died and that the server never recorded, finds
 * it by its job name instead of submitting it again.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { batchClient, spawnServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { createQueue, logLines, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, holdSlurmNode, slurmExplain, recordingSlurmBin, slurmCe, slurmJobsNamed, slurmUnavailable } from '../helpers/slurm.js';
import { slurmJobName } from '../../src/compute/slurmProvider.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm restart test skipped: ${skip}`);

const WAIT = 120_000;

describe('Slurm provider across a control-plane restart', { skip: skip ?? false }, () => {
  const dataDir = tempDir();
  let server: ServerProcess | undefined;
  let release: (() => Promise<void>) | undefined;
  const cleanups: (() => void)[] = [];
  before(async () => {
    release = await holdSlurmNode('shared');
  });
  after(async () => {
    await server?.stop();
    for (const c of cleanups) c();
    rmSync(dataDir, { recursive: true, force: true });
    await release?.();
  });

  test('a server killed while its Slurm job runs follows the job on after restart', async () => {
    const env = { OPENBATCH_SLURM_POLL_SECONDS: '0.25' };
    server = await spawnServer(dataDir, 0, env);
    let client = batchClient(server.url);
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
    await definition(client, 'outlives', ['sh', '-c', 'echo before; sleep 4; echo after']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'outlives' });
    await waitForStatus(client, id, ['RUNNING'], WAIT, slurmExplain(server));
    client.destroy();
    await server.kill('SIGKILL');
    server = await spawnServer(dataDir, 0, env);
    client = batchClient(server.url);
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(server));
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 1, 'the attempt was followed, not retried');
    assert.deepEqual(await logLines(server.url, job.container!.logStreamName!), ['before', 'after']);
    client.destroy();
    await server.kill('SIGTERM');
    server = undefined;
  });

  test('a job Slurm accepted just before the server died, unrecorded, is adopted by name and not submitted twice', async () => {
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    // The first server's sbatch holds Slurm's answer back: the server dies before recording it.
    const bin = recordingSlurmBin({ sbatchHold: true });
    cleanups.push(() => writeFileSync(join(bin.dir, 'release'), ''));
    server = await spawnServer(dir, 0, { OPENBATCH_SLURM_POLL_SECONDS: '0.25', OPENBATCH_SLURM_BIN_DIR: bin.dir });
    let client = batchClient(server.url);
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
    await definition(client, 'once', ['sh', '-c', 'echo "ran as Slurm job $SLURM_JOB_ID"']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'once' });
    const deadline = Date.now() + WAIT;
    while (!existsSync(join(bin.dir, 'submitted'))) {
      assert.ok(Date.now() < deadline, 'sbatch was never called');
      await new Promise((r) => setTimeout(r, 200));
    }
    client.destroy();
    await server.kill('SIGKILL');
    writeFileSync(join(bin.dir, 'release'), '');

    server = await spawnServer(dir, 0, { OPENBATCH_SLURM_POLL_SECONDS: '0.25' });
    client = batchClient(server.url);
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT, slurmExplain(server));
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 1);
    const inSlurm = slurmJobsNamed(slurmJobName(id, 1));
    assert.equal(inSlurm.length, 1, `one Slurm job for the attempt: ${JSON.stringify(inSlurm)}`);
    assert.deepEqual(await logLines(server.url, job.container!.logStreamName!), [`ran as Slurm job ${inSlurm[0].id}`]);
    client.destroy();
    await server.kill('SIGTERM');
    server = undefined;
  });
});
