/**
 * Several control planes on one PostgreSQL database (runs in the suite's PostgreSQL pass):
 * both serve the API, one leads; kill -9 of the leader mid-run hands the scheduler to the
 * other within seconds, agents move to it, and every job finishes — none lost, none run
 * twice. Three of them stopped and started again in turn (an upgrade), then the leader paused
 * past its lease, kill nothing: joined and local jobs finish with their one attempt, no agent
 * stops. A deposed leader's late write is refused by its fence. /readyz answers 503 while no
 * server leads, /healthz 200.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { CreateComputeEnvironmentCommand } from '@aws-sdk/client-batch';
import pino from 'pino';
import { systemTimers } from '../../src/model/ids.js';
import { batchClient, CLI, hostVolume, spawnServer, tempDir, writableDir, type ServerProcess } from '../helpers/server.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { dropTestDatabase, onPostgres, testDatabaseFor } from '../helpers/postgres.js';
import { until } from '../helpers/until.js';
import { openPostgres } from '../../src/store/db.js';
import { Leadership, NotLeaderError } from '../../src/cluster/leadership.js';
import { UnitOfWork } from '../../src/store/unitOfWork.js';

const skip = onPostgres() ? false : 'several control planes need PostgreSQL (OPENBATCH_TEST_DATABASE_URL)';

async function role(url: string): Promise<string | undefined> {
  try {
    return ((await (await fetch(url + '/healthz')).json()) as { role?: string }).role;
  } catch {
    return undefined;
  }
}

describe('two control planes on one PostgreSQL database', { skip }, () => {
  const dirA = tempDir();
  const dirB = tempDir();
  const agentDir = tempDir('openbatch-agent-');
  // The jobs' ledger: a host directory their definition mounts (the host is read-only to them).
  const ledgerDir = writableDir('openbatch-ledger-');
  const ledger = join(ledgerDir, 'ledger');
  const children: ChildProcess[] = [];
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const s of servers) await s.stop();
    await dropTestDatabase(dirA);
    for (const d of [dirA, dirB, agentDir, ledgerDir]) rmSync(d, { recursive: true, force: true });
  });

  function startAgent(servers: string, token: string): Promise<void> {
    const child = spawn(process.execPath, [CLI, 'agent', '--server', servers, '--ce', 'farm', '--vcpus', '3', '--memory', '1024', '--work-dir', join(agentDir, String(children.length))], {
      env: { ...process.env, OPENBATCH_AGENT_TOKEN: token },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    return new Promise((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (c: Buffer) => {
        out += c.toString();
        if (/as instance i-/.test(out)) resolve();
      });
      child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
      child.once('exit', (code) => reject(new Error(`agent exited with ${code}: ${out}`)));
    });
  }

  test('kill -9 of the leader mid-run: the other takes over, every job finishes once', async () => {
    const databaseUrl = await testDatabaseFor(dirA);
    const token = 'join-token-shared-by-both-control-planes';
    const env = { OPENBATCH_DATABASE_URL: databaseUrl, OPENBATCH_AGENT_JOIN_TOKEN: token, OPENBATCH_LEADER_LEASE_SECONDS: '2', OPENBATCH_HOST_VOLUME_ROOTS: ledgerDir };
    const a = await spawnServer(dirA, 0, env);
    servers.push(a);
    await until('server A to lead', async () => (await role(a.url)) === 'leader');
    const b = await spawnServer(dirB, 0, env);
    servers.push(b);
    assert.equal(await role(b.url), 'follower');

    // Everything through the follower: it serves the whole API on the shared database.
    const viaB = batchClient(b.url);
    await viaB.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'farm', type: 'UNMANAGED' }));
    await createQueue(viaB, 'q', ['farm']);
    // Each run appends "<job> <attempt>" to the ledger, then works for a while.
    await registerDefinition(viaB, 'work', {
      command: ['sh', '-c', `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT" >> ${ledger}; sleep 2`],
      ...hostVolume(ledgerDir),
    });
    await startAgent(`${a.url},${b.url}`, token);
    await startAgent(`${b.url},${a.url}`, token);

    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push(await submit(viaB, { jobName: `job-${i}`, jobQueue: 'q', jobDefinition: 'work' }));
    const array = await submit(viaB, { jobName: 'arr', jobQueue: 'q', jobDefinition: 'work', arrayProperties: { size: 4 } });
    const dependent = await submit(viaB, { jobName: 'after', jobQueue: 'q', jobDefinition: 'work', dependsOn: [{ jobId: ids[0] }, { jobId: array }] });

    // Mid-run: some jobs running, not all done.
    await until('a job to run', async () => {
      const d = await Promise.all(ids.map((id) => describeJob(viaB, id)));
      return d.some((j) => j.status === 'RUNNING') && d.some((j) => j.status !== 'SUCCEEDED');
    });
    await a.kill('SIGKILL');
    await until('server B to take over', async () => (await role(b.url)) === 'leader', 30_000);

    // Submitted after the kill: the new leader schedules it too.
    const late = await submit(viaB, { jobName: 'late', jobQueue: 'q', jobDefinition: 'work' });
    const all = [...ids, array, dependent, late];
    for (const id of all) {
      const j = await waitForStatus(viaB, id, ['SUCCEEDED', 'FAILED'], 120_000);
      assert.equal(j.status, 'SUCCEEDED', `${id}: ${j.statusReason}`);
    }
    for (const id of [...ids, dependent, late, ...[0, 1, 2, 3].map((i) => `${array}:${i}`)]) {
      const j = await describeJob(viaB, id);
      assert.equal(j.attempts?.length, 1, `${id} ran ${j.attempts?.length} times`);
    }
    const runs = readFileSync(ledger, 'utf8').trim().split('\n');
    const expected = [...ids, dependent, late, ...[0, 1, 2, 3].map((i) => `${array}:${i}`)];
    assert.deepEqual(runs.map((r) => r.split(' ')[0]).sort(), expected.sort(), 'each job ran exactly once');
    viaB.destroy();
  });
});

describe('three control planes: an upgrade and a paused leader kill nothing', { skip }, () => {
  const dirs = [tempDir(), tempDir(), tempDir()];
  const agentDir = tempDir('openbatch-agent-');
  const files = writableDir('openbatch-rolling-');
  const ledger = join(files, 'ledger');
  const children: ChildProcess[] = [];
  const servers: ServerProcess[] = [];
  after(async () => {
    for (const c of children) c.kill('SIGKILL');
    for (const sv of servers) await sv.stop();
    await dropTestDatabase(dirs[0]);
    for (const d of [...dirs, agentDir, files]) rmSync(d, { recursive: true, force: true });
  });

  test('each server stopped (SIGTERM) and started again in turn, then the leader paused past its lease: every job finishes once, no agent stops', async () => {
    const databaseUrl = await testDatabaseFor(dirs[0]);
    const token = 'join-token-shared-by-three-control-planes';
    const env = { OPENBATCH_DATABASE_URL: databaseUrl, OPENBATCH_AGENT_JOIN_TOKEN: token, OPENBATCH_LEADER_LEASE_SECONDS: '2', OPENBATCH_HOST_VOLUME_ROOTS: files };
    for (const d of dirs) servers.push(await spawnServer(d, 0, env));
    const ports = servers.map((sv) => Number(new URL(sv.url).port));
    const leaderIndex = async () => {
      for (let i = 0; i < servers.length; i++) if ((await role(servers[i].url)) === 'leader') return i;
      return -1;
    };
    await until('a leader', async () => (await leaderIndex()) >= 0);
    const client = batchClient(servers[0].url);
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'farm', type: 'UNMANAGED' }));
    await createQueue(client, 'q', ['farm']);
    await createCe(client, 'local', { maxvCpus: 2 });
    await createQueue(client, 'local-q', ['local']);
    const script = `echo "$AWS_BATCH_JOB_ID $AWS_BATCH_JOB_ATTEMPT" >> ${ledger}; while [ ! -e ${files}/gate ]; do sleep 0.1; done`;
    await registerDefinition(client, 'gated', { command: ['sh', '-c', script], ...hostVolume(files) });
    const urls = servers.map((sv) => sv.url).join(',');
    const joined: ChildProcess[] = [];
    for (let i = 0; i < 2; i++) {
      const child = spawn(process.execPath, [CLI, 'agent', '--server', urls, '--ce', 'farm', '--vcpus', '2', '--memory', '1024', '--work-dir', join(agentDir, String(i))], {
        env: { ...process.env, OPENBATCH_AGENT_TOKEN: token },
        stdio: ['ignore', 'pipe', 'ignore'],
      });
      children.push(child);
      joined.push(child);
      await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => /as instance/.test(c.toString()) && resolve()));
    }
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) ids.push(await submit(client, { jobQueue: 'q', jobDefinition: 'gated' }));
    for (let i = 0; i < 2; i++) ids.push(await submit(client, { jobQueue: 'local-q', jobDefinition: 'gated' }));
    for (const id of ids) await waitForStatus(client, id, ['RUNNING'], 60_000);
    client.destroy();

    // The upgrade: each server in turn stopped and started again on its address.
    for (let i = 0; i < servers.length; i++) {
      await servers[i].kill('SIGTERM');
      await until('another server to lead', async () => (await leaderIndex()) >= 0 && (await leaderIndex()) !== i, 30_000);
      servers[i] = await spawnServer(dirs[i], ports[i], env);
      await until(`server ${i} to be ready`, async () => (await fetch(servers[i].url + '/readyz')).status === 200);
    }
    // The leader paused past its lease (2 s), well within the agents' (30 s).
    const paused = await leaderIndex();
    servers[paused].child.kill('SIGSTOP');
    await until('another server to lead', async () => {
      for (let i = 0; i < servers.length; i++) if (i !== paused && (await role(servers[i].url)) === 'leader') return true;
      return false;
    }, 30_000);
    servers[paused].child.kill('SIGCONT');
    await until('one leader', async () => (await Promise.all(servers.map((sv) => role(sv.url)))).filter((r) => r === 'leader').length === 1);

    writeFileSync(join(files, 'gate'), '');
    const viaLast = batchClient(servers[2].url);
    for (const id of ids) {
      const j = await waitForStatus(viaLast, id, ['SUCCEEDED', 'FAILED'], 60_000);
      assert.equal(j.status, 'SUCCEEDED', `${id}: ${j.statusReason}`);
      assert.equal(j.attempts?.length, 1, `${id} was retried: ${j.attempts?.[0]?.statusReason}`);
    }
    assert.deepEqual(readFileSync(ledger, 'utf8').trim().split('\n').sort(), ids.map((id) => `${id} 1`).sort(), 'each job ran once');
    for (const a of joined) assert.equal(a.exitCode, null, 'a joined agent stopped');
    viaLast.destroy();
  });
});

describe('the leader fence', { skip }, () => {
  const dir = tempDir();
  after(async () => {
    await dropTestDatabase(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test("a deposed leader's late write is refused and leaves nothing behind", async () => {
    const store = await openPostgres(await testDatabaseFor(dir));
    try {
      let elected = 0;
      let deposed = 0;
      const leadership = new Leadership({
        db: store.db,
        logger: pino({ level: 'silent' }),
        timers: systemTimers,
        leaseMs: 60_000,
        elected: async () => void elected++,
        deposed: async () => void deposed++,
      });
      leadership.start();
      await until('the lease', async () => leadership.leading);
      const uow = new UnitOfWork(store.db).fenced(leadership.fence);
      const write = (name: string) =>
        uow.write((tx) => tx.db.insertInto('scheduling_policies').values({ name, arn: `arn:${name}`, fairshare_policy: null, tags: '{}', created_at: 0 }).execute());
      await write('while-leading');

      // Another server takes the lease over (as after this one stalled past its expiry).
      await store.db.updateTable('leader_lease').set((eb) => ({ holder: 'another-server', epoch: eb('epoch', '+', 1) })).execute();
      await assert.rejects(write('after-takeover'), NotLeaderError);
      const names = (await store.db.selectFrom('scheduling_policies').select('name').execute()).map((r) => r.name);
      assert.deepEqual(names, ['while-leading']);
      await until('stepping down', async () => deposed === 1);
      assert.equal(leadership.leading, false);
      assert.equal(elected, 1);
      await leadership.stop();
    } finally {
      await store.close();
    }
  });
});

describe('/healthz and /readyz', { skip }, () => {
  const dir = tempDir();
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.stop();
    await dropTestDatabase(dir);
    rmSync(dir, { recursive: true, force: true });
  });

  test('while no server holds the leader lease the server is alive but not ready, and ready again once it leads', async () => {
    // A long lease: the server looks at it every 6 s, which leaves time to see the gap.
    server = await spawnServer(dir, 0, { OPENBATCH_LEADER_LEASE_SECONDS: '30' });
    const readyz = async () => {
      const res = await fetch(server!.url + '/readyz');
      return { status: res.status, body: (await res.json()) as { status: string; leader: string | null; reason?: string } };
    };
    const ready = await until('the server to be ready', async () => ((await readyz()).status === 200 ? readyz() : undefined));
    assert.equal(ready.body.status, 'ready');
    assert.ok(ready.body.leader, 'the leader is named');

    // The lease passes to a server of another host that dies at once: no one leads until
    // this server takes it again at its next look.
    const store = await openPostgres(await testDatabaseFor(dir));
    try {
      await store.db.updateTable('leader_lease').set((eb) => ({ holder: 'another-host:1:gone', epoch: eb('epoch', '+', 1), expires_at: 0 })).execute();
    } finally {
      await store.close();
    }
    const gap = await readyz();
    assert.equal(gap.status, 503);
    assert.equal(gap.body.status, 'unavailable');
    assert.equal(gap.body.leader, null);
    assert.match(gap.body.reason ?? '', /no server holds the leader lease/);
    assert.equal((await fetch(server.url + '/healthz')).status, 200, 'alive all the same');

    const back = await until('the server to lead again', async () => {
      const r = await readyz();
      return r.status === 200 && (await role(server!.url)) === 'leader' ? r : undefined;
    });
    assert.notEqual(back.body.leader, 'another-host:1:gone');
  });
});
