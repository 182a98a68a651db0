/**
 * The task metadata endpoint: an attempt's URI answers its container's and its task's
 * documents as ECS's version 4 does, an attempt's own socket answers only that attempt, and
 * an attempt that ended answers no more.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TaskMetadataServer, type TaskFacts } from '../../src/agent/taskMetadata.js';

function facts(id: string): TaskFacts {
  return {
    taskArn: `arn:aws:ecs:eu-west-1:000000000000:task/${id}`,
    region: 'eu-west-1',
    clusterArn: 'arn:aws:ecs:eu-west-1:000000000000:cluster/ce_Batch_1234',
    family: 'render',
    revision: '3',
    launchType: 'EC2',
    containerInstanceArn: 'arn:aws:ecs:eu-west-1:000000000000:container-instance/i-0abc',
    logGroup: '/aws/batch/job',
    logStream: `render/default/${id}`,
  };
}

/** GET over TCP (a URI) or over a unix socket (a path through it). */
function get(target: { uri: string } | { socket: string; path: string }): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const opts = 'uri' in target ? new URL(target.uri) : { socketPath: target.socket, path: target.path };
    const req = request(opts, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('task metadata endpoint', () => {
  const server = new TaskMetadataServer();
  const dir = mkdtempSync(join(tmpdir(), 'openbatch-metadata-'));
  before(async () => server.start());
  after(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the container document: task ARN in its labels, awslogs options with group and stream, limits in CPU units and MiB', async () => {
    const token = server.register(facts('t1'), [{ name: 'default', image: 'busybox', vcpus: 2, memoryMiB: 512 }]);
    const uri = server.endpoint(token).loopback()!;
    const { status, body } = await get({ uri });
    assert.equal(status, 200);
    assert.equal((body.Labels as Record<string, string>)['com.amazonaws.ecs.task-arn'], 'arn:aws:ecs:eu-west-1:000000000000:task/t1');
    assert.equal(body.LogDriver, 'awslogs');
    assert.deepEqual(body.LogOptions, { 'awslogs-group': '/aws/batch/job', 'awslogs-region': 'eu-west-1', 'awslogs-stream': 'render/default/t1' });
    assert.deepEqual(body.Limits, { CPU: 2048, Memory: 512 });
    assert.equal(body.KnownStatus, 'PENDING');
  });

  test('the task document: ARN, cluster, family and revision, launch type, and its containers; RUNNING once started', async () => {
    const token = server.register(facts('t2'), [{ name: 'default', image: 'busybox', vcpus: 1, memoryMiB: 256 }]);
    const endpoint = server.endpoint(token);
    endpoint.started(Date.parse('2026-01-02T03:04:05Z'), { default: 'c0ffee' });
    const { status, body } = await get({ uri: `${endpoint.loopback()}/task` });
    assert.equal(status, 200);
    assert.equal(body.TaskARN, 'arn:aws:ecs:eu-west-1:000000000000:task/t2');
    assert.equal(body.Cluster, 'arn:aws:ecs:eu-west-1:000000000000:cluster/ce_Batch_1234');
    assert.deepEqual([body.Family, body.Revision, body.LaunchType, body.KnownStatus], ['render', '3', 'EC2', 'RUNNING']);
    const [container] = body.Containers as Record<string, unknown>[];
    assert.deepEqual([container.Name, container.DockerId, container.StartedAt], ['default', 'c0ffee', '2026-01-02T03:04:05.000Z']);
  });

  test('an attempt’s own socket answers that attempt only; an unknown URI, statistics and an ended attempt are 404', async () => {
    const mine = server.register(facts('t3'), [{ name: 'default', image: 'busybox', vcpus: 1, memoryMiB: 256 }]);
    const other = server.register(facts('t4'), [{ name: 'default', image: 'busybox', vcpus: 1, memoryMiB: 256 }]);
    const socket = join(dir, 'mine.sock');
    const path = server.endpoint(mine).unix(socket);
    assert.equal((await get({ socket, path: `${path}/task` })).body.TaskARN, 'arn:aws:ecs:eu-west-1:000000000000:task/t3');
    const otherPath = new URL(server.endpoint(other).loopback()!).pathname;
    assert.equal((await get({ socket, path: otherPath })).status, 404, 'another attempt’s documents are not reached through this socket');
    assert.equal((await get({ uri: server.endpoint(other).loopback()! })).status, 200, 'over its own URI they are');
    assert.equal((await get({ uri: `${server.endpoint(other).loopback()}/stats` })).status, 404);
    assert.equal((await get({ uri: 'http://127.0.0.1:1'.replace(':1', `:${new URL(server.endpoint(other).loopback()!).port}`) + '/v4/' + '0'.repeat(32) })).status, 404);
    server.unregister(other);
    assert.equal((await get({ uri: server.endpoint(other).loopback()! })).status, 404);
  });

  test('an ended attempt’s socket is removed, also where its path is too long to bind directly: its working directory is left empty', async () => {
    const workDir = join(dir, 'w'.repeat(120), 'job-1');
    mkdirSync(workDir, { recursive: true });
    const token = server.register(facts('t5'), [{ name: 'default', image: 'busybox', vcpus: 1, memoryMiB: 256 }]);
    const socket = join(workDir, 'relay.sock');
    server.endpoint(token).unix(socket);
    assert.ok(existsSync(socket));
    server.unregister(token);
    assert.ok(!existsSync(socket), 'the socket file is gone');
    assert.deepEqual(readdirSync(workDir), []);
  });

  test('a socket path where something already is gives no endpoint, and what is there keeps its mode', () => {
    const token = server.register(facts('t6'), [{ name: 'default', image: 'busybox', vcpus: 1, memoryMiB: 256 }]);
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'host file', { mode: 0o600 });
    const socket = join(dir, 'taken.sock');
    symlinkSync(secret, socket);
    assert.throws(() => server.endpoint(token).unix(socket), /cannot bind a socket/);
    assert.equal(statSync(secret).mode & 0o777, 0o600, 'not given to the job’s user');
    server.unregister(token);
  });
});
