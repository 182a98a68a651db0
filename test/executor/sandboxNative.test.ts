/**
 * The fork server's own sandbox (src/executor/sandbox.c) gives a job exactly the world that
 * bubblewrap gives it from the same arguments: one probe script, run both ways through the
 * process executor, must see the same user, capabilities, no_new_privs, mounts (points,
 * options, filesystems), root, /dev, /tmp, /run, descriptors, limits, processes, network
 * interfaces, environment and working directory — for a job as the job user, a root job, a
 * privileged one, one with volumes, tmpfs, shared memory, limits and a read-only root, and
 * one with a device; each with a launch template's mount holding a hidden file.
 * Only the agent running as root uses it (elsewhere bwrap runs), so the test needs root.
 */
import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ProcessExecutor } from '../../src/executor/process.js';
import { Sandbox } from '../../src/executor/sandbox.js';
import type { JobSettings, LogLine } from '../../src/executor/types.js';

const skip =
  typeof Sandbox.probe() === 'string' ? 'bubblewrap cannot sandbox jobs on this host' : process.getuid?.() !== 0 ? 'the fork server makes the sandbox only as root' : false;

/** What a job can see of its world, one section per line group; nothing that differs from run to run. */
const PROBE = `
echo "== id"; id
echo "== status"; grep -E '^(NoNewPrivs|Cap|Seccomp|Uid|Gid|Groups|NSpgid|NSsid)' /proc/self/status
echo "== mounts"; awk '{ sep=0; for (i=7;i<=NF;i++) if ($i=="-") sep=i; print $5, $6, $(sep+1), $(sep+3) }' /proc/self/mountinfo
echo "== root"; ls -la / | awk 'NR>1 {print $1, $NF}'
echo "== dev"; ls -la /dev | awk 'NR>1 {print $1, $NF}'
echo "== tmp and run"; ls -la /tmp /run | awk '{print $1, $NF}'
echo "== descriptors"; ls /proc/self/fd | sort -n
echo "== limits"; ulimit -a
echo "== processes"; echo $$; ls -d /proc/[0-9]* > /tmp/pids; wc -l < /tmp/pids
echo "== cwd"; pwd
echo "== environment"; env | sort
echo "== umask"; umask
echo "== network"; tail -n +3 /proc/net/dev | awk '{print $1}'; grep -c 'host LOCAL' /proc/net/fib_trie
echo "== writes"; touch /x 2>&1; touch /etc/x 2>&1; touch /tmp/x && echo tmp; touch ./x && echo workdir; touch /dev/shm/x && echo shm
echo "== end"
`;

function layout() {
  const root = mkdtempSync(join(tmpdir(), 'openbatch-native-'));
  chmodSync(root, 0o755);
  const data = join(root, 'data');
  const host = join(root, 'host');
  mkdirSync(host);
  writeFileSync(join(host, 'f'), 'x');
  writeFileSync(join(host, 'secret'), 'hidden');
  mkdirSync(join(data, 'hidden-inside'), { recursive: true });
  return { root, data, host };
}

/**
 * The probe's output with, of several mounts at one path, only the last (the one on top, the
 * only one a job reaches). bubblewrap remounts binds path by path, so a mount shadowed by
 * another at the same path keeps the host's flags; the fork server's sandbox sets them on the
 * whole tree at once (nosuid on a shadowed /dev/shm as well): stricter, and out of reach.
 */
function reachable(out: string): string {
  const [before, rest] = out.split('== mounts\n');
  if (rest === undefined) return out;
  const at = rest.indexOf('\n== ');
  const lines = rest.slice(0, at).split('\n');
  const last = new Map(lines.map((l, i) => [l.split(' ')[0], i]));
  return `${before}== mounts\n${lines.filter((l, i) => last.get(l.split(' ')[0]) === i).join('\n')}${rest.slice(at)}`;
}

async function run(executor: ProcessExecutor, workDir: string, settings: JobSettings, mounts: { sourcePath: string }[] = []): Promise<{ code: number | null; out: string; err: string; reason?: string }> {
  const lines: LogLine[] = [];
  const spec = { attemptId: 'a#1', command: ['sh', '-c', PROBE], env: { PROBE_VAR: 'v' }, workDir, vcpus: 1, memoryMiB: 256, settings, mounts: mounts.map((m) => ({ ...m, containerPath: 'granted' })) };
  const h = executor.start(spec, (l) => lines.push(...l));
  const exit = await h.exited;
  const text = (s: string) => lines.filter((l) => l.stream === s).map((l) => l.message).join('\n');
  return { code: exit.exitCode, out: reachable(text('stdout')), err: text('stderr'), reason: exit.reason };
}

const cases: [string, (l: ReturnType<typeof layout>) => JobSettings][] = [
  ['a job as the job user', () => ({})],
  ['a job as root', () => ({ user: 'root' })],
  ['a privileged job', () => ({ privileged: true })],
  [
    'a job with volumes, tmpfs, shared memory, limits and a read-only root',
    (l) => ({
      volumes: [
        { name: 'host', sourcePath: l.host },
        { name: 'scratch' },
        { name: 'over', sourcePath: l.root },
      ],
      mountPoints: [
        { sourceVolume: 'host', containerPath: '/data/in', readOnly: true },
        { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false },
        { sourceVolume: 'over', containerPath: '/over', readOnly: true },
      ],
      tmpfs: [{ containerPath: '/fast', sizeMiB: 16 }],
      sharedMemorySizeMiB: 32,
      ulimits: [{ name: 'nofile', softLimit: 1024, hardLimit: 2048 }],
      readonlyRootFilesystem: true,
    }),
  ],
  ['a job with a device', () => ({ devices: [{ hostPath: '/dev/zero', containerPath: '/dev/myzero' }] })],
];

