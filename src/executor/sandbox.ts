/**
 * The process executor's sandbox: bubblewrap (`bwrap`) gives the job its own mount, pid, ipc
 * and network namespaces. What the job sees:
 *
 *   /            the host's top-level directories bound one by one (read-only when the job
 *                definition sets readonlyRootFilesystem, else writable), on an empty root,
 *                so a mount point that does not exist on the host is created in the sandbox,
 *                never on the host
 *   /proc /dev   fresh (all host devices with `privileged`), /sys read-only
 *   /tmp         private tmpfs
 *   workDir      the attempt's directory, writable (it is the job's working directory)
 *   mountPoints  each volume's host.sourcePath bound at containerPath (read-only if asked);
 *                a volume without a sourcePath is an empty scratch directory of the attempt
 *   linuxParameters  devices bound, tmpfs mounted with their size, /dev/shm sized by
 *                sharedMemorySize; the pid namespace's init (bwrap) reaps zombies, so
 *                initProcessEnabled is always honoured
 *   capabilities Docker's default set unless `privileged`
 *   network      loopback only, or the host's (agent setting `sandboxNetwork`)
 *
 * bwrap stays as the monitor of the sandbox (the attempt's leader process), with
 * --die-with-parent so that a dead agent takes its sandboxes with it. The monitor dies of
 * SIGTERM without passing it on, so the executor signals the job's processes, not the monitor.
 *
 * --die-with-parent holds only once bwrap has set the sandbox up: its init (pid 1 of the
 * job's pid namespace) binds itself to the monitor after the mounts, tens of milliseconds
 * on a busy host. If the agent and its fork server are both killed in that window, the
 * sandbox lives on, like an unsandboxed job (whose session nothing else stops): it keeps
 * the monitor's process group, so the pid file the agent wrote stops it (agent/pidFiles.ts).
 * When only the agent dies, its fork server SIGKILLs that group at once. Inside the sandbox
 * the job has its own pids (its shell's `$$` is 2 in every job).
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync, readdirSync, readlinkSync, type Dirent } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { JobSettings } from './types.js';

/** The capabilities a non-privileged Docker container keeps. */
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
/** Top-level entries the sandbox provides itself. */
const OWN_TOP = new Set(['proc', 'dev', 'tmp', 'sys', 'lost+found']);

export type SandboxNetwork = 'none' | 'host';

/** Finds an executable on PATH. */
export function which(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const f = join(dir, name);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // next
    }
  }
  return undefined;
}

/** bubblewrap on this host, or why not. */
export class Sandbox {
  private constructor(
    readonly bwrap: string,
    private readonly root: Dirent[],
    private readonly network: SandboxNetwork,
    private readonly asRoot: boolean,
  ) {}

  /** Finds bwrap and checks that it can create namespaces here (it cannot in some containers). */
  static probe(network: SandboxNetwork = 'none'): Sandbox | string {
    const bwrap = which('bwrap');
    if (!bwrap) return 'sandbox: bubblewrap (bwrap) is not installed';
    const r = spawnSync(bwrap, ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-net', '--unshare-ipc', '--proc', '/proc', '--dev', '/dev', 'true'], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.status !== 0) return `sandbox: bubblewrap cannot create namespaces here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
    return new Sandbox(bwrap, readdirSync('/', { withFileTypes: true }), network, process.getuid?.() === 0);
  }

  /**
   * bwrap's arguments (up to and including `--`) for one attempt. Throws an Error naming
   * the field when the job asks for something the sandbox cannot give.
   */
  args(workDir: string, s: JobSettings): string[] {
    const a = ['--die-with-parent', '--unshare-pid', '--unshare-ipc'];
    if (this.network === 'none') a.push('--unshare-net');
    const rw = !s.readonlyRootFilesystem;
    for (const e of this.root) {
      if (OWN_TOP.has(e.name)) continue;
      const p = '/' + e.name;
      if (e.isSymbolicLink()) a.push('--symlink', readlinkSync(p), p);
      else a.push(rw ? '--bind' : '--ro-bind', p, p);
    }
    a.push('--ro-bind', '/sys', '/sys', '--proc', '/proc');
    if (s.privileged) a.push('--dev-bind', '/dev', '/dev');
    else a.push('--dev', '/dev');
    a.push('--tmpfs', '/tmp');
    if (s.sharedMemorySizeMiB) a.push('--size', String(s.sharedMemorySizeMiB * 1024 * 1024), '--tmpfs', '/dev/shm');
    a.push('--bind', workDir, workDir);
    const volumes = new Map((s.volumes ?? []).map((v) => [v.name, v]));
    for (const m of s.mountPoints ?? []) {
      const v = volumes.get(m.sourceVolume);
      if (!v) throw new Error(`mountPoints: sourceVolume "${m.sourceVolume}" is not one of the job definition's volumes`);
      if (v.unsupported) throw new Error(`volumes: "${v.name}" uses ${v.unsupported}, which this host cannot provide`);
      let src = v.sourcePath;
      if (!src) {
        src = join(workDir, '.volumes', v.name);
        mkdirSync(src, { recursive: true });
      }
      a.push(m.readOnly ? '--ro-bind' : '--bind', src, m.containerPath);
    }
    for (const t of s.tmpfs ?? []) {
      if (t.sizeMiB > 0) a.push('--size', String(t.sizeMiB * 1024 * 1024));
      a.push('--tmpfs', t.containerPath);
    }
    for (const d of s.devices ?? []) a.push('--dev-bind', d.hostPath, d.containerPath ?? d.hostPath);
    if (this.asRoot && !s.privileged) {
      a.push('--cap-drop', 'ALL');
      for (const c of DEFAULT_CAPS) a.push('--cap-add', c);
    }
    a.push('--chdir', workDir, '--');
    return a;
  }
}
