/**
 * A job is a guest (docs/security.md, "job"): on default settings — the process executor,
 * bubblewrap present — a job looking for the server's secrets, another job's secret values,
 * agent tokens, the join token and the database finds none of them and can change nothing.
 * Through the real SDK, a real server process and real agents.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { TerminateJobCommand } from '@aws-sdk/client-batch';
import { Sandbox } from '../../src/executor/sandbox.js';
import { createCe, createQueue, describeJob, logLines, registerDefinition, submit, waitForStatus } from '../helpers/fixtures.js';
import { dropTestDatabase } from '../helpers/postgres.js';
import { batchClient, spawnServer, tempDir } from '../helpers/server.js';
import { RELAY_SOCKET } from '../../src/executor/metadataRelay.js';

const noSandbox = typeof Sandbox.probe() === 'string' ? 'bubblewrap cannot sandbox jobs on this host' : false;
const asRoot = process.getuid?.() === 0;

/** Every value of OPENBATCH_AGENT_TOKEN among this host's processes (the test may read them; a job may not). */
function agentTokens(): string[] {
  const tokens: string[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const kv = readFileSync(`/proc/${name}/environ`, 'utf8').split('\0').find((e) => e.startsWith('OPENBATCH_AGENT_TOKEN='));
      if (kv) tokens.push(kv.slice('OPENBATCH_AGENT_TOKEN='.length));
    } catch {
      // gone, or not ours to read
    }
  }
  return tokens;
}

/**
 * What the prying job does: prints everything it can find where the service keeps its secrets,
 * then tries to change the service's files and another job's. Every success prints WROTE.
 */
const PRY = `
set +e
echo "uid=$(id -u)"
echo "== environments"; for f in /proc/[0-9]*/environ; do tr '\\0' '\\n' < "$f"; done
echo "== processes"; for f in /proc/[0-9]*/cmdline; do tr '\\0' ' ' < "$f"; echo; done
echo "== data directory"; ls -laR "$DATA_DIR" 2>&1 | head -100
cat "$DATA_DIR/agent-join-token" 2>&1
tr -cd '[:print:]\\n' < "$DATA_DIR/openbatch.db" 2>&1 | head -c 100000
cat "$WORK_ROOT"/*/"$VICTIM"-1/leak 2>&1
echo "== server files"; cat "$SECRETS_FILE" "$CONFIG_FILE" 2>&1
echo "== sockets"; ls -la /run /var/run 2>&1
echo "== descriptors"; ls /proc/self/fd
echo "== writes"
echo forged > "$DATA_DIR/agent-join-token" 2>/dev/null && echo "WROTE join token"
touch "$DATA_DIR/pwned" 2>/dev/null && echo "WROTE data directory"
echo x >> "$DATA_DIR/openbatch.db" 2>/dev/null && echo "WROTE database"
for d in "$WORK_ROOT"/*/"$VICTIM"-1; do touch "$d/pwned" 2>/dev/null && echo "WROTE other job's directory"; done
echo forged > "$SECRETS_FILE" 2>/dev/null && echo "WROTE secrets file"
touch "/etc/pwned-$MARK" 2>/dev/null && echo "WROTE /etc"
touch "$SHARED/pwned-$MARK" 2>/dev/null && echo "WROTE host directory"
kill -9 -1 2>/dev/null
echo "== done"
`;

