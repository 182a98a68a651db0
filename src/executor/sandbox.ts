/**
 * The process executor's sandbox: bubblewrap (`bwrap`) gives the job its own mount, pid, ipc
 * and network namespaces. A job is a guest: it sees what it needs to run and what its job
 * definition was granted, nothing of the service that runs it (docs/security.md).
 *
 *   /            the host's top-level directories bound one by one, read-only, on an empty
 *                root, so a mount point that does not exist on the host is created in the
 *                sandbox, never on the host; bound nosuid and nodev, with no_new_privs
 *   hidden       the data directory (database, join token, other attempts' directories), the
 *                agent's work root, the server's configuration, credentials and secrets files,
 *                container-engine sockets: an empty read-only tmpfs over a directory, /dev/null
 *                over a file. Hidden again wherever a volume would show them under another name
 *   /run         private and empty (it holds the host's sockets: systemd, D-Bus, Docker,
 *                Podman); with the host's network, the resolver's file is bound back
 *   /proc /dev   fresh (all host devices with `privileged`), /sys read-only
 *   /tmp         private tmpfs, writable by everyone (sticky) as on a host
 *   workDir      the attempt's directory, writable (it is the job's working directory); the
 *                directories above it inside a hidden one are empty and read-only
 *   mountPoints  each volume's host.sourcePath bound at containerPath (read-only if asked);
 *                a volume without a sourcePath is an empty scratch directory of the attempt.
 *                Which host paths a job definition may name is the control plane's rule
 *                (model/hostAccess.ts); the sandbox only refuses hidden ones
 *   mounts       the launch template's host paths (the operator's grants), bound writable at
 *                their own path, where the links in the working directory lead
 *   linuxParameters  devices bound, tmpfs mounted with their size, /dev/shm sized by
 *                sharedMemorySize; the pid namespace's init (bwrap) reaps zombies, so
 *                initProcessEnabled is always honoured
 *   capabilities Docker's default set unless `privileged`; as a non-root job user, none
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
import { accessSync, chownSync, constants, existsSync, mkdirSync, readdirSync, readlinkSync, realpathSync, statSync, type Dirent } from 'node:fs';
import { basename, delimiter, dirname, isAbsolute, join, relative, resolve as resolvePath, sep } from 'node:path';
import type { JobSettings } from './types.js';

/** The capabilities a non-privileged Docker container keeps. */
const DEFAULT_CAPS = [
  'CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FSETID', 'CAP_FOWNER', 'CAP_MKNOD', 'CAP_NET_RAW', 'CAP_SETGID', 'CAP_SETUID',
  'CAP_SETFCAP', 'CAP_SETPCAP', 'CAP_NET_BIND_SERVICE', 'CAP_SYS_CHROOT', 'CAP_KILL', 'CAP_AUDIT_WRITE',
];
/** Top-level entries the sandbox provides itself (fresh or private), so nothing of the host's shows there. */
const OWN_TOP = new Set(['proc', 'dev', 'tmp', 'sys', 'run', 'lost+found']);
/**
 * Container engines' sockets where they may live outside /run (which the sandbox replaces):
 * whoever can talk to one is root on the host.
 */
const ENGINE_SOCKETS = ['/var/run/docker.sock', '/var/run/podman/podman.sock', '/var/run/containerd/containerd.sock', '/var/run/crio/crio.sock'];

export type SandboxNetwork = 'none' | 'host';

/**
 * Why jobs cannot start where the sandbox is required but cannot be used, with what to do:
 * there is no silent fallback to running jobs unsandboxed (docs/executors.md).
 */
export function sandboxRefusal(why: string): string {
  const cause = why.replace(/^sandbox: /, '');
  const install = /not installed/.test(cause) ? 'install bubblewrap (Debian, Ubuntu: apt-get install bubblewrap)' : 'let bubblewrap create namespaces here (user namespaces, or run the agent as root)';
  return `the job sandbox cannot be used here: ${cause}. To run jobs, ${install}; or opt out of the sandbox explicitly (server setting sandbox=off, compute environment tag openbatch:sandbox=off, or openbatch agent --sandbox off)`;
}

/** How an agent's sandbox is set up. */
export interface SandboxOptions {
  /** network of sandboxed jobs: 'none' (loopback only, the default) or the host's */
  network?: SandboxNetwork;
  /** host paths no job may see (data directory, work root, credentials, sockets); missing ones are skipped */
  hidden?: string[];
}

/** A host path launch templates give every job of an instance (the operator's grant). */
export interface HostMount {
  sourcePath: string;
}

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

