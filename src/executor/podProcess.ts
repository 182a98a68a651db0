/**
 * A task of several containers on the process executor: one sandbox for the attempt — one
 * network namespace (its own loopback, the metadata relay), one filesystem view, one cgroup
 * holding the task's total resources — in which a supervisor (podSupervisor.ts, run by this
 * Node) starts each container's command as a process group of its own, as executor/pod.ts
 * decides. Its records come back on its stdout and are read here: each container's lines go
 * to that container's log stream, and its starts and exits make the attempt's.
 *
 * What one sandbox cannot give each container its own of — a user, ulimits, a read-only
 * root, a memory or CPU limit — is the task's: the first essential container's user and
 * ulimits, every container's mount points, the task's resources as one limit; privileged
 * when any container is. Each difference is said in the first log line (NOTICE_PREFIX).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PodOutcome } from './pod.js';
import { NOTICE_PREFIX, type AttemptExit, type AttemptSpec, type JobSettings, type LogLine, type RunningAttempt } from './types.js';

const RS = '\x1e';
const US = '\x1f';
/** The supervisor's directory in the attempt's working directory. */
const POD_DIR = '.openbatch-pod';

let sources: { pod: string; supervisor: string } | undefined;

/** The supervisor and pod.js, as ES modules any directory can hold (.mjs). */
function supervisorSources(): { pod: string; supervisor: string } {
  sources ??= {
    pod: readFileSync(fileURLToPath(new URL('./pod.js', import.meta.url)), 'utf8'),
    supervisor: readFileSync(fileURLToPath(new URL('./podSupervisor.js', import.meta.url)), 'utf8').replace(/from '\.\/pod\.js'/g, "from './pod.mjs'"),
  };
  return sources;
}

/** The settings the one sandbox of the task is made with, and what of the containers' own it cannot honour. */
export function taskSettings(spec: AttemptSpec): { settings: JobSettings; notices: string[] } {
  const members = spec.containers ?? [];
  const primary = spec.settings ?? {};
  const notices: string[] = [];
  const byPath = <T extends { containerPath: string }>(lists: (T[] | undefined)[]): T[] | undefined => {
    const out = new Map<string, T>();
    for (const list of lists) for (const x of list ?? []) if (!out.has(x.containerPath)) out.set(x.containerPath, x);
    return out.size ? [...out.values()] : undefined;
  };
  const volumes = new Map<string, NonNullable<JobSettings['volumes']>[number]>();
  for (const m of members) for (const v of m.settings.volumes ?? []) if (!volumes.has(v.name)) volumes.set(v.name, v);
  const settings: JobSettings = {
    ...primary,
    ...(volumes.size ? { volumes: [...volumes.values()] } : {}),
    mountPoints: byPath(members.map((m) => m.settings.mountPoints)),
    tmpfs: byPath(members.map((m) => m.settings.tmpfs)),
    devices: (() => {
      const out = new Map<string, NonNullable<JobSettings['devices']>[number]>();
      for (const m of members) for (const d of m.settings.devices ?? []) out.set(d.containerPath ?? d.hostPath, d);
      return out.size ? [...out.values()] : undefined;
    })(),
    privileged: members.some((m) => m.settings.privileged) || undefined,
    initProcessEnabled: members.some((m) => m.settings.initProcessEnabled) || undefined,
    sharedMemorySizeMiB: Math.max(0, ...members.map((m) => m.settings.sharedMemorySizeMiB ?? 0)) || undefined,
  };
  for (const m of members) {
    const s = m.settings;
    if ((s.user ?? '') !== (primary.user ?? '')) notices.push(`user of container ${m.name} (the task's containers share one sandbox: they run as ${primary.user ?? "the agent's job user"})`);
    if (JSON.stringify(s.ulimits ?? []) !== JSON.stringify(primary.ulimits ?? [])) notices.push(`ulimits of container ${m.name} (one sandbox: the first essential container's apply)`);
    if (Boolean(s.readonlyRootFilesystem) !== Boolean(primary.readonlyRootFilesystem)) notices.push(`readonlyRootFilesystem of container ${m.name} (one sandbox: the first essential container's applies)`);
    if (settings.privileged && !s.privileged) notices.push(`unprivileged container ${m.name} (one sandbox: privileged, as another container of the task is)`);
  }
  if (members.some((m) => m.vcpus > 0 || m.memoryMiB > 0)) notices.push(`per-container vCPU and memory limits (one sandbox: the task's ${spec.vcpus} vCPU and ${spec.memoryMiB} MiB hold all its containers together)`);
  return { settings, notices };
}

