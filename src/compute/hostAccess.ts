/**
 * What of the host a job definition may ask for: the operator's grants.
 *
 * On AWS a job's host volume is a path on a disposable instance of the job's own account;
 * here the host is the server's machine (or an agent's), so a definition mounting `/` would
 * hand any API client the whole machine. Every host path a job definition names — a volume's
 * `host.sourcePath` (containers, ECS tasks), an EKS volume's `hostPath.path`, a device's
 * `hostPath` — must lie in one of the directories the server setting `hostVolumeRoots` lists
 * (none by default), and never in the data directory. `privileged` (root with every host
 * device and capability, on either executor) needs the setting `allowPrivileged`.
 *
 * The rule is applied at RegisterJobDefinition and SubmitJob (a ClientException naming the
 * field and the setting), and again when an attempt is handed to an agent (its definition may
 * predate a narrower setting, or a directory may have been replaced by a link since): there,
 * paths are resolved through their links on this machine, and an attempt that breaks the rule
 * fails to start with a reason that says why. Launch templates' mounts are the operator's own
 * grants (server configuration), bound only by the data directory.
 */
import { realpathSync } from 'node:fs';
import { isAbsolute, resolve, sep } from 'node:path';
import { clientError } from '../model/errors.js';

/** The server settings the rule reads. */
export interface HostAccessSettings {
  hostVolumeRoots: string[];
  allowPrivileged: boolean;
  dataDir: string;
}

/** The rule's settings from the server's configuration. */
export function hostAccessOf(config: HostAccessSettings): HostAccessSettings {
  return { hostVolumeRoots: config.hostVolumeRoots, allowPrivileged: config.allowPrivileged, dataDir: config.dataDir };
}

/** One thing of the host a definition asks for, with the member that asks. */
interface Ask {
  field: string;
  /** a host path, or undefined for `privileged` */
  path?: string;
}

/** Whether `path` is `dir` or lies under it (both absolute and normalised). */
function within(path: string, dir: string): boolean {
  return path === dir || dir === '/' || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/** The path with its links resolved, as far as it exists (a path not made yet keeps its tail). */
function real(path: string): string {
  let head = path;
  const tail: string[] = [];
  for (;;) {
    try {
      return resolve(realpathSync(head), ...tail.reverse());
    } catch {
      const up = resolve(head, '..');
      if (up === head) return path;
      tail.push(head.slice(up.length).replace(/^\//, ''));
      head = up;
    }
  }
}

/** Every host path and `privileged` a job definition (or job spec) asks for, wherever it says it. */
function asks(root: unknown, base: string): Ask[] {
  const out: Ask[] = [];
  const stack: { v: unknown; at: string; key: string }[] = [{ v: root, at: base, key: '' }];
  while (stack.length) {
    const { v, at, key } = stack.pop()!;
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        const item = `${at}[${i}]`;
        if (x && typeof x === 'object') {
          const o = x as Record<string, unknown>;
          if (key === 'volumes') {
            const host = o.host as { sourcePath?: unknown } | undefined;
            if (typeof host?.sourcePath === 'string') out.push({ field: `${item}.host.sourcePath`, path: host.sourcePath });
            const hostPath = o.hostPath as { path?: unknown } | undefined;
            if (typeof hostPath?.path === 'string') out.push({ field: `${item}.hostPath.path`, path: hostPath.path });
          } else if (key === 'devices' && typeof o.hostPath === 'string') out.push({ field: `${item}.hostPath`, path: o.hostPath });
        }
        stack.push({ v: x, at: item, key: '' });
      });
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const member = at ? `${at}.${k}` : k;
        if (k === 'privileged' && x === true) out.push({ field: member });
        if (x && typeof x === 'object') stack.push({ v: x, at: member, key: k });
      }
    }
  }
  return out;
}

/** Why the host paths and privilege a job definition asks for are not granted here; undefined: they are. */
export function hostAccessRefusal(definition: unknown, s: HostAccessSettings, o: { prefix?: string; resolveLinks?: boolean } = {}): string | undefined {
  const resolveLinks = o.resolveLinks ?? false;
  for (const ask of asks(definition, '')) {
    const a = { ...ask, field: (o.prefix ?? '') + ask.field };
    if (a.path === undefined) {
      if (!s.allowPrivileged) return `${a.field} is true, which gives the job root with every device of the host; the server does not allow it (setting allowPrivileged)`;
      continue;
    }
    if (!isAbsolute(a.path)) return `${a.field} '${a.path}' must be an absolute host path`;
    const lexical = resolve(a.path);
    const paths = resolveLinks ? [lexical, real(lexical)] : [lexical];
    const dataDir = real(s.dataDir);
    for (const p of paths) {
      if (within(p, s.dataDir) || within(p, dataDir)) return `${a.field} '${a.path}' is in the server's data directory, which no job may see`;
      const roots = s.hostVolumeRoots.map((r) => resolve(r));
      const granted = roots.some((r) => within(p, r) || within(p, real(r)));
      if (!granted) {
        const where = p === lexical ? '' : ` (through links: '${p}')`;
        return `${a.field} '${a.path}'${where} is not in a directory the server lets jobs mount (setting hostVolumeRoots: ${roots.length ? roots.join(', ') : 'none'})`;
      }
    }
  }
  return undefined;
}

/** RegisterJobDefinition, SubmitJob: a ClientException naming the member and the setting when the definition asks for more than the server grants. */
export function checkHostAccess(definition: unknown, s: HostAccessSettings, prefix = ''): void {
  const why = hostAccessRefusal(definition, s, { prefix });
  if (why) throw clientError(why);
}
