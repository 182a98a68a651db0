/**
 * No sandbox, no job (docs/security.md, "job"): on a host where bubblewrap cannot be used, a
 * server on default settings starts no process job, and says why everywhere an operator looks
 * (its log at warn level, the held instance, the compute environment's statusReason,
 * `openbatch instances`, the dashboard's data); a compute environment that opts out runs its
 * jobs, and that is logged at warn level. A joining agent without the sandbox refuses to join
 * unless told --sandbox off. The host "without bubblewrap" is a PATH that has every program of
 * this one but bwrap.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateComputeEnvironmentCommand, DescribeComputeEnvironmentsCommand } from '@aws-sdk/client-batch';
import type { InstanceView } from '../../src/api/instances.js';
import { createCe, createQueue, describeJob, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { dropTestDatabase } from '../helpers/postgres.js';
import { batchClient, CLI, spawnServer, stopAgentsUnder, tempDir, type ServerProcess } from '../helpers/server.js';

/** A directory of links to every program on this host's usual PATH but bwrap. */
function pathWithoutBwrap(root: string): string {
  const bin = join(root, 'bin');
  mkdirSync(bin);
  for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (name === 'bwrap') continue;
      try {
        symlinkSync(join(dir, name), join(bin, name));
      } catch {
        // the same name from an earlier directory of the PATH wins
      }
    }
  }
  return bin;
}

const root = tempDir('openbatch-nobwrap-');
const dataDir = join(root, 'data');
const bin = pathWithoutBwrap(root);
let server: ServerProcess;

before(async () => {
  mkdirSync(dataDir);
  server = await spawnServer(dataDir, 0, { PATH: bin });
});
after(async () => {
  await server.stop();
  await stopAgentsUnder(root);
  rmSync(root, { recursive: true, force: true });
  await dropTestDatabase(dataDir);
});

async function instances(ce: string): Promise<InstanceView[]> {
  const res = await fetch(`${server.url}/openbatch/v1/instances?computeEnvironment=${ce}`, { headers: { authorization: 'AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/batch/aws4_request, SignedHeaders=host, Signature=00' } });
  return ((await res.json()) as { instances: InstanceView[] }).instances;
}

test('without a usable sandbox a local instance starts no job and says why; a compute environment that opts out runs its jobs', async () => {
  const client = batchClient(server.url);
  try {
    // Said at start, at warn level, with what to install.
    const startWarning = server.warnings().find((l) => l.includes('local instances will start no process jobs'));
    assert.ok(startWarning, `no warning at start:\n${server.warnings().join('\n')}`);
    assert.match(startWarning, /bubblewrap \(bwrap\) is not installed.*apt-get install bubblewrap.*sandbox=off/);

    await createCe(client, 'guarded', { maxvCpus: 1 });
    await createQueue(client, 'q', ['guarded']);
    await registerDefinition(client, 'hello', { command: ['echo', 'hello'] });
    const held = await submit(client, { jobQueue: 'q', jobDefinition: 'hello' });
    let inst: InstanceView | undefined;
    for (let i = 0; i < 200 && !inst; i++) {
      inst = (await instances('guarded')).find((x) => x.stateReason);
      if (!inst) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(inst, 'no held instance');
    assert.equal(inst.state, 'PENDING');
    assert.match(inst.stateReason!, /job sandbox cannot be used here: bubblewrap \(bwrap\) is not installed/);
    const ce = (await client.send(new DescribeComputeEnvironmentsCommand({ computeEnvironments: ['guarded'] }))).computeEnvironments![0];
    assert.match(ce.statusReason ?? '', /^INSTANCES HELD: the job sandbox cannot be used here/);
    // The CLI and the dashboard's data say it too.
    const cli = spawnSync(process.execPath, [CLI, 'instances', '--endpoint-url', server.url], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.match(cli.stdout, /PENDING \(held\).*apt-get install bubblewrap/);
    const dash = (await (await fetch(`${server.url}/openbatch/v1/dashboard/instances`)).json()) as { instances: { stateReason: string | null }[] };
    assert.ok(dash.instances.some((i) => /apt-get install bubblewrap/.test(i.stateReason ?? '')), JSON.stringify(dash));
    assert.ok(server.warnings().some((l) => l.includes('compute environment guarded starts no jobs')));
    const why = spawnSync(process.execPath, [CLI, 'why', held, '--endpoint-url', server.url], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
    assert.match(why.stdout, /CE guarded .*its instances held: the job sandbox cannot be used here/, why.stdout + why.stderr);

    // The operator opts out for one compute environment: its jobs run, and that is said at warn level.
    await client.send(
      new CreateComputeEnvironmentCommand({
        computeEnvironmentName: 'bare',
        type: 'MANAGED',
        tags: { 'openbatch:sandbox': 'off' },
        computeResources: { type: 'EC2', minvCpus: 0, maxvCpus: 1, instanceTypes: ['optimal'], subnets: ['subnet-1'], instanceRole: 'ecsInstanceRole' },
      }),
    );
    await createQueue(client, 'bare-q', ['bare']);
    const ran = await submit(client, { jobQueue: 'bare-q', jobDefinition: 'hello' });
    assert.equal((await waitForStatus(client, ran, ['SUCCEEDED', 'FAILED'], 60_000)).status, 'SUCCEEDED');
    assert.ok(server.warnings().some((l) => l.includes('compute environment bare runs its jobs without the sandbox (its tag openbatch:sandbox=off)')), server.warnings().join('\n'));
    // Meanwhile the first job waited: it was not run unsandboxed.
    assert.equal((await describeJob(client, held)).status, 'RUNNABLE');
  } finally {
    client.destroy();
  }
});

test('an agent that cannot sandbox jobs refuses to join, unless told --sandbox off', async () => {
  const client = batchClient(server.url);
  try {
    await client.send(new CreateComputeEnvironmentCommand({ computeEnvironmentName: 'machines', type: 'UNMANAGED' }));
    const token = (await import('node:fs')).readFileSync(join(dataDir, 'agent-join-token'), 'utf8').trim();
    const run = (extra: string[]) =>
      new Promise<{ code: number | null; out: string }>((resolve) => {
        const child = spawn(process.execPath, [CLI, 'agent', '--server', server.url, '--ce', 'machines', '--vcpus', '1', '--memory', '256', '--work-dir', join(root, `agent-${extra.length}`), ...extra], {
          env: { PATH: bin, OPENBATCH_AGENT_TOKEN: token },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let out = '';
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString();
          if (/joined compute environment/.test(out)) child.kill('SIGTERM');
        });
        child.stderr.on('data', (c: Buffer) => (out += c.toString()));
        child.once('exit', (code) => resolve({ code, out }));
      });
    const refused = await run([]);
    assert.notEqual(refused.code, 0);
    assert.match(refused.out, /this agent would start no job: the job sandbox cannot be used here: bubblewrap \(bwrap\) is not installed.*--sandbox off/);
    const joined = await run(['--sandbox', 'off']);
    assert.match(joined.out, /joined compute environment machines/);
  } finally {
    client.destroy();
  }
});
