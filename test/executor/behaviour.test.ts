/**
 * One behavioural suite, run against every executor: the same attempt (command, job
 * definition settings) must give the same result whether it runs as a process on this host
 * or as a container — output, exit codes, limits, volumes, users, termination, cleanup.
 *
 * The container runs need the Docker API socket that scripts/ci/podman.sh starts
 * (OPENBATCH_TEST_DOCKER_HOST) and its test image (OPENBATCH_TEST_IMAGE); without the socket
 * they are skipped, saying so. The process runs use whatever this host offers (cgroups,
 * bubblewrap); a test that needs a mechanism the host lacks is skipped, saying which.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor, OOM_REASON } from '../../src/executor/process.js';
import { ContainerExecutor } from '../../src/executor/container.js';
import { DockerApi, socketPath } from '../../src/executor/dockerApi.js';
import { NOTICE_PREFIX, type AttemptSpec, type Executor, type JobSettings, type LogLine, type RunningAttempt } from '../../src/executor/types.js';
import { CPU_SHARES_SCRIPT } from '../helpers/cpuScripts.js';
import { withoutUsage } from '../helpers/exits.js';

const DOCKER_HOST = process.env.OPENBATCH_TEST_DOCKER_HOST ?? '';
const IMAGE = process.env.OPENBATCH_TEST_IMAGE ?? 'localhost/openbatch-test/busybox:latest';
const haveDocker = DOCKER_HOST !== '' && existsSync(socketPath(DOCKER_HOST));

async function inWorkDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'openbatch-behaviour-'));
  try {
    const result = await body(dir);
    rmSync(dir, { recursive: true, force: true });
    return result;
  } catch (e) {
    if (e instanceof Error) e.message += `\n(work directory kept: ${dir})`;
    throw e;
  }
}

interface Run {
  handle: RunningAttempt;
  lines: LogLine[];
  firstLine: Promise<string>;
}

function startAttempt(ex: Executor, spec: AttemptSpec): Run {
  let first!: (l: string) => void;
  const run: Run = { handle: undefined as unknown as RunningAttempt, lines: [], firstLine: new Promise((r) => (first = r)) };
  run.handle = ex.start(spec, (batch) => {
    run.lines.push(...batch);
    const l = batch.find((x) => x.stream === 'stdout');
    if (l) first(l.message);
  });
  return run;
}

const out = (lines: LogLine[]) => lines.filter((l) => l.stream === 'stdout').map((l) => l.message);
const notices = (lines: LogLine[]) => lines.filter((l) => l.message.startsWith(NOTICE_PREFIX)).map((l) => l.message);

/** Live processes whose command line contains `token` (container processes are visible from the host too). */
function livingWith(token: string): number[] {
  const found: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (!readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(token)) continue;
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (!stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) found.push(Number(name));
    } catch {
      // exited
    }
  }
  return found;
}