test('a job looking for the service\'s secrets, other jobs\' secrets, agent tokens, the join token and the database finds none and changes nothing', { skip: noSandbox }, async () => {
  const dataDir = tempDir();
  const outside = tempDir('openbatch-outside-');
  const mark = `m${process.pid}x${Date.now()}`;
  const secrets = {
    serverKey: `server-key-${mark}`,
    hook: `hook-secret-${mark}`,
    victimSecret: `victim-secret-${mark}`,
    victimEnv: `victim-env-${mark}`,
    envSecret: `env-secret-${mark}`,
  };
  const secretsFile = join(outside, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ victim: secrets.victimSecret }), { mode: 0o644 });
  const configFile = join(outside, 'config.json');
  writeFileSync(configFile, JSON.stringify({ webhooks: [{ name: 'h', url: 'http://127.0.0.1:9/hook', secret: secrets.hook }] }), { mode: 0o644 });
  // A host directory readable by everyone: the job may read it, never write it.
  writeFileSync(join(outside, 'readable'), 'yes\n', { mode: 0o644 });
  chmodSync(outside, 0o755);
  const server = await spawnServer(dataDir, 0, {
    OPENBATCH_CREDENTIALS: `AKIDJOB:${secrets.serverKey}`,
    OPENBATCH_SECRETS_FILE: secretsFile,
    OPENBATCH_CONFIG: configFile,
    OPENBATCH_SECRET_fromenv: secrets.envSecret,
  });
  const client = batchClient(server.url, { accessKeyId: 'AKIDJOB', secretAccessKey: secrets.serverKey });
  let victim: string | undefined;
  try {
    await createCe(client, 'ce', { maxvCpus: 2 });
    await createQueue(client, 'q', ['ce']);
    await registerDefinition(client, 'victim', {
      command: ['sh', '-c', 'echo "$VICTIM_SECRET $FROM_ENV" > leak; sleep 120'],
      environment: [{ name: 'VICTIM_ENV', value: secrets.victimEnv }],
      secrets: [
        { name: 'VICTIM_SECRET', valueFrom: 'victim' },
        { name: 'FROM_ENV', valueFrom: 'fromenv' },
      ],
    });
    victim = await submit(client, { jobQueue: 'q', jobDefinition: 'victim' });
    await waitForStatus(client, victim, ['RUNNING'], 60_000, () => server.warnings().join('\n'));
    await registerDefinition(client, 'pry', {
      command: ['sh', '-c', PRY],
      environment: [
        { name: 'DATA_DIR', value: dataDir },
        // where the local agents keep their attempts' working directories
        { name: 'WORK_ROOT', value: join(dataDir, 'work') },
        { name: 'VICTIM', value: victim },
        { name: 'SECRETS_FILE', value: secretsFile },
        { name: 'CONFIG_FILE', value: configFile },
        { name: 'SHARED', value: outside },
        { name: 'MARK', value: mark },
      ],
    });
    const joinToken = readFileSync(join(dataDir, 'agent-join-token'), 'utf8').trim();
    const tokens = agentTokens();
    assert.ok(tokens.length > 0, 'the test found the agents\' tokens');
    const pry = await submit(client, { jobQueue: 'q', jobDefinition: 'pry' });
    const done = await waitForStatus(client, pry, ['SUCCEEDED', 'FAILED'], 60_000);
    const log = (await logLines(server.url, done.container!.logStreamName!, { accessKeyId: 'AKIDJOB', secretAccessKey: secrets.serverKey })).join('\n');
    assert.match(log, /== done/, `the job ran to its end:\n${log.slice(0, 4000)}`);
    if (asRoot) assert.match(log, /^uid=65534$/m, 'a root agent runs the job as nobody');

    const found = Object.entries({ ...secrets, joinToken, ...Object.fromEntries(tokens.map((t, i) => [`agent token ${i}`, t])) }).filter(([, v]) => log.includes(v));
    assert.deepEqual(found.map(([k]) => k), [], `the job found secrets:\n${log.slice(0, 4000)}`);
    assert.doesNotMatch(log, /openbatch agent|cli\/main\.js/, 'the job sees no agent process');
    assert.doesNotMatch(log, /podman\.sock|docker\.sock|dbus|systemd/, 'the job sees no host sockets');
    assert.deepEqual(log.split('\n').filter((l) => l.startsWith('WROTE')), [], 'the job changed something');
    assert.deepEqual(log.split('== descriptors\n')[1].split('\n== writes')[0].split('\n').sort(), ['0', '1', '2', '3'], 'the job inherited only 0, 1 and 2 (3 is ls\'s own)');

    // Nothing changed on the host.
    assert.equal(readFileSync(join(dataDir, 'agent-join-token'), 'utf8').trim(), joinToken);
    assert.equal(readFileSync(secretsFile, 'utf8'), JSON.stringify({ victim: secrets.victimSecret }));
    for (const p of [join(dataDir, 'pwned'), `/etc/pwned-${mark}`, join(outside, `pwned-${mark}`)]) assert.equal(existsSync(p), false, p);
    const victimDirs = readdirSync(join(dataDir, 'work')).map((i) => join(dataDir, 'work', i, `${victim}-1`)).filter((d) => existsSync(d));
    assert.equal(victimDirs.length, 1);
    // (and the agent's task metadata socket of that attempt, which answers that attempt alone: agent/taskMetadata.ts)
    assert.deepEqual(readdirSync(victimDirs[0]).filter((f) => f !== RELAY_SOCKET), ['leak'], 'the other job\'s directory holds only what it wrote');
    assert.equal((await describeJob(client, victim)).status, 'RUNNING', 'the other job runs on, untouched');
  } finally {
    if (victim) await client.send(new TerminateJobCommand({ jobId: victim, reason: 'test over' })).catch(() => undefined);
    client.destroy();
    // Its agents outlive it: stopped too.
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(outside, { recursive: true, force: true });
    await dropTestDatabase(dataDir);
  }
});
