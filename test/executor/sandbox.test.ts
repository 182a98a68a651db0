/**
 * The process executor's sandbox against real processes: what a job can see and change of
 * the host (docs/security.md, "job"). Hidden paths stay hidden under every name a grant could
 * give them; the host's directories are read-only; the working directory is the job's.
 */
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { ProcessExecutor } from '../../src/executor/process.js';
import { Sandbox } from '../../src/executor/sandbox.js';
import type { JobSettings, LogLine } from '../../src/executor/types.js';

const noSandbox = typeof Sandbox.probe() === 'string' ? 'bubblewrap cannot sandbox jobs on this host' : false;
const asRoot = process.getuid?.() === 0;

/** An agent's layout: a data directory with a token and two attempts' directories, a host directory beside it. */
function layout() {
  const root = mkdtempSync(join(tmpdir(), 'openbatch-sandbox-'));
  chmodSync(root, 0o755);
  const data = join(root, 'data');
  const mine = join(data, 'work', 'i-1', 'mine-1');
  const other = join(data, 'work', 'i-1', 'other-1');
  mkdirSync(mine, { recursive: true });
  mkdirSync(other, { recursive: true });
  writeFileSync(join(data, 'agent-join-token'), 'join-token-value\n');
  writeFileSync(join(other, 'leak'), 'other-job-secret\n');
  const secret = join(root, 'credentials');
  writeFileSync(secret, 'AKID:credential-value\n', { mode: 0o644 });
  const host = join(root, 'host');
  mkdirSync(host);
  writeFileSync(join(host, 'visible'), 'host file\n', { mode: 0o644 });
  return { root, data, instanceDir: dirname(mine), mine, other, secret, host };
}

async function run(executor: ProcessExecutor, workDir: string, script: string, settings: JobSettings = {}): Promise<{ code: number | null; out: string[]; err: string[] }> {
  const lines: LogLine[] = [];
  const h = executor.start({ attemptId: 'mine#1', command: ['sh', '-c', script], env: {}, workDir, vcpus: 1, memoryMiB: 128, settings }, (l) => lines.push(...l));
  const exit = await h.exited;
  return { code: exit.exitCode, out: lines.filter((l) => l.stream === 'stdout').map((l) => l.message), err: lines.filter((l) => l.stream === 'stderr').map((l) => l.message) };
}

test('a sandboxed job sees neither the hidden data directory nor hidden files, and can change neither', { skip: noSandbox }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false, hidden: [l.data, l.secret] });
  try {
    const r = await run(
      executor,
      l.mine,
      `ls -A "${l.data}"; ls -A "${l.instanceDir}"; cat "${l.data}/agent-join-token" "${l.other}/leak" "${l.secret}" 2>/dev/null; ` +
        `cat "${l.host}/visible"; echo mine > here && cat here; ` +
        `touch "${l.data}/x" 2>/dev/null && echo WROTE-data; touch "${l.host}/x" 2>/dev/null && echo WROTE-host; echo x > "${l.secret}" 2>/dev/null && echo WROTE-secret; echo end`,
    );
    assert.equal(r.code, 0, r.err.join('\n'));
    // The data directory shows only the way to the job's own directory.
    assert.deepEqual(r.out, ['work', 'mine-1', 'host file', 'mine', 'end']);
    assert.equal(readFileSync(l.secret, 'utf8'), 'AKID:credential-value\n');
    assert.equal(existsSync(join(l.data, 'x')), false);
    assert.equal(existsSync(join(l.host, 'x')), false);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a volume whose host path holds a hidden directory shows everything but it', { skip: noSandbox }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false, hidden: [l.data] });
  try {
    const settings: JobSettings = { volumes: [{ name: 'all', sourcePath: l.root }], mountPoints: [{ sourceVolume: 'all', containerPath: '/all', readOnly: true }] };
    const r = await run(executor, l.mine, 'cat /all/host/visible; ls -A /all/data; cat /all/data/agent-join-token 2>/dev/null; pwd; echo end', settings);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, ['host file', l.mine, 'end']);
    // The grant may not name what is hidden.
    const refused = await run(executor, l.mine, 'true', { volumes: [{ name: 'd', sourcePath: l.data }], mountPoints: [{ sourceVolume: 'd', containerPath: '/d', readOnly: true }] });
    assert.equal(refused.code, null);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a volume mounted over the hidden data directory at its own path keeps the working directory', { skip: noSandbox }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false, hidden: [l.data] });
  try {
    const settings: JobSettings = { volumes: [{ name: 'root', sourcePath: l.root }], mountPoints: [{ sourceVolume: 'root', containerPath: l.root, readOnly: false }] };
    const r = await run(executor, l.mine, `echo ok > here && cat here; ls -A "${l.instanceDir}"; cat "${l.host}/visible"`, settings);
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, ['ok', 'mine-1', 'host file']);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a job inherits no descriptor but 0, 1 and 2, and sees only its own processes', { skip: noSandbox }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false });
  try {
    // $$ of the shell is 2 (bwrap's init is 1); ls lists its own descriptor for /proc/self/fd.
    const r = await run(executor, l.mine, 'ls /proc/self/fd | sort -n | tr "\\n" " "; echo; ls -d /proc/[0-9]* | wc -l');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.equal(r.out[0].trim(), '0 1 2 3');
    assert.ok(Number(r.out[1]) <= 4, `the job sees ${r.out[1]} processes`);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('as root, the job runs as the job user; the host sockets under /run are not there', { skip: noSandbox || (asRoot ? false : 'the agent is not root') }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false, jobUser: 'nobody' });
  try {
    const r = await run(executor, l.mine, 'id -u; ls -A /run | wc -l; touch mine && stat -c %u mine');
    assert.equal(r.code, 0, r.err.join('\n'));
    assert.deepEqual(r.out, ['65534', '0', '65534']);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test("a sandboxed job reaches no service of the host's, the server's API included: its network is its own loopback", { skip: noSandbox }, async () => {
  const l = layout();
  const service = createServer((s) => {
    s.on('error', () => undefined); // the job hangs up at once
    s.end('hello\n');
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const port = (service.address() as AddressInfo).port;
  const script = `if exec 3<>/dev/tcp/127.0.0.1/${port}; then echo reached; else echo unreachable; fi 2>/dev/null`;
  const boxed = new ProcessExecutor({ cgroups: false });
  const open = new ProcessExecutor({ cgroups: false, sandboxNetwork: 'host' });
  try {
    assert.deepEqual((await run(boxed, l.mine, `bash -c '${script}'`)).out, ['unreachable']);
    // The same job with the host's network (the operator's sandboxNetwork: host) reaches it: the check works.
    assert.deepEqual((await run(open, l.mine, `bash -c '${script}'`)).out, ['reached']);
  } finally {
    boxed.close();
    open.close();
    service.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});
