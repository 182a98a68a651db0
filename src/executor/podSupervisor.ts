/**
 * The supervisor of a task of several containers on the process executor (podProcess.ts):
 * it runs inside the attempt's sandbox — one network, one filesystem view, one cgroup — as
 * the job's user, and starts each container's command as a process group of its own, in the
 * order executor/pod.ts decides. Run by Node from a copy next to a copy of pod.js, it imports
 * nothing else.
 *
 * In: the plan, a JSON file named by its argument, removed once read (it holds the
 * containers' secrets; the directory is the job user's alone):
 *   { orchestration, graceMs, members: [{ name, essential, init, dependsOn, stopTimeoutMs,
 *     command, env }] }
 * Each container's environment is its own over PATH, HOME, LANG, TZ, USER and HOSTNAME of the
 * supervisor's, and ECS_CONTAINER_METADATA_URI_V4 its own: the supervisor's with `-<name>`.
 * Out, on its stdout, one record a line (podProcess.ts reads them back):
 *   RS <index> US o|e <line>   a line of member <index>'s stdout or stderr
 *   RS ! <json>                {e: 'started', name, at} | {e: 'exited', name, exitCode, reason?}
 *                              | {e: 'done', outcome}
 * Its own exit code is the task's.
 *
 * SIGTERM, SIGINT and SIGHUP stop the task (each member's process group gets SIGTERM, then
 * SIGKILL after its grace); the executor may signal the members itself too.
 */
import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync } from 'node:fs';
import { constants } from 'node:os';
import { Pod, type MemberExit, type MemberRun, type PodMember } from './pod.js';

const RS = '\x1e';
const US = '\x1f';

interface PlanMember extends PodMember {
  command: string[];
  env: Record<string, string>;
}

interface Plan {
  orchestration: 'ECS' | 'EKS';
  graceMs: number;
  members: PlanMember[];
}

let plan: Plan | null = null;
try {
  plan = JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')) as Plan;
  unlinkSync(process.argv[2]);
} catch (e) {
  process.stderr.write(`openbatch: the pod supervisor cannot read its plan: ${(e as Error).message}\n`);
  process.exit(125);
}
const shared: Record<string, string> = {};
for (const k of ['PATH', 'HOME', 'LANG', 'TZ', 'USER', 'HOSTNAME']) if (process.env[k] !== undefined) shared[k] = process.env[k]!;
const metadataUri = process.env.ECS_CONTAINER_METADATA_URI_V4;
for (const m of plan.members) {
  m.env = { ...shared, ...m.env };
  if (metadataUri && m.env.ECS_CONTAINER_METADATA_URI_V4 === undefined) m.env.ECS_CONTAINER_METADATA_URI_V4 = `${metadataUri}-${encodeURIComponent(m.name)}`;
}

const out: string[] = [];
let flushing = false;
/** Records leave in order, a batch per write. */
function record(line: string): void {
  out.push(line);
  if (flushing) return;
  flushing = true;
  queueMicrotask(() => {
    flushing = false;
    const batch = out.join('');
    out.length = 0;
    process.stdout.write(batch);
  });
}
const event = (e: Record<string, unknown>) => record(`${RS}!${JSON.stringify(e)}\n`);

/** A member's output, a record per complete line; the unterminated rest at its end. */
function lines(index: number, stream: 'o' | 'e'): { push(chunk: Buffer): void; end(): void } {
  let rest = '';
  const prefix = `${RS}${index}${US}${stream}`;
  return {
    push(chunk) {
      const text = rest + chunk.toString('utf8');
      const parts = text.split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) record(`${prefix}${p}\n`);
    },
    end() {
      if (rest) record(`${prefix}${rest}\n`);
      rest = '';
    },
  };
}

function launch(m: PodMember): MemberRun {
  const p = plan!.members.find((x) => x.name === m.name)!;
  const index = plan!.members.indexOf(p);
  let markRunning!: (at: number | undefined) => void;
  const running = new Promise<number | undefined>((r) => (markRunning = r));
  let pid: number | undefined;
  let killTimer: NodeJS.Timeout | undefined;
  let stopAsked: number | undefined;
  const signal = (sig: NodeJS.Signals) => {
    if (pid === undefined) return;
    try {
      process.kill(-pid, sig);
    } catch {
      // gone
    }
  };
  const exited = new Promise<MemberExit>((resolve) => {
    if (!p.command.length || !p.command[0]) {
      markRunning(undefined);
      resolve({ exitCode: null, reason: 'CannotStartContainerError: the container has no command to run (command is empty)', neverStarted: true });
      return;
    }
    // Its own process group (and session), as a container's processes are its own.
    const child = spawn(p.command[0], p.command.slice(1), { env: p.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const o = lines(index, 'o');
    const e = lines(index, 'e');
    child.stdout.on('data', (c: Buffer) => o.push(c));
    child.stderr.on('data', (c: Buffer) => e.push(c));
    child.stdout.on('error', () => undefined);
    child.stderr.on('error', () => undefined);
    child.once('spawn', () => {
      pid = child.pid;
      markRunning(Date.now());
      if (stopAsked !== undefined) stop(stopAsked);
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (pid !== undefined) return;
      markRunning(undefined);
      const why = err.code === 'ENOENT' ? 'executable file not found in $PATH' : (err.code ?? err.message);
      resolve({ exitCode: null, reason: `CannotStartContainerError: exec: "${p.command[0]}": ${why}`, neverStarted: true });
    });
    child.once('exit', (code, sig) => {
      if (killTimer) clearTimeout(killTimer);
      const exitCode = code ?? (sig ? 128 + (constants.signals[sig] ?? 0) : null);
      // What its group left behind goes with it, as a container's processes do; then its output, read to the end.
      signal('SIGKILL');
      let settled = false;
      const settle = () => {
        if (settled) return;
        settled = true;
        o.end();
        e.end();
        resolve({ exitCode });
      };
      child.once('close', settle);
      setTimeout(settle, 2_000).unref();
    });
  });
  function stop(graceMs: number): void {
    stopAsked ??= graceMs;
    if (killTimer || pid === undefined) return;
    signal('SIGTERM');
    killTimer = setTimeout(() => signal('SIGKILL'), graceMs);
  }
  return { running, exited, stop };
}

const pod = new Pod(plan!.members, {
  orchestration: plan!.orchestration,
  graceMs: plan!.graceMs,
  launch,
  onEvent: (e) => event(e.kind === 'started' ? { e: 'started', name: e.name, at: e.at } : { e: 'exited', name: e.name, exitCode: e.exitCode, ...(e.reason ? { reason: e.reason } : {}) }),
});
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) process.on(sig, () => pod.stop());
void pod.ended.then((outcome) => {
  event({ e: 'done', outcome });
  // Out before the exit: stdout is a pipe, written asynchronously.
  queueMicrotask(() => process.stdout.write('', () => process.exit(outcome.exitCode ?? (outcome.neverStarted ? 127 : 1))));
});
