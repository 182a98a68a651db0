/**
 * executor/pod.ts, the rules of a task of several containers, on a scripted launcher: which
 * container starts when (dependsOn START / COMPLETE / SUCCESS, EKS init containers), which
 * end stops the task (ECS: an essential container's), when the attempt is RUNNING, and how
 * it ended (exit code, reason, each container's).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Pod, type MemberExit, type PodMember, type PodOutcome } from '../../src/executor/pod.js';

/** Lets the pod react to what was just scripted. */
const settle = () => new Promise((r) => setImmediate(r));

/** A pod on a launcher the test drives: start(name), exit(name, code), what was launched and stopped. */
function scripted(members: PodMember[], orchestration: 'ECS' | 'EKS' = 'ECS') {
  const runs = new Map<string, { running: (at: number | undefined) => void; exited: (e: MemberExit) => void; stoppedWith?: number }>();
  const launched: string[] = [];
  const pod = new Pod(members, {
    orchestration,
    graceMs: 30_000,
    launch(m) {
      launched.push(m.name);
      let running!: (at: number | undefined) => void;
      let exited!: (e: MemberExit) => void;
      const r = { running: (at: number | undefined) => running(at), exited: (e: MemberExit) => exited(e), stoppedWith: undefined as number | undefined };
      runs.set(m.name, r);
      return {
        running: new Promise((res) => (running = res)),
        exited: new Promise((res) => (exited = res)),
        stop: (g) => {
          r.stoppedWith ??= g;
        },
      };
    },
  });
  let outcome: PodOutcome | undefined;
  let runningAt: number | undefined | null = null;
  void pod.ended.then((o) => (outcome = o));
  void pod.running.then((at) => (runningAt = at));
  return {
    pod,
    launched,
    async start(name: string, at = 1000) {
      runs.get(name)!.running(at);
      await settle();
    },
    async exit(name: string, exitCode: number | null, reason?: string) {
      runs.get(name)!.exited({ exitCode, ...(reason ? { reason } : {}) });
      await settle();
    },
    async failToStart(name: string, reason: string) {
      runs.get(name)!.running(undefined);
      runs.get(name)!.exited({ exitCode: null, reason, neverStarted: true });
      await settle();
    },
    stoppedWith: (name: string) => runs.get(name)?.stoppedWith,
    outcome: () => outcome,
    runningAt: () => runningAt,
  };
}

const m = (name: string, o: Partial<PodMember> = {}): PodMember => ({ name, essential: true, dependsOn: [], ...o });

