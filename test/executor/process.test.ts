/**
 * The process executor against real processes: output lines, exit codes, environment, start
 * failures, termination and cleanup of everything a job started.
 *
 * Each test runs in its own work directory, removed when the test passes and kept (its path
 * is in the failure) when it does not. A process counts as gone once it no longer exists or
 * is a zombie: whether and when pid 1 reaps orphans is the host's business, not the job's.
 *
 * The suite runs four times: bare (no cgroups, no sandbox: what a host without them gets) and
 * isolated (what this host offers: cgroups, bubblewrap), each through the fork server (the
 * default wherever `npm run build` compiled it) and through Node's own spawn (the fallback
 * without a C compiler). Processes are found by a unique
 * token in their command line, since a sandboxed job sees only its own pid namespace.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostname } from 'node:os';
import { chmodSync, mkdtempSync, readFileSync, readdirSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcessExecutor, MAX_LINE_BYTES, OOM_REASON, defaultBaseEnv, type ProcessExecutorOptions } from '../../src/executor/process.js';
import { NOTICE_PREFIX, type AttemptSpec, type LogLine, type RunningAttempt } from '../../src/executor/types.js';
import { withoutUsage } from '../helpers/exits.js';

/** Runs `body` with a fresh work directory, removed only if `body` succeeds. */
async function inWorkDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'openbatch-exec-'));
  try {
    const result = await body(dir);
    rmSync(dir, { recursive: true, force: true });
    return result;
  } catch (e) {
    if (e instanceof Error) e.message += `\n(work directory kept: ${dir})`;
    throw e;
  }
}

function spec(workDir: string, command: string[], env: Record<string, string> = {}): AttemptSpec {
  return { attemptId: 'job-1#1', command, env, workDir, vcpus: 1, memoryMiB: 128 };
}

interface Started {
  handle: RunningAttempt;
  lines: LogLine[];
  batches: number;
  /** resolves with the first line on stdout, once it arrives */
  firstLine: Promise<string>;
}

function start(executor: ProcessExecutor, s: AttemptSpec): Started {
  let gotFirst!: (line: string) => void;
  const started: Started = {
    handle: undefined as unknown as RunningAttempt,
    lines: [],
    batches: 0,
    firstLine: new Promise((r) => (gotFirst = r)),
  };
  started.handle = executor.start(s, (batch) => {
    if (!batch.every((l) => l.message.startsWith(NOTICE_PREFIX))) started.batches++;
    started.lines.push(...batch);
    const first = batch.find((l) => l.stream === 'stdout');
    if (first) gotFirst(first.message);
  });
  return started;
}

const asRoot = process.getuid?.() === 0;

/** The two ways the suite runs (see the file comment). */
const MODES: Record<string, ProcessExecutorOptions> = {
  'bare, fork server': { cgroups: false, sandbox: 'off' },
  "bare, Node's spawn": { cgroups: false, sandbox: 'off', useForkServer: false },
  'isolated, fork server': {},
  "isolated, Node's spawn": { useForkServer: false },
};

async function runWith(opts: ProcessExecutorOptions & { env?: Record<string, string> }, command: string[]) {
  return inWorkDir(async (dir) => {
    const s = start(new ProcessExecutor(opts), spec(dir, command, opts.env));
    const exit = await s.handle.exited;
    return { exit, lines: s.lines, batches: s.batches };
  });
}

/** The job's own lines: without the notice of what the host could not enforce (tested on its own). */
const messages = (lines: LogLine[], stream: 'stdout' | 'stderr') =>
  lines.filter((l) => l.stream === stream && !l.message.startsWith(NOTICE_PREFIX)).map((l) => l.message);

function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

/** Live (non-zombie) processes whose command line contains `token`. */
function livingWith(token: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').includes(token) && !isGone(Number(name))) out.push(Number(name));
    } catch {
      // exited
    }
  }
  return out;
}

/** A background process may start after the line that announced it. */
async function waitLiving(token: string): Promise<number> {
  for (let i = 0; i < 500; i++) {
    const n = livingWith(token).length;
    if (n > 0) return n;
    await new Promise((r) => setTimeout(r, 20));
  }
  return 0;
}

/** SIGKILL is delivered asynchronously: a killed process may take a moment to die. */
async function waitGone(token: string): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (livingWith(token).length === 0) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

/** A `sleep` argument no other process has: 1000.<random digits> seconds. */
const sleepToken = () => `1000.${Math.floor(Math.random() * 1e6)}`;