async function until(cond: () => boolean | Promise<boolean>, tries = 500): Promise<boolean> {
  for (let i = 0; i < tries; i++) {
    if (await cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** Prints the CPU quota of the job's own cgroup as "<quota> <period>", on cgroup v1 or v2, in a container or not. */
const CPU_QUOTA_SCRIPT = [
  'p=$(grep -E "^[0-9]+:([^:]*,)?cpu(,[^:]*)?:" /proc/self/cgroup | head -n1 | cut -d: -f3)',
  'if [ -n "$p" ]; then',
  '  for d in "/sys/fs/cgroup/cpu$p" /sys/fs/cgroup/cpu; do',
  '    if [ -f "$d/cpu.cfs_quota_us" ]; then echo "$(cat $d/cpu.cfs_quota_us) $(cat $d/cpu.cfs_period_us)"; exit 0; fi',
  '  done',
  'fi',
  'p=$(grep "^0::" /proc/self/cgroup | cut -d: -f3)',
  'for d in "/sys/fs/cgroup$p" /sys/fs/cgroup; do',
  '  if [ -f "$d/cpu.max" ]; then cat "$d/cpu.max"; exit 0; fi',
  'done',
  'echo "no cpu quota file"; exit 1',
].join('\n');

interface Target {
  name: string;
  skip: string | false;
  make(): Executor;
  /** containers are found by label after the attempt, to prove they are gone */
  leftovers(attemptId: string): Promise<number>;
}

const processExecutor = new ProcessExecutor();
const targets: Target[] = [
  {
    name: 'process',
    skip: false,
    make: () => processExecutor,
    leftovers: async () => 0,
  },
  {
    name: 'container',
    skip: haveDocker ? false : 'no Docker API socket: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh starts one)',
    make: () => new ContainerExecutor({ dockerHost: DOCKER_HOST }),
    leftovers: async (attemptId) => {
      const filters = encodeURIComponent(JSON.stringify({ label: [`openbatch.attempt=${attemptId}`] }));
      const list = await new DockerApi(DOCKER_HOST).call<unknown[]>('GET', `/containers/json?all=1&filters=${filters}`);
      return list.length;
    },
  },
];

let seq = 0;
function spec(workDir: string, command: string[], extra: Partial<AttemptSpec> & { settings?: JobSettings } = {}): AttemptSpec {
  return {
    attemptId: `behaviour-${process.pid}-${++seq}#1`,
    command,
    env: {},
    workDir,
    vcpus: 1,
    memoryMiB: 256,
    ...extra,
    settings: { image: IMAGE, ...(extra.settings ?? {}) },
  };
}

for (const target of targets) {
  describe(`executor behaviour: ${target.name}`, { skip: target.skip }, () => {
    const procCaps = processExecutor.capabilities;
    const needsCgroups = target.name === 'process' && !procCaps.cgroups ? 'this host gives the agent no cgroups' : false;
    const needsSandbox = target.name === 'process' && !procCaps.sandbox ? 'bubblewrap is not usable on this host' : false;

    test('output lines and the exit code come back', async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'echo one; echo two >&2; echo three; exit 3']));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 3 });
        assert.deepEqual(out(r.lines), ['one', 'three']);
        assert.deepEqual(r.lines.filter((l) => l.stream === 'stderr').map((l) => l.message), ['two']);
        assert.deepEqual(notices(r.lines), [], 'this host enforces everything this job asks');
      });
    });

    test('the job environment reaches the job', async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'echo "$GREETING|$AWS_BATCH_JOB_ID"'], { env: { GREETING: 'hello world', AWS_BATCH_JOB_ID: 'j-1' } }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
        assert.deepEqual(out(r.lines), ['hello world|j-1']);
      });
    });

    test('a job over its memory limit is killed with exit code 137 and the OutOfMemoryError reason', { skip: needsCgroups }, async () => {
      await inWorkDir(async (dir) => {
        // The shell holds the whole command substitution in memory: 200 MB against 64 MiB.
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived'], { memoryMiB: 64 }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 137, reason: OOM_REASON });
        assert.ok(!out(r.lines).includes('survived'));
      });
    });

    test('VCPU becomes the CPU quota of the job’s cgroup', { skip: needsCgroups }, async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', CPU_QUOTA_SCRIPT], { vcpus: 0.5 }));
        const exit = await r.handle.exited;
        assert.deepEqual(withoutUsage(exit), { exitCode: 0 }, out(r.lines).join('\n'));
        assert.deepEqual(out(r.lines), ['50000 100000']);
      });
    });

    test('vcpuLimit shares: VCPU becomes 1,024 CPU shares per vCPU and no quota, as ECS gives', { skip: needsCgroups }, async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', CPU_SHARES_SCRIPT], { vcpus: 2, settings: { vcpuLimit: 'shares' } }));
        const exit = await r.handle.exited;
        assert.deepEqual(withoutUsage(exit), { exitCode: 0 }, out(r.lines).join('\n'));
        // v1: 2048 shares and quota -1; v2: the weight runc maps 2048 shares to, and no max.
        assert.ok(['2048 -1', '79 max'].includes(out(r.lines)[0]), out(r.lines).join('\n'));
      });
    });

    test('initProcessEnabled: an init runs the job and forwards SIGTERM to it (a plain sleep dies of it, not of the SIGKILL after the grace)', async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'echo "pid $$"; exec sleep 300'], { settings: { initProcessEnabled: true } }));
        const first = await r.firstLine;
        assert.notEqual(first, 'pid 1', 'the job is not the container’s pid 1');
        r.handle.terminate(60_000);
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 143 });
      });
    });

    test('volumes are mounted at their mountPoints, read-only where asked', { skip: needsSandbox }, async () => {
      await inWorkDir(async (dir) => {
        const ro = mkdtempSync(join(tmpdir(), 'openbatch-vol-ro-'));
        const rw = mkdtempSync(join(tmpdir(), 'openbatch-vol-rw-'));
        try {
          writeFileSync(join(ro, 'hello.txt'), 'from the host\n');
          // Granted to the job properly: a root agent runs it as nobody, who may read one and write the other.
          chmodSync(ro, 0o755);
          chmodSync(join(ro, 'hello.txt'), 0o644);
          chmodSync(rw, 0o777);
          const settings: JobSettings = {
            volumes: [
              { name: 'in', sourcePath: ro },
              { name: 'out', sourcePath: rw },
              { name: 'scratch' },
            ],
            mountPoints: [
              { sourceVolume: 'in', containerPath: '/data/in', readOnly: true },
              { sourceVolume: 'out', containerPath: '/data/out', readOnly: false },
              { sourceVolume: 'scratch', containerPath: '/scratch', readOnly: false },
            ],
          };
          const script = 'cat /data/in/hello.txt; echo result > /data/out/result.txt; echo s > /scratch/s && cat /scratch/s; touch /data/in/x 2>/dev/null && echo writable || echo read-only';
          const r = startAttempt(target.make(), spec(dir, ['sh', '-c', script], { settings }));
          assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
          assert.deepEqual(out(r.lines), ['from the host', 's', 'read-only']);
          assert.equal(readFileSync(join(rw, 'result.txt'), 'utf8'), 'result\n');
        } finally {
          rmSync(ro, { recursive: true, force: true });
          rmSync(rw, { recursive: true, force: true });
        }
      });
    });

    test('a host volume whose sourcePath does not exist is made, as Docker makes it, and mounted', { skip: needsSandbox }, async () => {
      await inWorkDir(async (dir) => {
        const root = mkdtempSync(join(tmpdir(), 'openbatch-vol-new-'));
        try {
          const missing = join(root, 'made', 'here');
          const settings: JobSettings = { volumes: [{ name: 'new', sourcePath: missing }], mountPoints: [{ sourceVolume: 'new', containerPath: '/data/new', readOnly: true }] };
          const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'test -d /data/new && echo mounted'], { settings }));
          assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
          assert.deepEqual(out(r.lines), ['mounted']);
          assert.ok(statSync(missing).isDirectory(), 'the host path is a directory now');
        } finally {
          rmSync(root, { recursive: true, force: true });
        }
      });
    });

    test('readonlyRootFilesystem: the root cannot be written, tmpfs mounts can', { skip: needsSandbox }, async () => {
      await inWorkDir(async (dir) => {
        const settings: JobSettings = { readonlyRootFilesystem: true, tmpfs: [{ containerPath: '/scratch', sizeMiB: 16 }] };
        const script = 'touch /etc/openbatch-ro-test 2>/dev/null && echo root-writable || echo root-read-only; echo x > /scratch/f && cat /scratch/f';
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', script], { settings }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
        assert.deepEqual(out(r.lines), ['root-read-only', 'x']);
      });
    });

    // A container's working directory is its image's, inside the read-only root; a process job's is the attempt's own directory.
    const processOnly = target.name === 'process' ? needsSandbox : 'a container works in its image’s directory, read-only with the root';
    test('readonlyRootFilesystem alone: the root cannot be written, the working directory and /tmp can', { skip: processOnly }, async () => {
      await inWorkDir(async (dir) => {
        const settings: JobSettings = { readonlyRootFilesystem: true };
        const script = 'touch /etc/openbatch-ro-test 2>/dev/null && echo root-writable || echo root-read-only; echo w > here && cat here; echo t > /tmp/t && cat /tmp/t';
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', script], { settings }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
        assert.deepEqual(out(r.lines), ['root-read-only', 'w', 't']);
      });
    });

    test('ulimits apply to the job', async () => {
      await inWorkDir(async (dir) => {
        const settings: JobSettings = { ulimits: [{ name: 'nofile', softLimit: 123, hardLimit: 456 }] };
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'ulimit -Sn; ulimit -Hn'], { settings }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
        assert.deepEqual(out(r.lines), ['123', '456']);
      });
    });

    test('the job runs as the job definition’s user', { skip: target.name === 'process' && process.getuid?.() !== 0 ? 'the agent is not root' : false }, async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'id -u; id -g'], { settings: { user: '65534:65534' } }));
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
        assert.deepEqual(out(r.lines), ['65534', '65534']);
      });
    });

    test('terminate: SIGTERM reaches a job that handles it, which exits as it chooses', async () => {
      await inWorkDir(async (dir) => {
        const r = startAttempt(target.make(), spec(dir, ['sh', '-c', 'trap "echo got TERM; exit 143" TERM; echo ready; while :; do sleep 0.1; done']));
        assert.equal(await r.firstLine, 'ready');
        r.handle.terminate(60_000);
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 143 });
        assert.deepEqual(out(r.lines), ['ready', 'got TERM']);
      });
    });

    test('terminate: a job that ignores SIGTERM is killed after the grace period, leaving no process or container behind', async () => {
      await inWorkDir(async (dir) => {
        const token = `1000.${Math.floor(Math.random() * 1e6)}`;
        const s = spec(dir, ['sh', '-c', `trap "" TERM; sleep ${token} & echo ready; wait`]);
        const r = startAttempt(target.make(), s);
        assert.equal(await r.firstLine, 'ready');
        assert.ok(await until(() => livingWith(token).length === 1), 'the background sleep is running');
        r.handle.terminate(500);
        assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 137 });
        assert.ok(await until(() => livingWith(token).length === 0), `sleep ${token} survived`);
        assert.equal(await target.leftovers(s.attemptId), 0, 'the container is removed');
      });
    });
  });
}

