/**
 * PostgreSQL failing under a running control plane (the suite's PostgreSQL pass): a session
 * stuck inside a write transaction does not freeze the other servers' writes; and the database
 * restarted under running jobs kills none of them — meanwhile the server says it is alive but
 * not ready, and refuses work with a ServerException naming the store, then carries on by
 * itself.
 */
import assert from 'node:assert/strict';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { sql } from 'kysely';
import { openPostgres } from '../../src/store/db.js';
import { transaction, WRITE_LOCK } from '../../src/store/unitOfWork.js';
import { storeUnavailable } from '../../src/store/failures.js';
import { onPostgres } from '../helpers/postgres.js';
import { pgClusterUnavailable, startPgCluster, type PgCluster } from '../helpers/pgCluster.js';
import { agentsUnder, batchClient, hostVolume, spawnServer, startTestServer, tempDir, writableDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';

const skip = onPostgres() ? false : 'PostgreSQL outages run in the suite\'s PostgreSQL pass (OPENBATCH_TEST_DATABASE_URL)';

describe('a session stuck holding the write lock', { skip }, () => {
  test("does not freeze the other servers' writes: PostgreSQL ends it, and SubmitJob goes through", async () => {
    const t = await startTestServer();
    const stuck = await openPostgres(t.server.services.config.databaseUrl, 1);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      await createCe(t.client, 'ce', { maxvCpus: 1 });
      await createQueue(t.client, 'q', ['ce']);
      await registerDefinition(t.client, 'd', { command: ['true'] });
      // A server paused (or cut off) inside a write transaction: the lock taken, then nothing.
      const stuckEnd = transaction(stuck.db, async (trx) => {
        await sql`SELECT pg_advisory_xact_lock(${WRITE_LOCK})`.execute(trx);
        await held;
        await sql`SELECT 1`.execute(trx);
      }).then(
        () => 'committed',
        (e: unknown) => storeUnavailable(e) ?? String(e),
      );
      await new Promise((r) => setTimeout(r, 200));
      const id = await Promise.race([
        submit(t.client, { jobQueue: 'q', jobDefinition: 'd' }),
        new Promise<never>((_, reject) => setTimeout(() => reject(new Error('SubmitJob waited 60 s behind a stuck session')), 60_000)),
      ]);
      assert.equal((await waitForStatus(t.client, id, ['SUCCEEDED', 'FAILED'])).status, 'SUCCEEDED');
      release();
      assert.match(await stuckEnd, /idle_in_transaction|connection/, 'the stuck session was ended by the database');
    } finally {
      release();
      await stuck.close().catch(() => undefined);
      await t.close();
    }
  });
});

const clusterSkip = skip || pgClusterUnavailable() || false;

describe('PostgreSQL restarted under running jobs', { skip: clusterSkip }, () => {
  let cluster: PgCluster | undefined;
  let server: ServerProcess | undefined;
  const dataDir = tempDir();
  // The jobs' ledger and gate: a host directory their definition mounts, the server grants.
  const files = writableDir('openbatch-pg-outage-');
  after(async () => {
    await server?.stop();
    cluster?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(files, { recursive: true, force: true });
  });

  test('kills nothing: alive but not ready meanwhile, SubmitJob refused naming the store, then every job finishes once', async () => {
    cluster = await startPgCluster();
    // The lease of the leader (2 s) runs out during the outage; the agents' (30 s) does not.
    server = await spawnServer(dataDir, 0, { OPENBATCH_DATABASE_URL: cluster.url, OPENBATCH_LEADER_LEASE_SECONDS: '2', OPENBATCH_AGENT_TIMEOUT_SECONDS: '30', OPENBATCH_HOST_VOLUME_ROOTS: files });
    const client = batchClient(server.url);
    try {
      await createCe(client, 'local', { maxvCpus: 2 });
      await createQueue(client, 'q', ['local']);
      const ledger = join(files, 'ledger');
      await registerDefinition(client, 'gated', { command: ['sh', '-c', `echo "$AWS_BATCH_JOB_ID" >> ${ledger}; while [ ! -e ${join(files, 'gate')} ]; do sleep 0.05; done`], ...hostVolume(files) });
      const ids = [await submit(client, { jobQueue: 'q', jobDefinition: 'gated' }), await submit(client, { jobQueue: 'q', jobDefinition: 'gated' })];
      for (const id of ids) await waitForStatus(client, id, ['RUNNING']);
      const agents = agentsUnder(dataDir).sort();

      cluster.stop('fast');
      // Longer than the leader's lease: it steps down, and must not take its agents with it.
      await new Promise((r) => setTimeout(r, 4_000));
      assert.equal((await fetch(server.url + '/healthz')).status, 200, 'alive');
      const ready = await fetch(server.url + '/readyz');
      assert.equal(ready.status, 503);
      assert.match(((await ready.json()) as { database: string }).database, /unreachable/);
      await assert.rejects(submit(client, { jobQueue: 'q', jobDefinition: 'gated' }), (e: Error) => e.name === 'ServerException' && /the store is unavailable/.test(e.message));
      assert.deepEqual(agentsUnder(dataDir).sort(), agents, 'no agent was stopped');

      cluster.start();
      for (let i = 0; i < 300 && (await fetch(server.url + '/readyz')).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal((await fetch(server.url + '/readyz')).status, 200, 'ready again once the database is back');
      writeFileSync(join(files, 'gate'), '');
      for (const id of ids) {
        const j = await waitForStatus(client, id, ['SUCCEEDED', 'FAILED'], 60_000);
        assert.equal(j.status, 'SUCCEEDED', j.statusReason);
        assert.equal(j.attempts?.length, 1);
      }
      assert.deepEqual(readFileSync(ledger, 'utf8').trim().split('\n').sort(), [...ids].sort(), 'each ran once');
      const after = await submit(client, { jobQueue: 'q', jobDefinition: 'gated' });
      assert.equal((await waitForStatus(client, after, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
      assert.equal((await describeJob(client, after)).attempts?.length, 1);
    } finally {
      client.destroy();
    }
  });
});