test('the build compiled the fork server, so agents do not fork themselves per job', () => {
  assert.ok(new ProcessExecutor().forkServer, 'dist/native/openbatch-forkserver is missing: is a C compiler installed?');
});

test('when its agent dies, the fork server kills the jobs it started', async () => {
  await inWorkDir(async (dir) => {
    const executor = new ProcessExecutor({ cgroups: false, sandbox: 'off' });
    const s = start(executor, spec(dir, ['sh', '-c', 'echo ready; sleep 1000']));
    await s.firstLine;
    const pid = s.handle.pid ?? (await s.handle.whenStarted);
    assert.equal(typeof pid, 'number');
    executor.close(); // what the agent's death does: the server's stdin closes
    // Its end is not observed (the server is gone), and nothing of it survives.
    assert.equal((await s.handle.exited).exitCode, null);
    for (let i = 0; i < 100 && !isGone(pid!); i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(isGone(pid!), `job ${pid} outlived its fork server`);
  });
});

test('a job handed to the fork server just as its agent dies does not outlive it', async () => {
  // The agent may die between sending a start and the server forking, or while the child has
  // not yet made its own process group: neither may leave the job running unwatched (seen in
  // the crash suite as a retry meeting the first attempt still running).
  await inWorkDir(async (dir) => {
    for (let round = 0; round < 20; round++) {
      const token = sleepToken();
      const executor = new ProcessExecutor({ cgroups: false, sandbox: 'off' });
      const s = start(executor, spec(dir, ['sleep', token]));
      if (round % 2) await new Promise((r) => setImmediate(r));
      executor.close();
      await s.handle.exited;
      await new Promise((r) => setTimeout(r, 100));
      assert.ok(await waitGone(token), `round ${round}: sleep ${token} outlived its fork server`);
    }
  });
});

test('when the fork server itself is killed, the jobs it started die with it', async () => {
  await inWorkDir(async (dir) => {
    const executor = new ProcessExecutor({ cgroups: false, sandbox: 'off' });
    const token = sleepToken();
    const s = start(executor, spec(dir, ['sleep', token]));
    await s.handle.whenStarted;
    assert.equal(await waitLiving(token), 1);
    process.kill(executor.forkServer!.pid!, 'SIGKILL');
    assert.equal((await s.handle.exited).exitCode, null);
    assert.ok(await waitGone(token), `sleep ${token} outlived its killed fork server`);
  });
});

for (const [modeName, modeOptions] of Object.entries(MODES))
describe(`ProcessExecutor (${modeName})`, () => {
  const executor = (opts: ProcessExecutorOptions = {}) => new ProcessExecutor({ ...modeOptions, ...opts });
  const run = (command: string[], opts: ProcessExecutorOptions & { env?: Record<string, string> } = {}) => runWith({ ...modeOptions, ...opts }, command);

  describe('output', () => {
    test('stdout and stderr arrive as separate ordered lines stamped by the injected clock', async () => {
      let now = 1_000;
      const issued = new Set<number>();
      const clock = () => {
        now += 1;
        issued.add(now);
        return now;
      };
      const { exit, lines } = await run(['sh', '-c', 'echo a; echo x >&2; echo b; echo y >&2; echo c'], { clock });
      assert.deepEqual(withoutUsage(exit), { exitCode: 0 });
      assert.deepEqual(messages(lines, 'stdout'), ['a', 'b', 'c']);
      assert.deepEqual(messages(lines, 'stderr'), ['x', 'y']);
      for (const l of lines) assert.ok(issued.has(l.timestamp), `timestamp ${l.timestamp} is not from the clock`);
      for (const stream of ['stdout', 'stderr'] as const) {
        const ts = lines.filter((l) => l.stream === stream).map((l) => l.timestamp);
        assert.deepEqual(ts, [...ts].sort((a, b) => a - b));
      }
    });

    test('lines written together are delivered in one batch', async () => {
      const { lines, batches } = await run(['sh', '-c', 'printf "1\\n2\\n3\\n4\\n5\\n"']);
      assert.deepEqual(messages(lines, 'stdout'), ['1', '2', '3', '4', '5']);
      assert.equal(batches, 1);
    });

    test('a last line without a newline is delivered, and CRLF endings lose their CR', async () => {
      const { lines } = await run(['sh', '-c', 'printf "one\\r\\n\\ntwo\\r\\nthree"; printf "err-tail" >&2']);
      assert.deepEqual(messages(lines, 'stdout'), ['one', '', 'two', 'three']);
      assert.deepEqual(messages(lines, 'stderr'), ['err-tail']);
    });

    test('a 600 KiB line is split into pieces of at most 256 KiB that join to the line', async () => {
      const size = 600 * 1024;
      const { lines } = await run(['sh', '-c', `head -c ${size} /dev/zero | tr '\\0' x; echo; echo after`]);
      const out = messages(lines, 'stdout');
      assert.equal(out.length, 4);
      for (const piece of out.slice(0, 3)) assert.ok(Buffer.byteLength(piece) <= MAX_LINE_BYTES);
      assert.equal(out.slice(0, 3).join(''), 'x'.repeat(size));
      assert.equal(out[3], 'after');
    });

    test('a cut at 256 KiB never splits a UTF-8 character', async () => {
      const { lines } = await run(['sh', '-c', `head -c ${MAX_LINE_BYTES - 1} /dev/zero | tr '\\0' x; printf '\\303\\251z\\n'`]);
      const out = messages(lines, 'stdout');
      assert.equal(out.length, 2);
      assert.equal(out.join(''), 'x'.repeat(MAX_LINE_BYTES - 1) + 'éz');
      assert.equal(out[1], 'éz');
    });

    test('invalid UTF-8 is delivered with replacement characters instead of throwing', async () => {
      const { exit, lines } = await run(['sh', '-c', "printf 'a\\377\\376b\\n'"]);
      assert.deepEqual(withoutUsage(exit), { exitCode: 0 });
      assert.deepEqual(messages(lines, 'stdout'), ['a\ufffd\ufffdb']);
    });
  });

  describe('exit', () => {
    test('exit code 3 is reported as 3', async () => {
      const { exit } = await run(['sh', '-c', 'exit 3']);
      assert.deepEqual(withoutUsage(exit), { exitCode: 3 });
    });

    test('a process killed by a signal reports 128 plus the signal number', async () => {
      assert.deepEqual(withoutUsage((await run(['sh', '-c', 'kill -KILL $$'])).exit), { exitCode: 137 });
      assert.deepEqual(withoutUsage((await run(['sh', '-c', 'kill -SEGV $$'])).exit), { exitCode: 139 });
    });

    test('200 short attempts in a row all report their own output and exit code', async () => {
      await inWorkDir(async (dir) => {
        const ex = executor();
        for (let i = 0; i < 200; i++) {
          const s = start(ex, spec(dir, ['sh', '-c', 'echo "$1"; exit "$2"', 'sh', String(i), String(i % 7)]));
          const exit = await s.handle.exited;
          assert.deepEqual(withoutUsage(exit), { exitCode: i % 7 }, `attempt ${i}`);
          assert.deepEqual(messages(s.lines, 'stdout'), [String(i)], `attempt ${i}`);
        }
      });
    });
  });

  describe('environment and directory', () => {
    test('the job environment reaches the job and unrelated host variables do not', async () => {
      process.env.OPENBATCH_TEST_HOST_ONLY = 'leaked';
      try {
        const env = { FOO: 'bar baz', AWS_BATCH_JOB_ID: 'job-1', HOME: '/job/home' };
        const { lines } = await run(['env'], { env });
        const seen = new Map(messages(lines, 'stdout').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
        assert.equal(seen.get('FOO'), 'bar baz');
        assert.equal(seen.get('AWS_BATCH_JOB_ID'), 'job-1');
        assert.equal(seen.get('HOME'), '/job/home', 'the job environment overrides the base');
        assert.ok(seen.has('PATH'));
        assert.ok(!seen.has('OPENBATCH_TEST_HOST_ONLY'));
        // bubblewrap sets PWD to the directory it starts the job in, as a shell would.
        seen.delete('PWD');
        // As ECS gives every container its host name.
        assert.equal(seen.get('HOSTNAME'), hostname());
        // As root the job runs as the job user (nobody): USER names it.
        const expected = new Set([...Object.keys(defaultBaseEnv()), ...Object.keys(env), 'HOSTNAME', ...(asRoot ? ['USER'] : [])]);
        assert.deepEqual(new Set(seen.keys()), expected);
        if (asRoot) assert.equal(seen.get('USER'), 'nobody');
      } finally {
        delete process.env.OPENBATCH_TEST_HOST_ONLY;
      }
    });

    test('a given base environment replaces the host one', async () => {
      const { lines } = await run(['/usr/bin/env'], { baseEnv: { A: '1' }, env: { B: '2' } });
      const seen = messages(lines, 'stdout').filter((l) => !l.startsWith('PWD=')).sort();
      // As root the job runs as the job user, whose HOME (its working directory: nobody has
      // no home) and USER it gets.
      if (asRoot) assert.deepEqual(seen.filter((l) => !l.startsWith('HOME=')), ['A=1', 'B=2', `HOSTNAME=${hostname()}`, 'USER=nobody']);
      else assert.deepEqual(seen, ['A=1', 'B=2', `HOSTNAME=${hostname()}`]);
    });

    test('as root, a job that names no user runs as the job user, in a working directory of its own', { skip: asRoot ? false : 'the agent is not root' }, async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor({ jobUser: 'nobody' }), spec(dir, ['sh', '-c', 'id -u; id -g; echo "$HOME"; touch mine && stat -c %u mine']));
        assert.equal((await s.handle.exited).exitCode, 0, s.lines.map((l) => l.message).join('\n'));
        const [uid, , home, fileOwner] = messages(s.lines, 'stdout');
        assert.equal(uid, '65534');
        assert.equal(fileOwner, '65534');
        assert.equal(realpathSync(home), realpathSync(dir), 'HOME is the working directory when the job user has no home');
        // privileged, or a definition naming root, runs as root.
        for (const settings of [{ privileged: true }, { user: 'root' }]) {
          const r = start(executor(), { ...spec(dir, ['id', '-u']), settings });
          assert.equal((await r.handle.exited).exitCode, 0);
          assert.deepEqual(messages(r.lines, 'stdout'), ['0'], JSON.stringify(settings));
        }
      });
    });

    test("a program is looked up on the job's own PATH, whoever runs it and however it starts", async () => {
      // Only on the job's PATH, not the agent's: the fork server's execvpe alone would search
      // the fork server's own PATH (glibc reads PATH from the caller's environment).
      const open = mkdtempSync(join(tmpdir(), 'openbatch-path-'));
      chmodSync(open, 0o755);
      try {
        writeFileSync(join(open, 'job-own-tool'), '#!/bin/sh\necho found\n');
        chmodSync(join(open, 'job-own-tool'), 0o755);
        await inWorkDir(async (dir) => {
          // As the job user and, unwrapped where nothing else applies, as root.
          for (const settings of [{}, ...(asRoot ? [{ user: 'root' }] : [])]) {
            const s = start(executor(), { ...spec(dir, ['job-own-tool'], { PATH: `${open}:/usr/bin:/bin` }), settings });
            const exit = await s.handle.exited;
            assert.equal(exit.exitCode, 0, `${JSON.stringify(settings)}: ${exit.reason}`);
            assert.deepEqual(messages(s.lines, 'stdout'), ['found']);
          }
        });
      } finally {
        rmSync(open, { recursive: true, force: true });
      }
    });

    test('the job runs in its workDir', async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor(), spec(dir, ['pwd']));
        await s.handle.exited;
        assert.deepEqual(messages(s.lines, 'stdout'), [realpathSync(dir)]);
      });
    });
  });

  describe('start failures', () => {
    test('a missing executable never starts and gives the CannotStartContainerError reason', async () => {
      const { exit, lines } = await run(['no-such-command-openbatch', 'arg']);
      assert.equal(exit.exitCode, null);
      assert.match(exit.reason ?? '', /^CannotStartContainerError: /);
      assert.ok(exit.reason?.includes('exec: "no-such-command-openbatch": executable file not found in $PATH'), exit.reason);
      assert.deepEqual(lines.filter((l) => !l.message.startsWith(NOTICE_PREFIX)), []);
    });

    test('the pid of an attempt that never started is undefined and terminate is harmless', async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor(), spec(dir, ['no-such-command-openbatch']));
        assert.equal(s.handle.pid, undefined);
        s.handle.terminate(0);
        assert.equal((await s.handle.exited).exitCode, null);
      });
    });

    test('a file without execute permission gives a permission denied reason', async () => {
      await inWorkDir(async (dir) => {
        const script = join(dir, 'job.sh');
        writeFileSync(script, '#!/bin/sh\necho hi\n');
        chmodSync(script, 0o644);
        const exit = await start(executor(), spec(dir, [script])).handle.exited;
        assert.equal(exit.exitCode, null);
        assert.match(exit.reason ?? '', /^CannotStartContainerError: .*exec: ".*job\.sh": permission denied/);
      });
    });

    test('a missing absolute path is reported as missing, not as a PATH lookup', async () => {
      const { exit } = await run(['/no/such/program']);
      assert.equal(exit.exitCode, null);
      assert.ok(exit.reason?.includes('exec: "/no/such/program": stat /no/such/program: no such file or directory'), exit.reason);
    });

    test('a missing workDir is reported as such', async () => {
      const missing = join(tmpdir(), 'openbatch-no-such-dir-' + process.pid);
      const exit = await executor().start(spec(missing, ['true']), () => {}).exited;
      assert.equal(exit.exitCode, null);
      assert.ok(exit.reason?.includes(`chdir to cwd ("${missing}")`), exit.reason);
    });

    // An attempt's working directory is its own (a root agent gives it to the job user).
    test('an empty command gives a clear reason', async () => {
      await inWorkDir(async (dir) => {
        for (const command of [[], ['']]) {
          const exit = await executor().start(spec(dir, command), () => {}).exited;
          assert.equal(exit.exitCode, null);
          assert.match(exit.reason ?? '', /^CannotStartContainerError: .*no command/);
        }
      });
    });

    test('an argument Node rejects gives a reason instead of throwing', async () => {
      await inWorkDir(async (dir) => {
        const exit = await executor().start(spec(dir, ['echo', 'a\0b']), () => {}).exited;
        assert.equal(exit.exitCode, null);
        assert.match(exit.reason ?? '', /^CannotStartContainerError: .*null bytes/);
      });
    });
  });

  describe('termination and cleanup', () => {
    test('terminate of sleep 1000 yields 143', async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor(), spec(dir, ['sleep', '1000']));
        assert.equal(typeof (s.handle.pid ?? (await s.handle.whenStarted)), 'number');
        s.handle.terminate();
        assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 143 });
      });
    });

    test('a process that ignores SIGTERM is SIGKILLed after the grace period (137)', async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor(), spec(dir, ['sh', '-c', 'trap "" TERM; echo ready; sleep 1000']));
        assert.equal(await s.firstLine, 'ready');
        s.handle.terminate(300);
        assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 137 });
      });
    });

    test('terminate is idempotent, and a repeated call may only shorten the grace', async () => {
      await inWorkDir(async (dir) => {
        const s = start(executor(), spec(dir, ['sh', '-c', 'trap "" TERM; echo ready; sleep 1000']));
        await s.firstLine;
        s.handle.terminate(600_000);
        s.handle.terminate(600_000);
        s.handle.terminate(50);
        s.handle.terminate(600_000);
        assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 137 });
        s.handle.terminate(0);
      });
    });

    test('terminate leaves no orphans: a background grandchild is gone too', async () => {
      await inWorkDir(async (dir) => {
        const t = sleepToken();
        const s = start(executor(), spec(dir, ['sh', '-c', `sleep ${t} & echo ready; sleep 1000`]));
        await s.firstLine;
        assert.equal(await waitLiving(t), 1);
        s.handle.terminate(5_000);
        assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 143 });
        assert.ok(await waitGone(t), `grandchild (sleep ${t}) survived terminate`);
      });
    });

    test('group members that ignore SIGTERM die with the leader, without waiting out the grace', async () => {
      await inWorkDir(async (dir) => {
        const t = sleepToken();
        const s = start(executor(), spec(dir, ['sh', '-c', `(trap "" TERM; sleep ${t}) & echo ready; sleep 1000`]));
        await s.firstLine;
        s.handle.terminate(600_000);
        assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 143 });
        assert.ok(await waitGone(t), `grandchild (sleep ${t}) survived its leader`);
      });
    });

    test('group members left behind by a leader that exits on its own are killed', async () => {
      await inWorkDir(async (dir) => {
        const t = sleepToken();
        const s = start(executor(), spec(dir, ['sh', '-c', `sleep ${t} > /dev/null 2>&1 & sleep ${t} & exit 4`]));
        const exit = await s.handle.exited;
        assert.deepEqual(withoutUsage(exit), { exitCode: 4 });
        assert.ok(await waitGone(t), `grandchildren (sleep ${t}) outlived their job`);
      });
    });

    test('a process that left the group cannot hold the attempt open through its output pipes', async () => {
      await inWorkDir(async (dir) => {
        const t = sleepToken();
        const s = start(executor({ outputDrainMs: 100 }), spec(dir, ['sh', '-c', `setsid sleep ${t} & echo ready; sleep 0.2`]));
        await s.firstLine;
        try {
          assert.deepEqual(withoutUsage(await s.handle.exited), { exitCode: 0 });
        } finally {
          for (const pid of livingWith(t)) process.kill(pid, 'SIGKILL');
        }
      });
    });
  });
});