describe('a task of several containers (executor/pod.ts)', () => {
  test('ECS: START waits for the other to start; the essential container ends the task, the sidecar is stopped with its stopTimeout', async () => {
    const p = scripted([m('side', { essential: false, stopTimeoutMs: 2000 }), m('app', { dependsOn: [{ containerName: 'side', condition: 'START' }] })]);
    await settle();
    assert.deepEqual(p.launched, ['side']);
    await p.start('side', 500);
    assert.deepEqual(p.launched, ['side', 'app']);
    assert.equal(p.runningAt(), 500, 'RUNNING from the first container to start');
    await p.start('app');
    await p.exit('app', 0);
    assert.equal(p.stoppedWith('side'), 2000);
    assert.equal(p.outcome(), undefined, 'the task ends when the stopped sidecar has');
    await p.exit('side', 143);
    assert.deepEqual(p.outcome(), { exitCode: 0, neverStarted: false, containers: [{ name: 'side', exitCode: 143 }, { name: 'app', exitCode: 0 }] });
  });

  test("ECS: an essential container's failure is the task's; two essential containers: the one stopped does not count", async () => {
    const p = scripted([m('a'), m('b')]);
    await settle();
    await p.start('a');
    await p.start('b');
    await p.exit('b', 3, 'OutOfMemoryError: Container killed due to memory usage');
    assert.equal(p.stoppedWith('a'), 30_000, 'the pod default grace');
    await p.exit('a', 143);
    assert.deepEqual(p.outcome(), { exitCode: 3, reason: 'OutOfMemoryError: Container killed due to memory usage', neverStarted: false, containers: [{ name: 'a', exitCode: 143 }, { name: 'b', exitCode: 3, reason: 'OutOfMemoryError: Container killed due to memory usage' }] });
    const q = scripted([m('a'), m('b')]);
    await settle();
    await q.start('a');
    await q.start('b');
    await q.exit('a', 0);
    await q.exit('b', 143);
    assert.equal(q.outcome()?.exitCode, 0, 'b was stopped because a ended: its 143 is not a failure');
  });

  test('ECS: COMPLETE takes any exit; SUCCESS an exit 0, else the container never starts and the task fails with why', async () => {
    const p = scripted([m('setup', { essential: false }), m('main', { dependsOn: [{ containerName: 'setup', condition: 'COMPLETE' }] })]);
    await settle();
    await p.start('setup');
    assert.deepEqual(p.launched, ['setup']);
    await p.exit('setup', 9);
    assert.deepEqual(p.launched, ['setup', 'main']);
    const q = scripted([m('setup', { essential: false }), m('main', { dependsOn: [{ containerName: 'setup', condition: 'SUCCESS' }] })]);
    await settle();
    await q.start('setup');
    await q.exit('setup', 9);
    assert.deepEqual(q.launched, ['setup']);
    assert.deepEqual(q.outcome(), {
      exitCode: null,
      reason: 'CannotStartContainerError: dependency not satisfied: container "setup" (SUCCESS) exited with 9',
      neverStarted: false,
      containers: [
        { name: 'setup', exitCode: 9 },
        { name: 'main', exitCode: null, reason: 'CannotStartContainerError: dependency not satisfied: container "setup" (SUCCESS) exited with 9' },
      ],
    });
  });

  test('a container that cannot start: with none started, the attempt never started', async () => {
    const p = scripted([m('only')]);
    await settle();
    await p.failToStart('only', 'CannotPullContainerError: no such image');
    assert.deepEqual(p.outcome(), { exitCode: null, reason: 'CannotPullContainerError: no such image', neverStarted: true, containers: [{ name: 'only', exitCode: null, reason: 'CannotPullContainerError: no such image' }] });
    assert.equal(p.runningAt(), undefined);
  });

  test('stop() (TerminateJob, a timeout): running containers get the grace given, waiting ones never start', async () => {
    const p = scripted([m('a'), m('b', { dependsOn: [{ containerName: 'a', condition: 'START' }] }), m('c', { essential: false, dependsOn: [{ containerName: 'b', condition: 'COMPLETE' }] })]);
    await settle();
    await p.start('a');
    await p.start('b');
    p.pod.stop(1234);
    await settle();
    assert.deepEqual([p.stoppedWith('a'), p.stoppedWith('b')], [1234, 1234]);
    await p.exit('a', 143);
    await p.exit('b', 143);
    assert.deepEqual(p.launched, ['a', 'b']);
    assert.deepEqual(p.outcome()?.containers.map((c) => [c.name, c.exitCode]), [
      ['a', 143],
      ['b', 143],
      ['c', null],
    ]);
  });

  test('EKS: init containers run in turn and RUNNING waits for the containers; an end stops no other; the first failure is the exit code', async () => {
    const p = scripted(
      [
        m('i1', { init: true }),
        m('i2', { init: true, dependsOn: [{ containerName: 'i1', condition: 'SUCCESS' }] }),
        m('a', { dependsOn: [{ containerName: 'i2', condition: 'SUCCESS' }] }),
        m('b', { dependsOn: [{ containerName: 'i2', condition: 'SUCCESS' }] }),
      ],
      'EKS',
    );
    await settle();
    await p.start('i1', 100);
    await p.exit('i1', 0);
    await p.start('i2', 200);
    await p.exit('i2', 0);
    assert.equal(p.runningAt(), null, 'still STARTING while init containers run');
    assert.deepEqual(p.launched, ['i1', 'i2', 'a', 'b']);
    await p.start('a', 300);
    assert.equal(p.runningAt(), 300);
    await p.start('b');
    await p.exit('a', 5);
    assert.equal(p.stoppedWith('b'), undefined, "a pod's container ending stops no other");
    await p.exit('b', 0);
    assert.equal(p.outcome()?.exitCode, 5);
    const q = scripted([m('i', { init: true }), m('a', { dependsOn: [{ containerName: 'i', condition: 'SUCCESS' }] })], 'EKS');
    await settle();
    await q.start('i');
    await q.exit('i', 2);
    assert.deepEqual([q.outcome()?.exitCode, q.launched], [2, ['i']]);
  });
});