/** A task's attempt, as a supervisor in one sandbox started by `start` (the process executor's). */
export function startPodProcess(start: (spec: AttemptSpec, onLog: (lines: LogLine[]) => void) => RunningAttempt, spec: AttemptSpec, onLog: (lines: LogLine[]) => void, graceMs: number): RunningAttempt {
  const members = spec.containers!;
  const names = members.map((m) => m.name);
  const primary = members.find((m) => m.essential && !m.init)?.name ?? names[0];
  const fail = (reason: string): RunningAttempt => ({
    pid: undefined,
    exited: Promise.resolve({ exitCode: null, reason, neverStarted: true, containers: members.map((m) => ({ name: m.name, exitCode: null })) }),
    whenRunning: Promise.resolve(undefined),
    terminate: () => undefined,
  });
  const planText = JSON.stringify({
    orchestration: spec.orchestration ?? 'ECS',
    graceMs,
    members: members.map((m) => ({ name: m.name, essential: m.essential, init: m.init, dependsOn: m.dependsOn, stopTimeoutMs: m.stopTimeoutMs, command: m.command, env: m.env })),
  });
  // The plan holds the containers' secrets: in a directory the job's user alone may enter (ownPaths).
  const dir = join(spec.workDir, POD_DIR);
  try {
    const src = supervisorSources();
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(join(dir, 'pod.mjs'), src.pod, { mode: 0o644 });
    writeFileSync(join(dir, 'supervisor.mjs'), src.supervisor, { mode: 0o644 });
    writeFileSync(join(dir, 'plan.json'), planText, { mode: 0o600 });
  } catch (e) {
    return fail(`CannotStartContainerError: cannot prepare the task's supervisor: ${(e as Error).message}`);
  }
  const { settings, notices } = taskSettings(spec);
  if (notices.length) onLog([{ stream: 'stderr', timestamp: Date.now(), message: NOTICE_PREFIX + notices.join('; '), container: primary }]);

  let outcome: PodOutcome | undefined;
  const ended = new Map<string, { exitCode: number | null; reason?: string }>();
  let markRunning!: (at: number | undefined) => void;
  const whenRunning = new Promise<number | undefined>((r) => (markRunning = r));
  const demux = (lines: LogLine[]) => {
    const out: LogLine[] = [];
    for (const l of lines) {
      if (!l.message.startsWith(RS)) {
        // The executor's and the supervisor's own lines: the task's first essential container's.
        out.push({ ...l, container: primary });
        continue;
      }
      if (l.message[1] === '!') {
        let e: { e: string; name?: string; at?: number; exitCode?: number | null; reason?: string; outcome?: PodOutcome };
        try {
          e = JSON.parse(l.message.slice(2)) as typeof e;
        } catch {
          continue;
        }
        if (e.e === 'started' && e.name && !members.find((m) => m.name === e.name)?.init) markRunning(e.at);
        else if (e.e === 'exited' && e.name) ended.set(e.name, { exitCode: e.exitCode ?? null, ...(e.reason ? { reason: e.reason } : {}) });
        else if (e.e === 'done') outcome = e.outcome;
        continue;
      }
      const sep = l.message.indexOf(US);
      const name = names[Number(l.message.slice(1, sep))];
      if (sep < 0 || name === undefined) continue;
      out.push({ stream: l.message[sep + 1] === 'e' ? 'stderr' : 'stdout', timestamp: l.timestamp, message: l.message.slice(sep + 2), container: name });
    }
    if (out.length) onLog(out);
  };
  const inner = start(
    {
      ...spec,
      command: [process.execPath, join(dir, 'supervisor.mjs'), join(dir, 'plan.json')],
      // Only what every container shares: each one's own environment is in the plan.
      env: Object.fromEntries(Object.entries(spec.env).filter(([k]) => k.startsWith('AWS_BATCH_') || k === 'AWS_REGION' || k === 'AWS_DEFAULT_REGION')),
      settings,
      containers: undefined,
      ownPaths: [...(spec.ownPaths ?? []), dir],
    },
    demux,
  );
  const exited = inner.exited.then((exit): AttemptExit => {
    markRunning(undefined);
    // The supervisor said how the task ended; killed first (the grace ran out), what it said of each container stands.
    // A container the supervisor said nothing of ended with the attempt: the attempt's reason is its own (the sandbox could not be made).
    const containers =
      outcome?.containers ??
      members.map((m) => {
        const e = ended.get(m.name);
        const reason = e ? e.reason : exit.reason;
        return { name: m.name, exitCode: e?.exitCode ?? null, ...(reason ? { reason } : {}) };
      });
    // Over the task's memory: the containers the kernel killed (137, not of our sending) were its victims.
    if (exit.reason?.startsWith('OutOfMemoryError')) for (const c of containers) if (c.exitCode === 137) c.reason = exit.reason;
    // What the task used: the sandbox's, its containers' together.
    const usage = exit.usage ? { usage: exit.usage } : {};
    if (!outcome) return { exitCode: exit.exitCode, reason: exit.reason, neverStarted: exit.neverStarted ?? false, containers, ...usage };
    const oom = exit.reason?.startsWith('OutOfMemoryError') && outcome.exitCode === 137;
    return { exitCode: outcome.exitCode, ...((oom ? exit.reason : outcome.reason) ? { reason: oom ? exit.reason : outcome.reason } : {}), neverStarted: outcome.neverStarted, containers, ...usage };
  });
  return {
    get pid() {
      return inner.pid;
    },
    whenStarted: inner.whenStarted,
    exited,
    whenRunning,
    terminate: (g) => inner.terminate(g),
    ...(inner.usage ? { usage: () => inner.usage!() } : {}),
  };
}