describe('ProcessExecutor: cgroups reused from attempt to attempt', () => {
  const probe = new ProcessExecutor({ sandbox: 'off' });
  const memoryV1 = probe.capabilities.cgroups && readFileSync('/proc/self/cgroup', 'utf8').split('\n').some((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  probe.close();
  const skip = memoryV1 ? false : 'needs the cgroup v1 memory controller (the hosts these tests run on have it)';
  // The job's memory cgroup and its limit, as the job itself sees them.
  const whereAndLimit = 'p=$(sed -n "s/^[0-9]*:[^:]*memory[^:]*://p" /proc/self/cgroup); echo "$p"; cat /sys/fs/cgroup/memory$p/memory.limit_in_bytes';

  test('the next attempt gets the same cgroup with its own limit, and an OOM kill before it is not counted against it', { skip }, async () => {
    const ex = new ProcessExecutor({});
    try {
      await inWorkDir(async (dir) => {
        const oom = start(ex, { ...spec(dir, ['sh', '-c', `${whereAndLimit}; x=$(head -c 200000000 /dev/zero | tr "\\0" a); echo survived`]), memoryMiB: 64 });
        assert.deepEqual(withoutUsage(await oom.handle.exited), { exitCode: 137, reason: OOM_REASON });
        const next = start(ex, { ...spec(dir, ['sh', '-c', whereAndLimit]), memoryMiB: 96 });
        assert.deepEqual(withoutUsage(await next.handle.exited), { exitCode: 0 }, 'an attempt that stayed within its limit is not reported as OOM-killed');
        const [firstPath, firstLimit] = messages(oom.lines, 'stdout');
        const [nextPath, nextLimit] = messages(next.lines, 'stdout');
        assert.equal(nextPath, firstPath, 'the emptied cgroup was reused');
        assert.equal(Number(firstLimit), 64 * 1024 * 1024);
        assert.equal(Number(nextLimit), 96 * 1024 * 1024, 'the reused cgroup carries the new attempt’s limit');
      });
    } finally {
      await ex.dispose();
    }
  });

  test('a cgroup still charged with memory its attempt left behind is not reused', { skip }, async () => {
    const ex = new ProcessExecutor({ sandbox: 'off' });
    const leftover = `/dev/shm/openbatch-cgroup-test-${process.pid}`;
    try {
      await inWorkDir(async (dir) => {
        // 16 MiB in a file on the host's tmpfs stays charged to the cgroup after the job ends.
        const first = start(ex, spec(dir, ['sh', '-c', `${whereAndLimit}; head -c 16777216 /dev/zero > ${leftover}`]));
        assert.deepEqual(withoutUsage(await first.handle.exited), { exitCode: 0 });
        const next = start(ex, spec(dir, ['sh', '-c', whereAndLimit]));
        assert.deepEqual(withoutUsage(await next.handle.exited), { exitCode: 0 });
        assert.notEqual(messages(next.lines, 'stdout')[0], messages(first.lines, 'stdout')[0]);
      });
    } finally {
      rmSync(leftover, { force: true });
      await ex.dispose();
    }
  });

  test('an agent that stops removes the cgroups it kept for reuse', { skip }, async () => {
    const ex = new ProcessExecutor({ sandbox: 'off' });
    let path = '';
    await inWorkDir(async (dir) => {
      const r = start(ex, spec(dir, ['sh', '-c', whereAndLimit]));
      assert.deepEqual(withoutUsage(await r.handle.exited), { exitCode: 0 });
      path = messages(r.lines, 'stdout')[0];
    });
    const mount = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup cgroup .*\bmemory\b/.test(l))?.split(' ')[4];
    assert.ok(mount, 'the memory hierarchy is mounted');
    const root = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => / - cgroup cgroup .*\bmemory\b/.test(l))!.split(' ')[3];
    const dirOf = join(mount, path.startsWith(root) ? path.slice(root.length) : path);
    assert.ok(readdirSync(dirOf).includes('memory.limit_in_bytes'), 'kept after the attempt, for the next one');
    await ex.dispose();
    assert.throws(() => readdirSync(dirOf), /ENOENT/, 'removed when the executor is disposed of');
  });
});
