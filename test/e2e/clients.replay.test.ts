/**
 * The call sequences of programs that drive AWS Batch in the field, replayed with their
 * members and read the way they read the answers: Metaflow's batch client, Airflow's
 * BatchOperator and hook, and Snakemake's AWS Batch executor through boto3 (all three are
 * Python), and jobs of several containers (eksProperties, ecsProperties) as a user's boto3
 * script submits them. Nextflow's calls are in clients.nextflow.test.ts.
 */
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { startTestServer, tempDir, type TestServer } from '../helpers/server.js';
import { createCe, createQueue, registerDefinition } from '../helpers/fixtures.js';
import { PYTHON, boto3Missing, run, show } from '../helpers/awsClients.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const REPLAYS = join(ROOT, 'test/e2e/boto3_replays.py');

describe('replayed clients (boto3)', { skip: boto3Missing }, () => {
  let t: TestServer;
  let home: string;
  before(async () => {
    t = await startTestServer();
    home = tempDir('openbatch-replay-home-');
    await createCe(t.client, 'replay-ce', { maxvCpus: 2 });
    await createQueue(t.client, 'replay-q', ['replay-ce']);
    await registerDefinition(t.client, 'replay-def', { command: ['true'] });
  });
  after(async () => {
    rmSync(home, { recursive: true, force: true });
    await t.close();
  });

  test('Metaflow, Airflow and Snakemake, and jobs of several containers: their calls succeed and their reads find what they index', async () => {
    const r = await run(PYTHON, [REPLAYS, t.url, 'replay-q'], home, {}, { timeoutMs: 300_000 });
    assert.equal(r.code, 0, `${show(r)}\nserver warnings:\n${t.warnings().join('\n')}`);
    for (const name of ['metaflow', 'airflow', 'snakemake', 'several_containers']) assert.match(r.stdout, new RegExp(`^${name}: ok$`, 'm'), show(r));
  });
});