/** Whether `path` is `dir` or lies under it (both absolute and normalised). */
export function isWithin(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * A volume's host path made when it is missing — a directory, with its parents, of the
 * agent's user, mode 0755 — as Docker (and so ECS on EC2) makes a missing bind source. The
 * server has checked that the path lies in a granted host root (compute/hostAccess.ts); a
 * path that, through the links of the part that exists, would lie in what is hidden from jobs
 * is not made (the bind then refuses it). Throws an Error naming the volume when it cannot be
 * made.
 */
export function makeMissingHostPath(volume: string, path: string, hidden: readonly string[]): void {
  if (!isAbsolute(path) || existsSync(path)) return;
  let head = resolvePath(path);
  const tail: string[] = [];
  while (!existsSync(head) && dirname(head) !== head) {
    tail.unshift(basename(head));
    head = dirname(head);
  }
  let target: string;
  try {
    target = join(realpathSync(head), ...tail);
  } catch {
    return;
  }
  if (hidden.some((h) => isWithin(target, h))) return;
  try {
    mkdirSync(target, { recursive: true, mode: 0o755 });
  } catch (e) {
    throw new Error(`volumes: "${volume}": host path ${path} does not exist and cannot be made (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}

/** A hidden host path as the sandbox covers it. */
interface Hidden {
  path: string;
  dir: boolean;
}

/** The paths to hide, resolved (a link to the data directory leads into the hidden one), without those inside private tops or inside another. */
function resolveHidden(paths: string[]): Hidden[] {
  const found: Hidden[] = [];
  for (const p of [...paths, ...ENGINE_SOCKETS]) {
    if (!p) continue;
    let real: string;
    let dir: boolean;
    try {
      real = realpathSync(p);
      dir = statSync(real).isDirectory();
    } catch {
      continue; // does not exist: nothing to see
    }
    if (real === '/' || OWN_TOP.has(real.split(sep)[1])) continue;
    found.push({ path: real, dir });
  }
  return found.filter((h) => !found.some((o) => o !== h && o.dir && o.path !== h.path && isWithin(h.path, o.path))).filter((h, i, all) => all.findIndex((o) => o.path === h.path) === i);
}

/** bubblewrap on this host, or why not. */
export class Sandbox {
  private constructor(
    readonly bwrap: string,
    private readonly root: Dirent[],
    readonly network: SandboxNetwork,
    private readonly asRoot: boolean,
    /** what no job sees, resolved once at agent start */
    readonly hidden: readonly Hidden[],
    /** with the host's network: the resolver's file when it lives under /run */
    private readonly resolver: string | undefined,
  ) {}

  /** Finds bwrap and checks that it can create the sandbox here (it cannot in some containers, nor where user namespaces are not permitted). */
  static probe(o: SandboxOptions = {}): Sandbox | string {
    const bwrap = which('bwrap');
    if (!bwrap) return 'sandbox: bubblewrap (bwrap) is not installed';
    const r = spawnSync(
      bwrap,
      ['--ro-bind', '/', '/', '--unshare-pid', '--unshare-net', '--unshare-ipc', '--proc', '/proc', '--dev', '/dev', '--perms', '1777', '--tmpfs', '/tmp', '--remount-ro', '/tmp', 'true'],
      { encoding: 'utf8', timeout: 10_000 },
    );
    if (r.status !== 0) return `sandbox: bubblewrap cannot create namespaces here (${(r.stderr || r.error?.message || `exit ${r.status}`).trim()})`;
    const network = o.network ?? 'none';
    let resolver: string | undefined;
    if (network === 'host') {
      try {
        const real = realpathSync('/etc/resolv.conf');
        if (isWithin(real, '/run')) resolver = real;
      } catch {
        // no resolver configured
      }
    }
    return new Sandbox(bwrap, readdirSync('/', { withFileTypes: true }), network, process.getuid?.() === 0, resolveHidden(o.hidden ?? []), resolver);
  }

  /** The hidden path that `path` is or lies under, if any. */
  hiding(path: string): string | undefined {
    return this.hidden.find((h) => isWithin(path, h.path))?.path;
  }

  /** the host's root as every sandbox shows it (hostRoot) */
  private rootArgs: string[] | undefined;

  /**
   * bwrap's arguments that show the host's root, the same for every attempt: read once, as
   * the root's entries are (at agent start), with the targets of its links (/bin, /lib…),
   * which were read again for each job before.
   */
  private hostRoot(): string[] {
    if (this.rootArgs) return this.rootArgs;
    const a: string[] = [];
    for (const e of this.root) {
      if (OWN_TOP.has(e.name)) continue;
      const p = '/' + e.name;
      if (e.isSymbolicLink()) a.push('--symlink', readlinkSync(p), p);
      else a.push('--ro-bind', p, p);
    }
    return (this.rootArgs = a);
  }

  /**
   * bwrap's arguments (up to and including `--`) for one attempt. `mounts`: the launch
   * template's host paths; `owner`: the job's user, who gets its scratch volumes. Throws an
   * Error naming the field when the job asks for something the sandbox cannot give.
   *
   * Order matters, as bwrap applies its arguments in turn: the host's root, then what is
   * hidden, then what the job was granted (hiding again what a grant would show), and the
   * working directory last, so that nothing is mounted over it.
   */
  args(workDir: string, s: JobSettings, o: { mounts?: readonly HostMount[]; owner?: Owner } = {}): string[] {
    const a = ['--die-with-parent', '--unshare-pid', '--unshare-ipc'];
    if (this.network === 'none') a.push('--unshare-net');
    a.push(...this.hostRoot());
    a.push('--ro-bind', '/sys', '/sys', '--proc', '/proc');
    if (s.privileged) a.push('--dev-bind', '/dev', '/dev');
    else a.push('--dev', '/dev');
    const m = new MountPoints(a);
    m.tmpfs('/tmp', '1777');
    m.tmpfs('/run');
    if (this.resolver) m.bind(this.resolver, this.resolver, true);
    if (s.sharedMemorySizeMiB) {
      a.push('--size', String(s.sharedMemorySizeMiB * 1024 * 1024));
      m.tmpfs('/dev/shm', '1777');
    }
    const hide = (at: string, h: Hidden) => {
      if (h.dir) m.tmpfs(at, undefined, true);
      else a.push('--ro-bind', '/dev/null', at);
    };
    for (const h of this.hidden) hide(h.path, h);
    /** binds a granted host path, and hides again what is hidden inside it */
    const grant = (field: string, src: string, dest: string, readOnly: boolean) => {
      let real: string;
      try {
        real = realpathSync(src);
      } catch {
        throw new Error(`${field}: host path ${src} does not exist`);
      }
      const hiddenBy = this.hiding(real);
      if (hiddenBy) throw new Error(`${field}: host path ${src} is hidden from jobs (${hiddenBy})`);
      m.bind(real, dest, readOnly);
      for (const h of this.hidden) if (isWithin(h.path, real)) hide(join(dest, relative(real, h.path)), h);
    };
    for (const t of o.mounts ?? []) grant('launch template mounts', t.sourcePath, t.sourcePath, false);
    const volumes = new Map((s.volumes ?? []).map((v) => [v.name, v]));
    for (const mp of s.mountPoints ?? []) {
      const v = volumes.get(mp.sourceVolume);
      if (!v) throw new Error(`mountPoints: sourceVolume "${mp.sourceVolume}" is not one of the job definition's volumes`);
      if (v.unsupported) throw new Error(`volumes: "${v.name}" uses ${v.unsupported}, which this host cannot provide`);
      if (v.sourcePath) {
        makeMissingHostPath(v.name, v.sourcePath, this.hidden.map((h) => h.path));
        grant(`volumes: "${v.name}"`, v.sourcePath, mp.containerPath, mp.readOnly);
      }
      else m.bind(scratchVolume(workDir, v.name, o.owner), mp.containerPath, mp.readOnly);
    }
    for (const t of s.tmpfs ?? []) {
      if (t.sizeMiB > 0) a.push('--size', String(t.sizeMiB * 1024 * 1024));
      // Docker's mode for a tmpfs mount: anyone may write, as in /tmp.
      m.tmpfs(t.containerPath, '1777');
    }
    for (const d of s.devices ?? []) {
      const hiddenBy = existsSync(d.hostPath) ? this.hiding(realpathSync(d.hostPath)) : undefined;
      if (hiddenBy) throw new Error(`linuxParameters.devices: host path ${d.hostPath} is hidden from jobs (${hiddenBy})`);
      m.parents(d.containerPath ?? d.hostPath);
      a.push('--dev-bind', d.hostPath, d.containerPath ?? d.hostPath);
    }
    // The working directory. Where the job user could not pass a directory above it (a 0700
    // parent, below which it could see nothing anyway), that directory is an empty tmpfs in
    // the sandbox, so that the way to workDir is open.
    const holder = m.holder(dirname(workDir));
    if (holder?.kind === 'bind') throw new Error(`mountPoints: the volume at ${holder.path} would cover the job's working directory ${workDir}`);
    if (!holder && o.owner) {
      const closed = closedAncestor(workDir, o.owner);
      if (closed) m.tmpfs(closed, undefined, true);
    }
    m.bind(workDir, workDir, false);
    m.readOnlyLast();
    // The host's directories are read-only whatever the job asks; readonlyRootFilesystem makes
    // the sandbox's own root (where a root job could make new top-level entries) read-only too.
    if (s.readonlyRootFilesystem) a.push('--remount-ro', '/');
    if (this.asRoot && !s.privileged) {
      a.push('--cap-drop', 'ALL');
      for (const c of DEFAULT_CAPS) a.push('--cap-add', c);
    }
    a.push('--chdir', workDir, '--');
    return a;
  }
}

/**
 * The mount points an attempt's sandbox gets beyond the host's root, in bwrap's argument
 * order, and the directories above them. bwrap makes a missing directory above a mount point
 * 0700, which a job user other than root could not pass: those are made here, 0755.
 */
class MountPoints {
  private readonly points: { path: string; kind: 'tmpfs' | 'bind'; source?: string }[] = [];
  private readonly made = new Set<string>();
  private readonly readOnly: string[] = [];

  constructor(private readonly a: string[]) {}

  /** The deepest mount point at or above `path`; undefined: the host's root. */
  holder(path: string): { path: string; kind: 'tmpfs' | 'bind'; source?: string } | undefined {
    let best: { path: string; kind: 'tmpfs' | 'bind'; source?: string } | undefined;
    for (const p of this.points) if (isWithin(path, p.path) && (!best || p.path.length >= best.path.length)) best = p;
    return best;
  }

  /** Whether directory `d` is there in the sandbox as it stands. */
  private exists(d: string): boolean {
    if (d === '/' || this.made.has(d)) return true;
    const h = this.holder(d);
    if (!h) return existsSync(d);
    if (h.path === d) return true;
    return h.kind === 'bind' && h.source !== undefined && existsSync(join(h.source, relative(h.path, d)));
  }

  parents(dest: string): void {
    const up: string[] = [];
    for (let d = dirname(dest); !this.exists(d); d = dirname(d)) up.unshift(d);
    for (const d of up) {
      this.made.add(d);
      this.a.push('--perms', '0755', '--dir', d);
    }
  }

  /** A tmpfs at `path` (mode 0755 unless given); `readOnly`: remounted read-only once everything is mounted into it. */
  tmpfs(path: string, perms?: string, readOnly = false): void {
    this.parents(path);
    if (perms) this.a.push('--perms', perms);
    this.a.push('--tmpfs', path);
    this.points.push({ path, kind: 'tmpfs' });
    if (readOnly) this.readOnly.push(path);
  }

  bind(source: string, dest: string, readOnly: boolean): void {
    this.parents(dest);
    this.a.push(readOnly ? '--ro-bind' : '--bind', source, dest);
    this.points.push({ path: dest, kind: 'bind', source });
  }

  readOnlyLast(): void {
    for (const p of this.readOnly) this.a.push('--remount-ro', p);
  }
}

/** The highest directory above `path` that `owner` may not pass through, if any. */
function closedAncestor(path: string, owner: Owner): string | undefined {
  let closed: string | undefined;
  for (let d = dirname(path); d !== '/'; d = dirname(d)) {
    let st;
    try {
      st = statSync(d);
    } catch {
      return closed;
    }
    const passable = st.mode & 0o001 || (st.uid === owner.uid && st.mode & 0o100) || (st.gid === owner.gid && st.mode & 0o010);
    if (!passable) closed = d;
  }
  return closed;
}

/** Whom a job's files belong to: the user it runs as. */
export interface Owner {
  uid: number;
  gid: number;
}

/** An attempt's scratch volume: an empty directory in its working directory, made on first use, the job user's. */
export function scratchVolume(workDir: string, name: string, owner?: Owner): string {
  const dir = join(workDir, '.volumes', name);
  mkdirSync(dir, { recursive: true });
  if (owner) {
    chownSync(join(workDir, '.volumes'), owner.uid, owner.gid);
    chownSync(dir, owner.uid, owner.gid);
  }
  return dir;
}

/**
 * Whether the sandbox can be used on this host, as the control plane asks before it launches
 * a local instance (its agents run here). A failing probe is asked again after `retryMs`, so
 * that bubblewrap installed while the server runs is found; a working one is not asked again.
 */
export class SandboxCheck {
  private problemSeen: string | undefined;
  private checkedAt = -Infinity;
  private ok = false;

  constructor(
    private readonly probe: () => Sandbox | string = () => Sandbox.probe(),
    private readonly retryMs = 30_000,
  ) {}

  /** Why the sandbox cannot be used here (Sandbox.probe's answer), or undefined when it can. */
  problem(now = Date.now()): string | undefined {
    if (this.ok) return undefined;
    if (now - this.checkedAt >= this.retryMs) {
      this.checkedAt = now;
      const r = this.probe();
      this.ok = typeof r !== 'string';
      this.problemSeen = typeof r === 'string' ? r : undefined;
    }
    return this.problemSeen;
  }
}
