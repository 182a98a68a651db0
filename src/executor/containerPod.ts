/**
 * A task of several containers on the container executor, as a pod: a pause container holds
 * the task's network namespace (catatonit -P, from the agent's host, in the first
 * container's image), and each container of the task is a container of its own — its image,
 * command, environment, user, resources, mounts and log stream — joined to that network
 * (`NetworkMode: container:<pause>`), started and stopped as executor/pod.ts decides. The
 * containers of one attempt reach each other on localhost, as ECS's awsvpc tasks and
 * Kubernetes pods do.
 *
 * Names: the pause container is the attempt's container name (the one the agent records,
 * agent/pidFiles.ts), each member `<that>-<container>`, labelled `openbatch.pod=<that>`, so
 * that a dead agent's pod is removed whole (removeContainer). Without catatonit on the host
 * there is no pause container: each container has a network of its own, and the first log
 * line says so.
 */
import { existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { DockerError, type DockerApi } from './dockerApi.js';
import { Pod, type PodMember } from './pod.js';
import { NOTICE_PREFIX, type PodMembership, type AttemptExit, type AttemptSpec, type LogLine, type PodContainerSpec, type RunningAttempt, type UsageFigures } from './types.js';
import { taskFigures } from './usage.js';

/** Where the pause program is mounted in the pause container. */
const PAUSE_AT = '/.openbatch-pause';

/** catatonit on this host: on PATH, or where Podman keeps its own. */
export function findCatatonit(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/libexec/podman', '/usr/lib/podman'];
  return dirs.map((d) => join(d, 'catatonit')).find((p) => existsSync(p));
}

export class ContainerPod implements RunningAttempt {
  readonly pid = undefined;
  readonly containerName: string;
  readonly dockerSocket: string;
  readonly exited: Promise<AttemptExit>;
  readonly whenRunning: Promise<number | undefined>;
  private readonly pod: Pod;
  private readonly network: Promise<string | undefined>;
  /** the containers started so far, each with its figures at its end once it has ended (see `usage`) */
  private readonly members: { attempt: RunningAttempt; final?: UsageFigures; ended: boolean }[] = [];
  /** the most memory the running containers held together at one sample */
  private sampledPeak = 0;

  constructor(
    private readonly api: DockerApi,
    spec: AttemptSpec,
    name: string,
    onLog: (lines: LogLine[]) => void,
    member: (spec: AttemptSpec, onLog: (lines: LogLine[]) => void, membership: PodMembership) => RunningAttempt,
  ) {
    this.containerName = name;
    this.dockerSocket = api.socket;
    const members = spec.containers!;
    const primary = members.find((m) => m.essential && !m.init)?.name ?? members[0].name;
    this.network = this.pause(members, name, (message) => onLog([{ stream: 'stderr', timestamp: Date.now(), message, container: primary }]));
    const launch = (m: PodMember) => {
      const c = members.find((x) => x.name === m.name)!;
      // The member starts once the pause container is up (or known absent).
      let inner: RunningAttempt | undefined;
      let stopAsked: number | undefined;
      const started = this.network.then((network) => {
        inner = member(memberSpec(spec, c), (lines) => onLog(lines.map((l) => ({ ...l, container: c.name }))), { pod: name, ...(network ? { network } : {}) });
        if (stopAsked !== undefined) inner.terminate(stopAsked);
        const entry: (typeof this.members)[number] = { attempt: inner, ended: false };
        this.members.push(entry);
        void inner.exited.then((e) => {
          entry.ended = true;
          entry.final = e.usage;
        });
        return inner;
      });
      return {
        running: started.then((r) => r.whenRunning ?? Promise.resolve(Date.now())),
        exited: started.then((r) => r.exited),
        stop: (graceMs: number) => {
          stopAsked ??= graceMs;
          inner?.terminate(graceMs);
        },
      };
    };
    this.pod = new Pod(members, { orchestration: spec.orchestration ?? 'ECS', graceMs: spec.graceMs ?? 30_000, launch });
    this.whenRunning = this.pod.running;
    this.exited = this.pod.ended.then(async (o) => {
      await this.removePause();
      // Every container has ended (and its `exited` settled, which set its figures, first).
      const usage = taskFigures(this.members.map((m) => m.final), this.sampledPeak, false);
      return { exitCode: o.exitCode, ...(o.reason ? { reason: o.reason } : {}), neverStarted: o.neverStarted, containers: o.containers, ...(usage ? { usage } : {}) };
    });
  }

  /** The task's figures so far: its containers' summed (taskFigures), those that ended as they ended. */
  async usage(): Promise<UsageFigures | undefined> {
    const now = await Promise.all(this.members.map(async (m) => (m.ended ? undefined : await m.attempt.usage?.())));
    const together = now.reduce((n, f) => n + (f?.memoryBytes ?? 0), 0);
    this.sampledPeak = Math.max(this.sampledPeak, together);
    return taskFigures(
      // An ended container holds no memory now: its CPU time, bytes and peak still count.
      this.members.map((m, i) => (m.ended ? m.final && { ...m.final, memoryBytes: undefined } : now[i])),
      this.sampledPeak,
      true,
    );
  }

  terminate(graceMs?: number): void {
    this.pod.stop(graceMs);
  }

  /** The pause container, made and started; its name, or undefined when there is none. */
  private async pause(members: PodContainerSpec[], name: string, notice: (m: string) => void): Promise<string | undefined> {
    const catatonit = findCatatonit();
    const image = members.find((m) => m.settings.image)?.settings.image;
    if (!catatonit || !image) {
      notice(`${NOTICE_PREFIX}a network shared by the task's containers (${!catatonit ? 'catatonit is not installed on the agent\'s host' : 'no container names an image'}: each container has a network of its own)`);
      return undefined;
    }
    try {
      try {
        await this.api.call('GET', `/images/${encodeURIComponent(image)}/json`);
      } catch (e) {
        if (!(e instanceof DockerError) || e.status !== 404) throw e;
        await this.api.pull(image);
      }
      await this.api.call('POST', `/containers/create?name=${encodeURIComponent(name)}`, {
        Image: image,
        Entrypoint: [PAUSE_AT],
        Cmd: ['-P'],
        Labels: { 'openbatch.attempt': name, 'openbatch.pause': 'true' },
        HostConfig: { Binds: [`${catatonit}:${PAUSE_AT}:ro`], Memory: 16 * 1024 * 1024, NetworkMode: 'bridge' },
      });
      await this.api.call('POST', `/containers/${encodeURIComponent(name)}/start`);
      return name;
    } catch (e) {
      notice(`${NOTICE_PREFIX}a network shared by the task's containers (its pause container could not be made: ${(e as Error).message.slice(0, 200)}: each container has a network of its own)`);
      await this.removePause();
      return undefined;
    }
  }

  private async removePause(): Promise<void> {
    await this.api.call('DELETE', `/containers/${encodeURIComponent(this.containerName)}?force=1&v=1`).catch(() => undefined);
  }
}

/** A member as an attempt of one container. */
function memberSpec(spec: AttemptSpec, c: PodContainerSpec): AttemptSpec {
  return {
    attemptId: `${spec.attemptId}-${c.name}`,
    name: c.name,
    command: c.command,
    env: c.env,
    workDir: spec.workDir,
    // A container that names no resources of its own runs within the task's.
    vcpus: c.vcpus || spec.vcpus,
    memoryMiB: c.memoryMiB || spec.memoryMiB,
    settings: c.settings,
    mounts: spec.mounts,
    metadata: c.metadata,
  };
}