for (const [name, settings] of cases) {
  test(`${name} sees the same world in the fork server's sandbox as in bubblewrap's`, { skip }, async () => {
    const l = layout();
    const opts = { cgroups: false as const, hidden: [l.data, join(l.host, 'secret')], jobUser: 'nobody' };
    const native = new ProcessExecutor(opts);
    const bwrap = new ProcessExecutor({ ...opts, nativeSandbox: false });
    try {
      // Each in a working directory of the same name, made afresh (scratch volumes live there).
      // The host's own mounts may change meanwhile (other containers come and go): then again.
      const dir = join(l.data, 'work', 'attempt');
      let results: Awaited<ReturnType<typeof run>>[] = [];
      for (let tries = 0; tries < 5; tries++) {
        const hostMounts = readFileSync('/proc/self/mountinfo', 'utf8');
        results = [];
        for (const ex of [bwrap, native]) {
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(dir, { recursive: true });
          results.push(await run(ex, dir, settings(l), [{ sourcePath: l.host }]));
        }
        if (readFileSync('/proc/self/mountinfo', 'utf8') === hostMounts) break;
      }
      const [viaBwrap, viaNative] = results;
      assert.equal(viaBwrap.code, 0, `bubblewrap: ${viaBwrap.reason ?? ''}\n${viaBwrap.err}`);
      assert.match(viaBwrap.out, /== end$/);
      assert.equal(viaNative.code, 0, `fork server: ${viaNative.reason ?? ''}\n${viaNative.err}`);
      assert.equal(viaNative.out, viaBwrap.out);
      assert.equal(viaNative.err, viaBwrap.err);
    } finally {
      native.close();
      bwrap.close();
      rmSync(l.root, { recursive: true, force: true });
    }
  });
}

test('outside the sandbox, the fork server switches user and sets limits as setpriv and prlimit do', { skip: process.getuid?.() !== 0 ? 'the agent is not root' : false }, async () => {
  const l = layout();
  // A program the job user reaches only through a directory of root's alone: setpriv looks it
  // up with root's capabilities still held, and so must the fork server.
  const closed = join(l.root, 'closed');
  mkdirSync(join(closed, 'bin'), { recursive: true });
  chmodSync(closed, 0o700);
  symlinkSync('/bin/sh', join(closed, 'bin', 'probe-sh'));
  const opts = { cgroups: false as const, sandbox: 'off' as const, jobUser: 'nobody', baseEnv: { PATH: `${join(closed, 'bin')}:/usr/bin:/bin` } };
  const native = new ProcessExecutor(opts);
  const programs = new ProcessExecutor({ ...opts, useForkServer: false });
  try {
    const dir = join(l.root, 'work');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    const settings: JobSettings = { ulimits: [{ name: 'nofile', softLimit: 512, hardLimit: 1024 }] };
    const outputs = [];
    for (const ex of [programs, native]) {
      const lines: LogLine[] = [];
      const command = ['probe-sh', '-c', `${PROBE.split('echo "== mounts"')[0]}\nulimit -a; env | sort; pwd`];
      const exit = await ex.start({ attemptId: 'a#1', command, env: {}, workDir: dir, vcpus: 1, memoryMiB: 64, settings }, (x) => lines.push(...x)).exited;
      assert.equal(exit.exitCode, 0, exit.reason);
      // (the session's id is the job's own pid, on the host)
      outputs.push(lines.filter((x) => !/^NS(pgid|sid):/.test(x.message)).map((x) => `${x.stream} ${x.message}`).join('\n'));
    }
    assert.match(outputs[0], /uid=65534/);
    assert.match(outputs[0], /open files +\(-n\) 512|nofiles +512/);
    assert.equal(outputs[1], outputs[0]);
  } finally {
    native.close();
    programs.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});

test('a sandbox the fork server cannot make fails the attempt as never started, saying why', { skip }, async () => {
  const l = layout();
  const executor = new ProcessExecutor({ cgroups: false, hidden: [l.data] });
  try {
    const dir = join(l.data, 'work', 'attempt');
    mkdirSync(dir, { recursive: true });
    // A device that does not exist on the host cannot be bound.
    const lines: LogLine[] = [];
    const h = executor.start(
      { attemptId: 'a#1', command: ['true'], env: {}, workDir: dir, vcpus: 1, memoryMiB: 64, settings: { devices: [{ hostPath: join(l.root, 'no-such-device') }] } },
      (x) => lines.push(...x),
    );
    const exit = await h.exited;
    assert.equal(exit.exitCode, null);
    assert.equal(exit.neverStarted, true);
    assert.match(exit.reason ?? '', /^CannotStartContainerError: sandbox: .*no-such-device.*: ENOENT$/);
  } finally {
    executor.close();
    rmSync(l.root, { recursive: true, force: true });
  }
});
