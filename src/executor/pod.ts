/**
 * A task of several containers, run as ECS runs a task and Kubernetes a pod: which container
 * starts when, which exit ends the task, and how the attempt ended. Both executors use it —
 * the container executor in the agent (each member a container of one network namespace),
 * the process executor in a supervisor inside the attempt's sandbox (each member a process
 * group; executor/podSupervisor.ts) — so it imports nothing: it is copied next to the
 * supervisor for jobs to run.
 *
 *   dependsOn     a member starts once every dependency allows: START (the other has
 *                 started), COMPLETE (it has ended), SUCCESS (it has ended with 0). One that
 *                 can never be met (the other never started, or failed a SUCCESS) leaves the
 *                 member unstarted, with a reason.
 *   ECS           when an essential member ends — or can never start — the task stops: the
 *                 others get SIGTERM, then SIGKILL after their stopTimeout (the attempt's grace
 *                 by default), and those not started never are. The attempt succeeds when
 *                 every essential member that ended of itself exited 0; its exit code is the
 *                 first essential member's to end that way (the one that stopped the task).
 *   EKS           init members first, one after the other, each to success (their dependsOn
 *                 say so, model/taskSpec.ts); a member's end stops no other: the pod runs until
 *                 every member has ended, and succeeds when every one exited 0. Its exit code
 *                 is the first non-zero one.
 *   RUNNING       once the first member that is not an init container runs.
 *   stop()        TerminateJob and timeouts: every running member gets SIGTERM and its grace,
 *                 waiting ones never start.
 */

export type Condition = 'START' | 'COMPLETE' | 'SUCCESS';

export interface PodMember {
  name: string;
  essential: boolean;
  init?: boolean;
  dependsOn: { containerName: string; condition: Condition }[];
  /** its grace between SIGTERM and SIGKILL when the task stops; the pod's default when absent */
  stopTimeoutMs?: number;
}

export interface MemberExit {
  exitCode: number | null;
  reason?: string;
  /** its process never started */
  neverStarted?: boolean;
}

/** A member as its launcher started it. */
export interface MemberRun {
  /** settles with the time (epoch ms) its process started, or undefined if it never does */
  running: Promise<number | undefined>;
  exited: Promise<MemberExit>;
  /** SIGTERM, then SIGKILL after graceMs; idempotent */
  stop(graceMs: number): void;
}

export interface ContainerOutcome {
  name: string;
  /** null: it never started, or was not seen to end */
  exitCode: number | null;
  reason?: string;
}

export interface PodOutcome {
  exitCode: number | null;
  reason?: string;
  /** no member ever started: the attempt failed to start */
  neverStarted: boolean;
  containers: ContainerOutcome[];
}

export interface PodOptions {
  orchestration: 'ECS' | 'EKS';
  /** grace of a member that names none */
  graceMs: number;
  launch(member: PodMember): MemberRun;
  /** a member started or ended (for a supervisor's reports) */
  onEvent?(e: { kind: 'started'; name: string; at: number } | { kind: 'exited'; name: string; exitCode: number | null; reason?: string }): void;
}

type State = 'waiting' | 'starting' | 'running' | 'ended';

interface Slot {
  m: PodMember;
  state: State;
  run?: MemberRun;
  started: boolean;
  exit?: MemberExit;
  /** stopped by the pod (the task was stopping), not ended of itself */
  stopped: boolean;
  /** the order in which members ended */
  endedAt?: number;
}

export class Pod {
  readonly running: Promise<number | undefined>;
  readonly ended: Promise<PodOutcome>;
  private markRunning!: (at: number | undefined) => void;
  private markEnded!: (o: PodOutcome) => void;
  private readonly slots: Slot[];
  private readonly byName: Map<string, Slot>;
  private stopping: { graceMs?: number } | undefined;
  private endCount = 0;
  private done = false;

  constructor(
    members: PodMember[],
    private readonly o: PodOptions,
  ) {
    this.slots = members.map((m) => ({ m, state: 'waiting', started: false, stopped: false }));
    this.byName = new Map(this.slots.map((s) => [s.m.name, s]));
    this.running = new Promise((r) => (this.markRunning = r));
    this.ended = new Promise((r) => (this.markEnded = r));
    queueMicrotask(() => this.tick());
  }

  /** Stops the task: running members get SIGTERM and `graceMs` (or their own stopTimeout), waiting ones never start. */
  stop(graceMs?: number): void {
    if (this.done) return;
    this.stopping = { graceMs };
    for (const s of this.slots) {
      if (s.state === 'starting' || s.state === 'running') {
        s.stopped = true;
        s.run!.stop(graceMs ?? s.m.stopTimeoutMs ?? this.o.graceMs);
      }
    }
    this.tick();
  }

