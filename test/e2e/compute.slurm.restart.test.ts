/**
 * The Slurm provider across a control-plane restart: Slurm jobs keep running while the
 * server is down, and the restarted server follows them on from what it recorded.
 * Skipped, saying why, only where no Slurm cluster answers (CI starts one).
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { after, describe, test } from 'node:test';
import { batchClient, spawnServer, tempDir, type ServerProcess } from '../helpers/server.js';
import { createQueue, logLines, submit, waitForStatus } from '../helpers/fixtures.js';
import { definition, slurmCe, slurmUnavailable } from '../helpers/slurm.js';

const skip = slurmUnavailable();
if (skip) console.log(`# Slurm restart test skipped: ${skip}`);

const WAIT = 120_000;

describe('Slurm provider across a control-plane restart', { skip: skip ?? false }, () => {
  const dataDir = tempDir();
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.kill('SIGTERM');
    rmSync(dataDir, { recursive: true, force: true });
  });

  test('a server killed while its Slurm job runs follows the job on after restart', async () => {
    const env = { OPENBATCH_SLURM_POLL_SECONDS: '0.25' };
    server = await spawnServer(dataDir, 0, env);
    let client = batchClient(server.url);
    await slurmCe(client, 'slurm');
    await createQueue(client, 'sq', ['slurm']);
    await definition(client, 'outlives', ['sh', '-c', 'echo before; sleep 4; echo after']);
    const id = await submit(client, { jobQueue: 'sq', jobDefinition: 'outlives' });
    await waitForStatus(client, id, ['RUNNING'], WAIT);
    client.destroy();
    await server.kill('SIGKILL');
    server = await spawnServer(dataDir, 0, env);
    client = batchClient(server.url);
    const job = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], WAIT);
    assert.equal(job.status, 'SUCCEEDED', job.statusReason);
    assert.equal(job.attempts?.length, 1, 'the attempt was followed, not retried');
    assert.deepEqual(await logLines(server.url, job.container!.logStreamName!), ['before', 'after']);
    client.destroy();
  });
});