describe('container executor specifics', { skip: haveDocker ? false : 'no Docker API socket: set OPENBATCH_TEST_DOCKER_HOST (scripts/ci/podman.sh starts one)' }, () => {
  test('an image that cannot be pulled gives the CannotPullContainerError reason', async () => {
    await inWorkDir(async (dir) => {
      const r = startAttempt(new ContainerExecutor({ dockerHost: DOCKER_HOST }), spec(dir, ['true'], { settings: { image: 'localhost:1/openbatch/no-such-image:1' } }));
      const exit = await r.handle.exited;
      assert.equal(exit.exitCode, null);
      assert.match(exit.reason ?? '', /^CannotPullContainerError: /);
    });
  });

  test('an image that cannot be pulled: the attempt never started, and was never running', async () => {
    await inWorkDir(async (dir) => {
      const r = startAttempt(new ContainerExecutor({ dockerHost: DOCKER_HOST }), spec(dir, ['true'], { settings: { image: 'localhost:1/openbatch/no-such-image:2' } }));
      assert.equal((await r.handle.exited).neverStarted, true);
      assert.equal(await r.handle.whenRunning, undefined);
    });
  });

  test('a command that cannot be run: CannotStartContainerError, never started', async () => {
    await inWorkDir(async (dir) => {
      const r = startAttempt(new ContainerExecutor({ dockerHost: DOCKER_HOST }), spec(dir, ['no-such-command-here']));
      const exit = await r.handle.exited;
      assert.match(exit.reason ?? '', /^CannotStartContainerError: /);
      assert.equal(exit.neverStarted, true);
    });
  });

  test('without a command the image’s own CMD runs', async () => {
    await inWorkDir(async (dir) => {
      // The test image's CMD is /bin/sh, which ends at once on an empty stdin.
      const r = startAttempt(new ContainerExecutor({ dockerHost: DOCKER_HOST }), spec(dir, []));
      assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
    });
  });

  test('the container is removed after the attempt', async () => {
    await inWorkDir(async (dir) => {
      const s = spec(dir, ['true']);
      const r = startAttempt(new ContainerExecutor({ dockerHost: DOCKER_HOST }), s);
      await r.handle.exited;
      assert.equal(await targets[1].leftovers(s.attemptId), 0);
    });
  });
});