  /** Whether a dependency is met ('yes'), may still be ('wait'), or never will be (the reason). */
  private dependency(d: PodMember['dependsOn'][number]): 'yes' | 'wait' | string {
    const t = this.byName.get(d.containerName);
    if (!t) return `dependency not satisfied: the task has no container "${d.containerName}"`;
    const never = (what: string) => `dependency not satisfied: container "${d.containerName}" (${d.condition}) ${what}`;
    if (t.state === 'ended' && !t.started) return never('never started');
    if (d.condition === 'START') return t.started ? 'yes' : 'wait';
    if (t.state !== 'ended') return 'wait';
    if (d.condition === 'COMPLETE') return 'yes';
    return t.exit?.exitCode === 0 ? 'yes' : never(`exited with ${t.exit?.exitCode ?? 'no exit code'}`);
  }

  private tick(): void {
    if (this.done) return;
    let progress = true;
    while (progress) {
      progress = false;
      for (const s of this.slots) {
        if (s.state !== 'waiting') continue;
        if (this.stopping) {
          this.end(s, { exitCode: null, reason: 'the task stopped before the container started', neverStarted: true }, true);
          progress = true;
          continue;
        }
        const answers = s.m.dependsOn.map((d) => this.dependency(d));
        const never = answers.find((a) => a !== 'yes' && a !== 'wait');
        if (never) {
          this.end(s, { exitCode: null, reason: `CannotStartContainerError: ${never}`, neverStarted: true }, false);
          progress = true;
        } else if (answers.every((a) => a === 'yes')) {
          this.launch(s);
          progress = true;
        }
      }
    }
    if (this.slots.every((s) => s.state === 'ended')) this.finish();
  }

  private launch(s: Slot): void {
    s.state = 'starting';
    let run: MemberRun;
    try {
      run = this.o.launch(s.m);
    } catch (e) {
      this.end(s, { exitCode: null, reason: `CannotStartContainerError: ${(e as Error).message}`, neverStarted: true }, false);
      return;
    }
    s.run = run;
    void run.running.then((at) => {
      if (at === undefined || s.state !== 'starting') return;
      s.state = 'running';
      s.started = true;
      this.o.onEvent?.({ kind: 'started', name: s.m.name, at });
      if (!s.m.init) this.markRunning(at);
      this.tick();
    });
    void run.exited.then(
      (exit) => this.end(s, exit, s.stopped),
      (e: unknown) => this.end(s, { exitCode: null, reason: `CannotInspectContainerError: ${(e as Error).message}` }, s.stopped),
    );
  }

  private end(s: Slot, exit: MemberExit, stopped: boolean): void {
    if (s.state === 'ended') return;
    // A process that ran before its start was seen (a very short one) started all the same.
    if (!exit.neverStarted && !s.started) {
      s.started = true;
      if (!s.m.init) this.markRunning(Date.now());
    }
    s.state = 'ended';
    s.exit = exit;
    s.stopped = stopped;
    s.endedAt = this.endCount++;
    this.o.onEvent?.({ kind: 'exited', name: s.m.name, exitCode: exit.exitCode, ...(exit.reason ? { reason: exit.reason } : {}) });
    // ECS: an essential member's end stops the task.
    if (this.o.orchestration === 'ECS' && s.m.essential && !this.stopping) this.stop();
    else this.tick();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    this.markRunning(undefined);
    const containers: ContainerOutcome[] = this.slots.map((s) => ({ name: s.m.name, exitCode: s.exit?.exitCode ?? null, ...(s.exit?.reason ? { reason: s.exit.reason } : {}) }));
    const byEnd = [...this.slots].sort((a, b) => (a.endedAt ?? 0) - (b.endedAt ?? 0));
    const neverStarted = !this.slots.some((s) => s.started);
    const failed = (s: Slot) => s.exit?.exitCode !== 0;
    let deciding: Slot | undefined;
    let succeeded: boolean;
    if (this.o.orchestration === 'ECS') {
      const essential = byEnd.filter((s) => s.m.essential);
      const ofThemselves = essential.filter((s) => !s.stopped);
      succeeded = ofThemselves.length > 0 && ofThemselves.every((s) => !failed(s));
      deciding = succeeded ? ofThemselves[0] : (ofThemselves.find(failed) ?? essential.find(failed) ?? essential[0]);
    } else {
      succeeded = byEnd.every((s) => !failed(s));
      deciding = succeeded ? byEnd[byEnd.length - 1] : byEnd.find(failed);
    }
    const exitCode = succeeded ? 0 : (deciding?.exit?.exitCode ?? null);
    const reason = succeeded ? undefined : deciding?.exit?.reason;
    this.markEnded({ exitCode, ...(reason ? { reason } : {}), neverStarted, containers });
  }
}
