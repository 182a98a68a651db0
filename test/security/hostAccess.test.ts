/**
 * Host volumes are the operator's to grant (docs/security.md, "API client"): a job definition
 * names host paths only under the server's hostVolumeRoots, never the data directory, and asks
 * for `privileged` only where allowPrivileged says so. Through the real SDK.
 */
import assert from 'node:assert/strict';
import { mkdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { RegisterJobDefinitionCommand, type ContainerProperties } from '@aws-sdk/client-batch';
import { parseLaunchTemplates } from '../../src/compute/launchTemplates.js';
import { createBody } from '../../src/executor/container.js';
import { createCe, createQueue, submit, waitForStatus } from '../helpers/fixtures.js';
import { startTestServer, tempDir, writableDir } from '../helpers/server.js';

const register = (name: string, cp: Partial<ContainerProperties>) =>
  new RegisterJobDefinitionCommand({
    jobDefinitionName: name,
    type: 'container',
    containerProperties: { image: 'busybox', command: ['true'], resourceRequirements: [{ type: 'VCPU', value: '1' }, { type: 'MEMORY', value: '64' }], ...cp },
  });
const volume = (sourcePath: string): Partial<ContainerProperties> => ({
  volumes: [{ name: 'v', host: { sourcePath } }],
  mountPoints: [{ sourceVolume: 'v', containerPath: '/v' }],
});
const refusal = (re: RegExp) => (e: Error) => e.name === 'ClientException' && re.test(e.message);

test('a job definition may name host paths only under hostVolumeRoots, never in the data directory, and privileged only when allowed', async () => {
  const granted = writableDir('openbatch-granted-');
  const t = await startTestServer({ hostVolumeRoots: [granted] });
  try {
    // Nothing is granted by default, and each refusal names the member and the setting.
    const bare = await startTestServer();
    try {
      await assert.rejects(bare.client.send(register('root', volume('/'))), refusal(/^containerProperties\.volumes\[0\]\.host\.sourcePath '\/' is not in a directory the server lets jobs mount \(setting hostVolumeRoots: none\)$/));
    } finally {
      await bare.close();
    }
    await assert.rejects(t.client.send(register('etc', volume('/etc'))), refusal(/sourcePath '\/etc' is not in a directory .* \(setting hostVolumeRoots: /));
    await assert.rejects(t.client.send(register('dotdot', volume(join(granted, '..', 'elsewhere')))), refusal(/is not in a directory the server lets jobs mount/));
    await assert.rejects(t.client.send(register('relative', volume('data'))), refusal(/sourcePath 'data' must be an absolute host path/));
    await assert.rejects(t.client.send(register('data', volume(join(t.dataDir, 'work')))), refusal(/is in the server's data directory, which no job may see/));
    await assert.rejects(
      t.client.send(register('device', { linuxParameters: { devices: [{ hostPath: '/dev/sda' }] } })),
      refusal(/^containerProperties\.linuxParameters\.devices\[0\]\.hostPath '\/dev\/sda' is not in a directory/),
    );
    await assert.rejects(t.client.send(register('priv', { privileged: true })), refusal(/^containerProperties\.privileged is true, .* \(setting allowPrivileged\)$/));
    await assert.rejects(
      t.client.send(
        new RegisterJobDefinitionCommand({
          jobDefinitionName: 'mnp',
          type: 'multinode',
          nodeProperties: { numNodes: 1, mainNode: 0, nodeRangeProperties: [{ targetNodes: '0', container: { image: 'busybox', command: ['true'], ...volume('/home') } }] },
        }),
      ),
      refusal(/^nodeProperties\.nodeRangeProperties\[0\]\.container\.volumes\[0\]\.host\.sourcePath '\/home'/),
    );
    // Under a root: accepted.
    mkdirSync(join(granted, 'sub'));
    await t.client.send(register('ok', volume(join(granted, 'sub'))));
  } finally {
    await t.close();
    rmSync(granted, { recursive: true, force: true });
  }
});

test('a definition whose grant was withdrawn, or whose path became a link out of its root, runs no more', async () => {
  const granted = writableDir('openbatch-granted-');
  const dataDir = tempDir();
  const first = await startTestServer({ hostVolumeRoots: [granted] }, { dataDir });
  try {
    await createCe(first.client, 'ce', { maxvCpus: 1 });
    await createQueue(first.client, 'q', ['ce']);
    mkdirSync(join(granted, 'in'));
    await first.client.send(register('vol', volume(join(granted, 'in'))));
    await first.client.send(register('moved', volume(join(granted, 'later'))));
    // The path becomes a link to /etc after registration: the attempt is refused when it is handed out.
    symlinkSync('/etc', join(granted, 'later'));
    const moved = await submit(first.client, { jobQueue: 'q', jobDefinition: 'moved' });
    const failed = await waitForStatus(first.client, moved, ['SUCCEEDED', 'FAILED'], 60_000);
    assert.equal(failed.status, 'FAILED');
    assert.match(failed.attempts?.[0]?.container?.reason ?? '', /^CannotStartContainerError: containerProperties\.volumes\[0\]\.host\.sourcePath '.*later' \(through links: '\/etc'\) is not in a directory the server lets jobs mount/);
  } finally {
    await first.close({ keepData: true });
  }
  // Restarted without the grant: SubmitJob refuses the definition registered under it.
  const again = await startTestServer({}, { dataDir });
  try {
    await assert.rejects(submit(again.client, { jobQueue: 'q', jobDefinition: 'vol' }), refusal(/^jobDefinition 'vol:1': containerProperties\.volumes\[0\]\.host\.sourcePath '.*' is not in a directory the server lets jobs mount \(setting hostVolumeRoots: none\)$/));
  } finally {
    await again.close();
    rmSync(granted, { recursive: true, force: true });
  }
});

test("a container's volume that holds a hidden path shows it empty; a launch template may not mount the data directory", () => {
  const dir = tempDir('openbatch-container-hide-');
  try {
    const data = join(dir, 'data');
    mkdirSync(data);
    writeFileSync(join(dir, 'credentials'), 'secret\n');
    const spec = {
      attemptId: 'j#1',
      command: ['true'],
      env: {},
      workDir: join(data, 'work'),
      vcpus: 1,
      memoryMiB: 64,
      settings: { image: 'busybox', volumes: [{ name: 'v', sourcePath: dir }], mountPoints: [{ sourceVolume: 'v', containerPath: '/v', readOnly: false }] },
    };
    const body = createBody(spec, 0, [realpathSync(data), realpathSync(join(dir, 'credentials'))]) as { HostConfig: { Binds: string[]; Tmpfs: Record<string, string> } };
    assert.deepEqual(body.HostConfig.Binds, [`${dir}:/v`, '/dev/null:/v/credentials:ro']);
    assert.deepEqual(Object.keys(body.HostConfig.Tmpfs), ['/v/data']);
    assert.throws(
      () => parseLaunchTemplates([{ launchTemplateName: 'bad', mounts: [{ sourcePath: join(data, 'work'), containerPath: 'w' }] }], data),
      /launchTemplates\[0\]\.mounts\[0\]\.sourcePath is in the data directory .*, which no job may see/,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
