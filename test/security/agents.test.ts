/**
 * What an agent holds (docs/security.md, "agent"): a local agent gets its own token and the
 * few host variables it needs, nothing of the server's environment.
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { test } from 'node:test';
import { createCe, createQueue } from '../helpers/fixtures.js';
import { dropTestDatabase } from '../helpers/postgres.js';
import { batchClient, spawnServer, tempDir } from '../helpers/server.js';

/** The processes whose parent is `pid`, with their command lines. */
function childrenOf(pid: number): { pid: number; cmdline: string[] }[] {
  const out: { pid: number; cmdline: string[] }[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== pid) continue;
      out.push({ pid: Number(name), cmdline: readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0') });
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

function environOf(pid: number): Map<string, string> {
  const env = new Map<string, string>();
  for (const kv of readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')) {
    if (!kv) continue;
    const at = kv.indexOf('=');
    env.set(kv.slice(0, at), kv.slice(at + 1));
  }
  return env;
}

test("a local agent's environment holds its own token and a few host variables, nothing of the server's", async () => {
  const dataDir = tempDir();
  const secretKey = `agent-env-secret-${process.pid}`;
  const hookSecret = `agent-env-hook-${process.pid}`;
  const serverOnly = `agent-env-other-${process.pid}`;
  const server = await spawnServer(dataDir, 0, {
    OPENBATCH_CREDENTIALS: `AKIDENV:${secretKey}`,
    OPENBATCH_WEBHOOKS: JSON.stringify([{ name: 'h', url: 'http://127.0.0.1:9/hook', secret: hookSecret }]),
    SOME_OPERATOR_VARIABLE: serverOnly,
  });
  const client = batchClient(server.url, { accessKeyId: 'AKIDENV', secretAccessKey: secretKey });
  try {
    await createCe(client, 'ce', { minvCpus: 1, maxvCpus: 1 });
    await createQueue(client, 'q', ['ce']);
    let agents: { pid: number; cmdline: string[] }[] = [];
    for (let i = 0; i < 400 && agents.length === 0; i++) {
      agents = childrenOf(server.child.pid!).filter((c) => c.cmdline.includes('agent'));
      if (agents.length === 0) await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(agents.length, 1, `no agent process started: ${server.warnings().join('\n')}`);
    const env = environOf(agents[0].pid);
    assert.ok(env.get('OPENBATCH_AGENT_TOKEN'), 'the agent has its token');
    const allowed = new Set(['PATH', 'HOME', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'OPENBATCH_AGENT_TOKEN']);
    assert.deepEqual([...env.keys()].filter((k) => !allowed.has(k)), [], 'variables the agent was given beyond what it needs');
    const all = [...env.values()].join('\n');
    for (const s of [secretKey, hookSecret, serverOnly]) assert.ok(!all.includes(s), `the agent's environment holds a server secret (${s})`);
  } finally {
    client.destroy();
    // Its agent outlives it: stopped too.
    await server.stop();
    rmSync(dataDir, { recursive: true, force: true });
    await dropTestDatabase(dataDir);
  }
});
